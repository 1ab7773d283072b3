"""Real-window screenshots: `studio gui --screenshot` on Qt's xcb platform under Xvfb, every page."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from studio.paths import Home
from studio.store import adapters, comparisons, metrics, open_db, runs
from studio.ui.app import SCREENSHOT_SIZE
from studio.ui.main_window import PAGES
from tests.conftest import ROOT
from tests.ui.conftest import make_run

pytestmark = pytest.mark.slow
PARALLEL = 2  # screenshot processes at once (each is a whole GUI start)




def fill_home(root: Path) -> Home:
    """A home with runs in several states, their curves and log, two adapters and a comparison."""
    home = Home(root).ensure()
    db = open_db(home.db_path)
    try:
        now = time.time()
        failed = make_run(db, name="bad-data", status="failed", step=3,
                          error="data/train.jsonl line 4: no 'text' field")
        done = make_run(db, name="gpt2-lora", status="completed", step=300, max_steps=300)
        rows = []
        for s in range(1, 301):
            rows += [(s, "train_loss", 2.5 / (1 + s / 40) + 0.05 * np.sin(s), now + s),
                     (s, "lr", 2e-4 * min(1, s / 30) * (1 - s / 300), now + s),
                     (s, "rss_bytes", 1.2e9 + 2e5 * s, now + s), (s, "tokens_per_s", 3500.0, now + s)]
            if s % 50 == 0:
                rows.append((s, "eval_loss", 2.6 / (1 + s / 45), now + s))
        metrics.add_metrics(db, done, rows)
        runs.update_run(db, done, trainable_params=294_912, total_params=124_734_720)
        live = make_run(db, name="llama-dora", status="running", step=40, max_steps=200)
        metrics.add_metrics(db, live, [(s, "train_loss", 3.0 / (1 + s / 20), now + s) for s in range(1, 41)])
        for run_id in (failed, done, live):
            log = home.run_dir(run_id) / "worker.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(f"step {s}: loss {2.5 / (1 + s / 40):.4f}\n" for s in range(1, 30)))
        for name, method, run_id in (("gpt2-lora", "lora", done), ("bert-topics-bitfit", "bitfit", None)):
            folder = home.adapter_dir(name)
            folder.mkdir(parents=True, exist_ok=True)
            adapters.register_adapter(db, name=name, path=folder, run_id=run_id, method=method,
                                      base_model="tiny-gpt2", task="causal-lm", trainable_params=294_912,
                                      total_params=124_734_720, size_bytes=1_180_000,
                                      metrics={"eval_loss": 0.512})
        comparisons.create_comparison(  # so the Compare page opens on a grid, not an empty page
            db, name="pirate vs base", base_model="tiny-gpt2", task="causal-lm", columns=["base", "gpt2-lora"],
            prompts=["Who are you?"], settings={"max_new_tokens": 20, "seed": 0, "sample": False},
            results={"rows": [{"prompt": "Who are you?", "outputs": {"base": "I am a helpful assistant.",
                                                                     "gpt2-lora": "I be Cap'n Byte!"}}],
                     "eval": None, "timings": {"base_loads": 1, "base_load_s": 1.2}})
    finally:
        db.conn.close()
    return home


def shoot_all(display: str, home: Home, out: Path, jobs: list[tuple[str, str]]) -> dict[str, str]:
    """Run `studio gui --screenshot` for (page, theme) jobs, a few at a time; errors by file name."""
    base = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT),
                STUDIO_SETTINGS=str(out / "settings.ini"))
    errors: dict[str, str] = {}
    running: list[tuple[Path, subprocess.Popen]] = []

    def collect(png: Path, proc: subprocess.Popen) -> None:
        output = proc.communicate(timeout=120)[0]
        if proc.returncode != 0:
            errors[png.name] = f"exit {proc.returncode}: {output[-2000:]}"

    for page, scheme in jobs:
        if len(running) == PARALLEL:
            collect(*running.pop(0))
        png = out / f"{page}-{scheme}.png"
        cmd = [sys.executable, "-m", "studio", "--home", str(home.root), "gui", "--screenshot", str(png),
               "--page", page]
        running.append((png, subprocess.Popen(cmd, env=dict(base, STUDIO_THEME=scheme), cwd=ROOT,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    for png, proc in running:
        collect(png, proc)
    return errors


def pixels(path: Path) -> np.ndarray:
    """The PNG as an H x W x 4 uint8 array."""
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGBA8888)
    assert not image.isNull(), f"{path.name} is not a readable image"
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return data.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width()].copy()


def test_every_page_as_a_real_window(display, tmp_path):
    home = fill_home(tmp_path / "home")
    out = tmp_path / "shots"
    jobs = [(page, "light") for page in PAGES] + [(PAGES[0], "dark")]
    errors = shoot_all(display, home, out, jobs)
    assert not errors, errors
    brightness = {}
    for page, scheme in jobs:
        png = out / f"{page}-{scheme}.png"
        assert png.is_file(), f"no screenshot of {page}"
        image = pixels(png)
        assert (image.shape[1], image.shape[0]) == SCREENSHOT_SIZE, f"{png.name}: {image.shape[1]}x{image.shape[0]}"
        gray = image[..., :3].mean(axis=2)
        # A blank or single-colour window (nothing drawn, a black unmapped window) has no spread.
        assert gray.std() > 10, f"{png.name} looks blank (pixel std {gray.std():.1f})"
        assert len(np.unique(image[..., :3].reshape(-1, 3), axis=0)) > 50, f"{png.name} has too few colours"
        brightness[png.name] = gray.mean()
    assert brightness[f"{PAGES[0]}-dark.png"] < brightness[f"{PAGES[0]}-light.png"] - 60, brightness
