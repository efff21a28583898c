"""Warm kernels: one kernel renders report after report, and no report sees anything of the one before it.

Isolation is shown with small notebooks run in one warm kernel (variables, figures, rcParams, warning filters,
processed tables changed in place, execution counts), and with the real street profile: its HTML is byte-identical
whether it ran cold (papermill's own kernel) or warm after another report. A failed or timed-out report kills its
kernel and the next report gets a fresh one.
"""
from __future__ import annotations

import json
import time

import nbformat
import pytest

from govlib.data.sample_store import build_fake_store
from govlib.reports.executors import InlineExecutor, LocalExecutor, make_executor
from govlib.reports.runner import district_job, job_spec, output_paths, run_reports, street_job
from govlib.reports.worker import WarmKernel, render
from govlib.settings import load_settings

STREET, TOWN = "310115005000", "310115103000"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return load_settings(root=build_fake_store(tmp_path_factory.mktemp("warm")))


@pytest.fixture()
def kernel():
    k = WarmKernel()
    yield k
    k.shutdown()


def _notebook(folder, name, body):
    params = nbformat.v4.new_code_cell("sidecar = ''\nperiod = 'latest'\nlang = 'zh'")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "govlib", "display_name": "Python (govlib)", "language": "python"}
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def _spec(project, notebook, name, timeout=120):
    out = project.outputs_dir / "probe"
    return {"name": name, "title": name, "parameters": {"period": "2025", "lang": "zh"}, "kernel": "govlib",
            "notebook": str(notebook), "timeout": timeout, "inputs_hash": "x" * 64,
            "paths": {"notebook": str(out / f"{name}.ipynb"), "html": str(out / f"{name}.html"),
                      "sidecar": str(out / f"{name}.json")},
            "env": {"GOVLIB_ROOT": str(project.root), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}}


# The first report leaves everything it can behind; the second writes down what it finds.
LITTER = """
import sys, warnings
import matplotlib, matplotlib.pyplot as plt
from govlib.reports.setup import start_report
R = start_report(lang, period)
secret = 42
R.tables["units"].drop(R.tables["units"].index, inplace=True)  # empties the table in place
matplotlib.rcParams["lines.linewidth"] = 9.0
plt.figure()
warnings.filterwarnings("error", message="litter")
import json
json.dump({"facts": {"pid": __import__("os").getpid()}}, open(sidecar, "w"))
"""
INSPECT = """
import sys, os, json, warnings
found = {"secret": "secret" in globals(), "R": "R" in globals(),
         "views_already_imported": "govlib.reports.views" in sys.modules}
import matplotlib, matplotlib.pyplot as plt
from govlib.reports.setup import start_report
R = start_report(lang, period)
found.update(linewidth=matplotlib.rcParams["lines.linewidth"], figures=plt.get_fignums(),
             litter_filter=any(getattr(f[1], "pattern", None) == "litter" for f in warnings.filters),
             units=len(R.tables["units"]), pid=os.getpid())
json.dump({"facts": found}, open(sidecar, "w"))
"""


def test_a_second_report_in_a_warm_kernel_sees_nothing_of_the_first(project, kernel, tmp_path):
    import matplotlib

    first = _spec(project, _notebook(tmp_path, "litter.ipynb", LITTER), "litter")
    second = _spec(project, _notebook(tmp_path, "inspect.ipynb", INSPECT), "inspect")
    assert render(first, kernel)["status"] == "ok"
    result = render(second, kernel)
    assert result["status"] == "ok", result
    seen = json.loads(open(second["paths"]["sidecar"], encoding="utf-8").read())["facts"]
    pid = json.loads(open(first["paths"]["sidecar"], encoding="utf-8").read())["facts"]["pid"]
    assert seen["pid"] == pid and kernel.starts == 1  # the same kernel process rendered both
    assert seen["views_already_imported"]  # warm: modules stay imported ...
    assert not seen["secret"] and not seen["R"]  # ... but no variable of the first report survives
    assert seen["figures"] == [] and not seen["litter_filter"]
    assert seen["linewidth"] == matplotlib.rcParamsDefault["lines.linewidth"] != 9.0
    assert seen["units"] > 36  # the cached tables are copies: emptying one in place changed nothing
    nb = nbformat.read(second["paths"]["notebook"], as_version=4)
    # execution counts start again at 1 (parameters, injected parameters, the body), as in a cold kernel
    assert [c.get("execution_count") for c in nb.cells if c.cell_type == "code"] == [1, 2, 3]


def test_warm_and_cold_renders_of_a_report_are_byte_identical(project, kernel):
    job = street_job(STREET, "2025", "zh")
    spec = job_spec(job, project, 300)
    html = output_paths(job, project)["html"]
    assert render(spec, None)["status"] == "ok"  # cold: papermill starts and stops its own kernel
    cold = html.read_bytes()
    warm_up = job_spec(street_job(TOWN, "2025", "en"), project, 300)
    assert render(warm_up, kernel)["status"] == "ok"  # another report (other unit, other language) first
    assert render(spec, kernel)["status"] == "ok"
    assert kernel.starts == 1
    assert html.read_bytes() == cold
    side = json.loads(output_paths(job, project)["sidecar"].read_text(encoding="utf-8"))
    assert side["parameters"] == {"unit": STREET, "period": "2025", "lang": "zh"}


def test_a_failed_report_replaces_its_kernel(project, kernel, tmp_path):
    bad = _spec(project, _notebook(tmp_path, "bad.ipynb", "leftover = 1\nraise ValueError('planted')"), "bad")
    res = render(bad, kernel)
    assert res["status"] == "failed" and "ValueError: planted" in res["error"]
    assert kernel.km is None  # killed
    assert (project.outputs_dir / "probe" / "bad.failed.ipynb").exists()
    good = _spec(project, _notebook(tmp_path, "good.ipynb",
                                    "import json\njson.dump({'facts': {'leftover': 'leftover' in globals()}}, "
                                    "open(sidecar, 'w'))"), "good")
    assert render(good, kernel)["status"] == "ok" and kernel.starts == 2
    assert json.loads(open(good["paths"]["sidecar"]).read())["facts"] == {"leftover": False}


def test_a_warm_report_past_its_timeout_is_killed_with_its_kernel(project, kernel, tmp_path):
    spec = _spec(project, _notebook(tmp_path, "slow.ipynb", "import time\ntime.sleep(60)"), "slow", timeout=1.5)
    kernel.prepare("govlib", tmp_path, spec["env"])  # started and warm: the deadline is the notebook's alone
    t0 = time.perf_counter()
    res = render(spec, kernel)
    assert (res["status"], res["error"]) == ("failed", "timed out after 1.5 s")
    assert res["seconds"] >= 1.5 and res["seconds"] < 10 and time.perf_counter() - t0 < 15  # killed at the deadline
    assert kernel.km is None and not (project.outputs_dir / "probe" / "slow.json").exists()


def test_executors_give_the_same_results(project):
    jobs = [street_job(STREET, "2025", "en"), district_job("2025", "en")]
    local = run_reports(jobs, project, workers=2, force=True, progress=False, executor="local")
    first = {r.job.name: output_paths(r.job, project)["html"].read_bytes() for r in local}
    inline = run_reports(jobs, project, force=True, progress=False, executor=InlineExecutor())
    assert [r.status for r in local] == [r.status for r in inline] == ["ok", "ok"]
    assert {r.job.name: output_paths(r.job, project)["html"].read_bytes() for r in inline} == first
    assert isinstance(make_executor("local", workers=3), LocalExecutor)
