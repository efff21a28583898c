"""Settings: one place, paths from the project root, unknown keys refused."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from govlib.errors import ValidationError
from govlib.settings import load_settings


def test_paths_resolve_from_the_root_not_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "govlib.yaml").write_text("paths: {raw: my/raw}\n", encoding="utf-8")
    elsewhere = tmp_path / "notebooks"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_settings(root=tmp_path)
    assert s.raw_dir == (tmp_path / "my" / "raw").resolve()
    assert s.processed_dir == (tmp_path / "data" / "processed").resolve()


def test_govlib_root_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVLIB_ROOT", str(tmp_path))
    assert load_settings().root == tmp_path.resolve()


def test_unknown_section_and_key_are_errors(tmp_path):
    (tmp_path / "govlib.yaml").write_text("pahts: {}\nperiods: {base_year: 2018}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_settings(root=tmp_path)
    cols = {p.column for p in info.value.problems}
    assert cols == {"pahts", "periods.base_year"}


def test_bad_yaml_names_the_line(tmp_path):
    (tmp_path / "govlib.yaml").write_text("paths:\n  raw: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_settings(root=tmp_path)
    assert info.value.problems[0].file == "govlib.yaml" and info.value.problems[0].row is not None


def test_settings_hash_changes_with_method_choices_not_with_paths(tmp_path):
    a = load_settings(root=tmp_path)
    b = a.with_overrides(paths={"raw": "elsewhere"})
    c = a.with_overrides(periods={"base_period": "2020"})
    assert a.hash == b.hash != c.hash


def test_yaml_is_read_safely(tmp_path):
    (tmp_path / "govlib.yaml").write_text("project: !!python/object/apply:os.system ['echo pwned']\n",
                                          encoding="utf-8")
    with pytest.raises(ValidationError):
        load_settings(root=tmp_path)


def test_project_settings_file_is_valid():
    root = Path(__file__).resolve().parents[1]
    s = load_settings(root=root)
    assert s.section("reports")["kernel"] == "govlib"


def test_report_timeout_accepts_fractions_and_refuses_non_positive(tmp_path):
    (tmp_path / "govlib.yaml").write_text("reports: {timeout_seconds: 1.5, workers: 3}\n", encoding="utf-8")
    s = load_settings(root=tmp_path)
    assert s.section("reports")["timeout_seconds"] == 1.5 and s.section("reports")["workers"] == 3
    for bad in ("0", "-2", "soon", "true", ".inf"):
        (tmp_path / "govlib.yaml").write_text(f"reports: {{timeout_seconds: {bad}}}\n", encoding="utf-8")
        with pytest.raises(ValidationError) as info:
            load_settings(root=tmp_path)
        assert [p.column for p in info.value.problems] == ["reports.timeout_seconds"], bad
    (tmp_path / "govlib.yaml").write_text("reports: {workers: 1.5}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="whole number"):
        load_settings(root=tmp_path)
