"""Atomic checkpoints: only folders with the marker count; leftovers from a crash are cleaned."""
from __future__ import annotations

from studio.core import checkpoints as ck


def _staged(run_dir, step):
    folder = ck.staging_dir(run_dir) / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"x" * 10)
    return folder


def test_publish_marks_complete_and_moves_into_place(tmp_path):
    final = ck.publish(_staged(tmp_path, 5), tmp_path, 5)
    assert final == tmp_path / "checkpoints" / "checkpoint-5"
    assert (final / ck.MARKER).read_text() == "5" and (final / "weights.bin").is_file()
    assert not (ck.staging_dir(tmp_path) / "checkpoint-5").exists()
    assert ck.latest_checkpoint(tmp_path) == (5, final)


def test_incomplete_folders_are_ignored_and_cleaned(tmp_path):
    ck.publish(_staged(tmp_path, 5), tmp_path, 5)
    half = tmp_path / "checkpoints" / "checkpoint-10"
    half.mkdir()  # as if a crash happened before the marker was written
    _staged(tmp_path, 15)
    assert ck.latest_checkpoint(tmp_path)[0] == 5
    ck.clean_leftovers(tmp_path)
    assert not half.exists() and not ck.staging_dir(tmp_path).exists()
    assert [s for s, _ in ck.complete_checkpoints(tmp_path)] == [5]


def test_rotate_keeps_the_newest(tmp_path):
    for step in (5, 10, 15):
        ck.publish(_staged(tmp_path, step), tmp_path, step)
    assert ck.rotate(tmp_path, keep=2) == [5]
    assert [s for s, _ in ck.complete_checkpoints(tmp_path)] == [10, 15]
