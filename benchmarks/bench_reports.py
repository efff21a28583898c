"""Benchmark: ``govlib report all --workers 2`` (36 街镇 profiles + the district report = 37 reports, the Excel
workbook and the portal; PDFs too when Chromium is installed) against a peer and a floor, measured in the same run.

- **govlib**: the command, every report rendered (``--force``), in a subprocess; its own lines give the split
  (reports, fonts/PDF, workbook, portal). Per report: the reports step's wall time x 2 workers / 37.
- **peer**: plain papermill, one cold kernel per report (what the runner did before warm workers), on a sample of
  reports rendered one after another through the same render path (:func:`govlib.reports.worker.render` without a
  warm kernel).
- **floor**: one warm Python process executing the notebooks' code cells directly (the same views, narrative and
  plots calls, charts drawn to PNG), with no kernel, no papermill and no HTML export, on the same sample.

Uses the project's processed store (``govlib demo-data && govlib build`` first); without one it falls back to the
sample processed store (:mod:`govlib.data.sample_store`) in a temporary folder and says so. Target (issue #20):
37 reports + workbook + portal <= 30 s with 2 workers. The machine it runs on is usually shared: run it three times
and report min / median.

    python benchmarks/bench_reports.py [--sample 3]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sample", type=int, default=3, help="reports rendered by the peer and the floor")
    args = ap.parse_args(argv)
    from govlib.data.processed import has_table
    from govlib.settings import load_settings

    settings = load_settings()
    env = dict(os.environ)
    scratch = None
    if not has_table("index_scores", settings):
        from govlib.data.sample_store import build_fake_store

        scratch = tempfile.TemporaryDirectory(prefix="bench-reports-")
        settings = load_settings(root=build_fake_store(Path(scratch.name)))
        print(f"no processed store for the project: using the sample store (36 街镇) in {settings.root}")
    env["GOVLIB_ROOT"] = os.environ["GOVLIB_ROOT"] = str(settings.root)
    try:
        return _run(settings, env, args.sample)
    finally:
        if scratch is not None:
            scratch.cleanup()


def _run(settings, env: dict, n_sample: int) -> int:
    from govlib.reports.runner import job_spec, plan_all
    from govlib.reports.worker import render

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
    steps = {name: float(sec) for name, sec in re.findall(r"^(reports|workbook|portal):.*?\(([\d.]+) s[,)]",
                                                           proc.stdout, re.M)}
    pdf = re.search(r"fonts embedded .*?\(([\d.]+) s\); PDF: .*?\(([\d.]+) s\)", proc.stdout)
    fonts_s, pdf_s = (float(pdf.group(1)), float(pdf.group(2))) if pdf else (0.0, 0.0)
    jobs = plan_all("latest", "zh", settings)
    n = len(jobs)
    render_s = steps.get("reports", total) - fonts_s - pdf_s  # the command's "reports" line includes fonts + PDF
    without_pdf = total - pdf_s
    print(f"govlib report all, --workers 2: {total:.1f} s in all; {n} reports rendered in {render_s:.1f} s, fonts "
          f"{fonts_s:.1f} s, PDF {pdf_s:.1f} s, workbook {steps.get('workbook', 0):.1f} s, portal "
          f"{steps.get('portal', 0):.1f} s")
    print(f"  reports + workbook + portal (without PDF): {without_pdf:.1f} s (target <= 30 s)")
    per_report = render_s * 2 / n

    sample = jobs[:max(1, n_sample - 1)] + [jobs[-1]]  # street profiles and the district report
    peer_out = tempfile.TemporaryDirectory(prefix="bench-peer-")
    specs = []
    for job in sample:
        spec = job_spec(job, settings, 900)
        spec["paths"] = {k: str(Path(peer_out.name) / Path(v).name) for k, v in spec["paths"].items()}
        specs.append(spec)
    peer = []
    for spec in specs:
        res = render(spec, None)  # papermill starts a cold kernel for each report
        assert res["status"] == "ok", res
        peer.append(res["seconds"])
    floor = [_floor_once(spec) for spec in specs]  # the first pays the imports and table reads once
    floor_warm = min(floor[1:]) if len(floor) > 1 else floor[0]
    peer_out.cleanup()
    peer_per = sum(peer) / len(peer)
    floor_per = sum(floor[1:]) / max(1, len(floor) - 1) if len(floor) > 1 else floor[0]
    print(f"peer (cold papermill kernel per report, sequential, {len(peer)} reports): {peer_per:.2f} s per report "
          f"(min {min(peer):.2f})")
    print(f"floor (one warm process, notebook code called directly, no kernel/papermill/HTML; {len(floor)} "
          f"reports, the first paying imports): {floor_per:.2f} s per report (min {floor_warm:.2f}; first "
          f"{floor[0]:.2f})")
    print(f"govlib per report (2 workers: reports step x 2 / {n}): {per_report:.2f} s")
    print(f"ratio govlib/peer per report: {per_report / peer_per:.2f}")
    print(f"ratio govlib/floor per report: {per_report / floor_per:.2f}")
    return 0


def _floor_once(spec: dict) -> float:
    """Execute the notebook's code cells (parameters applied) in a fresh namespace of this process."""
    import matplotlib

    matplotlib.use("Agg")
    import nbformat

    nb = nbformat.read(spec["notebook"], as_version=4)
    side = Path(spec["paths"]["sidecar"])
    side.parent.mkdir(parents=True, exist_ok=True)
    params = dict(spec["parameters"], sidecar=str(side))
    t0 = time.perf_counter()
    namespace: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            exec(compile(cell.source, spec["notebook"], "exec"), namespace)  # noqa: S102 - our own notebooks
            if "parameters" in cell.metadata.get("tags", []):
                namespace.update(params)
    return time.perf_counter() - t0


if __name__ == "__main__":
    sys.exit(main())
