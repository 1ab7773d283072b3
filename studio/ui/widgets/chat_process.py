"""The chat page's long-lived `studio chat-serve` child: JSON lines to its stdin, events from its stdout.

The model stays loaded in the child between replies, so the window never imports torch and never waits:
`event(dict)` fires for each line the child writes, `died(str)` once if it ends without being asked to.
"""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from studio.jobs import child
from studio.paths import Home
from studio.ui.cli_call import child_command

STDERR_KEPT = 8000  # bytes of the child's stderr kept to explain a crash


class ChatProcess(QObject):
    """One chat-serve child; `command` replaces `studio --home H chat-serve` (tests use a fake child)."""

    event = Signal(dict)
    died = Signal(str)

    def __init__(self, home: Home, command: list[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending = bytearray()
        self._stderr = bytearray()
        self._closing = False
        self._process = QProcess(self)
        program, *args = command or [*child_command(), "--home", str(home.root), "chat-serve"]
        self._process.setProgram(program)
        self._process.setArguments(args)
        self._process.setWorkingDirectory(str(home.root))  # never the window's cwd (see studio/jobs/child.py)
        environment = QProcessEnvironment()
        for key, value in child.child_env().items():
            environment.insert(key, value)
        environment.insert("PYTHONUNBUFFERED", "1")
        environment.insert("TOKENIZERS_PARALLELISM", "false")
        self._process.setProcessEnvironment(environment)
        self._process.readyReadStandardOutput.connect(self._read_stdout)
        self._process.readyReadStandardError.connect(self._read_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)

    def start(self) -> None:
        """Start the child (it answers with a "ready" event)."""
        self._closing = False
        self._process.start()

    @property
    def running(self) -> bool:
        """Whether the child is starting or running."""
        return self._process.state() != QProcess.ProcessState.NotRunning

    def pid(self) -> int:
        """The child's process id (0 when none)."""
        return int(self._process.processId())

    def send(self, request: dict[str, Any]) -> bool:
        """Write one request line; False when there is no child to take it."""
        if not self.running:
            return False
        self._process.write((json.dumps(request) + "\n").encode("utf-8"))
        return True

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Ask the child to quit (it frees the model), killing it if it does not in time."""
        if not self.running:
            return
        self._closing = True
        self.send({"op": "stop"})
        self.send({"op": "quit"})
        self._process.closeWriteChannel()
        if not self._process.waitForFinished(wait_ms):
            self._process.kill()
            self._process.waitForFinished(1000)

    def stderr_tail(self, lines: int = 6) -> str:
        """The last lines the child wrote to stderr (its traceback when it crashed)."""
        text = bytes(self._stderr).decode("utf-8", "replace").strip()
        return "\n".join(text.splitlines()[-lines:])

    def _read_stdout(self) -> None:
        self._pending += bytes(self._process.readAllStandardOutput())
        *lines, rest = self._pending.split(b"\n")
        self._pending = bytearray(rest)
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not ours (the child routes prints to stderr, but be safe)
            if isinstance(event, dict):
                self.event.emit(event)

    def _read_stderr(self) -> None:
        self._stderr += bytes(self._process.readAllStandardError())
        del self._stderr[:-STDERR_KEPT]

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._closing:
            return
        how = "crashed" if status != QProcess.ExitStatus.NormalExit else f"exited with code {code}"
        tail = self.stderr_tail()
        self.died.emit(f"The chat process {how}." + (f"\n\n{tail}" if tail else ""))

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._closing:
            self.died.emit(f"Could not start the chat process ({self._process.program()}).")
