"""Benchmark: ``govlib report all`` (36 街镇 profiles + the district report = 37 reports) with ``--workers 2``.

Uses the project's processed store (run ``make demo`` or ``govlib demo-data && govlib build`` first); without one it
falls back to the test suite's fake processed store in a temporary folder (and says so). Every report is rendered
(``--force``). The peer is plain papermill run one notebook after another (no pool, no HTML export, no sidecar
check), measured on two reports in the same run; the last lines print the ratio per report.

Target: under 2 minutes for the 37 reports on the 2-core development machine.

    python benchmarks/bench_reports.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    from govlib.settings import load_settings

    settings = load_settings()
    env = dict(os.environ)
    scratch: list[Path] = []
    try:
        return _run(settings, env, scratch)
    finally:
        import shutil

        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)


def _run(settings, env: dict, scratch: list) -> int:
    from govlib.data.processed import has_table
    from govlib.settings import load_settings

    if not has_table("index_scores", settings):
        from govlib.data.sample_store import build_fake_store

        root = build_fake_store(Path(tempfile.mkdtemp(prefix="bench-reports-")))
        scratch.append(root)
        env["GOVLIB_ROOT"] = str(root)
        settings = load_settings(root=root)
        print(f"no processed store for the project: using the fake store (36 街镇) in {root}")
    govlib = str(Path(sys.executable).with_name("govlib"))

    t0 = time.perf_counter()
    proc = subprocess.run([govlib, "report", "all", "--period", "latest", "--workers", "2", "--force",
                           "--no-progress"], env=env, capture_output=True, text=True)
    total = time.perf_counter() - t0
    print(proc.stdout.strip())
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        print(f"govlib report all failed with status {proc.returncode}")
        return 1
    n_reports = 37
    print(f"govlib report all: {n_reports} reports + workbook + portal, --workers 2: {total:.1f} s "
          f"({total / n_reports:.2f} s per report; target < 120 s)")

    # Peer: plain papermill, sequential, the same notebooks and parameters, no HTML export.
    import papermill as pm

    from govlib.reports.runner import district_job, notebook_path, plan_all

    os.environ["GOVLIB_ROOT"] = str(settings.root)
    jobs = plan_all("latest", "zh", settings)
    sample = [jobs[0], district_job(jobs[-1].parameters["period"], "zh")]
    out = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    scratch.append(out)
    t0 = time.perf_counter()
    for job in sample:
        nb = notebook_path(job.kind, settings)
        pm.execute_notebook(str(nb), str(out / f"{job.name}.ipynb"), parameters=job.parameters, kernel_name="govlib",
                            cwd=str(nb.parent), progress_bar=False)
    peer = (time.perf_counter() - t0) / len(sample)
    print(f"peer (plain papermill, sequential, no HTML): {peer:.2f} s per report, "
          f"{peer * n_reports:.1f} s for {n_reports} reports (extrapolated)")
    print(f"ratio govlib/peer per report: {total / n_reports / peer:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
