"""Report fan-out beyond the local process pool: Dask.

:func:`run_reports_on_dask` runs picklable :class:`ReportTask` s on a Dask cluster and returns one
:class:`TaskOutcome` per task, in task order -- the same shape as :func:`run_tasks_in_processes` (a
``concurrent.futures`` process pool) and :func:`run_tasks_sequentially`; errors are captured per task, never raised,
so one failing report does not stop the others. :func:`run_report_jobs_on_dask` does the same for the papermill
runner's jobs (:mod:`govlib.reports.runner`) and returns its ``ReportResult`` list. See ``docs/scaling.md``.
"""
from __future__ import annotations

import contextlib
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import InputError
from ..parallel import local_client

__all__ = ["ReportTask", "TaskOutcome", "as_tasks", "run_tasks_sequentially", "run_tasks_in_processes",
           "run_reports_on_dask", "probe_task", "run_report_jobs_on_dask"]


@dataclass(frozen=True)
class ReportTask:
    """One unit of work for a fan-out executor: ``func(**kwargs)``, identified by ``key``.

    ``func`` must be picklable by reference (a module-level function of an importable module, e.g.
    ``govlib.reports.runner.run_one``) so that worker processes -- possibly on other machines -- can import it.

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
    """Run one report on a Dask worker exactly as the process-pool runner does: ``python -m govlib.reports.runner JOB``
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
            proc = subprocess.Popen([sys.executable, "-m", "govlib.reports.runner", str(job_file)], env={**os.environ, **env},
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
    """:func:`govlib.reports.runner.run_reports` with the reports fanned out over Dask workers instead of a local pool.

    The planning is the runner's own (inputs hash, skip of up-to-date reports, output paths, the same job spec and
    worker entry point ``python -m govlib.reports.runner``), so results are the same
    :class:`govlib.reports.runner.ReportResult` list, in job order. On a real cluster every worker must see the same
    project folder (``data/processed`` and ``outputs/`` on shared storage, at the same path) and have govlib,
    papermill and the ``govlib`` kernel installed -- see ``docs/scaling.md``.

    Parameters
    ----------
    jobs : :class:`govlib.reports.runner.ReportJob` s (from ``plan_all`` / ``street_job`` ...).
    settings : :class:`govlib.settings.Settings` (default: the project's).
    scheduler, local_workers, client : as :func:`run_reports_on_dask`.
    timeout : seconds per report (default ``reports.timeout_seconds``, 900); the report is killed with its kernel.
    force : render even when the inputs are unchanged.

    Examples
    --------
    >>> run_report_jobs_on_dask([], local_workers=1)
    []
    """
    from . import runner as _reports
    from ..settings import load_settings

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
