"""Crash safety: `govlib build` killed with SIGKILL at random moments never leaves a mix of two builds, and the next
run completes. Runs against a copy of the small synthetic demo data in a temporary project."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import count
from govlib.data.store import file_sha256

KILL_RUNS = 3
# 200 Monte Carlo replications of the index's uncertainty instead of the default 1,000: most of the index stage's time,
# and nothing checked here (kills at random moments, byte identity of two builds) depends on how many there are.
FEWER_REPLICATIONS = "\nindex:\n  uncertainty:\n    replications: 200\n"


def _env(root: Path) -> dict:
    env = dict(os.environ)
    env["GOVLIB_ROOT"] = str(root)
    env["MPLBACKEND"] = "Agg"
    return env


def _build(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "govlib.cli", "build", "--quiet"], env=_env(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _current_is_complete(root: Path) -> str | None:
    """The current build's id if it is complete and intact; None if there is none yet; fails on a mix."""
    link = root / "data" / "processed" / "current"
    if not link.exists():
        return None
    folder = link.resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    on_disk = {p.stem for p in folder.glob("*.parquet")}
    assert on_disk == set(manifest["tables"]), f"tables on disk differ from the manifest in {folder}"
    for name, info in manifest["tables"].items():
        assert file_sha256(folder / f"{name}.parquet") == info["sha256"], f"{name} does not match its manifest"
    return manifest["build_id"]


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    settings = (Path(__file__).resolve().parents[1] / "govlib.yaml").read_text(encoding="utf-8")
    (root / "govlib.yaml").write_text(settings + FEWER_REPLICATIONS, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "govlib.cli", "demo-data", "--size", "small"], env=_env(root),
                   check=True, stdout=subprocess.DEVNULL)
    return root


@pytest.fixture(scope="module")
def first_build(demo_project):
    """The first complete build of the demo project, made once for the module (builds are the slow part): its
    duration (the range of the kill moments), its settings and its manifest, read before any test changes them."""
    settings = (demo_project / "govlib.yaml").read_text(encoding="utf-8")
    t0 = time.perf_counter()
    proc = _build(demo_project)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    duration = time.perf_counter() - t0
    manifest = (demo_project / "data" / "processed" / "current" / "manifest.json").read_text(encoding="utf-8")
    return {"duration": duration, "settings": settings, "manifest": json.loads(manifest)}


def test_build_survives_sigkill_at_random_moments(demo_project, first_build):
    root = demo_project
    rng = random.Random(20180507)
    duration = first_build["duration"]
    first = _current_is_complete(root)
    assert first is not None
    # Change the settings so each completed build is a *new* version, then kill builds part-way.
    survived = 0
    for run in range(KILL_RUNS):
        text = (root / "govlib.yaml").read_text(encoding="utf-8")
        (root / "govlib.yaml").write_text(text.replace("timeout_seconds: 900", f"timeout_seconds: {901 + run}")
                                          .replace(f"timeout_seconds: {900 + run}", f"timeout_seconds: {901 + run}"),
                                          encoding="utf-8")
        proc = _build(root)
        time.sleep(rng.uniform(0.2, max(duration, 0.5)))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        current = _current_is_complete(root)  # previous or new, never a mix
        assert current is not None
        survived += 1
        count("crash runs survived")
    proc = _build(root)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    assert _current_is_complete(root) is not None
    assert survived == KILL_RUNS
    staging = [p for p in (root / "data" / "processed" / "builds").iterdir() if p.name.startswith(".staging")]
    assert not staging, "a completed build cleans up the staging folders of killed builds"


def _outputs_are_whole(outputs: Path) -> None:
    """Every published file is complete: JSON parses, HTML is closed, workbooks open; no temp files remain."""
    import zipfile

    for path in outputs.rglob("*"):
        if path.is_dir():
            continue
        if path.name.startswith("."):
            continue  # temp files of a killed run, cleaned by the next run (checked after it)
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), f"{path} is cut short"
        elif path.suffix in (".xlsx",):
            assert zipfile.is_zipfile(path), f"{path} is not a whole workbook"
        elif path.suffix == ".ipynb":
            json.loads(path.read_text(encoding="utf-8"))


def _report_all(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "govlib.cli", "report", "all", "--period", "latest",
                             "--workers", "2", "--no-progress"], env=_env(root), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def test_report_all_survives_sigkill_and_the_next_run_completes(demo_project, first_build):
    root = demo_project
    rng = random.Random(7)
    for delay in (rng.uniform(3, 12), rng.uniform(12, 40)):
        proc = _report_all(root)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        _outputs_are_whole(root / "outputs")
        count("crash runs survived")
    proc = _report_all(root)
    assert proc.wait(timeout=900) == 0, proc.stderr.read().decode()[-2000:]
    _outputs_are_whole(root / "outputs")
    sidecars = list((root / "outputs" / "reports").glob("*.json"))
    assert sidecars, "the completed run published its reports"
    leftovers = [p for p in (root / "outputs").rglob(".*") if p.is_file() and not p.name.endswith(".lock")]
    assert not leftovers, f"temporary files left behind: {leftovers[:5]}"
    assert (root / "outputs" / "site" / "index.html").exists()


def test_two_builds_of_the_demo_are_byte_identical(demo_project, first_build, tmp_path):
    """Reproducibility with every stage (survey calibration, uncertainty Monte Carlo, trends): same inputs and
    settings give byte-identical Parquet tables; only the declared build time differs. The second build runs in
    another project root (a copy of the raw data and of the settings the first build had)."""
    first = first_build["manifest"]
    other = tmp_path / "again"
    shutil.copytree(demo_project / "data" / "raw", other / "data" / "raw")
    (other / "govlib.yaml").write_text(first_build["settings"], encoding="utf-8")
    assert _build(other).wait(timeout=600) == 0
    second = json.loads((other / "data" / "processed" / "current" / "manifest.json").read_text(encoding="utf-8"))
    assert {k: v["sha256"] for k, v in first["tables"].items()} == \
        {k: v["sha256"] for k, v in second["tables"].items()}
    assert len(first["tables"]) >= 30
    count("files compared byte for byte", len(first["tables"]))
    differing = {k for k in first if first[k] != second[k]}
    assert differing <= {"built_at", "timings_seconds"}, differing


def test_two_renders_of_a_report_are_byte_identical(demo_project, first_build):
    """Same processed data, same parameters: the HTML report and its JSON sidecar are byte-identical."""
    root = demo_project
    renders = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "govlib.cli", "report", "district", "--period", "latest",
                               "--force", "--no-progress"], env=_env(root), capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        html = sorted((root / "outputs" / "reports").glob("district_*_zh.html"))[-1]
        renders.append((html.read_bytes(), html.with_suffix(".json").read_bytes()))
    assert renders[0][0] == renders[1][0]
    assert renders[0][1] == renders[1][1]
    count("files compared byte for byte", 2)
