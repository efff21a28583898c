"""Where reports render: pluggable executors that take job specs and give back results, nothing else.

The runner (:func:`govlib.reports.runner.run_reports`) plans -- which reports, skip or render, output paths, the
job spec -- and hands the specs to one executor; the executor renders each spec with
:func:`govlib.reports.worker.render` and yields ``(spec, result)`` as reports finish. Three executors:

``local`` (:class:`LocalExecutor`, the default)
    a bounded pool of persistent worker processes (``python -m govlib.reports.worker --serve``), each with one warm
    kernel. A report past its timeout is killed with its worker and kernel (the worker's process group) at the
    deadline, and the worker is replaced.
``dask`` (:class:`DaskExecutor`)
    the specs as tasks on a Dask cluster (a running scheduler, or a local cluster for the call); each Dask worker
    keeps a warm kernel per task thread, killed at a report's deadline or failure; kernels are shut down after the
    fan-out. Workers need the same project folder at the same path (see ``docs/scaling.md``).
``inline`` (:class:`InlineExecutor`)
    one report after another in this process, in one warm kernel (tests, debugging); ``warm=False`` starts a cold
    kernel per report, as plain papermill does.

Every result is ``{"status": "ok"|"failed", "seconds": float, "error": str}``.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "InlineExecutor", "DaskExecutor", "make_executor"]

#: executor names accepted by ``govlib report --executor`` and ``reports.executor``
EXECUTORS = ("local", "dask", "inline")


class Executor:
    """The executor interface: :meth:`run` renders job specs and yields ``(spec, result)`` as each finishes.

    ``timeout`` is each report's deadline in seconds; ``work`` a scratch folder of this run (job and result files,
    worker logs) that the runner removes afterwards.
    """

    def run(self, specs: list[dict], timeout: float, work: Path) -> Iterator[tuple[dict, dict]]:
        raise NotImplementedError


def make_executor(name: str | Executor = "local", workers: int = 2, **options: Any) -> Executor:
    """An executor by name (``local``, ``dask``, ``inline``); an :class:`Executor` passes through.

    Examples
    --------
    >>> type(make_executor("inline")).__name__, make_executor("local", workers=3).workers
    ('InlineExecutor', 3)
    >>> make_executor("threads")
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: executor 'threads' is not known; expected one of local, dask, inline
    """
    if isinstance(name, Executor):
        return name
    if name == "local":
        return LocalExecutor(workers=workers)
    if name == "dask":
        return DaskExecutor(local_workers=workers, **options)
    if name == "inline":
        return InlineExecutor(**options)
    raise InputError(f"executor {name!r} is not known; expected one of {', '.join(EXECUTORS)}")


# ------------------------------------------------------------------------------------------------ inline
class InlineExecutor(Executor):
    """Render in this process, one report after another, in one warm kernel (``warm=False``: cold kernels)."""

    def __init__(self, warm: bool = True, kernel: Any = None):
        self.warm = warm
        self.kernel = kernel  # a WarmKernel already started (e.g. with start(wait=False)); shut down after the run

    def run(self, specs, timeout, work):
        from .worker import WarmKernel, render

        kernel = self.kernel or WarmKernel() if self.warm else None
        if kernel is not None and specs:
            _start_while_loading(kernel, specs[0])
        try:
            for spec in specs:
                yield spec, render(spec, kernel)
        finally:
            if kernel is not None:
                kernel.shutdown()


def _start_while_loading(kernel: Any, spec: dict) -> None:
    """Start the kernel for the first spec while a thread imports papermill and nbconvert and compiles the HTML
    template (the kernel's start is mostly another process's work: the two overlap on two cores). A kernel that
    does not start is left to :func:`govlib.reports.worker.render`, which retries once and reports the failure."""
    import threading

    from .html import import_notebook_tools, load_exporter

    def load() -> None:
        with contextlib.suppress(Exception):  # an import error shows again, with its traceback, in render
            import_notebook_tools()  # first: papermill imports nbformat (and jsonschema) too
            import papermill  # noqa: F401

            load_exporter()

    loader = threading.Thread(target=load, name="govlib-load-exporter", daemon=True)
    loader.start()
    try:
        kernel.prepare(spec["kernel"], Path(spec["notebook"]).parent, spec.get("env"))
    except Exception:  # noqa: BLE001 - see the docstring
        kernel.kill()
    finally:
        loader.join()


# ------------------------------------------------------------------------------------------------ local pool
@dataclass
class _Slot:
    """One persistent worker process and the report it is rendering (if any)."""

    proc: subprocess.Popen
    log_path: Path
    log: Any
    spec: dict | None = None
    started: float = 0.0


class LocalExecutor(Executor):
    """A bounded pool of persistent worker processes on this machine, one warm kernel each."""

    def __init__(self, workers: int = 2):
        if int(workers) < 1:
            raise InputError(f"workers={workers}: expected at least 1")
        self.workers = int(workers)

    def run(self, specs, timeout, work):
        queue = list(specs)
        if not queue:
            return
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0", GOVLIB_RUNNER_PID=str(os.getpid()))
        env.update(queue[0].get("env") or {})
        slots: list[_Slot] = []
        try:
            slots = [_start_worker(env, work / f"worker-{i}.log") for i in range(min(self.workers, len(queue)))]
            while queue or any(s.spec is not None for s in slots):
                for i, slot in enumerate(slots):
                    if slot.spec is None and queue:
                        if slot.proc.poll() is not None:  # died between jobs: replace it
                            slot.log.close()
                            slot = slots[i] = _start_worker(env, slot.log_path)
                        spec = queue.pop(0)
                        spec = dict(spec, result_file=str(work / f"{spec['name']}.result.json"))
                        job_file = work / f"{spec['name']}.job.json"
                        job_file.write_text(json.dumps(spec), encoding="utf-8")
                        slot.spec, slot.started = spec, time.perf_counter()
                        try:
                            slot.proc.stdin.write(job_file.as_posix() + "\n")
                            slot.proc.stdin.flush()
                        except OSError:
                            pass  # a dead worker is noticed below
                time.sleep(0.05)
                for slot in slots:
                    if slot.spec is None:
                        continue
                    spec, elapsed = slot.spec, time.perf_counter() - slot.started
                    result_file = Path(spec["result_file"])
                    if result_file.exists() or slot.proc.poll() is not None:
                        slot.spec = None
                        yield spec, _read_result(result_file, slot.log_path, elapsed)
                    elif elapsed > timeout:  # kill the worker and its kernel (its process group); replaced lazily
                        _kill_group(slot.proc)
                        slot.spec = None
                        yield spec, {"status": "failed", "seconds": elapsed, "error": f"timed out after {timeout:g} s"}
        finally:
            for slot in slots:
                _stop_worker(slot, kill=slot.spec is not None)


def _start_worker(env: dict, log_path: Path) -> _Slot:
    log = open(log_path, "a", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "govlib.reports.worker", "--serve"], env=env,
                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
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


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM lets the worker SIGKILL its kernel (a session of its own) and itself; SIGKILL of the group is the
    backstop."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_result(result_file: Path, log_path: Path, elapsed: float) -> dict:
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-1500:] if log_path.exists() else ""
        return {"status": "failed", "seconds": elapsed, "error": f"the worker process died: {tail.strip()}"}
    data["seconds"] = elapsed
    return data


# ------------------------------------------------------------------------------------------------ Dask
class DaskExecutor(Executor):
    """The specs as tasks on Dask workers, each rendering in a warm kernel of its own.

    Parameters
    ----------
    scheduler : ``"tcp://host:port"`` of a running ``dask scheduler``; ``None`` starts a local cluster of
        ``local_workers`` processes for the run (and stops it afterwards).
    local_workers : worker processes of the local cluster (ignored with ``scheduler`` or ``client``).
    client : an existing ``distributed.Client`` (not closed).
    connect_timeout : how long to try to reach ``scheduler``.
    """

    def __init__(self, scheduler: str | None = None, local_workers: int = 2, client: Any = None,
                 connect_timeout: str = "20s"):
        if scheduler is not None and not (isinstance(scheduler, str) and "://" in scheduler):
            raise InputError(f"scheduler={scheduler!r}: expected an address such as tcp://10.0.0.5:8786")
        if int(local_workers) < 1:
            raise InputError(f"local_workers={local_workers}: expected at least 1")
        self.scheduler, self.local_workers, self.client = scheduler, int(local_workers), client
        self.connect_timeout = connect_timeout

    def run(self, specs, timeout, work):
        import uuid

        from .worker import close_warm, render_warm
        from ..parallel import local_client

        specs = list(specs)
        if not specs:
            return
        with contextlib.ExitStack() as stack:
            client = self.client
            if client is None and self.scheduler is not None:
                from distributed import Client

                try:
                    client = Client(self.scheduler, timeout=self.connect_timeout)
                except (OSError, TimeoutError) as exc:
                    raise InputError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}; start it with "
                                     f"`dask scheduler` and workers with `dask worker {self.scheduler}`") from exc
                stack.callback(client.close)
            elif client is None:
                client = stack.enter_context(local_client(max(1, min(self.local_workers, len(specs)))))
            stack.callback(lambda: client.run(close_warm))  # no kernel outlives the fan-out
            from distributed import as_completed

            run_id = uuid.uuid4().hex[:8]  # keys unique per run: two fan-outs on one cluster never share results
            futures = {client.submit(render_warm, spec, pure=False, key=f"report-{spec['name']}-{run_id}"): spec
                       for spec in specs}
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    yield spec, future.result()
                except BaseException as exc:  # noqa: BLE001 - the worker died (KilledWorker) or unpickling failed
                    yield spec, {"status": "failed", "seconds": 0.0, "error": f"{type(exc).__name__}: {exc}"}
