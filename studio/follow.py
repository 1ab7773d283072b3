"""Follow a run from the terminal: a progress bar fed by the store until the run ends."""
from __future__ import annotations

import sys
import time
from typing import Any

from studio import jobs
from studio.paths import Home
from studio.store import metrics, runs


def follow(db: Any, home: Home, run_id: int, poll_s: float = 0.5) -> int:
    """Show step, loss, tokens/s and ETA; exit 0 only when the run completed. Ctrl-C detaches."""
    from tqdm import tqdm

    run = runs.get_run(db, run_id)
    bar = tqdm(total=run.get("max_steps") or 0, unit="step", dynamic_ncols=True, file=sys.stderr,
               initial=run.get("step") or 0)
    shown_warnings: set[str] = set()
    shown: tuple = ()
    try:
        while True:
            run = jobs.check_liveness(db, runs.get_run(db, run_id))
            for w in run.get("warnings") or []:
                if w not in shown_warnings:
                    shown_warnings.add(w)
                    bar.write(f"warning: {w}")
            if run.get("max_steps") and bar.total != run["max_steps"]:
                bar.total = run["max_steps"]
            step = run.get("step") or 0
            if step > bar.n:
                bar.update(step - bar.n)
            last = metrics.last_values(db, run_id)
            desc = run.get("stage") if step == 0 and run.get("stage") else run["status"]
            post = _postfix(last)
            if (desc, post) != shown:  # redraw only on news: a log file gets one line per change
                shown = (desc, post)
                bar.set_description(desc, refresh=False)
                bar.set_postfix(post, refresh=True)
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        bar.close()
        print(f"\ndetached: run {run_id} goes on training in the background.\n"
              f"  watch it:   studio show {run_id}\n"
              f"  stop it:    studio stop {run_id}    pause it: studio pause {run_id}", file=sys.stderr)
        return 130
    bar.close()
    return _report(db, home, run)


def _postfix(last: dict[str, float]) -> dict[str, str]:
    out = {}
    for key, label, fmt in (("train_loss", "loss", "{:.4f}"), ("eval_loss", "eval", "{:.4f}"),
                            ("eval_accuracy", "acc", "{:.3f}"), ("tokens_per_s", "tok/s", "{:.0f}")):
        if key in last:
            out[label] = fmt.format(last[key])
    return out


def _report(db: Any, home: Home, run: dict) -> int:
    from studio.store import adapters

    status = run["status"]
    print(f"run {run['id']} {status} at step {run.get('step')}/{run.get('max_steps')}", file=sys.stderr)
    if status == "completed":
        for name, value in sorted(metrics.last_values(db, run["id"]).items()):
            if name.startswith("eval_"):
                print(f"  {name}: {value:.4f}", file=sys.stderr)
        for a in adapters.list_adapters(db):
            if a.get("run_id") == run["id"]:
                print(f"adapter saved: {a['name']}  {a['path']}", file=sys.stderr)
        return 0
    if run.get("error"):
        print(f"error: {run['error']}", file=sys.stderr)
    if status in ("failed", "crashed"):
        tail = jobs.log_tail(home, run["id"], 15)
        if tail:
            print("--- worker log (tail) ---\n" + tail, file=sys.stderr)
    if status in ("paused", "crashed", "cancelled"):
        print(f"resume with: studio resume {run['id']}", file=sys.stderr)
    return 1
