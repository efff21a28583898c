"""The report runner: papermill over the notebooks, a bounded pool of workers, offline HTML and JSON sidecars.

Each report is one notebook run with parameters (``unit``, ``period``, ``lang``) through papermill's Python API
with the project's ``govlib`` kernel (never a stale ``python3`` kernel elsewhere; codes stay strings, which the
papermill CLI's ``-p`` would turn into numbers). Reports run in a bounded pool of worker processes, each in its own
process group, so a report that passes its timeout is killed together with its kernel; the others carry on.

A report is judged by exceptions, not by the saved notebook (after a timeout the saved notebook can still look
fine): the worker records success only when papermill returned, the notebook has no error output or missing-glyph
warning, and the HTML was exported. A kernel that fails to start is retried once (many kernels starting at once can
race for ports).

Outputs (all written atomically): ``outputs/notebooks/<name>.ipynb`` (executed), ``outputs/reports/<name>.html``
(no code, no network resources) and ``outputs/reports/<name>.json`` (the sidecar: headline numbers, alerts,
provenance and the hash of the report's inputs). File names are ASCII, built from codes:
``street_310115005000_2025_zh``, ``district_2025_zh``.

Incremental runs: the inputs hash covers the processed manifest, the notebook file, the parameters, the HTML
template and the govlib version; a report whose sidecar records the same hash (and whose HTML exists) is skipped
unless ``force=True``.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .. import __version__
from ..errors import InputError
from ..paths import PACKAGE_DIR
from ..settings import Settings, load_settings
from ..data.store import atomic_path, temporary_prefix, write_json

__all__ = ["ReportJob", "ReportResult", "street_job", "district_job", "audit_job", "plan_all", "run_reports",
           "write_sidecar", "notebook_path", "inputs_hash", "output_paths", "report_problems", "report_is_current",
           "check_outputs_folder", "KINDS"]

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


def cell_timeout(seconds: float) -> int:
    """The per-cell ``execution_timeout`` handed to papermill/nbclient, whose ``timeout`` trait is an Integer:
    a whole number of seconds one above ``ceil(seconds)``. It is only a backstop: the parent process enforces
    the exact (possibly fractional) deadline by killing the worker and its kernel, and it always fires first.

    >>> cell_timeout(1.5), cell_timeout(900), type(cell_timeout(30.5)).__name__
    (3, 901, 'int')
    """
    import math

    return int(math.ceil(seconds)) + 1


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


def _up_to_date(job: ReportJob, settings: Settings, digest: str) -> bool:
    return report_is_current(output_paths(job, settings), digest)


def report_is_current(paths: dict, digest: str) -> bool:
    """True when a report's HTML and sidecar exist and the sidecar records this inputs hash (the skip rule of
    every runner: the process pool here and the Dask fan-out in :mod:`govlib.reports.executors`)."""
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


def report_problems(notebook: Any) -> list[str]:
    """Problems in an executed notebook that make a report unpublishable: error outputs, missing glyphs.

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    >>> nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr",
    ...                        text="UserWarning: Glyph 38470 missing from font(s) DejaVu Sans.")]
    >>> report_problems(nb)
    ['cell 0: missing glyph: UserWarning: Glyph 38470 missing from font(s) DejaVu Sans.']
    """
    import re

    problems = []
    for i, cell in enumerate(notebook.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            text = out.get("text", "")
            if isinstance(text, list):
                text = "".join(text)
            for data in (out.get("data") or {}).values():
                if isinstance(data, str) and "missing from font" in data:
                    text += data
            m = re.search(r"[^\n]*Glyph [^\n]*missing from font[^\n]*", text)
            if m:
                problems.append(f"cell {i}: missing glyph: {m.group(0).strip()}")
    return problems


# ------------------------------------------------------------------------------------------------ the worker
def _is_kernel_start_failure(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}".lower()
    return ("kernel" in text and ("died" in text or "start" in text or "timeout" in text or "port" in text)) or \
        isinstance(exc, (TimeoutError, ConnectionError)) and "cell" not in text


def _execute(job: dict) -> dict:
    """Run one report in this process (called in a worker subprocess). Returns a JSON-able result."""
    t0 = time.perf_counter()
    paths = {k: Path(v) for k, v in job["paths"].items()}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    tmp_sidecar = paths["sidecar"].with_name(f"{temporary_prefix(paths['sidecar'].name)}tmp")
    params = dict(job["parameters"], sidecar=str(tmp_sidecar))
    failed_copy = paths["notebook"].with_suffix(".failed.ipynb")
    failed_copy.unlink(missing_ok=True)
    try:
        return _execute_into(job, paths, params, tmp_sidecar, failed_copy, t0)
    finally:
        tmp_sidecar.unlink(missing_ok=True)


def _execute_into(job: dict, paths: dict, params: dict, tmp_sidecar: Path, failed_copy: Path, t0: float) -> dict:
    import shutil

    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .html import export_html

    with atomic_path(paths["notebook"], suffix=".ipynb") as tmp_nb:
        for attempt in (1, 2):
            try:
                pm.execute_notebook(job["notebook"], str(tmp_nb), parameters=params, kernel_name=job["kernel"],
                                    cwd=str(Path(job["notebook"]).parent), progress_bar=False, log_output=False,
                                    start_timeout=120, execution_timeout=cell_timeout(job["timeout"]))
                break
            except PapermillExecutionError:
                if tmp_nb.exists():  # keep the failed run for whoever debugs it
                    shutil.copyfile(tmp_nb, failed_copy)
                raise
            except Exception as exc:  # a kernel that did not start: retry once
                if attempt == 2 or not _is_kernel_start_failure(exc):
                    raise
                time.sleep(1.0)
        nb = nbformat.read(str(tmp_nb), as_version=4)
        # papermill gives its injected-parameters cell a random id: fix it, so that two renders of the same
        # inputs are byte-identical (only the declared execution timestamps in the .ipynb metadata differ)
        for cell in nb.cells:
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["id"] = "injected-parameters"
        nbformat.write(nb, str(tmp_nb))
        problems = report_problems(nb)
        if problems:
            raise RuntimeError("; ".join(problems[:3]))
        if not tmp_sidecar.exists():
            raise RuntimeError("the notebook did not write its JSON sidecar")
        export_html(nb, paths["html"], title=job.get("title") or paths["html"].stem)
    sidecar = json.loads(tmp_sidecar.read_text(encoding="utf-8"))
    sidecar.update({"report": job["name"], "inputs_hash": job["inputs_hash"], "parameters": job["parameters"],
                    "html": paths["html"].name, "notebook": paths["notebook"].name})
    write_json(paths["sidecar"], sidecar)  # written last: its inputs_hash marks the report complete
    return {"status": "ok", "seconds": time.perf_counter() - t0}


def _run_one(job: dict) -> dict:
    try:
        return _execute(job)
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent, never swallowed
        msg = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "PapermillExecutionError":
            msg = f"cell {getattr(exc, 'exec_count', '?')}: {getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
        return {"status": "failed", "error": msg.strip()[:2000]}


def _worker_main(argv: list[str]) -> int:
    """Worker entry point. ``--serve``: read job files from stdin, one per line, until EOF (a persistent worker
    saves the interpreter start and the papermill/nbconvert imports per report); else run the one job file given.
    """
    if argv and argv[0] == "--serve":
        _die_with_parent(int(os.environ.get("GOVLIB_RUNNER_PID", os.getppid())))
        import nbconvert  # noqa: F401 - imported once, before the first job
        import papermill  # noqa: F401

        for line in sys.stdin:
            job = json.loads(Path(line.strip()).read_text(encoding="utf-8"))
            result = _run_one(job)
            tmp = Path(job["result_file"] + ".tmp")
            tmp.write_text(json.dumps(result), encoding="utf-8")
            os.replace(tmp, job["result_file"])  # the parent polls for this file
        return 0
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    result = _run_one(job)
    Path(job["result_file"]).write_text(json.dumps(result), encoding="utf-8")
    return 0 if result["status"] == "ok" else 1


def _kill_family(*_: Any) -> None:
    """SIGKILL this worker's kernels (each in a session of its own) and the worker's process group."""
    me = os.getpid()
    kids = set()
    for task in Path(f"/proc/{me}/task").glob("*"):
        try:
            kids.update(int(k) for k in (task / "children").read_text().split())
        except (OSError, ValueError):
            pass
    for kid in kids:
        for kill in (os.killpg, os.kill):
            try:
                kill(kid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _die_with_parent(parent: int) -> None:
    """End this worker (and its kernel) as soon as the runner that started it dies, even by SIGKILL.

    A worker outliving its runner would keep writing reports after the outputs lock was released. On Linux the
    kernel sends SIGTERM at the parent's death (``prctl(PR_SET_PDEATHSIG)``); elsewhere a thread polls the parent
    pid twice a second.
    """
    import threading

    signal.signal(signal.SIGTERM, _kill_family)
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            armed = ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the runner died before the signal was armed
        _kill_family()
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            _kill_family()

        threading.Thread(target=watch, daemon=True, name="govlib-parent-watchdog").start()


# ------------------------------------------------------------------------------------------------ the pool
@dataclass
class _Slot:
    """One persistent worker process and the report it is rendering (if any)."""

    proc: subprocess.Popen
    log_path: Path
    log: Any
    job: ReportJob | None = None
    started: float = 0.0
    result_file: Path | None = None


def _start_worker(env: dict, log_path: Path) -> _Slot:
    log = open(log_path, "a", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "govlib.reports.runner", "--serve"], env=env, stdin=subprocess.PIPE,
                            stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return _Slot(proc, log_path, log)


def _stop_worker(slot: _Slot, kill: bool = False) -> None:
    if slot.proc.poll() is not None:
        slot.log.close()
        return
    if not kill:
        try:
            slot.proc.stdin.close()
            slot.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            kill = True
    if kill:
        _kill_group(slot.proc)
    slot.log.close()


def run_reports(jobs: list[ReportJob], settings: Settings | None = None, workers: int | None = None,
                timeout: float | None = None, force: bool = False, progress: bool = True) -> list[ReportResult]:
    """Render reports in a bounded pool of worker processes; return one result per job (in job order).

    Each of the ``workers`` processes renders one report at a time and stays alive for the next one; a worker
    whose report passes the timeout is killed with its kernel (its process group) and replaced.

    Parameters
    ----------
    jobs : from :func:`street_job`, :func:`district_job`, :func:`plan_all`.
    workers : concurrent reports (default ``reports.workers`` in the settings, 2).
    timeout : seconds per report (default ``reports.timeout_seconds``, 900); a report past it is killed with its
        kernel and listed as failed.
    force : render even when the inputs are unchanged.
    progress : show a tqdm progress bar on stderr.
    """
    import shutil

    from tqdm import tqdm

    settings = settings or load_settings()
    conf = settings.section("reports")
    workers = max(1, int(workers or conf.get("workers", 2)))
    timeout = positive_seconds(conf.get("timeout_seconds", 900) if timeout is None else timeout,
                               "reports.timeout_seconds" if timeout is None else "timeout")
    kernel = str(conf.get("kernel", "govlib"))
    results: dict[str, ReportResult] = {}
    queue: list[tuple[ReportJob, str]] = []
    for job in jobs:
        digest = inputs_hash(job, settings)
        if not force and _up_to_date(job, settings, digest):
            paths = output_paths(job, settings)
            results[job.name] = ReportResult(job, "skipped", html=str(paths["html"]), sidecar=str(paths["sidecar"]))
        else:
            queue.append((job, digest))
    bar = tqdm(total=len(jobs), desc="reports", unit="report", disable=not progress, file=sys.stderr)
    bar.update(len(results))
    log_dir = settings.outputs_dir / "notebooks" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    # job and result files beside the outputs (not in the system temp folder): a killed run's folder carries this
    # process's pid, so the next run's remove_stale_temporaries recognises and removes it
    work = Path(tempfile.mkdtemp(prefix=temporary_prefix("reports"), dir=settings.outputs_dir))
    env = dict(os.environ, GOVLIB_ROOT=str(settings.root), MPLBACKEND="Agg", PYTHONHASHSEED="0",
               GOVLIB_RUNNER_PID=str(os.getpid()))
    slots: list[_Slot] = []

    def finish(slot: _Slot, res: ReportResult) -> None:
        results[slot.job.name] = res
        slot.job = None
        bar.update(1)
        if res.status == "failed":
            bar.write(f"FAILED {res.job.name}: {res.error.splitlines()[0] if res.error else ''}")

    try:
        n_slots = min(workers, len(queue))
        slots = [_start_worker(env, log_dir / f"worker-{i}.log") for i in range(n_slots)]
        while queue or any(s.job is not None for s in slots):
            for i, slot in enumerate(slots):
                if slot.job is None and queue:
                    if slot.proc.poll() is not None:  # died between jobs: replace it
                        slot.log.close()
                        slot = slots[i] = _start_worker(env, slot.log_path)
                    job, digest = queue.pop(0)
                    paths = output_paths(job, settings)
                    spec = {"name": job.name, "title": job.title, "parameters": job.parameters, "kernel": kernel,
                            "notebook": str(notebook_path(job.kind, settings)), "timeout": timeout,
                            "inputs_hash": digest, "paths": {k: str(v) for k, v in paths.items()},
                            "result_file": str(work / f"{job.name}.result.json")}
                    job_file = work / f"{job.name}.job.json"
                    job_file.write_text(json.dumps(spec), encoding="utf-8")
                    slot.job, slot.started, slot.result_file = job, time.perf_counter(), Path(spec["result_file"])
                    try:
                        slot.proc.stdin.write(job_file.as_posix() + "\n")
                        slot.proc.stdin.flush()
                    except OSError:
                        pass  # a dead worker is noticed below
            time.sleep(0.1)
            for i, slot in enumerate(slots):
                if slot.job is None:
                    continue
                elapsed = time.perf_counter() - slot.started
                if slot.result_file.exists():
                    finish(slot, _collect(slot.job, slot.result_file, elapsed, settings, slot.log_path))
                elif slot.proc.poll() is not None:
                    finish(slot, _collect(slot.job, slot.result_file, elapsed, settings, slot.log_path))
                elif elapsed > timeout:  # kill the worker and its kernel (same process group); replaced lazily
                    _kill_group(slot.proc)
                    finish(slot, ReportResult(slot.job, "failed", elapsed, f"timed out after {timeout:g} s"))
    finally:
        for slot in slots:
            _stop_worker(slot, kill=slot.job is not None)
        bar.close()
        shutil.rmtree(work, ignore_errors=True)
    return [results[j.name] for j in jobs]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _collect(job: ReportJob, result_file: Path, elapsed: float, settings: Settings, log_path: Path) -> ReportResult:
    paths = output_paths(job, settings)
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:] if log_path.exists() else ""
        data = {"status": "failed", "error": f"the worker process died: {tail.strip()}"}
    if data["status"] == "ok":
        return ReportResult(job, "ok", elapsed, html=str(paths["html"]), sidecar=str(paths["sidecar"]))
    return ReportResult(job, "failed", elapsed, data.get("error", "unknown error"))


def results_table(results: list[ReportResult]) -> list[dict]:
    """Plain rows (name, status, seconds, error) for printing and for the portal."""
    return [{"name": r.job.name, "kind": r.job.kind, "status": r.status, "seconds": round(r.seconds, 1),
             "error": r.error, **{k: v for k, v in asdict(r.job).items() if k == "parameters"}} for r in results]


if __name__ == "__main__":  # the worker entry point: python -m govlib.reports.runner --serve | JOB.json
    sys.exit(_worker_main(sys.argv[1:]))
