"""Executors only execute: the Dask executor gives the local pool's results for the same plan (a real LocalCluster
of worker processes), and executor choices are checked before anything runs."""
from __future__ import annotations

import json

import pytest

from govlib.errors import InputError
from govlib.reports import runner as reports
from govlib.reports.executors import DaskExecutor, make_executor
from govlib.settings import load_settings


@pytest.fixture(scope="module")
def client():
    from govlib.parallel import start_local_cluster

    cluster, c = start_local_cluster(2)
    yield c
    c.close()
    cluster.close()


def test_dask_executor_matches_the_local_pool(client, tmp_path):
    """Cheap cases (no report renders): a notebook file that is not a notebook fails the same way on both, and an
    up-to-date report is skipped by the one planner before any executor sees it."""
    settings = load_settings(root=tmp_path)
    nb_dir = settings.path("notebooks")
    nb_dir.mkdir(parents=True)
    (nb_dir / reports.KINDS["street"]).write_text("this is not a notebook", encoding="utf-8")
    (nb_dir / reports.KINDS["district"]).write_text("{}", encoding="utf-8")
    broken = reports.street_job("310115005000", "2025")
    done = reports.district_job("2025")
    paths = reports.output_paths(done, settings)
    paths["html"].parent.mkdir(parents=True)
    paths["html"].write_text("<html></html>", encoding="utf-8")
    paths["sidecar"].write_text(json.dumps({"inputs_hash": reports.inputs_hash(done, settings)}), encoding="utf-8")
    want = reports.run_reports([broken, done], settings, workers=1, progress=False, executor="local")
    got = reports.run_reports([broken, done], settings, progress=False, executor=DaskExecutor(client=client))
    assert [(r.job, r.status, r.error, r.html) for r in got] == [(r.job, r.status, r.error, r.html) for r in want]
    assert [r.status for r in got] == ["failed", "skipped"] and "NotJSONError" in got[0].error


def test_executor_choices_are_checked_before_anything_runs(tmp_path):
    with pytest.raises(InputError, match="tcp://"):
        DaskExecutor(scheduler="localhost:8786")
    with pytest.raises(InputError, match="one of local, dask, inline"):
        make_executor("threads")
    with pytest.raises(InputError, match="at least 1"):
        make_executor("local", workers=0)
    with pytest.raises(InputError, match="cannot reach"):
        list(DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_timeout="1s").run([{"name": "x"}], 1, tmp_path))
    settings = load_settings(root=tmp_path)
    (tmp_path / "govlib.yaml").write_text("reports: {executor: threads}\n", encoding="utf-8")
    with pytest.raises(Exception, match="executor"):
        load_settings(root=tmp_path)
    assert settings.section("reports")["executor"] == "local"
