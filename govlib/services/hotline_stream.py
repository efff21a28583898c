"""Hotline aggregation out of core: the same reduce / combine / finalise as :func:`govlib.services.hotline.aggregate_tickets`.

:func:`aggregate_ticket_files` streams Parquet row groups with pyarrow in one process (memory bounded by one batch
plus the running counts); :func:`aggregate_tickets_on_dask` maps :func:`govlib.services.hotline.reduce_tickets` over
dask partitions. Both finish with :func:`govlib.services.hotline.finalise_monthly`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..parallel import COMBINE_FAN_IN, tree_combine
from . import hotline as _hotline

__all__ = ["ticket_files", "aggregate_ticket_files", "aggregate_tickets_on_dask", "TicketCounts"]


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
        raise InputError("no hotline ticket files given" + (f" (no *.parquet in {source})"
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
    :func:`govlib.services.hotline.reduce_tickets` and the counts are added up every ``combine_every`` batches. The result
    equals :func:`govlib.services.hotline.aggregate_tickets` on the concatenated tickets. Problems name the file and the
    row within it.

    Parameters
    ----------
    source : a Parquet file, a folder of them (e.g. ``data/raw/hotline_tickets/``, one per year) or a list.
    units, population, as_of, satisfied_min, repeat_base : as :func:`govlib.services.hotline.aggregate_tickets`.
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
    (counts,) = dask.compute(tree_combine(parts, _combine_counts_list, fan_in))
    if not finalise:
        return counts
    return _hotline.finalise_monthly(counts, units, population, repeat_base=repeat_base)


class TicketCounts:
    """Community x month counts of ticket tables handed over one at a time (``counts(tickets)`` per file).

    The build validates the ticket files one by one and hands each to this object (it is the ``sink`` of
    :func:`govlib.data.schema.load_raw`), so that tens of millions of tickets are never held at once. Only an
    open ticket with a due date depends on the extract time ``as_of`` (late before it, pending after), and the
    default ``as_of`` — the latest ``created_at`` or ``closed_at`` of all files — is known only after the last
    file: each file is reduced with every open ticket late, and those few tickets are kept, to be moved to
    pending at the end where they are due after ``as_of``. The counts equal
    :func:`govlib.services.hotline.reduce_tickets` on all the tickets at once (counts are additive).

    Examples
    --------
    >>> t = pd.DataFrame({"ticket_id": [1, 2], "unit": ["C", "C"], "category": ["help", "help"],
    ...                   "created_at": pd.to_datetime(["2024-07-01", "2024-07-20"]),
    ...                   "due_at": pd.to_datetime(["2024-07-10", "2024-07-30"]), "closed_at": [pd.NaT] * 2})
    >>> acc = TicketCounts()
    >>> acc(t.iloc[:1]); acc(t.iloc[1:])
    >>> acc.counts()[["n_tickets", "n_late", "n_pending"]].values.tolist()  # as_of: 2024-07-20
    [[2, 1, 1]]
    """

    def __init__(self, as_of=None, satisfied_min: int = 4):
        self.as_of = None if as_of is None else pd.Timestamp(as_of)
        self.satisfied_min = satisfied_min
        self.latest = None  # the latest time stamp seen (the default as_of)
        self.rows = 0
        self._parts: list[pd.DataFrame] = []
        self._open: list[pd.DataFrame] = []

    def __call__(self, tickets: pd.DataFrame) -> None:
        self.rows += len(tickets)
        for c in ("created_at", "closed_at"):
            if c in tickets:
                t = pd.to_datetime(tickets[c], errors="coerce").max()
                if pd.notna(t) and (self.latest is None or t > self.latest):
                    self.latest = t
        units = self._units(tickets)
        self._parts.append(_hotline.reduce_tickets(tickets, units, as_of=self.as_of,
                                                   satisfied_min=self.satisfied_min))
        if self.as_of is None and "due_at" in tickets:
            # counted as late for now (as_of=None); counts() moves those due after the final as_of to pending
            closed = tickets["closed_at"].notna().to_numpy() if "closed_at" in tickets else np.zeros(len(tickets), bool)
            waiting = tickets["due_at"].notna().to_numpy() & ~closed
            if waiting.any():
                self._open.append(tickets[waiting])
        if len(self._parts) >= 8:
            self._parts = [_hotline.combine_counts(self._parts)]

    @staticmethod
    def _units(tickets: pd.DataFrame):
        unit = tickets["unit"]
        if isinstance(unit.dtype, pd.CategoricalDtype):
            return unit.cat.categories.astype(str)
        return pd.Index(unit.dropna().astype(str).unique())

    def counts(self) -> pd.DataFrame:
        """The combined community x month counts (:data:`govlib.services.hotline.COUNT_COLUMNS`)."""
        parts = list(self._parts)
        if self._open:  # counts are additive: take the open tickets out as counted (as_of=None), add them as due
            waiting = pd.concat(self._open, ignore_index=True)
            as_of = self.as_of if self.as_of is not None else self.latest
            counted = _hotline.reduce_tickets(waiting, self._units(waiting), as_of=None,
                                              satisfied_min=self.satisfied_min)
            counted[_hotline.COUNT_COLUMNS] *= -1
            parts += [counted, _hotline.reduce_tickets(waiting, self._units(waiting), as_of=as_of,
                                                       satisfied_min=self.satisfied_min)]
        out = _hotline.combine_counts(parts)
        out.attrs["as_of"] = self.as_of if self.as_of is not None else self.latest
        return out
