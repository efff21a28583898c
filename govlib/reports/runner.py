"""The report runner: plans every report once and hands the work to a pluggable executor.

Each report is one notebook run with parameters (``unit``, ``period``, ``lang``) through papermill's Python API
with the project's ``govlib`` kernel (never a stale ``python3`` kernel elsewhere; codes stay strings, which the
papermill CLI's ``-p`` would turn into numbers).

Planning lives here and only here: the jobs (:func:`plan_all`), the inputs hash and the skip of up-to-date
reports (:func:`report_is_current`), the output paths, the timeout, and the JSON job spec (:func:`job_spec`).
The executor (:mod:`govlib.reports.executors`: ``local`` warm process pool -- the default --, ``dask``,
``inline``) only renders specs with :func:`govlib.reports.worker.render`, which runs papermill in a warm kernel,
judges the run by exceptions (after a timeout the saved notebook can still look fine), writes atomically and kills
the kernel of a failed or timed-out report.

Outputs: ``outputs/notebooks/<name>.ipynb`` (executed), ``outputs/reports/<name>.html`` (no code, no network
resources) and ``outputs/reports/<name>.json`` (the sidecar: headline numbers, alerts, provenance and the hash of the
report's inputs). File names are ASCII, built from codes: ``street_310115005000_2025_zh``, ``district_2025_zh``.

Incremental runs: the inputs hash covers the processed manifest, the notebook file, the parameters, the HTML
template and the govlib version; a report whose sidecar records the same hash (and whose HTML exists) is skipped
unless ``force=True``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import __version__
from ..errors import InputError
from ..paths import PACKAGE_DIR
from ..settings import Settings, load_settings
from ..data.store import temporary_prefix, write_json
from .worker import cell_timeout, report_problems

__all__ = ["ReportJob", "ReportResult", "street_job", "district_job", "audit_job", "plan_all", "run_reports",
           "write_sidecar", "notebook_path", "inputs_hash", "output_paths", "report_problems", "report_is_current",
           "check_outputs_folder", "KINDS", "job_spec", "cell_timeout", "positive_seconds", "kernel_env"]

#: report kind -> notebook file
KINDS = {"street": "10-street-profile.ipynb", "district": "20-district-period.ipynb",
         "audit": "30-methodology-audit.ipynb"}
_LANGS = ("zh", "en")


@dataclass(frozen=True)
class ReportJob:
    """One report to render: which notebook, with which parameters, under which ASCII file name."""

    kind: str
    name: str
    parameters: dict = field(hash=False)
    title: str = ""


@dataclass
class ReportResult:
    """The outcome of one report: ``status`` is ``ok``, ``skipped`` or ``failed`` (then ``error`` says why)."""

    job: ReportJob
    status: str
    seconds: float = 0.0
    error: str = ""
    html: str = ""
    sidecar: str = ""
    timings: dict = field(default_factory=dict)  # seconds per step of the render (see reports.worker)


def _check_lang(lang: str) -> str:
    if lang not in _LANGS:
        raise InputError(f"lang {lang!r} is not supported; expected 'zh' or 'en'")
    return lang


def street_job(unit: str, period: str, lang: str = "zh", title: str = "") -> ReportJob:
    """The profile of one 街镇 (``unit`` and ``period`` must already be validated; see :func:`plan_all`).

    Examples
    --------
    >>> street_job("310115005000", "2025").name
    'street_310115005000_2025_zh'
    """
    _check_lang(lang)
    return ReportJob("street", f"street_{unit}_{period}_{lang}", {"unit": unit, "period": period, "lang": lang},
                     title or f"{unit} {period}")


def district_job(period: str, lang: str = "zh") -> ReportJob:
    """The district report of one period.

    Examples
    --------
    >>> district_job("2025", "en").name
    'district_2025_en'
    """
    _check_lang(lang)
    return ReportJob("district", f"district_{period}_{lang}", {"period": period, "lang": lang}, f"district {period}")


def audit_job(period: str, lang: str = "zh") -> ReportJob:
    """The methodology audit of one period.

    Examples
    --------
    >>> audit_job("2025").name
    'audit_2025_zh'
    """
    _check_lang(lang)
    return ReportJob("audit", f"audit_{period}_{lang}", {"period": period, "lang": lang}, f"audit {period}")


def plan_all(period: str, lang: str = "zh", settings: Settings | None = None,
             units: Iterable[str] | None = None) -> list[ReportJob]:
    """Validated jobs: one street profile per ranked 街镇 in the data (or the given ``units``) plus the district
    report. ``period`` may be ``latest``. Raises :class:`InputError` for a bad unit, period or language.
    """
    from ..data.processed import ranked_units
    from .views import check_unit, load_report_tables, resolve_period

    settings = settings or load_settings()
    _check_lang(lang)
    tables = load_report_tables(settings, names=("units", "framework", "index_scores"))
    period = resolve_period(period, tables)
    ranked = ranked_units(tables["units"])
    names = dict(zip(ranked["code"], ranked["name_zh"]))
    if units is None:
        units = [c for c in ranked["code"] if c in set(tables["index_scores"]["unit"])]
    else:
        units = [check_unit(u, tables) for u in units]
    jobs = [street_job(u, period, lang, title=f"{names.get(u, u)} {period}") for u in units]
    jobs.append(district_job(period, lang))
    return jobs


def positive_seconds(value: Any, what: str = "reports.timeout_seconds") -> float:
    """A report timeout in seconds: any positive number, fractions included (``1.5``).

    >>> positive_seconds(1.5), positive_seconds("30")
    (1.5, 30.0)
    """
    if isinstance(value, bool):
        raise InputError(f"{what} must be a positive number of seconds, got {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a positive number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds == float("inf"):
        raise InputError(f"{what} must be a positive number of seconds, got {value!r}")
    return seconds


def notebook_path(kind: str, settings: Settings | None = None) -> Path:
    """The notebook of a report kind: the project's ``notebooks/`` folder, else the one beside the package."""
    settings = settings or load_settings()
    name = KINDS[kind]
    for folder in (settings.path("notebooks"), PACKAGE_DIR.parent / "notebooks"):
        if (folder / name).exists():
            return folder / name
    raise InputError(f"notebook {name} not found in {settings.path('notebooks')}")


def output_paths(job: ReportJob, settings: Settings) -> dict[str, Path]:
    """Where a report's executed notebook, HTML and sidecar go."""
    out = settings.outputs_dir
    return {"notebook": out / "notebooks" / f"{job.name}.ipynb", "html": out / "reports" / f"{job.name}.html",
            "sidecar": out / "reports" / f"{job.name}.json"}


def inputs_hash(job: ReportJob, settings: Settings) -> str:
    """SHA-256 over the processed manifest, the notebook, the parameters, the HTML template and govlib's version."""
    from .html import TEMPLATE_DIR
    from ..data.processed import processed_dir

    h = hashlib.sha256()
    for path in (processed_dir(settings) / "manifest.json", notebook_path(job.kind, settings),
                 TEMPLATE_DIR / "govlib_report.html.j2"):
        h.update(path.read_bytes() if path.exists() else b"-")
    h.update(json.dumps(job.parameters, sort_keys=True).encode())
    h.update(__version__.encode())
    return h.hexdigest()


def check_outputs_folder(settings: Settings) -> Path:
    """The outputs folder, refused (:class:`InputError`) when it holds the project or its data, or lies in them.

    Reports write into and clean temporaries under ``paths.outputs``; ``outputs: "."`` (the project root) or a
    folder that contains ``data/`` or the raw or processed folder would mix the user's files with the reports'.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from govlib.settings import load_settings
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "govlib.yaml").write_text("paths: {outputs: .}")
    >>> check_outputs_folder(load_settings(root / "govlib.yaml"))
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: paths.outputs ... contains the project root ...
    """
    out = settings.outputs_dir.resolve()
    root = settings.root.resolve()
    guarded = {"the project root": root, "the data folder": root / "data", "the raw folder": settings.raw_dir,
               "the processed folder": settings.processed_dir}
    for what, path in guarded.items():
        path = Path(path).resolve()
        if path == out or out in path.parents:
            raise InputError(f"paths.outputs ({out}) contains {what} ({path}); reports need a folder of their own, "
                             f"e.g. paths.outputs: outputs")
        if what != "the project root" and path in out.parents:
            raise InputError(f"paths.outputs ({out}) lies inside {what} ({path}); reports need a folder of their "
                             f"own, e.g. paths.outputs: outputs")
    return out


def report_is_current(paths: dict, digest: str) -> bool:
    """True when a report's HTML and sidecar exist and the sidecar records this inputs hash (the skip rule of
    :func:`run_reports`, whatever the executor)."""
    if not (paths["html"].exists() and paths["sidecar"].exists()):
        return False
    try:
        return json.loads(paths["sidecar"].read_text(encoding="utf-8")).get("inputs_hash") == digest
    except (OSError, ValueError):
        return False


def _jsonable(obj: Any) -> Any:
    import math

    import numpy as np
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return [_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if obj is pd.NA or obj is None:
        return None
    return obj


def write_sidecar(path: str | Path, **content: Any) -> Path:
    """Write a report's JSON sidecar atomically (DataFrames become lists of records; NaN becomes null).

    Examples
    --------
    >>> import tempfile, pathlib, json, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.json"
    >>> _ = write_sidecar(p, kind="street", headline=pd.DataFrame({"a": [1.5, float("nan")]}))
    >>> json.loads(p.read_text())["headline"]
    [{'a': 1.5}, {'a': None}]
    """
    return write_json(path, _jsonable(content))


def job_spec(job: ReportJob, settings: Settings, timeout: float, digest: str | None = None) -> dict:
    """The JSON-able spec an executor renders (see :mod:`govlib.reports.worker`): notebook, parameters, kernel,
    timeout, inputs hash, output paths and the kernel's environment (the project root)."""
    kernel = str(settings.section("reports").get("kernel", "govlib"))
    return {"name": job.name, "title": job.title, "parameters": job.parameters, "kernel": kernel,
            "notebook": str(notebook_path(job.kind, settings)), "timeout": timeout,
            "inputs_hash": digest or inputs_hash(job, settings),
            "paths": {k: str(v) for k, v in output_paths(job, settings).items()},
            "env": kernel_env(settings)}


def kernel_env(settings: Settings) -> dict:
    """The environment a report kernel gets (beside this process's): the project root, matplotlib's Agg
    backend, a fixed hash seed."""
    return {"GOVLIB_ROOT": str(settings.root), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def run_reports(jobs: list[ReportJob], settings: Settings | None = None, workers: int | None = None,
                timeout: float | None = None, force: bool = False, progress: bool = True,
                executor: Any = None) -> list[ReportResult]:
    """Render reports; return one result per job (in job order).

    Parameters
    ----------
    jobs : from :func:`street_job`, :func:`district_job`, :func:`plan_all`.
    workers : concurrent reports (default ``reports.workers`` in the settings, 2).
    timeout : seconds per report (default ``reports.timeout_seconds``, 900); a report past it is killed with its
        kernel and listed as failed.
    force : render even when the inputs are unchanged.
    progress : show a tqdm progress bar on stderr.
    executor : ``"local"`` (warm worker processes), ``"dask"``, ``"inline"`` or an
        :class:`govlib.reports.executors.Executor` (default ``reports.executor`` in the settings, ``local``).
    """
    import shutil

    from tqdm import tqdm

    from .executors import make_executor

    settings = settings or load_settings()
    conf = settings.section("reports")
    workers = max(1, int(workers or conf.get("workers", 2)))
    timeout = positive_seconds(conf.get("timeout_seconds", 900) if timeout is None else timeout,
                               "reports.timeout_seconds" if timeout is None else "timeout")
    executor = make_executor(executor or conf.get("executor", "local"), workers=workers)
    results: dict[str, ReportResult] = {}
    specs: list[dict] = []
    by_name = {job.name: job for job in jobs}
    for job in jobs:
        digest = inputs_hash(job, settings)
        paths = output_paths(job, settings)
        if not force and report_is_current(paths, digest):
            results[job.name] = ReportResult(job, "skipped", html=str(paths["html"]), sidecar=str(paths["sidecar"]))
        else:
            specs.append(job_spec(job, settings, timeout, digest))
    bar = tqdm(total=len(jobs), desc="reports", unit="report", disable=not progress, file=sys.stderr)
    bar.update(len(results))
    # job and result files and worker logs beside the outputs (not in the system temp folder): a killed run's
    # folder carries this process's pid, so the next run's remove_stale_temporaries recognises and removes it
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=temporary_prefix("reports"), dir=settings.outputs_dir))
    try:
        for spec, res in executor.run(specs, timeout, work):
            job = by_name[spec["name"]]
            paths = output_paths(job, settings)
            if res.get("status") == "ok":
                results[job.name] = ReportResult(job, "ok", res.get("seconds", 0.0), html=str(paths["html"]),
                                                 sidecar=str(paths["sidecar"]), timings=res.get("timings") or {})
            else:
                results[job.name] = ReportResult(job, "failed", res.get("seconds", 0.0),
                                                 res.get("error") or "unknown error")
                bar.write(f"FAILED {job.name}: {results[job.name].error.splitlines()[0]}")
            bar.update(1)
    finally:
        bar.close()
        _keep_logs(work, settings.outputs_dir / "notebooks" / "logs")
        shutil.rmtree(work, ignore_errors=True)
    return [results[j.name] for j in jobs]


def _keep_logs(work: Path, logs: Path) -> None:
    """Worker logs outlive the run's scratch folder (for whoever debugs a failed report)."""
    for log in work.glob("*.log"):
        logs.mkdir(parents=True, exist_ok=True)
        os.replace(log, logs / log.name)


def results_table(results: list[ReportResult]) -> list[dict]:
    """Plain rows (name, status, seconds, error) for printing and for the portal."""
    return [{"name": r.job.name, "kind": r.job.kind, "status": r.status, "seconds": round(r.seconds, 1),
             "error": r.error, **{k: v for k, v in asdict(r.job).items() if k == "parameters"}} for r in results]
