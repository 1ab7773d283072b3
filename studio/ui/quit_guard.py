"""Quitting while runs train: say that training goes on in the background, and offer to stop it
(the architecture: closing the window never stops a worker; quitting asks)."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

KEEP, STOP, CANCEL = "keep", "stop", "cancel"


def quit_text(active: list[dict]) -> str:
    """What goes on after the window closes, naming the runs."""
    training = [r for r in active if r["status"] == "running" or r.get("launched_at")]
    waiting = [r for r in active if r not in training]
    parts = []
    if training:
        parts.append("Training goes on in the background after the window closes: "
                     + ", ".join(f"run {r['id']} ({r['name']})" for r in training) + ".")
    if waiting:
        parts.append("Queued runs also start in turn without the window: "
                     + ", ".join(f"run {r['id']} ({r['name']})" for r in waiting) + ".")
    parts.append("Open the studio again (or use  studio runs) to follow them.")
    return " ".join(parts)


def ask(parent: QWidget, active: list[dict]) -> str:
    """KEEP (quit, runs go on), STOP (ask them to stop, then quit) or CANCEL (stay)."""
    box = QMessageBox(QMessageBox.Icon.Question, "Runs are still training", quit_text(active),
                      QMessageBox.StandardButton.NoButton, parent)
    keep = box.addButton("Quit, keep training", QMessageBox.ButtonRole.AcceptRole)
    stop = box.addButton("Stop the runs and quit", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.exec()
    clicked = box.clickedButton()
    return KEEP if clicked == keep else STOP if clicked == stop else CANCEL


def may_close(parent: QWidget, db: Any) -> tuple[bool, str]:
    """Whether the window may close now, and a status line for what was done about active runs."""
    if db is None:
        return True, ""
    from studio.jobs import run_admin

    active = run_admin.active_runs(db)
    if not active:
        return True, ""
    choice = ask(parent, active)
    if choice == CANCEL:
        return False, ""
    if choice == STOP:
        asked = run_admin.ask_all_to_stop(db)
        return True, f"Asked run(s) {', '.join(map(str, asked))} to stop"
    return True, "Training goes on in the background"
