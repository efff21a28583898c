"""Executors beyond one process: Dask for survey estimation, hotline aggregation and report fan-out.

The statistics live in one place; this module only decides *where* they run.

- **Survey domain estimation** (:func:`estimate_on_dask`): the per stratum x PSU x domain sufficient statistics
  of :func:`govlib.survey.reduce_domain_sums` are computed per partition of a ``dask.dataframe``, added up with
  :func:`govlib.survey.combine_domain_sums` in a tree, and finalised once with
  :func:`govlib.survey.finalize_domain_sums` -- the same three functions :func:`govlib.survey.estimate` runs
  in memory, so both paths give the same numbers (to floating-point summation order, ~1e-15 relative).
  The design structure (PSUs per stratum, fpc) is small and is gathered first from the distinct design rows.
- **Hotline aggregation out of core**: :func:`aggregate_ticket_files` streams Parquet row groups with pyarrow in
  one process (memory bounded by one batch plus the running counts); :func:`aggregate_tickets_on_dask` maps
  :func:`govlib.hotline.reduce_tickets` over dask partitions. Both finish with
  :func:`govlib.hotline.finalise_monthly`, exactly as :func:`govlib.hotline.aggregate_tickets`.
- **Report fan-out**: :func:`run_reports_on_dask` runs picklable :class:`ReportTask` s on a Dask cluster and
  returns one :class:`TaskOutcome` per task, in task order -- the same shape as :func:`run_tasks_in_processes`
  (a ``concurrent.futures`` process pool) and :func:`run_tasks_sequentially`; errors are captured per task, never
  raised, so one failing report does not stop the others.
  :func:`run_report_jobs_on_dask` does the same for the papermill runner's jobs (:mod:`govlib.reports`) and
  returns its ``ReportResult`` list.
- :func:`start_local_cluster` starts a ``LocalCluster`` of worker processes on loopback (no dashboard).

Nothing here prints; only :func:`run_report_jobs_on_dask` reads settings (the ``reports`` section, as the pool
runner does). See ``docs/scaling.md`` for running on a real cluster.
"""
from __future__ import annotations

import contextlib
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from . import hotline as _hotline
from . import survey as _survey
from .errors import InputError

__all__ = [
    "ReportTask", "TaskOutcome", "as_tasks", "run_tasks_sequentially", "run_tasks_in_processes",
    "run_reports_on_dask", "start_local_cluster", "local_client", "estimate_on_dask",
    "survey_plan", "reduce_survey_partition", "aggregate_ticket_files", "aggregate_tickets_on_dask",
    "ticket_files", "probe_task", "run_report_jobs_on_dask",
]

#: The ``stat`` values of :func:`govlib.survey.estimate`.
#: How many partial results one combine task adds up (the fan-in of the reduction tree).
COMBINE_FAN_IN = 8


# ============================================================================================ report fan-out
@dataclass(frozen=True)
class ReportTask:
    """One unit of work for a fan-out executor: ``func(**kwargs)``, identified by ``key``.

    ``func`` must be picklable by reference (a module-level function of an importable module, e.g.
    ``govlib.reports.run_one``) so that worker processes -- possibly on other machines -- can import it.

    Examples
    --------
    >>> t = ReportTask("r1", round, {"number": 2.567, "ndigits": 1})
    >>> t.func(**t.kwargs)
    2.6
    """

    key: str
    func: Callable[..., Any]
    kwargs: dict = field(default_factory=dict)


@dataclass
class TaskOutcome:
    """What happened to one task: ``ok`` and ``value``, or ``error`` (``"Type: message"``) and ``traceback``.

    ``seconds`` is the wall time inside the worker, ``worker`` the process (``host:pid``) that ran it.
    """

    key: str
    ok: bool
    value: Any = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    worker: str = ""

    def as_dict(self) -> dict:
        """A plain dict (for JSON run logs)."""
        return {"key": self.key, "ok": self.ok, "value": self.value, "error": self.error,
                "traceback": self.traceback, "seconds": self.seconds, "worker": self.worker}


def as_tasks(tasks: Iterable[Any]) -> list[ReportTask]:
    """Normalise tasks given as :class:`ReportTask`, ``(func, kwargs)`` or ``(key, func, kwargs)``.

    Keys default to the position (``"0"``, ``"1"``, ...) and must be unique.

    Examples
    --------
    >>> [t.key for t in as_tasks([(round, {"number": 1.5}), ("b", round, {"number": 2.5})])]
    ['0', 'b']
    """
    out: list[ReportTask] = []
    for i, t in enumerate(tasks):
        if isinstance(t, ReportTask):
            out.append(t)
        elif isinstance(t, tuple) and len(t) == 2 and callable(t[0]):
            out.append(ReportTask(str(i), t[0], dict(t[1] or {})))
        elif isinstance(t, tuple) and len(t) == 3 and callable(t[1]):
            out.append(ReportTask(str(t[0]), t[1], dict(t[2] or {})))
        else:
            raise InputError(f"task {i}: expected a ReportTask, (func, kwargs) or (key, func, kwargs); got "
                             f"{type(t).__name__} {t!r:.80}")
    keys = [t.key for t in out]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise InputError(f"task keys must be unique; repeated: {dup[:10]}")
    return out


def _run_task(task: ReportTask) -> TaskOutcome:
    """Run one task in the current process and capture its result or error (runs on the worker)."""
    import socket

    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        value = task.func(**task.kwargs)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- one failing report must not stop the others
        return TaskOutcome(task.key, False, None, f"{type(exc).__name__}: {exc}", traceback.format_exc(),
                           time.perf_counter() - start, worker)
    return TaskOutcome(task.key, True, value, None, None, time.perf_counter() - start, worker)


def run_tasks_sequentially(tasks: Iterable[Any]) -> list[TaskOutcome]:
    """The reference executor: run every task here, one after another.

    Examples
    --------
    >>> [(o.key, o.ok, o.value) for o in run_tasks_sequentially([("a", round, {"number": 2.567, "ndigits": 1}),
    ...                                                           ("b", round, {"number": "x"})])]
    [('a', True, 2.6), ('b', False, None)]
    """
    return [_run_task(t) for t in as_tasks(tasks)]


def run_tasks_in_processes(tasks: Iterable[Any], workers: int = 2) -> list[TaskOutcome]:
    """Run tasks in a local process pool (``concurrent.futures``); outcomes in task order.

    Examples
    --------
    >>> [o.value for o in run_tasks_in_processes([(round, {"number": 1.2}), (round, {"number": 2.7})], workers=1)]
    [1, 3]
    """
    tasks = as_tasks(tasks)
    if workers < 1:
        raise InputError(f"workers={workers}: expected at least 1")
    if not tasks:
        return []
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        return list(pool.map(_run_task, tasks))


def probe_task(n: int = 200_000, fail: bool = False) -> dict:
    """A CPU-bound stand-in for a report (pure-Python loop of ``n`` steps): for smoke tests and benchmarks.

    It is importable on any worker that has govlib installed, so it also checks a real cluster's setup.

    Examples
    --------
    >>> probe_task(10)
    {'n': 10, 'checksum': 285}
    """
    if fail:
        raise InputError(f"probe task asked to fail (n={n})")
    total = 0
    for i in range(int(n)):
        total += i * i
    return {"n": int(n), "checksum": total}


def start_local_cluster(n_workers: int = 2, threads_per_worker: int = 1, memory_limit: str | int = "auto",
                        host: str = "127.0.0.1", **kwargs: Any):
    """Start a ``LocalCluster`` of worker *processes* on loopback, without a dashboard; return ``(cluster, client)``.

    Close both when done (``client.close(); cluster.close()``) or use :func:`local_client`.

    Parameters
    ----------
    n_workers : worker processes (one per core is a good start; reports are CPU-bound and single-threaded).
    threads_per_worker : threads per worker (1: numpy/pandas work and papermill kernels do not share a GIL well).
    memory_limit : per worker (``"auto"`` = total memory / workers); Dask spills and then pauses a worker at it.
    host : listen address; loopback keeps the cluster private to this machine.

    Examples
    --------
    >>> callable(start_local_cluster)
    True
    """
    from distributed import Client, LocalCluster

    if n_workers < 1:
        raise InputError(f"n_workers={n_workers}: expected at least 1")
    kwargs.setdefault("dashboard_address", None)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                           host=host, memory_limit=memory_limit, **kwargs)
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return cluster, client


@contextlib.contextmanager
def local_client(n_workers: int = 2, **kwargs: Any) -> Iterator[Any]:
    """Context manager: a ``Client`` on a fresh :func:`start_local_cluster`; both closed on exit.

    Examples
    --------
    >>> callable(local_client)
    True
    """
    cluster, client = start_local_cluster(n_workers, **kwargs)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_reports_on_dask(tasks: Iterable[Any], scheduler: str | None = None, local_workers: int = 2,
                        client: Any = None, retries: int = 1, connect_timeout: str = "20s") -> list[TaskOutcome]:
    """Fan report tasks out over Dask workers; one :class:`TaskOutcome` per task, in task order.

    Parameters
    ----------
    tasks : :class:`ReportTask` s (or ``(func, kwargs)`` / ``(key, func, kwargs)``); ``func`` and the kwargs must
        be picklable and importable on the workers.
    scheduler : ``"tcp://host:port"`` of a running ``dask scheduler``; ``None`` starts a local cluster of
        ``local_workers`` processes for this call (and stops it afterwards).
    local_workers : worker processes of the local cluster (ignored with ``scheduler`` or ``client``).
    client : an existing ``distributed.Client`` to use (it is not closed).
    retries : resubmissions of a task whose *worker died* (a Python exception inside the task is not retried:
        it is captured in the outcome).
    connect_timeout : how long to try to reach ``scheduler``.

    Returns
    -------
    list of TaskOutcome -- the same shape as :func:`run_tasks_in_processes`.

    Raises
    ------
    InputError
        for a malformed scheduler address or when the scheduler cannot be reached.

    Examples
    --------
    >>> run_reports_on_dask([], local_workers=1)
    []
    """
    tasks = as_tasks(tasks)
    if not tasks:
        return []
    if scheduler is not None and not (isinstance(scheduler, str) and "://" in scheduler):
        raise InputError(f"scheduler={scheduler!r}: expected an address such as tcp://10.0.0.5:8786")
    with contextlib.ExitStack() as stack:
        if client is None:
            if scheduler is not None:
                from distributed import Client

                try:
                    client = Client(scheduler, timeout=connect_timeout)
                except (OSError, TimeoutError) as exc:
                    raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; start it with "
                                     f"`dask scheduler` and workers with `dask worker {scheduler}`") from exc
                stack.callback(client.close)
            else:
                client = stack.enter_context(local_client(max(1, min(local_workers, len(tasks)))))
        # pure=False: the same report run twice is two runs (a report writes files); retries only on lost workers.
        import uuid

        run_id = uuid.uuid4().hex[:8]  # task keys unique per call: two fan-outs on one cluster never share results
        futures = client.map(_run_task, tasks, pure=False, retries=retries,
                             key=[f"report-{t.key}-{run_id}-{i}" for i, t in enumerate(tasks)])
        outcomes: list[TaskOutcome] = []
        for task, fut in zip(tasks, futures):
            try:
                outcomes.append(fut.result())
            except BaseException as exc:  # noqa: BLE001 -- the worker died (KilledWorker) or unpickling failed
                outcomes.append(TaskOutcome(task.key, False, None, f"{type(exc).__name__}: {exc}",
                                            traceback.format_exc(), 0.0, ""))
        return outcomes


# ============================================================================== the papermill runner on Dask
def _report_in_subprocess(spec: dict, timeout: float, env: dict) -> dict:
    """Run one report on a Dask worker exactly as the process-pool runner does: ``python -m govlib.reports JOB``
    in its own process group (killed with its kernel past ``timeout``). Returns the worker's result dict."""
    import json
    import signal
    import subprocess
    import sys
    import tempfile

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="govlib-report-") as work:
        job_file = Path(work) / "job.json"
        spec = dict(spec, result_file=str(Path(work) / "result.json"))
        job_file.write_text(json.dumps(spec), encoding="utf-8")
        log_path = Path(spec["log"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen([sys.executable, "-m", "govlib.reports", str(job_file)], env={**os.environ, **env},
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"status": "failed", "error": f"timed out after {timeout:g} s",
                        "seconds": time.perf_counter() - start}
        try:
            result = json.loads(Path(spec["result_file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:] if log_path.exists() else ""
            result = {"status": "failed", "error": f"worker exited with status {proc.returncode}: {tail.strip()}"}
    result["seconds"] = time.perf_counter() - start
    return result


def run_report_jobs_on_dask(jobs: Sequence[Any], settings: Any = None, scheduler: str | None = None,
                            local_workers: int = 2, client: Any = None, timeout: float | None = None,
                            force: bool = False) -> list:
    """:func:`govlib.reports.run_reports` with the reports fanned out over Dask workers instead of a local pool.

    The planning is the runner's own (inputs hash, skip of up-to-date reports, output paths, the same job spec and
    worker entry point ``python -m govlib.reports``), so results are the same
    :class:`govlib.reports.ReportResult` list, in job order. On a real cluster every worker must see the same
    project folder (``data/processed`` and ``outputs/`` on shared storage, at the same path) and have govlib,
    papermill and the ``govlib`` kernel installed -- see ``docs/scaling.md``.

    Parameters
    ----------
    jobs : :class:`govlib.reports.ReportJob` s (from ``plan_all`` / ``street_job`` ...).
    settings : :class:`govlib.settings.Settings` (default: the project's).
    scheduler, local_workers, client : as :func:`run_reports_on_dask`.
    timeout : seconds per report (default ``reports.timeout_seconds``, 900); the report is killed with its kernel.
    force : render even when the inputs are unchanged.

    Examples
    --------
    >>> run_report_jobs_on_dask([], local_workers=1)
    []
    """
    from . import reports as _reports
    from .settings import load_settings

    jobs = list(jobs)
    if not jobs:
        return []
    settings = settings or load_settings()
    conf = settings.section("reports")
    timeout = _reports.positive_seconds(conf.get("timeout_seconds", 900) if timeout is None else timeout,
                                       "reports.timeout_seconds" if timeout is None else "timeout")
    kernel = str(conf.get("kernel", "govlib"))
    env = {"GOVLIB_ROOT": str(settings.root), "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    results: dict[str, Any] = {}
    tasks: list[ReportTask] = []
    for job in jobs:
        digest = _reports.inputs_hash(job, settings)
        paths = _reports.output_paths(job, settings)
        if not force and _reports.report_is_current(paths, digest):
            results[job.name] = _reports.ReportResult(job, "skipped", html=str(paths["html"]),
                                                      sidecar=str(paths["sidecar"]))
            continue
        spec = {"name": job.name, "title": job.title, "parameters": job.parameters, "kernel": kernel,
                "notebook": str(_reports.notebook_path(job.kind, settings)), "timeout": timeout,
                "inputs_hash": digest, "paths": {k: str(v) for k, v in paths.items()},
                "log": str(settings.outputs_dir / "notebooks" / "logs" / f"{job.name}.log")}
        tasks.append(ReportTask(job.name, _report_in_subprocess, {"spec": spec, "timeout": timeout, "env": env}))
    by_name = {j.name: j for j in jobs}
    for outcome in run_reports_on_dask(tasks, scheduler=scheduler, local_workers=local_workers, client=client,
                                       retries=0):
        job = by_name[outcome.key]
        paths = _reports.output_paths(job, settings)
        data = outcome.value if outcome.ok else {"status": "failed", "error": outcome.error or "unknown error"}
        if data.get("status") == "ok":
            results[job.name] = _reports.ReportResult(job, "ok", data.get("seconds", outcome.seconds),
                                                      html=str(paths["html"]), sidecar=str(paths["sidecar"]))
        else:
            results[job.name] = _reports.ReportResult(job, "failed", data.get("seconds", outcome.seconds),
                                                      data.get("error", "unknown error"))
    return [results[j.name] for j in jobs]


# ========================================================================================= tree reduction
def _tree_combine(parts: list, combine: Callable[[list], Any], fan_in: int = COMBINE_FAN_IN):
    """Combine delayed partial results in a tree of ``fan_in``-way combines (bounded memory per task)."""
    import dask

    parts = list(parts)
    if not parts:
        raise InputError("nothing to combine: the data have no partitions")
    combine_d = dask.delayed(combine, pure=True)
    while len(parts) > 1:
        parts = [combine_d(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


# ============================================================================================ survey on dask
@dataclass(frozen=True)
class SurveyPlan:
    """What every partition needs to code its rows consistently: label lookups and the variables.

    Built by :func:`survey_plan` from the small distinct design rows and domain labels of the whole data.
    """

    design: _survey.SurveyDesign
    strata: str | None
    clusters: tuple
    weight: str | None
    by: tuple
    domain_labels: pd.DataFrame
    columns: tuple  # value columns, one per reduced variable: (kind, column, category or None)
    ssu_lookup: pd.DataFrame | None
    row_psu: bool  # clusters=None: every row is its own PSU (codes from global row numbers)
    stratum_index: pd.Index | None = None  # hash tables of the labels, built once and shipped with the plan
    psu_index: pd.Index | None = None

    @property
    def n_domains(self) -> int:
        return len(self.domain_labels)


_ROW = "__row__"


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    """Column argument(s) as a list; ``"a,b"`` is two columns (as :func:`govlib.survey.make_design`)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] if "," in value else [value]
    return list(value)


def _plain(s: pd.Series) -> pd.Series:
    """Categoricals (e.g. partition columns) as their values, so labels compare by value."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(s.cat.categories.dtype)
    return s


def _code_series(values: pd.Series, labels) -> np.ndarray:
    """Position of each value in ``labels`` (-1 where absent); categoricals are coded via their categories."""
    index = labels if isinstance(labels, pd.Index) else pd.Index(labels)
    if isinstance(values.dtype, pd.CategoricalDtype):  # look up the few categories, not every row's string
        cat_pos = index.get_indexer(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, cat_pos[np.maximum(codes, 0)], -1)
    return index.get_indexer(values)


def _code(values: pd.Series | pd.DataFrame, labels, what: str, column: str) -> np.ndarray:
    """Integer codes of ``values`` in ``labels`` (a sequence, or a DataFrame of label rows for several columns)."""
    if isinstance(values, pd.DataFrame):
        labels = labels.reset_index(drop=True)
        key = np.zeros(len(values), dtype=np.int64)
        label_key = np.zeros(len(labels), dtype=np.int64)
        valid = np.ones(len(values), dtype=bool)
        for col in values.columns:
            uniq = pd.Index(pd.unique(labels[col]))
            c = _code_series(values[col], uniq)
            valid &= c >= 0
            key = key * len(uniq) + c
            label_key = label_key * len(uniq) + uniq.get_indexer(labels[col])
        codes = np.where(valid, pd.Index(label_key).get_indexer(key), -1)
    else:
        codes = _code_series(values, labels)
    if (codes < 0).any():
        bad = values[codes < 0]
        raise InputError(f"{what} column '{column}' has values not seen when the design was built: "
                         f"{bad.head(5).to_numpy().tolist()} (empty values are not allowed)")
    return codes.astype(np.int64)


def _with_row_numbers(part: pd.DataFrame, offset: int) -> pd.DataFrame:
    return part.assign(**{_ROW: np.arange(offset, offset + len(part), dtype=np.int64)})


def survey_plan(ddf, variables: str | Sequence[str], *, weight: str | None = None, strata: str | None = None,
                clusters: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                fpc_kind: str = "population", lonely_psu: str = "fail", by: str | Sequence[str] | None = None,
                stat: str = "mean", denominator: str | Sequence[str] | None = None) -> tuple[SurveyPlan, list, list]:
    """Gather the design structure and domain labels of a dask DataFrame (small ``compute`` calls).

    ``ddf`` may also be a pandas DataFrame: the same plan then drives a chunked in-process reduction
    (:func:`reduce_survey_partition` on row slices).

    Returns ``(plan, names, row_offsets)``: the plan every partition uses, the output column names and the
    global row number of each partition's first row (used when ``clusters=None``).

    The design structure comes from :func:`govlib.survey.make_design` applied to the *distinct* (stratum, PSU
    [, SSU], fpc) rows, so the lonely-PSU rules, fpc checks and SSU numbering are exactly the in-memory ones.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "p": [1, 2, 3, 4], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> plan, names, _ = survey_plan(dd.from_pandas(df, npartitions=2), "y", strata="h", clusters="p")
    >>> plan.design.n_psu.tolist(), names
    ([2, 2], ['y'])
    """
    import dask

    variables = _as_list(variables)
    if not variables:
        raise InputError("no variables to estimate")
    by_cols = _as_list(by)
    cluster_cols = _as_list(clusters)
    fpc_cols = _as_list(fpc)
    missing = [c for c in [weight, strata, *cluster_cols, *fpc_cols, *by_cols, *variables,
                           *_as_list(denominator)] if c is not None and c not in ddf.columns]
    if missing:
        raise InputError(f"columns {missing} not found in the survey data; columns are: {list(ddf.columns)[:20]}")
    row_psu = not cluster_cols
    design_cols = list(dict.fromkeys([c for c in [strata] if c] + cluster_cols + fpc_cols))
    in_memory = isinstance(ddf, pd.DataFrame)
    offsets = [0]
    if row_psu and not in_memory:
        lengths = ddf.map_partitions(len).compute().tolist()
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
    elif not in_memory:
        offsets = [0] * ddf.npartitions  # not used: PSU codes come from the PSU column
    if row_psu:
        cluster_cols = [_ROW]
    # One pass over the data: per partition the distinct design rows, domain labels and (prop) categories,
    # then a tree of concat + drop_duplicates (no shuffle: the distinct rows are few).
    column_sets = [design_cols] + ([by_cols] if by_cols else []) + ([[v] for v in variables] if stat == "prop" else [])
    n_tasks = 1 + bool(by_cols)
    if in_memory:
        computed = _distinct_in_partition(ddf, column_sets, 0, row_psu)
    else:
        distinct_d = dask.delayed(_distinct_in_partition, pure=True)
        needed = list(dict.fromkeys(c for cols in column_sets for c in cols))
        projected = ddf[needed] if needed else ddf.iloc[:, :1]  # read only these columns (Parquet projection)
        parts = [distinct_d(p, column_sets, off, row_psu) for p, off in zip(projected.to_delayed(), offsets)]
        (computed,) = dask.compute(_tree_combine(parts, _combine_distinct))
    structure = computed[0].reset_index(drop=True)
    structure = structure.apply(_plain) if len(structure.columns) else structure
    if len(structure) == 0:
        raise InputError("the survey data have no rows")
    design = _survey.make_design(structure, weight=None, strata=strata, clusters=cluster_cols, fpc=fpc_cols or None,
                                 fpc_kind=fpc_kind, lonely_psu=lonely_psu)
    if by_cols:
        dom_frame = computed[1].reset_index(drop=True).apply(_plain)
        _, labels = _survey.domain_codes(dom_frame, by_cols)
    else:
        labels = pd.DataFrame(index=[0])
    ssu_lookup = None
    if design.ssu is not None:
        ssu_lookup = pd.DataFrame({"psu": design.psu, "ssu_label": structure[cluster_cols[1]].to_numpy(),
                                   "ssu": design.ssu}).drop_duplicates(["psu", "ssu_label"])
    if stat == "prop":
        columns, names = [], []
        for v, cats in zip(variables, computed[n_tasks:]):
            for c in np.sort(_plain(cats[v]).dropna().unique()):
                columns.append(("cat", v, c))
                names.append(f"{v}{c}")
    elif stat == "ratio":
        dens = _as_list(denominator)
        if len(dens) != len(variables):
            raise InputError(f"stat='ratio' needs one denominator per variable; got variables={variables}, "
                             f"denominator={dens}")
        columns = [("num", v, d) for v, d in zip(variables, dens)] + [("den", d, v) for v, d in zip(variables, dens)]
        names = [f"{v}/{d}" for v, d in zip(variables, dens)]
    else:
        columns = [("value", v, None) for v in variables]
        names = list(variables)
    plan = SurveyPlan(design=design, strata=strata, clusters=tuple(cluster_cols), weight=weight, by=tuple(by_cols),
                      domain_labels=labels, columns=tuple(columns), ssu_lookup=ssu_lookup, row_psu=row_psu,
                      stratum_index=pd.Index(design.stratum_labels), psu_index=pd.Index(design.psu_labels))
    return plan, names, offsets


def _distinct_in_partition(part: pd.DataFrame, column_sets: list, row_offset: int, row_psu: bool) -> list:
    """Distinct rows of each column set in one partition (the first set: design rows, with row numbers as PSUs
    when ``row_psu``). Missing values are dropped from single-column sets after the first two (categories)."""
    out = []
    for i, cols in enumerate(column_sets):
        frame = part[cols]
        if i == 0 and row_psu:
            out.append(_with_row_numbers(frame, row_offset))
            continue
        frame = frame.apply(_plain) if len(cols) else frame
        out.append(frame.drop_duplicates())
    return out


def _combine_distinct(parts: list) -> list:
    return [pd.concat(group, ignore_index=True).drop_duplicates().reset_index(drop=True)
            for group in zip(*parts)]


def _numeric(part: pd.DataFrame, col: str) -> np.ndarray:
    """A variable column as floats (``NaN`` = missing); text that is not a number is an input error (as in
    :func:`govlib.survey.estimate`)."""
    s = part[col]
    x = pd.to_numeric(s, errors="coerce")
    bad = x.isna() & s.notna()
    if bad.any():
        raise InputError(f"variable column '{col}' must be numeric; found {s[bad].unique()[:8].tolist()}")
    return x.to_numpy(dtype=float)


def _partition_values(part: pd.DataFrame, plan: SurveyPlan) -> list[np.ndarray]:
    """One float column per reduced variable (a list: no n x k copy)."""
    cols = []
    cache: dict[str, np.ndarray] = {}

    def numeric(col: str) -> np.ndarray:
        if col not in cache:
            cache[col] = _numeric(part, col)
        return cache[col]

    for kind, col, extra in plan.columns:
        if kind == "value":
            cols.append(numeric(col))
        elif kind == "cat":
            s = _plain(part[col])
            cols.append(np.where(s.isna(), np.nan, (s == extra).astype(float)))
        else:  # ratio: a row counts only where numerator and denominator are both present
            num, den = (numeric(col), numeric(extra)) if kind == "num" else (numeric(extra), numeric(col))
            both = ~np.isnan(num) & ~np.isnan(den)
            cols.append(np.where(both, num if kind == "num" else den, np.nan))
    return cols


def reduce_survey_partition(part: pd.DataFrame, plan: SurveyPlan, row_offset: int = 0) -> pd.DataFrame:
    """Code one partition's rows with the global plan and run :func:`govlib.survey.reduce_domain_sums` on it.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "p": [1, 2, 3, 4], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> plan, _, _ = survey_plan(dd.from_pandas(df, npartitions=1), "y", strata="h", clusters="p")
    >>> reduce_survey_partition(df.iloc[:2], plan)["swy_0"].tolist()
    [1.0, 3.0]
    """
    d = plan.design
    n = len(part)
    if plan.row_psu:
        part = _with_row_numbers(part, row_offset)
    stratum = (_code(part[plan.strata], plan.stratum_index, "strata", plan.strata) if plan.strata
               else np.zeros(n, dtype=np.int64))
    psu = _code(part[plan.clusters[0]], plan.psu_index, "cluster (PSU)", plan.clusters[0])
    ssu = None
    if plan.ssu_lookup is not None:
        keys = pd.DataFrame({"psu": psu, "ssu_label": _plain(part[plan.clusters[1]]).to_numpy()})
        ssu = _code(keys, plan.ssu_lookup[["psu", "ssu_label"]], "cluster (SSU)", plan.clusters[1])
        ssu = plan.ssu_lookup["ssu"].to_numpy()[ssu]
    if plan.by:
        labels = plan.domain_labels
        domain = (_code(part[plan.by[0]], labels[plan.by[0]], "domain (by)", plan.by[0]) if len(plan.by) == 1
                  else _code(part[list(plan.by)], labels[list(plan.by)], "domain (by)", ", ".join(plan.by)))
    else:
        domain = np.zeros(n, dtype=np.int64)
    if plan.weight is not None:
        w = pd.to_numeric(part[plan.weight], errors="coerce").to_numpy(dtype=float)
        bad = ~(w > 0) | ~np.isfinite(w)
        if bad.any():
            raise InputError(f"weight column '{plan.weight}' must be positive and finite; found "
                             f"{part[plan.weight].to_numpy()[bad][:8].tolist()} (rows "
                             f"{(np.flatnonzero(bad)[:8] + 2 + row_offset).tolist()})")
    elif d.has_fpc:
        prob = d.fraction1[stratum]
        if d.fraction2 is not None:
            prob = prob * d.fraction2[psu]
        w = 1.0 / prob
    else:
        w = np.ones(n)
    values = _partition_values(part, plan)
    return _survey.reduce_domain_sums(w, stratum, psu, domain, values, ssu=ssu if d.two_stage else None)


def estimate_on_dask(ddf, variables: str | Sequence[str], *, weight: str | None = None, strata: str | None = None,
                     clusters: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                     fpc_kind: str = "population", lonely_psu: str = "fail", by: str | Sequence[str] | None = None,
                     stat: str = "mean", denominator: str | Sequence[str] | None = None,
                     composite: dict[str, dict[str, float]] | None = None, level: float = 0.95, ci: str = "t",
                     empty: str = "error", fan_in: int = COMBINE_FAN_IN) -> pd.DataFrame:
    """Domain estimates over a ``dask.dataframe``: the same table as ``estimate(make_design(df, ...), df, ...)``.

    The design arguments are those of :func:`govlib.survey.make_design` and the estimation arguments those of
    :func:`govlib.survey.estimate`. The computation runs on the current Dask scheduler (a ``distributed.Client``
    if one is active, else local threads). Calibrated designs (:mod:`govlib.calibrate`) need row-level residuals
    and are not supported here.

    Memory: each task holds one partition plus its sums; the combine tree adds ``fan_in`` partial sums at a time;
    the driver holds the distinct design rows, the domain labels and the final sums (all small).

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "w": [2.0, 2.0, 3.0, 3.0], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> r = estimate_on_dask(dd.from_pandas(df, npartitions=2), "y", weight="w", strata="h")
    >>> float(r["estimate"].iloc[0])
    2.6
    """
    import dask

    if stat not in _survey.STATS:
        raise InputError(f"stat={stat!r}: expected one of {', '.join(_survey.STATS)}")
    if empty not in ("error", "nan"):
        raise InputError(f"empty={empty!r}: expected 'error' or 'nan'")
    if composite and stat != "mean":
        raise InputError("composite scores are defined for stat='mean'")
    plan, names, offsets = survey_plan(ddf, variables, weight=weight, strata=strata, clusters=clusters, fpc=fpc,
                                       fpc_kind=fpc_kind, lonely_psu=lonely_psu, by=by, stat=stat,
                                       denominator=denominator)
    variables = _as_list(variables)
    combos = None
    if composite:
        combos = {}
        for name, coefs in composite.items():
            unknown = [c for c in coefs if c not in variables]
            if unknown:
                raise InputError(f"composite {name!r} uses {unknown}, which are not among variables={variables}")
            combos[name] = {variables.index(c): float(a) for c, a in coefs.items()}
            names.append(name)
    plan_d = dask.delayed(plan, pure=True)
    reduce_d = dask.delayed(reduce_survey_partition, pure=True)
    needed = [c for c in dict.fromkeys([weight, strata, *_as_list(clusters), *_as_list(fpc),
                                        *_as_list(by), *variables, *_as_list(denominator)])
              if c is not None]
    parts = [reduce_d(p, plan_d, off) for p, off in zip(ddf[needed].to_delayed(), offsets)]
    (sums,) = dask.compute(_tree_combine(parts, _survey.combine_domain_sums, fan_in))
    k = len(variables)
    fin_stat = {"total": "total", "ratio": "ratio"}.get(stat, "mean")
    ratio_pairs = [(j, k + j) for j in range(k)] if stat == "ratio" else None
    res = _survey.finalize_domain_sums(sums, plan.design, stat=fin_stat, n_domains=plan.n_domains,
                                       ratio_pairs=ratio_pairs, combinations=combos, level=level, ci=ci)
    return _survey.estimate_table(res, names, plan.domain_labels, list(plan.by), ci, empty)


# ======================================================================================= hotline out of core
def ticket_files(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The Parquet files of a ticket source: a file, a folder (``*.parquet`` inside, sorted) or a list.

    Examples
    --------
    >>> ticket_files([])
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: no hotline ticket files given
    """
    if isinstance(source, (str, Path)):
        p = Path(source)
        if p.is_dir():
            files = sorted(p.rglob("*.parquet"))
        elif p.exists():
            files = [p]
        else:
            raise InputError(f"hotline ticket source {p} does not exist")
    else:
        files = [Path(s) for s in source]
        missing = [str(f) for f in files if not f.exists()]
        if missing:
            raise InputError(f"hotline ticket files not found: {missing[:5]}")
    if not files:
        raise InputError(f"no hotline ticket files given" + (f" (no *.parquet in {source})"
                                                             if isinstance(source, (str, Path)) else ""))
    return files


def _combine_counts_list(parts: list) -> pd.DataFrame:
    return _hotline.combine_counts(parts)


def aggregate_ticket_files(source: str | Path | Sequence[str | Path], units: pd.DataFrame,
                           population: pd.DataFrame | None = None, as_of=None, batch_rows: int = 1_000_000,
                           satisfied_min: int = 4, repeat_base: str = "complaint", combine_every: int = 8,
                           finalise: bool = True) -> pd.DataFrame:
    """Hotline monthly indicators from Parquet ticket files that need not fit in memory (one process).

    Each file is read in record batches of at most ``batch_rows`` rows (pyarrow reads whole row groups, so the
    working set is about one row group plus one batch); every batch is reduced to community x month counts with
    :func:`govlib.hotline.reduce_tickets` and the counts are added up every ``combine_every`` batches. The result
    equals :func:`govlib.hotline.aggregate_tickets` on the concatenated tickets. Problems name the file and the
    row within it.

    Parameters
    ----------
    source : a Parquet file, a folder of them (e.g. ``data/raw/hotline_tickets/``, one per year) or a list.
    units, population, as_of, satisfied_min, repeat_base : as :func:`govlib.hotline.aggregate_tickets`.
    batch_rows : rows per batch (memory bound).
    finalise : ``False`` returns the combined community x month counts instead of ``hotline_monthly``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> t = pd.DataFrame({"ticket_id": range(4), "unit": ["C"] * 4, "created_at": ["2024-07-02"] * 4,
    ...                   "category": ["help"] * 4, "satisfaction": [5.0, 4.0, 1.0, None]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "2024.parquet"
    >>> t.to_parquet(path)
    >>> m = aggregate_ticket_files(path, units, batch_rows=3)
    >>> m.loc[(m.unit == "S") & (m.period == "2024-07"), "satisfaction_pct"].round(2).tolist()
    [66.67]
    """
    import pyarrow.parquet as pq

    if batch_rows < 1:
        raise InputError(f"batch_rows={batch_rows}: expected a positive number of rows")
    files = ticket_files(source)
    total: pd.DataFrame | None = None
    pending: list[pd.DataFrame] = []
    for path in files:
        offset = 0
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=batch_rows):
            chunk = batch.to_pandas()
            pending.append(_hotline.reduce_tickets(chunk, units, as_of=as_of, satisfied_min=satisfied_min,
                                                   table=f"hotline_tickets ({path.name})", row_offset=offset))
            offset += len(chunk)
            del chunk
            if len(pending) >= combine_every:
                total = _hotline.combine_counts(([total] if total is not None else []) + pending)
                pending = []
    counts = _hotline.combine_counts(([total] if total is not None else []) + pending)
    if not finalise:
        return counts
    return _hotline.finalise_monthly(counts, units, population, repeat_base=repeat_base)


def _reduce_ticket_partition(part: pd.DataFrame, units: pd.DataFrame, as_of, satisfied_min: int) -> pd.DataFrame:
    return _hotline.reduce_tickets(part, units, as_of=as_of, satisfied_min=satisfied_min)


def aggregate_tickets_on_dask(source, units: pd.DataFrame, population: pd.DataFrame | None = None, as_of=None,
                              satisfied_min: int = 4, repeat_base: str = "complaint", finalise: bool = True,
                              blocksize: str | int | None = "128MiB", fan_in: int = COMBINE_FAN_IN) -> pd.DataFrame:
    """Hotline monthly indicators with the ticket reduction mapped over dask partitions.

    Parameters
    ----------
    source : a ``dask.dataframe`` of tickets, or Parquet file(s)/folder as :func:`ticket_files` (read with
        ``dask.dataframe.read_parquet``; ``blocksize`` groups row groups into partitions of about that size).
    units, population, as_of, satisfied_min, repeat_base, finalise : as :func:`aggregate_ticket_files`.

    Runs on the current Dask scheduler (a ``distributed.Client`` if one is active). Equal to the in-memory
    result. Ticket ids are checked for duplicates within a partition only.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> t = pd.DataFrame({"ticket_id": range(4), "unit": ["C"] * 4, "created_at": ["2024-07-02"] * 4,
    ...                   "category": ["help"] * 4, "satisfaction": [5.0, 4.0, 1.0, None]})
    >>> m = aggregate_tickets_on_dask(dd.from_pandas(t, npartitions=2), units)
    >>> int(m.loc[(m.unit == "S") & (m.period == "2024-07"), "n_tickets"].iloc[0])
    4
    """
    import dask
    import dask.dataframe as dd

    if isinstance(source, dd.DataFrame):
        ddf = source
    else:
        files = [str(f) for f in ticket_files(source)]
        kw = {"blocksize": blocksize} if blocksize is not None else {}
        ddf = dd.read_parquet(files, **kw)
    units_d = dask.delayed(units, pure=True)
    reduce_d = dask.delayed(_reduce_ticket_partition, pure=True)
    parts = [reduce_d(p, units_d, as_of, satisfied_min) for p in ddf.to_delayed()]
    (counts,) = dask.compute(_tree_combine(parts, _combine_counts_list, fan_in))
    if not finalise:
        return counts
    return _hotline.finalise_monthly(counts, units, population, repeat_base=repeat_base)
