"""The run detail shows a run's warnings, an out-of-memory retry first and in bold, and a failed run's advice."""
from __future__ import annotations

from studio.config import RunConfig
from studio.store import runs
from studio.ui.pages.runs import RunsPage
from studio.ui.widgets import run_detail
from studio.worker import oom
from tests.ui.conftest import make_run


def _retry_warning() -> str:
    cfg = RunConfig.from_dict({"name": "r", "task": "causal-lm", "model": "m", "data": {"train": "t.jsonl"},
                               "training": {"batch_size": 4, "gradient_accumulation": 4}})
    return oom.retry_warning(37, 35, cfg)


def _page(qtbot, store, home) -> RunsPage:
    page = RunsPage(store, home)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    return page


def test_an_out_of_memory_retry_is_shown_in_bold_before_data_warnings(qtbot, store, home):
    assert run_detail.OOM_RETRY_PREFIX == oom.RETRY_PREFIX  # the GUI recognises what the worker writes
    run_id = make_run(store, name="retried", status="running", step=40)
    data = [f"{n} rows are longer than max_length=32 tokens" for n in range(1, 8)]
    runs.add_warnings(store, run_id, data[:1] + [_retry_warning()] + data[1:])
    detail = _page(qtbot, store, home).detail
    assert detail.warnings_label.isVisibleTo(detail)
    lines = detail.warnings_label.text().split("<br>")
    assert lines[0] == ("<b>⚠ Out of memory at step 37: retried from the checkpoint at step 35 with batch 4 × "
                        "accumulation 4 (effective batch 16 unchanged)</b>")
    assert lines[1] == "⚠ 1 rows are longer than max_length=32 tokens"
    assert len(lines) == 1 + run_detail.MAX_OTHER_WARNINGS + 1 and "2 more" in lines[-1]


def test_no_warnings_no_label_and_a_failed_runs_advice_is_shown(qtbot, store, home):
    advice = "Out of memory at step 1 with batch_size 1 × gradient_accumulation 2. Try: method.name: qlora"
    make_run(store, name="oom", status="failed", error=advice)
    detail = _page(qtbot, store, home).detail
    assert not detail.warnings_label.isVisibleTo(detail)
    assert detail.error_label.text() == advice and detail.error_label.isVisibleTo(detail)
