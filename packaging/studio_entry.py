"""The frozen build's entry point: the `studio` command (GUI, CLI and `studio worker`) in one executable.

A run with several processes needs two more programs a frozen build has no `python -m` for:
`torchrun …` (PyTorch's launcher, started by the worker) and `worker-rank RUN --home DIR` (one
rank, started by torchrun with --no-python); both are this executable (studio/worker/launch.py).
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers re-run this executable; let them through
    if sys.argv[1:2] == ["torchrun"]:
        from torch.distributed.run import main as torchrun

        sys.exit(torchrun(sys.argv[2:]))
    if sys.argv[1:2] == ["worker-rank"]:
        from studio.worker.rank import main as rank

        sys.exit(rank(sys.argv[2:]))
    from studio.cli import main

    sys.exit(main())
