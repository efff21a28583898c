"""Settings: one place, paths from the project root, unknown keys refused."""
from __future__ import annotations

from pathlib import Path

import pytest

import re

import govlib.settings as settings_module
from govlib.errors import ValidationError
from govlib.settings import (SCHEMA, Key, check_section, load_settings, read_section, read_yaml, section_defaults,
                             settings_reference)


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
    """The shipped govlib.yaml passes the whole schema, names only declared keys, and every section a stage reads
    from it comes back complete (the schema's defaults filled in)."""
    root = Path(__file__).resolve().parents[1]
    path = root / "govlib.yaml"
    doc, lines = read_yaml(path)
    problems = [p for name, values in doc.items() for p in check_section(name, values, lines=lines)]
    assert problems == []
    declared = {k for k, _ in _key_paths(SCHEMA)}
    assert {k for k in lines if not isinstance(_at(doc, k), dict)} <= declared
    s = load_settings(root=root)
    for name, node in SCHEMA.items():
        if isinstance(node, dict):
            assert set(read_section(s, name)) == set(node), name
    assert s.section("reports")["kernel"] == "govlib"


def _key_paths(node, prefix=""):
    if isinstance(node, Key):
        return [(prefix, node)]
    return [kp for k, v in node.items() for kp in _key_paths(v, f"{prefix}.{k}" if prefix else k)]


def _at(doc, path):
    for part in path.split("."):
        doc = doc[part]
    return doc


def test_docs_list_exactly_the_declared_keys_and_agree_with_the_code():
    text = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| `([a-z_.A-Z0-9]+)` \|", text, flags=re.M)
    declared = [k for k, _ in _key_paths(SCHEMA)]
    assert sorted(documented) == sorted(declared)
    for path, key in _key_paths(SCHEMA):  # each row names the key's real default and allowed values
        row = next(line for line in text.splitlines() if line.startswith(f"| `{path}` |"))
        assert key.expected() in row and key.doc in row, path
    assert text == settings_reference(), "docs/settings.md is stale: python -m govlib.settings > docs/settings.md"


def test_schema_agrees_with_the_engines():
    """The schema repeats the engines' method lists and defaults (they sit on a higher floor): they must agree."""
    from govlib.index.aggregate import AGGREGATION_METHODS, ZERO_RULES
    from govlib.index.composite import DEFAULT_CHOICES
    from govlib.index.normalise import METHODS, TIE_RULES
    from govlib.index.treat import IMPUTATION_METHODS
    from govlib.survey.design import FPC_KINDS, LONELY_PSU_OPTIONS
    from govlib.survey.estimate import MEASURES

    assert settings_module.NORMALISATIONS == METHODS and settings_module.AGGREGATIONS == AGGREGATION_METHODS
    assert settings_module.IMPUTATIONS == IMPUTATION_METHODS and settings_module.TIE_RULES == TIE_RULES
    assert settings_module.MEASURES == MEASURES
    index = SCHEMA["index"]
    assert index["zero_rule"].choices == ZERO_RULES
    assert SCHEMA["survey"]["lonely_psu"].choices == LONELY_PSU_OPTIONS
    assert SCHEMA["survey"]["fpc_kind"].choices == FPC_KINDS
    engine = {k: list(v) if isinstance(v, tuple) else v for k, v in DEFAULT_CHOICES.items()}
    ours = {k: v for k, v in section_defaults("index").items() if k not in ("audit", "uncertainty")}
    assert ours == engine


@pytest.mark.parametrize("stage", ["survey", "hotline", "doorstep", "index", "trend"])
def test_every_stage_reads_its_section_through_the_schema(stage, tmp_path):
    """A stage's reader refuses what the schema refuses, with the one error type, and fills the schema's defaults."""
    import importlib

    module = importlib.import_module(f"govlib.pipeline.stages.{stage}")
    s = load_settings(root=tmp_path)
    cfg = module.read_settings(s)
    cfg = cfg[0] if isinstance(cfg, tuple) else cfg
    assert set(cfg) == set(SCHEMA[stage])
    with pytest.raises(ValidationError) as info:
        module.read_settings(s.with_overrides(**{stage: {"no_such_key": 1}}))
    assert [p.column for p in info.value.problems] == [f"{stage}.no_such_key"]


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
