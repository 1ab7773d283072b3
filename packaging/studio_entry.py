"""The frozen build's entry point: the `studio` command (GUI, CLI and `studio worker`) in one executable."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # data-loader workers re-run this executable; let them through
    from studio.cli import main

    sys.exit(main())
