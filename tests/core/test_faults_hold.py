"""The test-only hold: a run waits after each step while a file exists, and never for ever."""
from __future__ import annotations

import threading
import time

from studio.core import faults


def test_hold_lasts_while_the_file_exists_and_gives_up_at_its_limit(tmp_path, monkeypatch):
    hold = tmp_path / "hold"
    hold.touch()
    monkeypatch.setenv(faults.HOLD_WHILE_FILE, str(hold))
    (callback,) = faults.injected_callbacks()
    released = threading.Timer(0.3, hold.unlink)
    released.start()
    start = time.monotonic()
    callback.on_step_end(None, None, None)  # returns only once the file is gone
    assert not hold.exists() and time.monotonic() - start >= 0.25
    callback.on_step_end(None, None, None)  # no file: no wait (nothing to assert but that it returns)
    hold.touch()
    capped = faults.hold_while_file(str(hold), most_s=0.2)
    capped.on_step_end(None, None, None)  # a test that failed before removing the file: no endless hold
    assert hold.exists()
