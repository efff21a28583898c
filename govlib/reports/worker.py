"""Render one report job: papermill runs the notebook in a warm Jupyter kernel; the executors call :func:`render`.

A job spec (built once, by :func:`govlib.reports.runner.job_spec`) is a JSON-able dict: ``name``, ``title``,
``parameters``, ``kernel``, ``notebook``, ``timeout``, ``inputs_hash`` and ``paths`` (``notebook``, ``html``,
``sidecar``). :func:`render` executes it in this process and returns ``{"status": "ok"|"failed", "seconds",
"error"}``; every executor (the local process pool, Dask, in-process) hands specs to it and does nothing else.

**Warm kernels.** A :class:`WarmKernel` is one live ``govlib`` kernel that renders report after report: it is
started once, imports pandas, matplotlib and govlib's report modules once, and keeps the processed tables cached
(:func:`govlib.reports.setup.start_report`, keyed by the build's manifest hash). papermill still executes every
notebook (parameters injected, cells run in order, errors raised as ``PapermillExecutionError``): the kernel is
simply handed to papermill's nbclient engine (its ``km`` argument) instead of a fresh one. Before each report
:func:`govlib.reports.setup.reset_session` clears the user namespace (IPython ``reset``, execution count back to 1),
closes every figure and restores matplotlib's rcParams and the warning filters to their state after the imports, so
a report sees nothing of the one before it and renders byte-identically to a cold run. A report that fails or
passes its timeout kills its kernel; the next report starts a fresh one.

Outputs are written atomically; the sidecar is written last (its inputs hash marks the report complete); a failed
run's notebook is kept beside the outputs as ``<name>.failed.ipynb``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..data.store import atomic_path, temporary_prefix, write_json

__all__ = ["WarmKernel", "render", "render_warm", "close_warm", "report_problems", "cell_timeout", "WARM_UP", "RESET",
           "serve"]

#: run once in a new kernel: the imports every report notebook makes, and the baseline state to restore
WARM_UP = ("import matplotlib.pyplot, pandas, IPython.display\n"
           "from govlib.reports import narrative, plots, views, html, setup\n"
           "setup.warm_session()")
#: run (silently, outside the notebook, on papermill's client) before every report in a warm kernel
RESET = "from govlib.reports.setup import reset_session as _govlib_reset\n_govlib_reset()"


def cell_timeout(seconds: float) -> int:
    """The per-cell ``execution_timeout`` handed to papermill/nbclient, whose ``timeout`` trait is an Integer:
    a whole number of seconds one above ``ceil(seconds)``. It is only a backstop: the report's deadline is enforced
    exactly by killing its kernel (and, in the local pool, its worker), which always fires first.

    >>> cell_timeout(1.5), cell_timeout(900), type(cell_timeout(30.5)).__name__
    (3, 901, 'int')
    """
    import math

    return int(math.ceil(seconds)) + 1


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


# ------------------------------------------------------------------------------------------------ warm kernel
class WarmKernel:
    """One live Jupyter kernel that papermill runs report after report in (see the module docstring).

    ``start()`` is lazy (the first :meth:`prepare` starts it); ``kill()`` ends it at once (a failed or timed-out
    report); ``shutdown()`` ends it politely. ``starts`` counts kernel starts (tests check a warm run starts one).
    """

    def __init__(self, kernel_name: str = "govlib", cwd: str | Path | None = None, env: dict | None = None):
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd else None
        self.env = dict(env or {})
        self.km: Any = None
        self.starts = 0
        self._warming: threading.Thread | None = None  # the warm-up of start(wait=False)
        self._warm_error: BaseException | None = None

    @property
    def alive(self) -> bool:
        from jupyter_core.utils import run_sync

        return self.km is not None and bool(run_sync(self.km.is_alive)())

    def start(self, wait: bool = True) -> None:
        """Start the kernel and run its warm-up (:data:`WARM_UP`); with ``wait=False`` the warm-up runs in a thread
        (its own client) while the caller goes on, and :meth:`prepare` waits for it."""
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(self.km.start_kernel)(cwd=self.cwd, env={**os.environ, **self.env})
        self.starts += 1
        if wait:
            self._run(WARM_UP, timeout=300)
        else:
            self._warming = threading.Thread(target=self._warm_up, name="govlib-kernel-warm-up", daemon=True)
            self._warming.start()

    def _warm_up(self) -> None:
        try:
            self._run(WARM_UP, timeout=300)
        except BaseException as exc:  # noqa: BLE001 - handed to prepare(), which starts a kernel afresh
            self._warm_error = exc

    def _join_warm_up(self) -> BaseException | None:
        thread, self._warming = self._warming, None
        if thread is not None:
            thread.join()
        error, self._warm_error = self._warm_error, None
        return error

    def prepare(self, kernel_name: str, cwd: str | Path, env: dict | None = None) -> Any:
        """The kernel manager to hand papermill for the next report: started (or restarted for another kernel
        name, folder or environment). papermill's client resets it (:data:`RESET`) before the first cell."""
        if (kernel_name, str(cwd), dict(env or {})) != (self.kernel_name, self.cwd, self.env):
            self.shutdown()
            self.kernel_name, self.cwd, self.env = kernel_name, str(cwd), dict(env or {})
        if self._join_warm_up() is not None:  # a warm-up in the background failed: start afresh (its error, if it
            self.kill()                        # is real, shows again in the start below)
        if not self.alive:
            self.kill()
            self.start()
        return self.km

    def _run(self, code: str, timeout: float) -> None:
        """Execute code silently (no output, no history, no execution count) and wait for its reply."""
        from jupyter_core.utils import run_sync

        kc = self.km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=timeout)
            msg_id = kc.execute(code, silent=True, store_history=False)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    reply = run_sync(kc.get_shell_msg)(timeout=1.0)
                except Exception:  # noqa: BLE001 - queue.Empty: no reply within the second
                    if not run_sync(self.km.is_alive)():
                        raise RuntimeError("the warm kernel died during its set-up") from None
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the warm kernel's set-up took more than {timeout:g} s") from None
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"warm kernel set-up failed: {reply['content'].get('ename')}: "
                                   f"{reply['content'].get('evalue')}")
        finally:
            kc.stop_channels()

    def kill(self) -> None:
        """End the kernel now (its process group) and forget it; the next report starts a new one."""
        from jupyter_core.utils import run_sync

        if self.km is None:
            return
        km, self.km = self.km, None
        warming = self._warming
        try:
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a kernel that is already gone
            pass
        try:
            run_sync(km.cleanup_resources)()
        except Exception:  # noqa: BLE001
            pass
        if warming is not None:  # its kernel is gone: the warm-up ends within a second
            warming.join(timeout=10)
            self._warming, self._warm_error = None, None

    def terminate_now(self) -> None:
        """SIGKILL the kernel's process (group) from any thread; nbclient notices the dead kernel within a second
        and the report fails; :meth:`kill` then cleans up."""
        pid = self.pid()
        if pid:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)

    def shutdown(self) -> None:
        self.kill()

    def pid(self) -> int | None:
        """The kernel's process id (for tests), or None."""
        prov = getattr(self.km, "provisioner", None) if self.km is not None else None
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)


def _warm_engine() -> str:
    """papermill's nbclient engine, run in a kernel it is given (``km``) and whose client it closes afterwards
    (papermill's own engine leaves the client's channels open when it does not own the kernel)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class WarmClient(PapermillNotebookClient):
        def papermill_execute_cells(self):
            # the reset runs on the client papermill already opened, silently, before the first cell
            reply = self.wait_for_reply(self.kc.execute(RESET, silent=True, store_history=False))
            if reply is None or reply["content"]["status"] != "ok":
                content = (reply or {}).get("content", {})
                raise RuntimeError(f"resetting the warm kernel failed: {content.get('ename')}: "
                                   f"{content.get('evalue')}")
            return super().papermill_execute_cells()

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                     start_timeout=60, execution_timeout=None, km=None, **_):
            client = WarmClient(nb_man, km=km, timeout=execution_timeout, startup_timeout=start_timeout,
                                kernel_name=kernel_name, log=logger, log_output=log_output,
                                stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register("govlib-warm", WarmEngine)  # (re-)registering is a dict assignment
    return "govlib-warm"


# ------------------------------------------------------------------------------------------------ render
def _is_kernel_start_failure(exc: BaseException) -> bool:
    if type(exc).__name__ == "DeadKernelError":  # died while running a cell (e.g. killed at its deadline)
        return False
    text = f"{type(exc).__name__}: {exc}".lower()
    return ("kernel" in text and ("died" in text or "start" in text or "timeout" in text or "port" in text)) or \
        isinstance(exc, (TimeoutError, ConnectionError)) and "cell" not in text


def render(spec: dict, kernel: WarmKernel | None = None) -> dict:
    """Render one job spec in this process; never raises (a failure is ``{"status": "failed", "error": ...}``).

    With ``kernel`` the notebook runs in that warm kernel (reset first; killed if the report fails or passes
    ``spec["timeout"]``); without, papermill starts and stops a kernel of its own (a cold run).
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    timer = None
    timed_out = threading.Event()
    if kernel is not None:
        def expire() -> None:  # (a timer thread: only a signal, the kernel manager belongs to this thread)
            timed_out.set()
            kernel.terminate_now()

        timer = threading.Timer(float(spec["timeout"]), expire)
        timer.daemon = True
        timer.start()
    try:
        with _environment(spec.get("env") if kernel is None else None):  # a cold kernel inherits this process's
            _render(spec, kernel, timings)
        result = {"status": "ok"}
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the caller, never swallowed
        msg = f"{type(exc).__name__}: {exc}"
        if type(exc).__name__ == "PapermillExecutionError":
            msg = f"cell {getattr(exc, 'exec_count', '?')}: {getattr(exc, 'ename', '')}: {getattr(exc, 'evalue', '')}"
        if timed_out.is_set():
            msg = f"timed out after {float(spec['timeout']):g} s"
        result = {"status": "failed", "error": msg.strip()[:2000]}
        if kernel is not None:
            kernel.kill()  # a fresh kernel for the next report: nothing of a failed run carries over
        if isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        if timer is not None:
            timer.cancel()
    result["seconds"] = time.perf_counter() - t0
    result["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return result


@contextlib.contextmanager
def _environment(env: dict | None):
    """Set environment variables for the block (a cold kernel started by papermill inherits them)."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _render(spec: dict, kernel: WarmKernel | None, timings: dict) -> None:
    paths = {k: Path(v) for k, v in spec["paths"].items()}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    tmp_sidecar = paths["sidecar"].with_name(f"{temporary_prefix(paths['sidecar'].name)}tmp")
    failed_copy = paths["notebook"].with_suffix(".failed.ipynb")
    failed_copy.unlink(missing_ok=True)
    try:
        _render_into(spec, paths, dict(spec["parameters"], sidecar=str(tmp_sidecar)), tmp_sidecar, failed_copy,
                     kernel, timings)
    finally:
        tmp_sidecar.unlink(missing_ok=True)


def _render_into(spec: dict, paths: dict, params: dict, tmp_sidecar: Path, failed_copy: Path,
                 kernel: WarmKernel | None, timings: dict) -> None:
    """Render into temporaries, then rename; ``timings`` gets the seconds of each step: ``kernel`` (start and
    warm-up, 0 when warm), ``notebook`` (papermill: reset, parameters, cells), ``cells`` (the cells alone, as
    papermill timed them), ``export`` (notebook file, checks, HTML)."""
    import shutil

    from .html import export_html, import_notebook_tools

    import_notebook_tools()  # nbformat without jsonschema's slow optional IRI checker (before papermill loads it)
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    cwd = str(Path(spec["notebook"]).parent)
    with atomic_path(paths["notebook"], suffix=".ipynb") as tmp_nb:
        nb = None
        for attempt in (1, 2):
            t = time.perf_counter()
            engine = {} if kernel is None else {"km": kernel.prepare(spec["kernel"], cwd, spec.get("env")),
                                                "engine_name": _warm_engine()}
            timings["kernel"] = time.perf_counter() - t
            t = time.perf_counter()
            try:
                # request_save_on_cell_execute=False: papermill would otherwise rewrite the whole notebook (images
                # included) at the start and end of every cell; it writes once, at the end or at the error
                nb = pm.execute_notebook(spec["notebook"], str(tmp_nb), parameters=params,
                                         kernel_name=spec["kernel"], cwd=cwd, progress_bar=False, log_output=False,
                                         request_save_on_cell_execute=False, start_timeout=120,
                                         execution_timeout=cell_timeout(spec["timeout"]), **engine)
                break
            except PapermillExecutionError:
                if tmp_nb.exists():  # keep the failed run for whoever debugs it
                    shutil.copyfile(tmp_nb, failed_copy)
                raise
            except Exception as exc:  # a kernel that did not start: retry once
                if attempt == 2 or not _is_kernel_start_failure(exc):
                    raise
                if kernel is not None:
                    kernel.kill()
                time.sleep(1.0)
        timings["notebook"] = time.perf_counter() - t
        timings["cells"] = sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0 for c in nb.cells)
        t = time.perf_counter()
        # papermill gives its injected-parameters cell a random id: fix it, so that two renders of the same inputs
        # are byte-identical (only the declared execution timestamps in the .ipynb metadata differ)
        for cell in nb.cells:
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["id"] = "injected-parameters"
        nbformat.write(nb, str(tmp_nb))
        problems = report_problems(nb)
        if problems:
            shutil.copyfile(tmp_nb, failed_copy)
            raise RuntimeError("; ".join(problems[:3]))
        if not tmp_sidecar.exists():
            raise RuntimeError("the notebook did not write its JSON sidecar")
        export_html(nb, paths["html"], title=spec.get("title") or paths["html"].stem)
        timings["export"] = time.perf_counter() - t
    sidecar = json.loads(tmp_sidecar.read_text(encoding="utf-8"))
    sidecar.update({"report": spec["name"], "inputs_hash": spec["inputs_hash"], "parameters": spec["parameters"],
                    "html": paths["html"].name, "notebook": paths["notebook"].name})
    write_json(paths["sidecar"], sidecar)  # written last: its inputs_hash marks the report complete


#: warm kernels of this process, one per thread that renders (a Dask worker's task threads)
_KERNELS: dict[int, WarmKernel] = {}


def render_warm(spec: dict) -> dict:
    """:func:`render` in this thread's warm kernel (started by the first call): the task a Dask worker runs."""
    kernel = _KERNELS.setdefault(threading.get_ident(), WarmKernel())
    return render(spec, kernel)


def close_warm() -> int:
    """Shut down every warm kernel of this process (after a fan-out); how many there were."""
    kernels = list(_KERNELS.values())
    _KERNELS.clear()
    for kernel in kernels:
        kernel.shutdown()
    return len(kernels)


# ------------------------------------------------------------------------------------------------ serve
def serve(stdin=None) -> int:
    """The local pool's worker loop: read job files (one path a line) until EOF, render each in one warm kernel,
    and write its result beside it (``<result_file>``, replaced atomically: the parent polls for it)."""
    _die_with_parent(int(os.environ.get("GOVLIB_RUNNER_PID", os.getppid())))
    kernel = WarmKernel()
    try:
        for line in stdin or sys.stdin:
            spec = json.loads(Path(line.strip()).read_text(encoding="utf-8"))
            result = render(spec, kernel)
            tmp = Path(spec["result_file"] + ".tmp")
            tmp.write_text(json.dumps(result), encoding="utf-8")
            os.replace(tmp, spec["result_file"])
    finally:
        kernel.shutdown()
    return 0


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


if __name__ == "__main__":  # python -m govlib.reports.worker --serve
    if sys.argv[1:2] != ["--serve"]:
        sys.exit("usage: python -m govlib.reports.worker --serve  (job file paths on stdin, one a line)")
    sys.exit(serve())
