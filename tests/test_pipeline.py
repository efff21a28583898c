"""The build: validates first, writes nothing on bad input, swaps complete builds atomically, one at a time."""
from __future__ import annotations


import pytest

from govlib.errors import GovlibError, ValidationError
from govlib.pipeline.build import build
from govlib.data.processed import load_manifest, load_processed
from govlib.settings import load_settings
from govlib.data.store import current_dir
from test_io import OBSERVATIONS, write_raw


@pytest.fixture()
def project(tmp_path):
    write_raw(tmp_path / "data" / "raw")
    return load_settings(root=tmp_path)


def test_build_writes_tables_and_manifest(project):
    result = build(project, only=[], progress=False)
    m = load_manifest(project)
    assert m == result.manifest
    assert {"units", "observations", "framework"} <= set(m["tables"])
    assert set(m["inputs"]) >= {"data/raw/units.csv", "data/raw/observations.csv", "data/raw/framework.yaml"}
    assert m["settings_hash"] == project.hash and m["synthetic"] is False
    obs = load_processed("observations", project)
    assert len(obs) == 4 and obs["unit"].map(type).eq(str).all()


def test_bad_input_writes_nothing_and_keeps_the_previous_build(project):
    build(project, only=[], progress=False)
    before = current_dir(project.processed_dir)
    files_before = sorted(p.name for p in before.iterdir())
    (project.raw_dir / "observations.csv").write_text(OBSERVATIONS.replace("72.5", "x"), encoding="utf-8")
    with pytest.raises(ValidationError):
        build(project, only=[], progress=False)
    assert current_dir(project.processed_dir) == before
    assert sorted(p.name for p in before.iterdir()) == files_before
    assert not [p for p in (project.processed_dir / "builds").iterdir() if p.name.startswith(".staging")]


def test_two_builds_of_the_same_inputs_are_byte_identical(project):
    first = build(project, only=[], progress=False)
    hashes = {k: v["sha256"] for k, v in first.manifest["tables"].items()}
    second = build(project, only=[], progress=False)
    assert {k: v["sha256"] for k, v in second.manifest["tables"].items()} == hashes
    assert first.manifest["data_version"] == second.manifest["data_version"]


def test_a_second_build_waits_for_the_lock_then_gives_a_clear_error(project):
    from filelock import FileLock

    project.processed_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(project.processed_dir / ".build.lock")):
        with pytest.raises(GovlibError, match="another `govlib build` is running"):
            build(project, only=[], lock_timeout=0.2, progress=False)


def test_no_processed_data_is_a_clear_error(tmp_path):
    with pytest.raises(GovlibError, match="run `govlib build`"):
        load_manifest(load_settings(root=tmp_path))
