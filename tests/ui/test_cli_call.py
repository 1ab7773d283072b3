"""CliCall's progress signal: the JSON lines a child writes to stderr arrive while it runs, the result
still comes from stdout, and an error still names the `studio:` line (not a progress line). The child
is a real, torch-free `studio export --adapter-only` of a hand-made adapter folder."""
from __future__ import annotations

from studio.ui.cli_call import CliCall, _json_object
from tests.ui.test_adapters_page import fake_lora


def run(qtbot, home, args):
    call = CliCall(home, args, timeout_s=120)
    lines, outcome = [], []
    call.progress.connect(lines.append)
    call.finished.connect(lambda result, error: outcome.append((result, error)))
    call.start()
    qtbot.waitUntil(lambda: bool(outcome), timeout=120_000)
    return lines, outcome[0]


def test_progress_lines_arrive_and_the_result_is_parsed(qtbot, home, tmp_path):
    folder = fake_lora(tmp_path / "lora", tmp_path / "base")
    out = tmp_path / "exported"
    lines, (result, error) = run(qtbot, home, ["export", str(folder), "--adapter-only", str(out), "--json"])
    assert error is None and result["path"] == str(out) and "MANIFEST.sha256" in result["files"]
    assert [line["stage"] for line in lines][0] == "copying adapter" and lines[-1] == {"stage": "done", "fraction": 1.0}
    fractions = [line["fraction"] for line in lines]
    assert fractions == sorted(fractions)


def test_an_error_names_the_studio_line_not_a_progress_line(qtbot, home, tmp_path):
    folder = fake_lora(tmp_path / "lora", tmp_path / "base")
    out = tmp_path / "taken"
    out.mkdir()
    (out / "file").write_text("x")
    lines, (result, error) = run(qtbot, home, ["export", str(folder), "--adapter-only", str(out), "--json"])
    assert result is None and "already exists and is not empty" in error and lines == []


def test_only_json_objects_count_as_progress():
    assert _json_object(b'{"stage": "saving", "fraction": 0.5}\n') == {"stage": "saving", "fraction": 0.5}
    assert _json_object(b"[1, 2]") is None and _json_object(b"{not json") is None
    assert _json_object(b"UserWarning: something") is None


def test_a_studio_folder_in_the_current_directory_is_never_imported(qtbot, home, tmp_path, monkeypatch):
    # Seen: the Models page's child failed with "cannot import name '__version__' from 'studio'".
    decoy = tmp_path / "somewhere" / "studio"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy studio folder was imported')\n")
    monkeypatch.chdir(decoy.parent)
    _lines, (result, error) = run(qtbot, home, ["runs", "--json"])
    assert error is None and result == []
