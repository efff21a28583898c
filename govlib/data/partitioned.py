"""Processed tables as Parquet datasets partitioned by 街镇 code and period, so a report reads only its slice.

Layout (Hive style, ASCII only)::

    data/processed/builds/<id>/<name>/jiezhen=310115004000/period=2024Q3/part-0.parquet

- The partition key is the **12-digit 街镇 code** (``jiezhen``), never the Chinese name: pyarrow
  percent-encodes non-ASCII partition values in folder names. A community's rows go to its parent 街镇; rows of
  the district itself (and any unit without a 街镇) go to the district's own code.
- Codes and periods are read back as **strings** (an explicit partition schema: pyarrow would otherwise infer
  ``310115004000`` and ``2024`` as integers).
- Writes are atomic: the dataset is written to a hidden temporary folder inside the (staging) build folder and
  renamed to ``<name>`` in one step, so a reader never sees half a dataset.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["PARTITION_COLUMN", "jiezhen_of", "write_partitioned", "write_partitioned_tables", "read_partitioned",
           "read_unit_slice", "list_partitions", "partition_schema"]

#: Name of the 街镇-code partition column (ASCII: pinyin of 街镇).
PARTITION_COLUMN = "jiezhen"
PERIOD_COLUMN = "period"


def jiezhen_of(units: pd.DataFrame) -> pd.Series:
    """Map every unit code to the 街镇 code whose partition holds its rows (a Series indexed by code).

    A 街镇 maps to itself, a community to its parent, the district (and any other unit) to itself.

    Examples
    --------
    >>> u = pd.DataFrame({"code": ["D", "S", "C"], "level": ["district", "subdistrict", "community"],
    ...                   "parent": [None, "D", "S"]})
    >>> jiezhen_of(u).to_dict()
    {'D': 'D', 'S': 'S', 'C': 'S'}
    """
    for col in ("code", "level", "parent"):
        if col not in units.columns:
            raise InputError(f"jiezhen_of: the unit registry lacks column '{col}'")
    code = units["code"].astype(str)
    level = units["level"].astype(str).to_numpy()
    parent = units["parent"].astype("string").fillna("").astype(str).to_numpy()
    target = np.where(level == "community", parent, code.to_numpy())
    return pd.Series(target, index=code.to_numpy(), name=PARTITION_COLUMN)


def partition_schema():
    """The pyarrow partitioning: ``jiezhen`` and ``period`` as strings (Hive folder names)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string()), (PERIOD_COLUMN, pa.string())]),
                           flavor="hive")


def _check_ascii(values: Iterable[str], what: str) -> None:
    bad = sorted({v for v in values if not v.isascii() or "/" in v or "=" in v or v == ""})
    if bad:
        raise InputError(f"{what} values must be non-empty ASCII without '/' or '=' to name partition folders; "
                         f"found {bad[:8]}")


def write_partitioned(df: pd.DataFrame, folder: str | Path, name: str, units: pd.DataFrame | None = None,
                      unit_column: str = "unit", period_column: str = "period") -> Path:
    """Write ``df`` as the dataset ``folder/name/`` partitioned by 街镇 code and period, atomically.

    Parameters
    ----------
    df : a tidy table with a unit column and a period column (strings).
    folder : the build folder (normally the staging folder of a build, see :func:`govlib.data.store.begin_build`).
    name : dataset name (the folder name), e.g. ``"index_scores"``.
    units : the unit registry, to send community rows to their 街镇; ``None``: the unit column already holds
        the partition code.
    unit_column, period_column : column names in ``df``.

    Returns
    -------
    Path of the dataset folder. Rows keep their columns (the partition columns are added as ``jiezhen`` and
    ``period`` when reading); within a partition rows are sorted by unit (and the other key columns) so two
    writes of the same table give the same files.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"unit": ["310115004000", "310115005000"], "period": ["2024", "2024"], "v": [1.0, 2.0]})
    >>> p = write_partitioned(df, d, "scores")
    >>> sorted(q.name for q in p.iterdir())
    ['jiezhen=310115004000', 'jiezhen=310115005000']
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not name or not name.isascii() or "/" in name or name.startswith("."):
        raise InputError(f"dataset name {name!r}: expected a plain ASCII folder name")
    for col in (unit_column, period_column):
        if col not in df.columns:
            raise InputError(f"write_partitioned({name!r}): column '{col}' not found; columns are {list(df.columns)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    unit = df[unit_column].astype(str)
    if units is not None:
        mapping = jiezhen_of(units)
        part = unit.map(mapping)
        unknown = unit[part.isna()].unique()
        if len(unknown):
            raise InputError(f"write_partitioned({name!r}): units {sorted(unknown)[:8]} are not in the unit registry")
        part = part.astype(str)
    else:
        part = unit
    period = df[period_column].astype(str)
    _check_ascii(part.unique(), PARTITION_COLUMN)
    _check_ascii(period.unique(), period_column)
    if period_column != PERIOD_COLUMN and PERIOD_COLUMN in df.columns:
        raise InputError(f"write_partitioned({name!r}): period_column={period_column!r} but the table also has a "
                         f"'{PERIOD_COLUMN}' column; rename one of them")
    # The partition columns live in the folder names, not in the files.
    data = df.drop(columns=[c for c in (PARTITION_COLUMN, PERIOD_COLUMN) if c in df.columns])
    data = data.assign(**{PARTITION_COLUMN: part.to_numpy(), PERIOD_COLUMN: period.to_numpy()})
    sort_keys = [PARTITION_COLUMN, PERIOD_COLUMN] + [c for c in (unit_column, "node", "indicator", "item", "variable")
                                                     if c in data.columns and c != PERIOD_COLUMN]
    data = data.sort_values(sort_keys, kind="mergesort").reset_index(drop=True)
    table = pa.Table.from_pandas(data, preserve_index=False)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=folder))
    try:
        pq.write_to_dataset(table, tmp, partitioning=partition_schema(), basename_template="part-{i}.parquet",
                            compression="zstd", existing_data_behavior="overwrite_or_ignore",
                            max_partitions=100_000)  # monthly alerts: 36 街镇 x ~100 periods > pyarrow's 1,024
        target = folder / name
        if target.exists():  # rewriting a dataset in the same build: swap, then remove the old one
            trash = folder / f".{name}.old-{os.getpid()}"
            os.replace(target, trash)
            os.replace(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def write_partitioned_tables(tables: dict[str, pd.DataFrame], folder: str | Path, units: pd.DataFrame,
                             names: Sequence[str] | None = None) -> list[Path]:
    """Write every table that has ``unit`` and ``period`` columns (or those in ``names``) partitioned.

    The hook for :func:`govlib.pipeline.build.build`: call it with the staging folder before ``commit_build``.

    Examples
    --------
    >>> import tempfile
    >>> u = pd.DataFrame({"code": ["S"], "level": ["subdistrict"], "parent": ["D"]})
    >>> t = {"a": pd.DataFrame({"unit": ["S"], "period": ["2024"], "v": [1]}), "units": u}
    >>> [p.name for p in write_partitioned_tables(t, tempfile.mkdtemp(), u)]
    ['a']
    """
    chosen = names if names is not None else [n for n, t in tables.items()
                                             if {"unit", "period"} <= set(t.columns)]
    missing = [n for n in chosen if n not in tables]
    if missing:
        raise InputError(f"write_partitioned_tables: no tables {missing}; have {sorted(tables)}")
    return [write_partitioned(tables[n], folder, n, units) for n in chosen]


def _dataset_dir(name: str, settings=None, folder: str | Path | None = None) -> Path:
    if folder is None:
        from .processed import processed_dir

        folder = processed_dir(settings)
    path = Path(folder) / name
    if not path.is_dir():
        raise InputError(f"partitioned dataset '{name}' not found at {path}; run `govlib build` first")
    return path


def list_partitions(name: str, settings=None, folder: str | Path | None = None) -> list[str]:
    """The 街镇 codes that have a partition in dataset ``name`` (sorted).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = write_partitioned(pd.DataFrame({"unit": ["A1", "B2"], "period": ["2024", "2024"]}), d, "t")
    >>> list_partitions("t", folder=d)
    ['A1', 'B2']
    """
    path = _dataset_dir(name, settings, folder)
    prefix = f"{PARTITION_COLUMN}="
    return sorted(p.name[len(prefix):] for p in path.iterdir() if p.is_dir() and p.name.startswith(prefix))


def read_partitioned(name: str, settings=None, folder: str | Path | None = None, units: Sequence[str] | None = None,
                     periods: Sequence[str] | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a partitioned dataset, optionally only some 街镇 and periods (partition pruning: other folders are
    not opened). ``jiezhen`` and ``period`` come back as string columns.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"unit": ["A1", "B2", "A1"], "period": ["2024", "2024", "2025"], "v": [1, 2, 3]})
    >>> _ = write_partitioned(df, d, "t")
    >>> read_partitioned("t", folder=d, periods=["2025"])[["unit", "period", "v"]].to_dict("records")
    [{'unit': 'A1', 'period': '2025', 'v': 3}]
    """
    import pyarrow.dataset as ds

    path = _dataset_dir(name, settings, folder)
    dataset = ds.dataset(path, format="parquet", partitioning=partition_schema())
    expr = None
    if units is not None:
        expr = ds.field(PARTITION_COLUMN).isin([str(u) for u in units])
    if periods is not None:
        e = ds.field(PERIOD_COLUMN).isin([str(p) for p in periods])
        expr = e if expr is None else expr & e
    table = dataset.to_table(filter=expr, columns=list(columns) if columns is not None else None)
    df = table.to_pandas()
    for col in (PARTITION_COLUMN, PERIOD_COLUMN, "unit"):
        if col in df.columns:
            df[col] = df[col].astype(str)
    # The same row order whatever the file order on disk.
    keys = [c for c in (PARTITION_COLUMN, PERIOD_COLUMN, "unit") if c in df.columns]
    if keys:
        df = df.sort_values(keys, kind="mergesort").reset_index(drop=True)
    return df


def read_unit_slice(name: str, unit: str, settings=None, periods: Sequence[str] | None = None,
                    folder: str | Path | None = None, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of one 街镇 (itself and its communities) from dataset ``name``: only its partition is read.

    Parameters
    ----------
    name : dataset name (``data/processed/current/<name>/``).
    unit : the 12-digit 街镇 code.
    settings : :class:`govlib.settings.Settings` (locates the processed store); ``folder`` overrides it.
    periods : only these periods.

    Raises
    ------
    InputError
        when the dataset has no partition for ``unit`` (the message lists the codes that exist).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> df = pd.DataFrame({"unit": ["A1", "B2"], "period": ["2024", "2024"], "v": [1, 2]})
    >>> _ = write_partitioned(df, d, "t")
    >>> read_unit_slice("t", "B2", folder=d)["v"].tolist()
    [2]
    """
    unit = str(unit)
    path = _dataset_dir(name, settings, folder)
    if not (path / f"{PARTITION_COLUMN}={unit}").is_dir():
        have = list_partitions(name, settings, folder)
        raise InputError(f"dataset '{name}' has no partition for 街镇 code {unit!r}; it has {len(have)}: "
                         f"{have[:10]}{' ...' if len(have) > 10 else ''}")
    return read_partitioned(name, settings, folder, units=[unit], periods=periods, columns=columns)
