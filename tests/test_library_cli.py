"""The library through the real `studio` command: adapters import / show / tag / rename / rm, export,
merge — JSON for scripts and the GUI, refusals with exit code 2 and the reason on stderr."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.library.conftest import wide_llama  # noqa: F401  (a fixture: another base, 48 wide)

pytestmark = pytest.mark.slow


def cli(home, *args: str) -> subprocess.CompletedProcess:
    """`studio ARGS` in a subprocess whose stdin is not a terminal."""
    env = dict(os.environ, STUDIO_HOME=str(home.root), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, stdin=subprocess.DEVNULL, timeout=600)


@pytest.fixture
def adapters(tmp_path, tiny_models):
    from tests.library.conftest import make_adapter

    base = tiny_models["llama"]
    return {"a": make_adapter(tmp_path / "a", base, "llama", "lora", seed=1),
            "b": make_adapter(tmp_path / "b", base, "llama", "lora", seed=2)}


def test_library_commands(home, adapters, wide_llama):
    assert json.loads(cli(home, "adapters", "--json").stdout) == []
    bad = cli(home, "adapters", "import", str(adapters["a"]), "--base", str(wide_llama))
    assert bad.returncode == 2 and "adapter has (4, 32), base expects (4, 48)" in bad.stderr
    done = cli(home, "adapters", "import", str(adapters["a"]), "--name", "pirate", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "pirate"
    assert cli(home, "adapters", "import", str(adapters["b"])).returncode == 0

    assert cli(home, "adapters", "tag", "pirate", "chat", "fun", "--notes", "arr").returncode == 0
    shown = json.loads(cli(home, "adapters", "show", "pirate", "--json").stdout)
    assert shown["tags"] == ["chat", "fun"] and shown["notes"] == "arr" and shown["method"] == "lora"
    assert "adapter_model.safetensors" in shown["files"] and shown["info"]["settings"]["r"] == 4
    assert [r["name"] for r in json.loads(cli(home, "adapters", "--json", "--search", "fun").stdout)] == ["pirate"]
    assert "pirate" in cli(home, "adapters").stdout

    assert cli(home, "adapters", "rename", "pirate", "parrot").returncode == 0
    refused = cli(home, "adapters", "rm", "parrot")
    assert refused.returncode == 2 and "without --yes" in refused.stderr
    assert cli(home, "adapters", "rm", "parrot", "--yes").returncode == 0
    assert [r["name"] for r in json.loads(cli(home, "adapters", "--json").stdout)] == ["b"]
    assert sorted(p.name for p in home.adapters_dir.iterdir()) == ["b"]
    missing = cli(home, "adapters", "show", "parrot")
    assert missing.returncode == 2 and "no adapter named 'parrot'" in missing.stderr


def test_export_and_merge_commands(home, adapters, tmp_path):
    for name in ("a", "b"):
        assert cli(home, "adapters", "import", str(adapters[name])).returncode == 0
    out = tmp_path / "merged"
    done = cli(home, "export", "a", "--merged", str(out), "--dtype", "fp32", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == str(out) and "model.safetensors" in result["files"]
    progress = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert progress[-1] == {"stage": "done", "fraction": 1.0} and len(progress) >= 5
    again = cli(home, "export", "a", "--merged", str(out))
    assert again.returncode == 2 and "not empty" in again.stderr

    mixed = cli(home, "merge", "a", "b", "--weights", "0.5", "0.5", "--method", "ties", "--density", "0.7",
                "--name", "blend", "--json")
    assert mixed.returncode == 0, mixed.stderr
    assert json.loads(mixed.stdout)["name"] == "blend"
    row = json.loads(cli(home, "adapters", "show", "blend", "--json").stdout)
    assert row["source"] == "merged" and row["method"] == "lora"
