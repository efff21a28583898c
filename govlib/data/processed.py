"""Read the processed store (``data/processed``) for notebooks, reports, the workbook and the portal.

The build writes one Parquet file per table plus ``manifest.json``; this module is the only way reports read
them, so every report shows the same numbers and the same provenance (manifest hash, settings hash, versions).
Tables are cached per process (reports read the same few tables many times).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .. import periods as _periods
from ..errors import InputError
from ..settings import Settings, load_settings

__all__ = ["load_processed", "load_manifest", "manifest_hash", "has_table", "is_synthetic", "provenance",
           "ranked_units", "latest_period", "report_periods", "processed_dir"]

RANKED_KINDS = ("街道", "镇")


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings()


def processed_dir(settings: Settings | None = None) -> Path:
    """The folder of the current complete build.

    The build keeps complete builds in ``data/processed/builds/<id>/`` and points ``data/processed/current`` at
    the newest (see :mod:`govlib.data.store`); a flat ``data/processed`` (tables directly inside) is read as it is.
    Resolving the link once per call means a reader never mixes two builds within one table read.
    """
    from .store import has_build, current_dir

    base = _settings(settings).processed_dir
    if has_build(base):  # recovers from a dangling or copied `current` (see current_dir)
        return current_dir(base)
    return base


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int, year: str | None = None) -> pd.DataFrame:
    if year is None:
        return pd.read_parquet(path)
    # Period strings sort as text: "2025" <= "2025Q3" < "2025-07" < "2026", so a text range selects one year.
    return pd.read_parquet(path, filters=[("period", ">=", year), ("period", "<", str(int(year) + 1))])


def has_table(name: str, settings: Settings | None = None) -> bool:
    """True when ``data/processed/<name>.parquet`` exists."""
    return (processed_dir(settings) / f"{name}.parquet").exists()


def load_processed(name: str, settings: Settings | None = None, year: str | None = None) -> pd.DataFrame:
    """One processed table as a DataFrame (a copy: callers may change it).

    Unit codes and periods stay strings. ``year`` (e.g. ``"2025"``) reads only the rows whose ``period`` falls in
    that year (a Parquet filter: big survey and observation tables are not read whole for one report).

    Raises
    ------
    InputError
        When the table is not there (the message says to run ``govlib build``).

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from govlib.data.store import write_table
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_table(pd.DataFrame({"unit": ["310115004000"]}), root / "data/processed/units.parquet")
    >>> load_processed("units", load_settings(root=root))["unit"].tolist()
    ['310115004000']
    """
    path = processed_dir(settings) / f"{name}.parquet"
    if not path.exists():
        raise InputError(f"processed table '{name}' not found at {path}; run `govlib build` first")
    df = _read(str(path), path.stat().st_mtime_ns, year).copy()
    for col in ("unit", "code", "parent", "period", "node", "item", "indicator"):
        if col in df.columns and df[col].dtype != object and not pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].astype(str)
    return df


def load_manifest(settings: Settings | None = None) -> dict[str, Any]:
    """The build's ``manifest.json`` (input hashes, settings hash, versions, build time)."""
    path = processed_dir(settings) / "manifest.json"
    if not path.exists():
        raise InputError(f"no manifest at {path}; run `govlib build` first")
    return json.loads(path.read_text(encoding="utf-8"))


def manifest_hash(settings: Settings | None = None) -> str:
    """SHA-256 of the manifest file's bytes: one number that changes whenever any processed table changes."""
    path = processed_dir(settings) / "manifest.json"
    if not path.exists():
        raise InputError(f"no manifest at {path}; run `govlib build` first")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_synthetic(manifest: dict[str, Any]) -> bool:
    """Whether the manifest says the data are synthetic (the demo): reports then show a banner.

    Accepts ``synthetic: true`` at the top level or inside a ``dataset`` entry (the demo's DATASET.json).

    Examples
    --------
    >>> is_synthetic({"synthetic": True}), is_synthetic({"dataset": {"synthetic": True}}), is_synthetic({})
    (True, True, False)
    """
    if manifest.get("synthetic"):
        return True
    for key in ("dataset", "DATASET.json", "demo"):
        sub = manifest.get(key)
        if isinstance(sub, dict) and sub.get("synthetic"):
            return True
    return False


def provenance(settings: Settings | None = None) -> dict[str, str]:
    """The provenance footer of every report: manifest hash, framework version, settings hash, govlib version.

    Examples
    --------
    >>> sorted(provenance.__annotations__)[:1]
    ['return']
    """
    from .. import __version__

    settings = _settings(settings)
    manifest = load_manifest(settings)
    framework = manifest.get("framework_version") or manifest.get("framework_hash") or ""
    if not framework and isinstance(manifest.get("framework"), dict):
        framework = manifest["framework"].get("version") or manifest["framework"].get("hash") or ""
    return {
        "manifest_hash": manifest_hash(settings)[:12],
        "framework_version": str(framework)[:12] or "unknown",
        "settings_hash": str(manifest.get("settings_hash") or settings.hash)[:12],
        "govlib_version": str(manifest.get("govlib_version") or __version__),
        "report_govlib_version": __version__,
        "built_at": str(manifest.get("built_at") or manifest.get("build_time") or ""),
        "synthetic": is_synthetic(manifest),
    }


def ranked_units(units: pd.DataFrame) -> pd.DataFrame:
    """The ranked 街镇 (街道 and 镇): farms, development zones, communities and benchmarks excluded.

    Examples
    --------
    >>> u = pd.DataFrame({"code": ["1", "2", "3"], "level": ["subdistrict"] * 3, "kind": ["街道", "镇", "农场"]})
    >>> ranked_units(u)["code"].tolist()
    ['1', '2']
    """
    mask = units["kind"].isin(RANKED_KINDS)
    if "level" in units.columns:
        mask &= units["level"].eq("subdistrict")
    return units[mask].reset_index(drop=True)


def report_periods(index_scores: pd.DataFrame, units: pd.DataFrame, root: str | None = None) -> list[str]:
    """Periods that are *complete*: every ranked 街镇 present in the data has a root score (chronological).

    Examples
    --------
    >>> u = pd.DataFrame({"code": ["a", "b"], "level": "subdistrict", "kind": ["街道", "镇"]})
    >>> s = pd.DataFrame({"unit": ["a", "b", "a"], "period": ["2024", "2024", "2025"], "node": "SGI",
    ...                   "score": [1.0, 2.0, 3.0]})
    >>> report_periods(s, u)
    ['2024']
    """
    if root is None:
        root = index_root_node(index_scores)
    ranked = set(ranked_units(units)["code"]) & set(index_scores["unit"])
    top = index_scores[(index_scores["node"] == root) & index_scores["unit"].isin(ranked)]
    have = top.dropna(subset=["score"]).groupby("period")["unit"].nunique()
    complete = [p for p, n in have.items() if n == len(ranked) and _periods.is_valid_period(str(p))]
    return list(_periods.period_index(complete)) if complete else []


def latest_period(settings: Settings | None = None) -> str:
    """The newest complete period of the processed index scores (what ``--period latest`` means)."""
    settings = _settings(settings)
    found = report_periods(load_processed("index_scores", settings), load_processed("units", settings))
    if not found:
        raise InputError("no complete period in index_scores (every ranked 街镇 needs a root score)")
    return found[-1]


def index_root_node(index_scores: pd.DataFrame, framework: pd.DataFrame | None = None) -> str:
    """The framework's root node (the one without a parent), else the shortest node code with most rows."""
    if framework is not None and "parent" in framework.columns:
        roots = framework.loc[framework["parent"].isna() | framework["parent"].astype(str).isin(["", "None", "nan"]),
                              "code"]
        if len(roots) == 1:
            return str(roots.iloc[0])
    nodes = pd.Series(index_scores["node"].unique()).astype(str)
    no_dot = nodes[~nodes.str.contains(".", regex=False)]
    dims = no_dot[no_dot.str.match(r"^D\d+$")]
    rest = no_dot[~no_dot.isin(dims)]
    return str(rest.iloc[0] if len(rest) else nodes.sort_values().iloc[0])
