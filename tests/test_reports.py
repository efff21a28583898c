"""The report runner: papermill runs of the street profile (one 街道, one town) and the district report, judged by
their JSON sidecars and their HTML; a failing report is listed while the others finish; timeouts; incremental
skips; parameter validation before any run. Runs against the fake processed store (independent of engine timing).
"""
from __future__ import annotations

import json
import time

import nbformat
import pandas as pd
import pytest

from govlib.data.sample_store import build_fake_store
from govlib.cli import main
from govlib.errors import InputError
from govlib.reports.html import network_references
from govlib.reports.runner import (KINDS, cell_timeout, district_job, inputs_hash, output_paths, plan_all,
                                   report_problems, run_reports, street_job)
from govlib.settings import load_settings

STREET, TOWN, UNKNOWN = "310115005000", "310115103000", "310115999000"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = build_fake_store(tmp_path_factory.mktemp("reports"))
    return load_settings(root=root)


@pytest.fixture(scope="module")
def rendered(project):
    jobs = [street_job(STREET, "2025", "zh"), street_job(TOWN, "2025", "en"), district_job("2025", "zh"),
            street_job(UNKNOWN, "2025", "zh")]  # bypasses validation: the notebook itself must fail
    t0 = time.perf_counter()
    results = run_reports(jobs, project, workers=2, timeout=300, force=True, progress=False)
    return {r.job.name: r for r in results}, time.perf_counter() - t0


def _sidecar(project, name):
    return json.loads((project.outputs_dir / "reports" / f"{name}.json").read_text(encoding="utf-8"))


def test_a_failed_report_is_listed_and_the_others_finish(project, rendered):
    results, _ = rendered
    status = {name: r.status for name, r in results.items()}
    assert status == {f"street_{STREET}_2025_zh": "ok", f"street_{TOWN}_2025_en": "ok", "district_2025_zh": "ok",
                      f"street_{UNKNOWN}_2025_zh": "failed"}
    failed = results[f"street_{UNKNOWN}_2025_zh"]
    assert UNKNOWN in failed.error and "InputError" in failed.error
    paths = output_paths(failed.job, project)
    assert not paths["html"].exists() and not paths["sidecar"].exists()
    assert paths["notebook"].with_suffix(".failed.ipynb").exists()  # kept for debugging


def test_street_sidecars_carry_the_headline_numbers(project, rendered):
    scores = pd.read_parquet(project.processed_dir / "index_scores.parquet")
    for unit, kind, lang in ((STREET, "街道", "zh"), (TOWN, "镇", "en")):
        side = _sidecar(project, f"street_{unit}_2025_{lang}")
        facts = side["facts"]
        assert side["kind"] == "street" and side["parameters"] == {"unit": unit, "period": "2025", "lang": lang}
        assert facts["unit"] == unit and facts["unit_kind"] == kind and facts["n_ranked"] == 36
        row = scores[(scores["unit"] == unit) & (scores["period"] == "2025") & (scores["node"] == "SGI")].iloc[0]
        assert facts["score"] == pytest.approx(row["score"]) and facts["rank"] == row["rank"]
        assert (facts["name_zh"] if lang == "zh" else facts["name_en"]) in side["summary"]
        shown = " ".join(str(v) for rec in side["headline"] for v in rec.values())
        assert f"{facts['rank']} / 36" in shown
        assert side["provenance"]["synthetic"] is True and len(side["provenance"]["manifest_hash"]) == 12
        assert len(side["inputs_hash"]) == 64 and side["html"].endswith(".html")


def test_district_sidecar(project, rendered):
    side = _sidecar(project, "district_2025_zh")
    assert side["facts"]["n_ranked"] == 36 and len(side["league"]) == 36
    assert [r["rank"] for r in side["league"]][:1] == [1]
    assert side["facts"]["alert_counts"] == {"red": 3, "amber": 3, "info": 2}
    assert "36个街镇" in side["summary"]


def test_reports_have_no_code_no_errors_no_missing_glyphs_and_no_network(project, rendered):
    results, _ = rendered
    for name, r in results.items():
        if r.status != "ok":
            continue
        paths = output_paths(r.job, project)
        nb = nbformat.read(str(paths["notebook"]), as_version=4)
        assert report_problems(nb) == []
        html = paths["html"].read_text(encoding="utf-8")
        assert '<script src="http' not in html and network_references(html) == []
        assert "missing from font" not in html and "Traceback" not in html
        assert 'data-mime-type="application/vnd.jupyter.stderr"' not in html  # no warnings or errors printed
        assert '<div class="cm-editor' not in html and "hl-ipython3" not in html  # no code
        assert "data:image/png;base64," in html  # charts embedded
        assert ("合成" if r.job.parameters["lang"] == "zh" else "SYNTHETIC") in html  # the banner, in the report language
        assert _sidecar(project, name)["provenance"]["manifest_hash"] in html  # the footer


def test_report_problems_catches_errors_and_missing_glyphs():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x"), nbformat.v4.new_code_cell("y")])
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])]
    nb.cells[1].outputs = [nbformat.v4.new_output(
        "stream", name="stderr", text="/x.py:1: UserWarning: Glyph 38470 (\\N{CJK}) missing from font(s) DejaVu Sans.")]
    problems = report_problems(nb)
    assert problems[0] == "cell 0: ValueError: bad" and "missing glyph" in problems[1]
    assert report_problems(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("z")])) == []


def test_unchanged_reports_are_skipped_and_inputs_hash_tracks_inputs(project, rendered):
    jobs = [street_job(STREET, "2025", "zh"), district_job("2025", "zh")]
    t0 = time.perf_counter()
    again = run_reports(jobs, project, workers=2, progress=False)
    assert [r.status for r in again] == ["skipped", "skipped"] and time.perf_counter() - t0 < 5
    digest = inputs_hash(jobs[0], project)
    assert inputs_hash(street_job(STREET, "2025", "en"), project) != digest
    manifest = project.processed_dir / "manifest.json"
    original = manifest.read_bytes()
    try:
        manifest.write_bytes(original.replace(b'"built_at"', b'"rebuilt": 1, "built_at"'))
        assert inputs_hash(jobs[0], project) != digest
    finally:
        manifest.write_bytes(original)
    assert inputs_hash(jobs[0], project) == digest


@pytest.fixture(scope="module")
def stub_notebooks(project, tmp_path_factory):
    """Settings whose notebooks are stubs: the district report sleeps a minute, the street profile only writes
    its sidecar. They make the timeout tests independent of how fast the real reports render."""
    folder = tmp_path_factory.mktemp("stub-notebooks")

    def notebook(name, body):
        params = nbformat.v4.new_code_cell("sidecar = None")
        params.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
        nb.metadata["kernelspec"] = {"name": "govlib", "display_name": "Python (govlib)", "language": "python"}
        nbformat.write(nb, str(folder / name))

    notebook(KINDS["district"], "import time\ntime.sleep(60)")
    notebook(KINDS["street"], "import json\njson.dump({'facts': {}}, open(sidecar, 'w', encoding='utf-8'))")
    return project.with_overrides(paths={"notebooks": str(folder), "outputs": str(folder / "outputs")})


def test_a_report_past_its_timeout_is_killed_and_listed(stub_notebooks):
    # the notebook sleeps 60 s: only the parent's kill at 1.5 s can end it (nbclient's backstop is 3 s per cell)
    t0 = time.perf_counter()
    [result] = run_reports([district_job("2025", "en")], stub_notebooks, workers=1, timeout=1.5, force=True,
                           progress=False)
    assert result.status == "failed" and result.error == "timed out after 1.5 s", result.error
    assert result.seconds >= 1.5 and result.seconds < 5 and time.perf_counter() - t0 < 15  # killed at the deadline


def test_a_fractional_timeout_reaches_nbclient_as_whole_seconds(stub_notebooks):
    # nbclient's `timeout` trait is an Integer: a float 30.5 used to fail every report with a TraitError
    [result] = run_reports([street_job(STREET, "2025", "en")], stub_notebooks, workers=1, timeout=30.5, force=True,
                           progress=False)
    assert result.status == "ok", result.error
    assert cell_timeout(30.5) == 32 and isinstance(cell_timeout(1.5), int) and cell_timeout(1.5) >= 2
    with pytest.raises(InputError, match="positive"):
        run_reports([street_job(STREET, "2025", "en")], stub_notebooks, timeout=-1, progress=False)


def test_parameters_are_validated_before_any_run(project):
    with pytest.raises(InputError, match="12-digit"):
        plan_all("2025", "zh", project, units=["31011500500"])
    with pytest.raises(InputError, match="not a ranked 街镇"):
        plan_all("2025", "zh", project, units=[UNKNOWN])
    with pytest.raises(InputError, match="12-digit"):
        plan_all("2025", "zh", project, units=[310115005000])
    with pytest.raises(InputError, match="not a period"):
        plan_all("2025Q5", "zh", project)
    with pytest.raises(InputError, match="no complete index scores"):
        plan_all("2030", "zh", project)
    with pytest.raises(InputError, match="lang"):
        plan_all("2025", "fr", project)
    jobs = plan_all("latest", "zh", project)
    assert len(jobs) == 37 and jobs[-1].name == "district_2025_zh"
    assert all(j.name.isascii() for j in jobs)


def test_cli_user_mistakes_exit_2(project, monkeypatch, capsys):
    monkeypatch.setenv("GOVLIB_ROOT", str(project.root))
    assert main(["report", "street", "--unit", "3101150050", "--period", "2025"]) == 2
    assert "12-digit" in capsys.readouterr().err
    assert main(["report", "district", "--period", "2025-13"]) == 2
    assert main(["report", "street", "--period", "2025"]) == 2


# ------------------------------------------------------------------------------------------------ runner safety
def test_only_govlibs_own_stale_temporaries_are_removed(tmp_path):
    import os

    from govlib.data.store import atomic_path, remove_stale_temporaries, temporary_prefix

    user = [tmp_path / ".env", tmp_path / "data" / "raw" / ".notes", tmp_path / "reports" / ".a.html.x1.tmp"]
    for p in user:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("keep me")
    dead = tmp_path / "reports" / ".govlib-tmp-999999999-a.html.abc.tmp"  # pid that cannot run
    dead.write_text("stale")
    dead_dir = tmp_path / ".govlib-tmp-999999999-reports.xyz"
    (dead_dir / "sub").mkdir(parents=True)
    live = tmp_path / "reports" / f"{temporary_prefix('b.html')}x.tmp"  # this process: still writing
    live.write_text("in use")
    assert remove_stale_temporaries(tmp_path) == 2
    assert all(p.read_text() == "keep me" for p in user) and live.exists()
    assert not dead.exists() and not dead_dir.exists()
    with atomic_path(tmp_path / "c.txt") as tmp:  # atomic writes use the recognisable prefix
        assert tmp.name.startswith(f".govlib-tmp-{os.getpid()}-c.txt.")
        tmp.write_text("c")


@pytest.mark.parametrize("outputs", [".", "data", "data/raw", "data/raw/out", "data/processed"])
def test_an_outputs_folder_holding_the_project_or_its_data_is_refused(project, tmp_path, outputs, monkeypatch,
                                                                     capsys):
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(project.root, root, symlinks=True)
    (root / ".env").write_text("SECRET=1")
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw" / ".notes").write_text("notes")
    (root / "govlib.yaml").write_text(f"paths: {{outputs: '{outputs}'}}\n", encoding="utf-8")
    monkeypatch.setenv("GOVLIB_ROOT", str(root))
    assert main(["report", "street", "--unit", STREET, "--period", "2025", "--force"]) == 2
    assert "paths.outputs" in capsys.readouterr().err
    assert (root / ".env").read_text() == "SECRET=1" and (root / "data" / "raw" / ".notes").exists()


def test_sigkill_of_the_runner_ends_its_workers_and_kernels(stub_notebooks, tmp_path):
    # The report's kernel writes a heartbeat every 50 ms for a minute. SIGKILL of the runner (its `finally` never
    # runs) must end the worker and the kernel at once: nothing writes after the outputs lock would be released,
    # and the runner's work folder (named with its pid, beside the outputs) is removed by the next run's cleanup.
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    import psutil

    from govlib.data.store import remove_stale_temporaries

    beat = tmp_path / "heartbeat.txt"
    folder = tmp_path / "nb"
    folder.mkdir()
    params = nbformat.v4.new_code_cell("sidecar = None")
    params.metadata["tags"] = ["parameters"]
    body = (f"import time\nfor i in range(1200):\n    open({str(beat)!r}, 'w').write(str(i))\n"
            f"    time.sleep(0.05)")
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "govlib", "display_name": "Python (govlib)", "language": "python"}
    nbformat.write(nb, str(folder / KINDS["district"]))
    outputs = tmp_path / "outputs"
    temp_before = set(os.listdir(tempfile.gettempdir()))
    script = ("import sys; from govlib.settings import load_settings; from govlib.reports.runner import *\n"
              f"s = load_settings(root={str(stub_notebooks.root)!r}).with_overrides(paths={{'notebooks': "
              f"{str(folder)!r}, 'outputs': {str(outputs)!r}}})\n"
              "run_reports([district_job('2025', 'en')], s, workers=1, timeout=120, force=True, progress=False)\n")
    runner = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        deadline = time.time() + 90
        while not beat.exists() and time.time() < deadline and runner.poll() is None:
            time.sleep(0.1)
        assert beat.exists(), "the stub report never started"
        family = [p for p in psutil.Process(runner.pid).children(recursive=True)]
        family += [p for p in psutil.process_iter() if _runner_of(p) == runner.pid and p not in family]
        assert family
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        gone, alive = psutil.wait_procs(family, timeout=3)
        assert not alive, [p.cmdline() for p in alive]
        last = beat.read_text()
        time.sleep(0.5)
        assert beat.read_text() == last  # nothing writes any more
    finally:
        if runner.poll() is None:
            runner.kill()
    assert not {n for n in set(os.listdir(tempfile.gettempdir())) - temp_before if n.startswith("govlib-reports-")}
    stale = list(outputs.glob(".govlib-tmp-*"))
    assert stale and remove_stale_temporaries(outputs) >= 1 and not list(outputs.glob(".govlib-tmp-*"))


def _runner_of(proc) -> int | None:
    try:
        return int(proc.environ().get("GOVLIB_RUNNER_PID", 0)) or None
    except Exception:  # noqa: BLE001 - processes of other users, or gone
        return None
