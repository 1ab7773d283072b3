"""The model browser's remembered folders."""
from __future__ import annotations

from pathlib import Path

from studio.store import model_folders, open_db


def test_add_list_remove(db, tmp_path):
    assert model_folders.list_folders(db) == []
    assert model_folders.add_folder(db, tmp_path / "a") is True
    assert model_folders.add_folder(db, tmp_path / "b") is True
    assert model_folders.add_folder(db, str(tmp_path / "a") + "/") is False  # same folder, other spelling
    assert model_folders.list_folders(db) == [tmp_path / "a", tmp_path / "b"]
    assert model_folders.remove_folder(db, tmp_path / "a") is True
    assert model_folders.remove_folder(db, tmp_path / "a") is False
    assert model_folders.list_folders(db) == [tmp_path / "b"]


def test_relative_and_home_paths_are_stored_absolute(db, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    model_folders.add_folder(db, "models")
    model_folders.add_folder(db, "~/more")
    assert model_folders.list_folders(db) == [tmp_path / "models", tmp_path / "home" / "more"]


def test_folders_survive_reopening(tmp_path):
    path = tmp_path / "studio.db"
    db = open_db(path)
    model_folders.add_folder(db, Path("/data/models"))
    db.conn.close()
    again = open_db(path)
    assert model_folders.list_folders(again) == [Path("/data/models")]
    again.conn.close()
