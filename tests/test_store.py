"""The processed store's switch (govlib.data.store): one atomic rename, readers that recover, nothing of the user's
removed."""
from __future__ import annotations

import json
import os

import pytest

from conftest import count
from govlib.data.store import begin_build, check_current, commit_build, current_dir, has_build, remove_staging
from govlib.errors import GovlibError


def _build(processed, build_id, tag):
    staging = begin_build(processed)
    (staging / "t.txt").write_text(tag)
    (staging / "manifest.json").write_text(json.dumps({"build_id": build_id, "tag": tag}))
    return commit_build(processed, staging, build_id)


def test_same_inputs_built_twice_never_rename_the_current_folder(tmp_path):
    count("crash runs survived")
    first = _build(tmp_path, "abc", "one")
    assert current_dir(tmp_path) == first.resolve()
    second = _build(tmp_path, "abc", "two")
    assert second.name == "abc.2" and current_dir(tmp_path) == second.resolve()
    assert (current_dir(tmp_path) / "t.txt").read_text() == "two"
    third = _build(tmp_path, "abc", "three")
    assert third.name in ("abc", "abc.3") and (current_dir(tmp_path) / "t.txt").read_text() == "three"
    assert len([p for p in (tmp_path / "builds").iterdir()]) <= 2  # keep=2


def test_readers_recover_from_a_dangling_link(tmp_path):
    count("crash runs survived")
    old = _build(tmp_path, "a", "old")
    new = _build(tmp_path, "b", "new")
    os.rename(new, tmp_path / "builds" / ".old-b")  # what a kill between two renames used to leave
    assert not (tmp_path / "current").exists()
    assert has_build(tmp_path) and current_dir(tmp_path) == old.resolve()


def test_a_plain_current_folder_with_a_build_is_adopted_and_kept(tmp_path):
    count("adversarial inputs tried")
    b = _build(tmp_path, "a", "copied")
    (tmp_path / "current").unlink()
    os.rename(b, tmp_path / "current")  # a zip copy: the link became the folder
    assert has_build(tmp_path) and (current_dir(tmp_path) / "t.txt").read_text() == "copied"
    _build(tmp_path, "b", "next")
    assert (tmp_path / "current").is_symlink()
    kept = [p for p in (tmp_path / "builds").iterdir() if p.name.startswith("copied-current")]
    assert kept and (kept[0] / "t.txt").read_text() == "copied"


def test_a_plain_current_folder_of_user_files_is_explained_not_removed(tmp_path):
    count("adversarial inputs tried")
    (tmp_path / "current").mkdir()
    (tmp_path / "current" / "mine.xlsx").write_text("mine")
    with pytest.raises(GovlibError, match="is a folder, not the link"):
        check_current(tmp_path)
    staging = begin_build(tmp_path)
    with pytest.raises(GovlibError, match="Move it away"):
        commit_build(tmp_path, staging, "x")
    assert (tmp_path / "current" / "mine.xlsx").read_text() == "mine"
    assert not list(tmp_path.glob(".current-*"))
    assert remove_staging(tmp_path) == 1 and not list((tmp_path / "builds").glob(".staging-*"))


def test_tidying_removes_only_builds(tmp_path):
    count("adversarial inputs tried")
    _build(tmp_path, "a", "1")
    (tmp_path / "builds" / "my backup").mkdir()
    (tmp_path / "builds" / "my backup" / "scores.xlsx").write_text("mine")
    (tmp_path / "builds" / "notes.txt").write_text("mine")
    for k in range(3):
        _build(tmp_path, f"b{k}", str(k))
    assert (tmp_path / "builds" / "my backup" / "scores.xlsx").read_text() == "mine"
    assert (tmp_path / "builds" / "notes.txt").read_text() == "mine"
    assert len([p for p in (tmp_path / "builds").iterdir() if (p / "manifest.json").exists()]) == 2
