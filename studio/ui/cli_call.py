"""Heavy questions (parameter probes, data previews) asked of the `studio` CLI in a child process.

The GUI never imports torch: anything that needs it runs as `python -m studio ... --json` in a
QProcess, and the parsed JSON (or the error the command printed) comes back as a signal. Nothing
here blocks the event loop; a call that outlives its timeout is killed and reported.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from studio.jobs import child
from studio.paths import Home
from studio.resource_files import studio_command


class CliCall(QObject):
    """One `studio ARGS` call; `finished(result, error)` fires once: parsed JSON or an error text.

    `progress(obj)` fires for each JSON object the child writes to stderr while it runs (the
    `{"stage", "fraction"}` lines of `studio export|merge --json`); other stderr lines are kept for
    the error message.
    """

    finished = Signal(object, object)
    progress = Signal(object)

    def __init__(self, home: Home, args: list[str], timeout_s: float = 120.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.args = list(args)
        self._done = False
        self._stderr = bytearray()   # all of it, for the error message
        self._pending = bytearray()  # an incomplete last line, until its newline arrives
        self._process = QProcess(self)
        program, *prefix = child_command()
        self._process.setProgram(program)
        self._process.setArguments([*prefix, "--home", str(home.root), *self.args])
        # Never the window's cwd: the child must not depend on (or import from) where the user was.
        self._process.setWorkingDirectory(str(home.root))
        environment = QProcessEnvironment()
        for key, value in child.child_env().items():
            environment.insert(key, value)
        self._process.setProcessEnvironment(environment)
        self._process.finished.connect(self._on_finished)
        self._process.readyReadStandardError.connect(self._read_stderr)
        self._process.errorOccurred.connect(self._on_error)
        self._timer = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> "CliCall":
        """Start the child process; returns self."""
        self._process.start()
        self._timer.start()
        return self

    def cancel(self) -> None:
        """Kill the child; no result will be delivered."""
        self._done = True
        self._timer.stop()
        if self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()

    @property
    def running(self) -> bool:
        """True until a result or an error has been delivered (or the call was cancelled)."""
        return not self._done

    def _emit(self, result: Any, error: str | None) -> None:
        if self._done:
            return
        self._done = True
        self._timer.stop()
        self.finished.emit(result, error)

    def _read_stderr(self) -> None:
        chunk = bytes(self._process.readAllStandardError())
        self._stderr += chunk
        self._pending += chunk
        *lines, rest = self._pending.split(b"\n")
        self._pending = bytearray(rest)
        for line in lines:
            obj = _json_object(line)
            if obj is not None and not self._done:
                self.progress.emit(obj)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        out = bytes(self._process.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(self._stderr).decode("utf-8", "replace")
        if code != 0 or status != QProcess.ExitStatus.NormalExit:
            lines = [ln for ln in err.strip().splitlines() if ln.strip() and _json_object(ln.encode()) is None]
            message = next((ln for ln in reversed(lines) if ln.startswith("studio:")), lines[-1] if lines else "")
            self._emit(None, message.removeprefix("studio: ") or f"`studio {self.args[0]}` exited {code}")
            return
        try:
            self._emit(json.loads(out), None)
        except json.JSONDecodeError as e:
            self._emit(None, f"`studio {self.args[0]}` printed something that is not JSON ({e})")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._emit(None, f"could not start {sys.executable}")

    def _on_timeout(self) -> None:
        self._process.kill()
        self._emit(None, f"`studio {self.args[0]}` took longer than {self._timer.interval() / 1000:.0f} s")


def child_command() -> list[str]:
    """`python -P -m studio` (this studio, never a `studio` folder in the cwd), or a frozen build's executable."""
    prefix = child.python_prefix()
    return [*prefix, "-m", "studio"] if prefix else studio_command()


def _json_object(line: bytes) -> dict[str, Any] | None:
    """The JSON object on one stderr line, or None for any other line (a warning, a traceback)."""
    line = line.strip()
    if not line.startswith(b"{"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None
