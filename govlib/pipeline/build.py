"""``govlib build``: validate ``data/raw``, run every stage, write the processed store atomically.

The pipeline is the edge where files are read and written; the stages in :mod:`govlib.pipeline.stages` are pure. Each
stage receives the tables so far and returns new ones. Tables named ``observations_<topic>`` are indicator
observations derived from microdata (survey, hotline, doorstep records); they are appended to ``observations``
before the index stage, so the index sees administrative and derived indicators alike.

A build holds a lock (``data/processed/.build.lock``): a second build waits up to ``lock_timeout`` seconds and
then stops with a clear message.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import __version__
from ..errors import GovlibError, ValidationError
from ..data.schema import Dataset, load_raw
from ..settings import Settings, load_settings
from ..data.store import begin_build, check_current, commit_build, file_sha256, remove_staging, write_json, write_table

__all__ = ["STAGES", "BuildResult", "build", "run_stages", "validate", "check_stage_settings", "LAST_READER"]

#: Build stages in order: (name, module). Each module has ``run(tables, settings) -> dict[str, DataFrame]``.
STAGES: list[tuple[str, str]] = [
    ("survey", "govlib.pipeline.stages.survey"),
    ("hotline", "govlib.pipeline.stages.hotline"),
    ("doorstep", "govlib.pipeline.stages.doorstep"),
    ("conformity", "govlib.pipeline.stages.conformity"),
    ("index", "govlib.pipeline.stages.index"),
    ("trend", "govlib.pipeline.stages.trend"),
]


@dataclass
class BuildResult:
    """What a build produced: the folder, the manifest, the tables and each stage's time in seconds."""

    folder: Path
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)


def validate(settings: Settings | None = None, progress: Callable[[str], None] | None = None,
             sinks: dict | None = None) -> Dataset:
    """Check every stage's settings, then read and validate every raw table; raises
    :class:`~govlib.errors.ValidationError` listing all problems.

    ``sinks`` (see :func:`govlib.data.schema.load_raw`): tables read one file at a time and not kept — the
    build reduces the hotline tickets file by file (``{"hotline_tickets": hotline.ticket_sink(settings)}``),
    ``govlib validate`` drops them (``{"hotline_tickets": False}``)."""
    from .stages.doorstep import read_settings as doorstep_settings

    settings = settings or load_settings()
    check_stage_settings(settings)
    cfg = doorstep_settings(settings)
    return load_raw(settings.raw_dir, settings.framework_path, progress=progress,
                    doorstep_options={"categories": cfg["categories"], "check_records": cfg["check_records"]},
                    survey_options=_survey_rules(settings), sinks=sinks)


def _survey_rules(settings: Settings) -> dict:
    """The survey settings that validation checks the data against (what the survey stage would apply)."""
    from .stages.survey import DEFAULTS

    cfg = {**DEFAULTS, **(settings.section("survey") or {})}
    return {"strata": cfg["strata"], "psu": cfg["psu"], "weight": cfg["weight"], "lonely_psu": cfg["lonely_psu"],
            "fpc": cfg["fpc"], "fpc_kind": cfg["fpc_kind"]}


def check_stage_settings(settings: Settings) -> None:
    """Read every stage's settings as the stage will (``read_settings``), before any data is read, so that a
    wrong choice surfaces in ``govlib validate`` and at the start of ``govlib build``, all at once."""
    problems = []
    for _, module_name in STAGES:
        reader = getattr(importlib.import_module(module_name), "read_settings", None)
        try:
            if reader is not None:
                reader(settings)
        except ValidationError as exc:
            problems += exc.problems
    if problems:
        raise ValidationError(problems)


#: Raw tables that are inputs only (never written to the store), with the last stage that reads them: ``run_stages
#: (release=True)`` lets go of each once that stage has run, so that the build never holds them all at once.
LAST_READER: dict[str, str] = {"survey_responses": "survey", "hotline_tickets": "hotline",
                               "hotline_ticket_counts": "hotline", "doorstep_records": "doorstep",
                               "doorstep_menus": "doorstep", "doorstep_stations": "conformity",
                               "doorstep_evaluations": "conformity"}


def run_stages(dataset: Dataset, settings: Settings, only: list[str] | None = None,
               on_stage: Callable[[str, float], None] | None = None,
               release: bool = False) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """Run the build stages on a validated data set (pure: nothing is written). Returns (tables, timings).

    ``release=True`` drops the input-only raw tables (:data:`LAST_READER`) from the result and from
    ``dataset.tables`` as soon as their last stage has run (the build's memory; the outputs do not change)."""
    tables: dict[str, pd.DataFrame] = dict(dataset.tables)
    tables["framework"] = dataset.framework.nodes.copy()
    tables["framework"].attrs["scale"] = list(dataset.framework.scale)
    tables["framework"].attrs["version"] = dataset.framework.version
    if "observations" in tables:
        obs = tables["observations"].copy()
        obs["source"] = obs["source"].fillna("admin") if "source" in obs else "admin"
        tables["observations"] = obs
    timings: dict[str, float] = {}
    for name, module_name in STAGES:
        if only is not None and name not in only:
            continue
        module = importlib.import_module(module_name)
        missing = [t for t in getattr(module, "REQUIRES", ()) if t not in tables]
        if missing:  # e.g. no survey microdata: the stage has nothing to do
            timings[name] = 0.0
            if on_stage:
                on_stage(f"{name} (skipped: no {', '.join(missing)})", 0.0)
            continue
        t0 = time.perf_counter()
        if name == "index":
            _merge_derived_observations(tables)
        produced = module.run(tables, settings)
        tables.update(produced)
        del produced
        if release:
            _release(tables, dataset, name, only)
        timings[name] = time.perf_counter() - t0
        if on_stage:
            on_stage(name, timings[name])
    _merge_derived_observations(tables)
    return tables, timings


def _release(tables: dict, dataset: Dataset, stage: str, only: list[str] | None) -> None:
    """Let go of the raw inputs whose last reader (:data:`LAST_READER`) is ``stage`` or did run before it."""
    order = [name for name, _ in STAGES]
    done = order[: order.index(stage) + 1]
    for table, last in LAST_READER.items():
        if last in done or (only is not None and last not in only):
            tables.pop(table, None)
            dataset.tables.pop(table, None)


def _merge_derived_observations(tables: dict[str, pd.DataFrame]) -> None:
    derived = [k for k in list(tables) if k.startswith("observations_")]
    if not derived:
        return
    parts = [tables["observations"]] if "observations" in tables else []
    parts += [tables.pop(k) for k in derived]
    obs = pd.concat(parts, ignore_index=True)
    obs = obs.drop_duplicates(["unit", "period", "indicator"], keep="last")
    tables["observations"] = obs.sort_values(["indicator", "unit", "period"], kind="stable").reset_index(drop=True)


def _input_hashes(dataset: Dataset, root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(set(dataset.files)):
        try:
            key = str(Path(path).resolve().relative_to(root))
        except ValueError:
            key = str(path)
        out[key] = file_sha256(path)
    return out


def build(settings: Settings | None = None, only: list[str] | None = None, lock_timeout: float = 600,
          progress: bool = True) -> BuildResult:
    """Validate ``data/raw``, run the stages, and write ``data/processed`` atomically with ``manifest.json``.

    Nothing is written when validation fails. The new build becomes current only when all its files are written.
    """
    from filelock import FileLock, Timeout

    settings = settings or load_settings()
    processed = settings.processed_dir
    lock = FileLock(str(processed / ".build.lock"))
    try:
        processed.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=lock_timeout)
    except Timeout:  # (a TimeoutError, hence an OSError: caught first)
        raise GovlibError(f"another `govlib build` is running (lock {processed / '.build.lock'}); "
                          f"waited {lock_timeout:.0f} s — try again when it has finished")
    except OSError as exc:  # read-only or full disk, a file where the folder should be
        raise _write_error(processed, exc) from None
    try:
        check_current(processed)  # a `current` folder that is not govlib's: say so before the stages run
        return _build_locked(settings, only, progress)
    except OSError as exc:  # disk full or read-only while writing: the previous build stays current
        import errno

        inside = str(exc.filename or "").startswith(str(processed))
        if not (inside or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS)):
            raise  # not the store's (a broken pipe, a stage's own file): not ours to explain here
        raise _write_error(processed, exc) from None
    finally:
        remove_staging(processed)  # this build's unfinished folder, if any (we hold the lock: no other writer)
        lock.release()


def _write_error(processed: Path, exc: OSError) -> GovlibError:
    import errno

    why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
           errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.ENOTDIR: "a file is where govlib needs a folder",
           errno.EEXIST: "a file is where govlib needs a folder"}.get(exc.errno, exc.strerror or str(exc))
    return GovlibError(f"cannot write the processed data in {processed}: {why}"
                       + (f" ({exc.filename})" if exc.filename else "")
                       + "; the previous build, if any, is still current and unfinished files were removed")


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def _build_locked(settings: Settings, only: list[str] | None, progress: bool) -> BuildResult:
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # the tickets are reduced file by file as they are validated (never held at once); the stage gets the counts
    from .stages import hotline as hotline_stage

    sink = hotline_stage.ticket_sink(settings)
    dataset = validate(settings, sinks={"hotline_tickets": sink})
    if "hotline_tickets" in dataset.rows:
        dataset.tables[hotline_stage.COUNTS] = sink.counts()
    timings["validate"] = time.perf_counter() - t0
    _say(progress, f"  validate   {timings['validate']:6.1f} s  ({len(dataset.rows)} tables, "
                   f"{sum(dataset.rows.values()):,} rows)")
    tables, stage_times = run_stages(
        dataset, settings, only,
        on_stage=lambda name, secs: _say(progress, f"  {name:<10} {secs:6.1f} s"), release=True)
    timings.update(stage_times)

    t0 = time.perf_counter()
    outputs = {k: v for k, v in tables.items()
               if isinstance(v, pd.DataFrame) and k not in LAST_READER}
    outputs["framework"] = dataset.framework.nodes
    root = settings.root
    inputs = _input_hashes(dataset, root)
    data_version = hashlib.sha256(json.dumps(
        {"inputs": inputs, "settings": settings.hash, "govlib": __version__}, sort_keys=True).encode()).hexdigest()
    build_id = data_version[:16]
    staging = begin_build(settings.processed_dir)
    def write_one(name: str) -> dict:
        df = _parquet_safe(outputs[name])
        path = write_table(df, staging / f"{name}.parquet")
        return {"rows": int(len(df)), "columns": list(map(str, df.columns)), "sha256": file_sha256(path)}

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow encodes and compresses outside the GIL
        table_info = dict(zip(sorted(outputs), pool.map(write_one, sorted(outputs))))
    manifest = {
        "data_version": data_version,
        "build_id": build_id,
        "govlib_version": __version__,
        "settings_hash": settings.hash,
        "framework_version": dataset.framework.version,
        "framework_name": {"zh": dataset.framework.meta.get("name_zh", ""),
                           "en": dataset.framework.meta.get("name_en", "")},
        "synthetic": dataset.synthetic,
        "dataset": dataset.meta,
        "inputs": inputs,
        "tables": table_info,
        "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "periods": _periods(tables),
    }
    # No partitioned copies (index_scores, alerts, survey_estimates by 街镇 and period used to be written too): no
    # module, notebook or report reads them, and they cost 1.6 s of every full build (issue 20).
    write_json(staging / "manifest.json", manifest)  # written last: a folder without it is not a build
    folder = commit_build(settings.processed_dir, staging, build_id)
    timings["write"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    _say(progress, f"  write      {timings['write']:6.1f} s  ({len(outputs)} tables)")
    return BuildResult(folder=folder, manifest=manifest, tables=tables, timings=timings)


def _periods(tables: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    scores = tables.get("index_scores")
    if scores is None or scores.empty:
        return {}
    return {"index": sorted(map(str, scores["period"].unique()))}


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python objects (lists, dicts) as JSON text so Parquet can store them."""
    out = df.copy()
    out.attrs = {}
    for col in out.columns:
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and not sample.map(lambda v: isinstance(v, str)).all():
                out[col] = out[col].map(
                    lambda v: v if isinstance(v, str) or v is None
                    else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
                    if isinstance(v, (list, dict, tuple)) else str(v))
    out.columns = [str(c) for c in out.columns]
    return out.reset_index(drop=True)
