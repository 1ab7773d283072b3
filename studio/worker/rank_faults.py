"""What went wrong in a group of ranks, in one line a person can act on. No torch, no SQLite.

The facts come from three places: the ranks' progress files (RUN_DIR/ranks/rank-R.json: rank,
pid, step, time, stage), torchrun's failure summary in worker.log ("Root Cause … rank: 1 …
exitcode: -9") and the failing rank's own stderr log (its exception line).
"""
from __future__ import annotations

import json
import re
import signal
from pathlib import Path

RESUME_HINT = "resume continues from the last complete checkpoint"
OOM_NOTE = "the out-of-memory retry with a smaller micro-batch applies to single-process runs only"
_FAILURE = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank.*?exitcode\s*:\s*(-?\d+)", re.S)
_PREFIX = re.compile(r"^\[(?:rank|default)\d+\]:?\s?")


def progress_dir(run_dir: Path) -> Path:
    """Where the ranks write their progress files."""
    return Path(run_dir) / "ranks"


def read_progress(run_dir: Path) -> dict[int, dict]:
    """rank → its last progress record; a file being replaced or half-written is skipped this time."""
    found = {}
    for path in progress_dir(run_dir).glob("rank-*.json"):
        try:
            record = json.loads(path.read_text())
            found[int(record["rank"])] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def clear_progress(run_dir: Path) -> None:
    """Forget a previous launch's progress files (their pids and times would mislead the watch)."""
    for path in progress_dir(run_dir).glob("rank-*.json"):
        path.unlink(missing_ok=True)


def root_cause(torchrun_output: str) -> tuple[int, int] | None:
    """(rank, exit code) of the failure that ended the group, from torchrun's last failure summary.

    A negative code is a signal. A rank killed by a signal other than SIGTERM (torchrun's own when it
    stops the others) comes first: when rank 1 is killed, rank 0 fails a moment later on the broken
    connection, and torchrun may call that exit 1 its "root cause"."""
    marks = (torchrun_output.rfind(m) for m in ("ChildFailedError", "Failures:", "Root Cause"))
    start = next((m for m in marks if m >= 0), -1)  # the last summary only (a log holds earlier launches)
    if start < 0:
        return None
    found = [(int(r), int(c)) for r, c in _FAILURE.findall(torchrun_output[start:])]
    killed = [f for f in found if f[1] < 0 and f[1] != -signal.SIGTERM]
    if killed:
        return killed[0]
    return found[-1] if found else None  # the summary ends with torchrun's root cause


_PEER_GONE = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "NCCL communicator was aborted",
              "remote process exited", "ProcessGroupGloo", "ProcessGroupNCCL")


def peer_failure(exc: BaseException) -> bool:
    """Whether an exception is a collective failing because another rank went away (not this rank's fault)."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    return bool(kinds & {"DistBackendError", "DistNetworkError"}) or any(m in str(exc) for m in _PEER_GONE)


def exception_line(log_text: str) -> str | None:
    """The exception a rank died of: the first unindented line after its last traceback's frames."""
    lines = [_PREFIX.sub("", line).rstrip() for line in log_text.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    for line in lines[starts[-1] + 1:] if starts else []:
        if line and not line[0].isspace():
            return line
    return None


def rank_stderr(log_root: Path, rank: int) -> str:
    """The newest launch's stderr of one rank (local rank = rank on one machine), '' when absent."""
    logs = sorted(Path(log_root).glob(f"*/attempt_*/{rank}/stderr.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return ""
    with open(logs[-1], "rb") as fh:
        fh.seek(max(0, logs[-1].stat().st_size - 64 * 1024))
        return fh.read().decode("utf-8", "replace")


def _at(step: object) -> str:
    return f"at step {step}" if isinstance(step, int) and step > 0 else "before its first step"


def death_message(rank: int, code: int, step: object, error: str | None) -> str:
    """'rank 1 was killed by SIGKILL at step 5' or 'rank 1 failed at step 5: RuntimeError: …'."""
    if code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
        return f"rank {rank} {how} {_at(step)}; the group was ended; {RESUME_HINT}"
    text = f"rank {rank} failed {_at(step)}" + (f": {error}" if error else f" (exit code {code})")
    if "Out of memory" in text or "OutOfMemory" in text:
        text += f" ({OOM_NOTE})"
    return f"{text}; {RESUME_HINT}"


def process_state(pid: object) -> str:
    """'gone' (exited: zombie or no such process), 'stopped' (SIGSTOP, a debugger) or 'running'."""
    import psutil

    try:
        status = psutil.Process(int(pid)).status()
    except psutil.NoSuchProcess:
        return "gone"
    except (psutil.Error, TypeError, ValueError):
        return "running"  # cannot tell: assume the best
    if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
        return "gone"
    return "stopped" if status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP) else "running"


def stuck_rank(progress: dict[int, dict]) -> int:
    """The rank that holds the group up: one gone or stopped, else the one behind, else the quietest."""
    states = {rank: process_state(progress[rank].get("pid")) for rank in sorted(progress)}
    for wanted in ("gone", "stopped"):
        for rank, state in states.items():
            if state == wanted:
                return rank
    return min(progress, key=lambda r: (progress[r].get("step") or 0, progress[r].get("time") or 0.0, r))


def stall_message(rank: int, step: object, silent_s: float, timeout_s: float) -> str:
    """'rank 1 stopped advancing at step 5 …'."""
    return (f"rank {rank} stopped advancing {_at(step)} (no rank reported progress for {silent_s:.0f} s; "
            f"training.distributed.stall_timeout_s is {timeout_s:g}); the group was ended; {RESUME_HINT}")


def never_started_message(missing: list[int], waited_s: float) -> str:
    """Ranks that never wrote a progress file (stuck importing, loading or at the rendezvous)."""
    names = ", ".join(str(r) for r in missing)
    return (f"rank{'s' if len(missing) > 1 else ''} {names} never reported progress in {waited_s:.0f} s; "
            f"the group was ended; {RESUME_HINT}")
