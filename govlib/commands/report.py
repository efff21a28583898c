"""``govlib report``: render reports with papermill, then the Excel workbook and the portal.

    govlib report street --unit 310115005000 --period 2025 [--lang zh|en]
    govlib report district --period 2025 [--lang zh|en]
    govlib report audit --period latest
    govlib report all --period latest [--workers 2] [--force] [--executor local|dask|inline]

Exit status: 0 when every report was rendered (or was up to date), 1 when at least one report failed (the others
are still rendered and the failures are listed with their errors), 2 for a mistake in the request (unknown unit
code, malformed period, no processed data).
"""
from __future__ import annotations

import sys
import time

NAME = "report"
HELP = "render the 街镇 profiles and the district report (HTML, JSON), the Excel workbook and the portal"
DESCRIPTION = ("Render reports with papermill (offline HTML without code, executed notebooks, JSON sidecars); "
               "`all` also writes the Excel workbook and the portal.")
EPILOG = """examples:
  govlib report street --unit 310115005000 --period 2025 --lang en
  govlib report district --period latest
  govlib report all --period latest --workers 2

exit status: 0 every report rendered or up to date; 1 at least one report failed (listed with its error;
the others were rendered, the workbook and portal written); 2 a mistake in the request (unknown unit code,
malformed period, no processed data) - nothing was rendered."""


def add_arguments(parser) -> None:
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("what", choices=["street", "district", "audit", "all"],
                        help="street: one 街镇 profile; district: the district report; audit: the methodology "
                             "audit; all: every 街镇 profile, the district report, the workbook and the portal")
    parser.add_argument("--unit", action="append", default=None,
                        help="12-digit 街镇 code (street; may be repeated)")
    parser.add_argument("--period", default="latest", help="2025, 2025Q3, ... or 'latest' (newest complete period)")
    parser.add_argument("--lang", default=None, choices=["zh", "en"], help="report language (default: settings)")
    parser.add_argument("--workers", type=int, default=None, help="reports rendered at once (default: settings, 2)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per report (default: settings, 900)")
    parser.add_argument("--force", action="store_true", help="render even reports whose inputs are unchanged")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--executor", choices=["local", "dask", "inline"], default=None,
                        help="where reports render: local warm worker processes (default: settings, local), a Dask "
                             "cluster, or inline in this process")
    dask = parser.add_mutually_exclusive_group()
    dask.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                      help="fan the reports out to a running Dask scheduler (workers need the same data/ and outputs/)")
    dask.add_argument("--dask-local", type=int, metavar="N",
                      help="fan the reports out to a local Dask cluster of N worker processes")


def run(args) -> int:
    from ..errors import InputError
    from ..settings import load_settings

    settings = load_settings(args.settings)
    lang = args.lang or settings.section("reports").get("lang", "zh")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.timeout is not None and args.timeout <= 0:
        raise InputError(f"--timeout must be positive, got {args.timeout}")
    # One report run at a time per outputs folder; temporaries of a killed run are cleared under the lock.
    from filelock import FileLock, Timeout

    from ..data.store import remove_stale_temporaries

    from ..reports.runner import check_outputs_folder

    check_outputs_folder(settings)  # never clean or write a folder that holds the project's own files
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.outputs_dir / ".reports.lock"))
    try:
        lock.acquire(timeout=600)
    except Timeout:
        raise InputError(f"another `govlib report` is writing to {settings.outputs_dir}; waited 600 s — try again "
                         "when it has finished")
    try:
        remove_stale_temporaries(settings.outputs_dir)
        return _run_locked(args, settings, lang)
    finally:
        # again at the end: a worker of a killed run may still have been dying (and writing) at the first sweep
        remove_stale_temporaries(settings.outputs_dir)
        lock.release()


def _run_locked(args, settings, lang) -> int:
    import contextlib

    with contextlib.ExitStack() as stack:
        return _run_started(args, settings, lang, **_start_early(args, settings, stack))


def _start_early(args, settings, stack) -> dict:
    """With ``--force`` every report renders and prints: start the PDF browser now, and for a single report its
    kernel too (warm-up in a thread), so that both are up when the report needs them instead of starting after
    the planning. Both are closed when the command ends."""
    if not args.force:
        return {}
    from ..reports.browser import Chromium, chromium_path

    early = {}
    if chromium_path():
        browser = Chromium().launch()
        stack.callback(browser.__exit__, None, None, None)
        early["browser"] = browser
    single = args.what in ("district", "audit") or (args.what == "street" and len(args.unit or []) == 1)
    if single and not args.executor and not args.scheduler and args.dask_local is None \
            and settings.section("reports").get("executor", "local") == "local":
        from ..reports.runner import kernel_env, notebook_path
        from ..reports.worker import WarmKernel

        kernel = WarmKernel(str(settings.section("reports").get("kernel", "govlib")),
                            notebook_path(args.what, settings).parent, kernel_env(settings))
        stack.callback(kernel.shutdown)
        try:
            kernel.start(wait=False)
        except Exception:  # noqa: BLE001 - the render starts it again and reports what fails
            kernel.kill()
        early["kernel"] = kernel
    return early


def _run_started(args, settings, lang, kernel=None, browser=None) -> int:
    from ..errors import InputError
    from ..reports.runner import audit_job, district_job, plan_all, run_reports, street_job
    from ..reports.views import check_unit, load_report_tables, resolve_period

    t0 = time.perf_counter()
    if args.what == "all":
        jobs = plan_all(args.period, lang, settings, units=args.unit)
    else:
        tables = load_report_tables(settings, names=("units", "framework", "index_scores"))
        period = resolve_period(args.period, tables)
        if args.what == "street":
            if not args.unit:
                raise InputError("report street needs --unit CODE (a 12-digit 街镇 code)")
            jobs = [street_job(check_unit(u, tables), period, lang) for u in args.unit]
        elif args.what == "district":
            jobs = [district_job(period, lang)]
        else:
            jobs = [audit_job(period, lang)]
    executor = args.executor or settings.section("reports").get("executor", "local")
    if executor == "local" and not args.executor and len(jobs) == 1:
        # one report and no --executor: render it in this process's kernel (a worker process would cost a second
        # interpreter start and its imports, ~1 s, with nothing to share); same outputs, same timeout
        from ..reports.executors import InlineExecutor

        executor = InlineExecutor(kernel=kernel)
    if args.scheduler or args.dask_local is not None:
        if args.dask_local is not None and args.dask_local < 1:
            raise InputError(f"--dask-local must be at least 1, got {args.dask_local}")
        if args.scheduler and not args.scheduler.startswith(("tcp://", "tls://", "inproc://")):
            raise InputError(f"--scheduler {args.scheduler!r}: expected an address such as tcp://10.0.0.5:8786")
        from ..reports.executors import DaskExecutor

        executor = DaskExecutor(scheduler=args.scheduler, local_workers=args.dask_local or args.workers or 2)
    book = None
    if args.what == "all":
        # the workbook needs the processed tables only: written in a thread of this process while the workers render
        # (this process only waits for them), printed and its errors raised afterwards as before
        from concurrent.futures import ThreadPoolExecutor

        from ..reports.excel import write_workbook

        def timed_workbook():
            t1 = time.perf_counter()
            return write_workbook(jobs[-1].parameters["period"], settings), time.perf_counter() - t1

        pool = ThreadPoolExecutor(1, thread_name_prefix="govlib-workbook")
        book = pool.submit(timed_workbook)
        pool.shutdown(wait=False)
    results = run_reports(jobs, settings, workers=args.workers, timeout=args.timeout, force=args.force,
                          progress=not args.no_progress, executor=executor)
    if len(results) == 1 and results[0].timings:  # one report: say where its time went
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in results[0].timings.items())
        print(f"{results[0].job.name}: {results[0].seconds:.1f} s in the worker ({steps})")
    from ..reports.publish import finish_reports

    finish_reports(results, settings, browser=browser)  # font subset into the HTML, then the PDFs (one browser)
    ok = [r for r in results if r.status == "ok"]
    skipped = [r for r in results if r.status == "skipped"]
    failed = [r for r in results if r.status == "failed"]
    print(f"reports: {len(ok)} rendered, {len(skipped)} up to date (skipped), {len(failed)} failed "
          f"({time.perf_counter() - t0:.1f} s) -> {settings.outputs_dir / 'reports'}")
    if book is not None:
        from ..reports.portal import write_portal

        period = jobs[-1].parameters["period"]
        path, seconds = book.result()
        print(f"workbook: {path} ({seconds:.1f} s, while the reports rendered)")
        t1 = time.perf_counter()
        site = write_portal(period, settings, lang=lang)
        print(f"portal: {site} ({time.perf_counter() - t1:.1f} s)")
    for r in failed:
        print(f"FAILED {r.job.name}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
