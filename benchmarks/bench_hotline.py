"""Benchmark: aggregate 2 million synthetic 12345 tickets to community x month and 街镇 indicators.

Run: ``python benchmarks/bench_hotline.py [n_tickets]``. Prints the wall time (one plain run) and the peak memory
(a second run under tracemalloc: Python allocations incl. numpy/pandas buffers, over the input) of

1. govlib's path: ``reduce_tickets`` in chunks -> ``combine_counts`` -> ``finalise_monthly`` ->
   ``hotline_observations``;
2. the peer: the same community x month counts with a plain pandas ``groupby().agg()`` on boolean columns (what
   one would write without govlib; it computes the counts only, no validation, no roll-up, no rates).

The last lines are the ratios govlib / pandas of time and peak memory measured in this run.
"""
from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from govlib.services.hotline import combine_counts, finalise_monthly, hotline_observations, reduce_tickets
from govlib.data.units import units_table


def synthesise(n: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    units = units_table(np.random.default_rng(0), size="full")
    comm = units.loc[units["level"] == "community", "code"].to_numpy()
    start = np.datetime64("2024-01-01T00:00:00", "s")
    created = start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    due = created + (rng.integers(1, 15, n) * 86400).astype("timedelta64[s]")
    closed = created + (rng.exponential(5 * 86400, n)).astype(np.int64).astype("timedelta64[s]")
    closed[rng.random(n) < 0.02] = np.datetime64("NaT")
    sat = pd.array(rng.integers(1, 6, n).astype(np.int8), dtype="Int8")
    sat[rng.random(n) < 0.45] = pd.NA
    tickets = pd.DataFrame({
        "ticket_id": np.arange(n, dtype=np.int64),
        "unit": pd.Categorical.from_codes(rng.integers(0, len(comm), n), categories=comm),
        "created_at": created, "due_at": due, "closed_at": closed,
        "category": pd.Categorical.from_codes(rng.integers(0, 5, n),
                                              categories=["consultation", "help", "complaint", "suggestion", "other"]),
        "satisfaction": sat, "repeat": rng.random(n) < 0.08,
    })
    codes = units.loc[units["level"].isin(["subdistrict", "community"]), "code"]
    population = pd.DataFrame({"code": codes, "year": 2024, "residents": 4000.0})
    return tickets, units, population


def govlib_path(tickets, units, population, chunk_rows=500_000):
    as_of = pd.Timestamp("2025-01-01")
    counts = combine_counts(reduce_tickets(tickets.iloc[i:i + chunk_rows], units, as_of=as_of, row_offset=i)
                            for i in range(0, len(tickets), chunk_rows))
    monthly = finalise_monthly(counts, units, population)
    return hotline_observations(monthly)


def pandas_path(tickets):
    t = tickets
    df = pd.DataFrame({
        "unit": t["unit"], "period": t["created_at"].dt.to_period("M"),
        "complaint": t["category"] == "complaint",
        "on_time": t["closed_at"] <= t["due_at"],
        "rated": t["satisfaction"].notna(),
        "satisfied": (t["satisfaction"] >= 4).fillna(False),
        "repeat": t["repeat"],
    })
    return df.groupby(["unit", "period"], observed=True).agg(
        n=("complaint", "size"), complaint=("complaint", "sum"), on_time=("on_time", "sum"),
        rated=("rated", "sum"), satisfied=("satisfied", "sum"), repeat=("repeat", "sum"))


def measure(fn, *args):
    """Wall time of one plain run, then peak traced memory of a second run (tracemalloc slows Python code)."""
    t0 = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, elapsed, peak / 2 ** 20


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    t0 = time.perf_counter()
    tickets, units, population = synthesise(n)
    print(f"synthesised {n:,} tickets over {tickets['unit'].nunique():,} communities in "
          f"{time.perf_counter() - t0:.1f} s ({tickets.memory_usage(deep=True).sum() / 2**20:.0f} MiB)")
    obs, t_gov, m_gov = measure(govlib_path, tickets, units, population)
    print(f"govlib  reduce(chunks of 500k)+combine+finalise+observations: {t_gov:6.2f} s, peak {m_gov:7.1f} MiB "
          f"({len(obs):,} observations)")
    counts, t_pd, m_pd = measure(pandas_path, tickets)
    print(f"pandas  groupby().agg() counts only:                          {t_pd:6.2f} s, peak {m_pd:7.1f} MiB "
          f"({len(counts):,} community-months)")
    print(f"ratio time   govlib/pandas: {t_gov / t_pd:.2f}")
    print(f"ratio memory govlib/pandas: {m_gov / m_pd:.2f}")


if __name__ == "__main__":
    main()
