"""How a run with several processes is started: PyTorch's own launcher (torchrun) with our rank entry.

The worker stays the run's supervisor (its pid is the run's pid in the store) and starts
`python -P -m torch.distributed.run --standalone --nproc-per-node N --max-restarts 0 -m
studio.worker.rank RUN --home DIR`; a frozen build runs its own executable's `torchrun` and
`worker-rank` sub-commands instead (packaging/studio_entry.py). Every rank's output is kept in
RUN_DIR/ranks/logs/…/R/stderr.log; rank 0's lines are also copied into worker.log (the window's log pane).
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from studio.jobs import child
from studio.paths import Home

RANK_MODULE = "studio.worker.rank"
PR_SET_PDEATHSIG = 1  # prctl(2): a signal for this process when its parent dies
PR_SET_CHILD_SUBREAPER = 36  # prctl(2): orphaned descendants are re-parented to this process


def resolve_processes(processes: int | str) -> int:
    """processes 'auto' = every visible GPU (1 on a machine without CUDA); a number as it is."""
    if processes != "auto":
        return int(processes)
    from studio.modelinfo.gpus import list_gpus  # NVML, as the window counts them; no torch import here

    return max(1, len(list_gpus()))


def rank_log_args(run_dir: Path) -> list[str]:
    """torchrun's options that keep every rank's output in its own file and copy rank 0's into worker.log."""
    return ["--log-dir", str(rank_log_dir(run_dir)), "--redirects", "3", "--tee", "3", "--local-ranks-filter", "0"]


def rank_log_dir(run_dir: Path) -> Path:
    """Where torchrun keeps each rank's stdout/stderr (one sub-folder per launch)."""
    return Path(run_dir) / "ranks" / "logs"


def torchrun_command(home: Home, run_id: int, processes: int, run_dir: Path,
                     entry: list[str] | None = None, extra_args: list[str] | None = None) -> list[str]:
    """The command line that trains one run with `processes` ranks on this machine.

    entry replaces the rank entry (`-m studio.worker.rank RUN --home DIR`) — tests use a script.
    extra_args (e.g. a multi-node rendezvous) replace --standalone."""
    frozen = getattr(sys, "frozen", False)
    launcher = [sys.executable, "torchrun"] if frozen else [*child.python_prefix(), "-m", "torch.distributed.run"]
    where = extra_args if extra_args is not None else ["--standalone"]
    logs = rank_log_args(run_dir)
    args = [str(run_id), "--home", str(home.root)]
    if entry is None:
        # A frozen build has no `python -m`: torchrun runs the executable itself (--no-python).
        entry = ["--no-python", sys.executable, "worker-rank", *args] if frozen else ["-m", RANK_MODULE, *args]
    return [*launcher, *where, "--nproc-per-node", str(processes), "--max-restarts", "0", *logs, *entry]


def torchrun_env(processes: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The ranks' environment: this studio first on PYTHONPATH, no cwd on sys.path, unbuffered output."""
    env = dict(child.child_env(base), PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    # torchrun starts ranks as `python -u -m …` without -P; PYTHONSAFEPATH does what -P does for them.
    env["PYTHONSAFEPATH"] = "1"
    # Each rank's lines in the log read "[rank0] …" rather than torchrun's "[default0]:".
    env.setdefault("TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE", "[rank${rank}] ")
    # torchrun would set 1 thread per rank and say so in a banner; share the cores instead.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, processes))))
    return env


def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask Linux to send `sig` to this process when its parent dies (no orphans); False elsewhere."""
    libc = _libc()
    return bool(libc) and libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def adopt_orphans() -> bool:
    """Make this process the reaper of its orphaned descendants (ranks whose torchrun died), on Linux."""
    libc = _libc()
    return bool(libc) and libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def start_torchrun(command: list[str], run_dir: Path, env: dict[str, str], log: Any) -> subprocess.Popen:
    """Start torchrun in its own process group; it gets SIGTERM (its clean shutdown) if this process dies."""
    libc, parent = _libc(), os.getpid()  # loaded before fork: the child only makes one call

    def in_child() -> None:
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before prctl: nobody would watch this group
            os._exit(1)

    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            cwd=run_dir, env=env, start_new_session=True, preexec_fn=in_child)
