"""Benchmark: aggregate 2 million synthetic 12345 tickets to community x month and 街镇 indicators.

Run: ``python benchmarks/bench_hotline.py [n_tickets]`` (``GOVLIB_BENCH_QUICK=1``: 200,000 tickets). Three
contenders on the same tickets, each run 3 times (min and median wall time), then the peak memory of one more run
under tracemalloc (Python allocations incl. numpy/pandas buffers; polars allocates outside Python, so not for it):

1. govlib: ``reduce_tickets`` in chunks -> ``combine_counts`` -> ``finalise_monthly`` -> ``hotline_observations``
   (validation of the ticket times, the roll-up to 街镇 and district, the rates and their denominators);
2. the peer: polars (the same community x month counts with ``group_by().agg()``, multi-threaded; the tickets are
   converted to a polars frame before the clock starts);
3. the floor: the same counts with a plain pandas ``groupby().agg()`` on boolean columns (what one would write
   without govlib: counts only, no validation, no roll-up, no rates).

The last lines are the ratios govlib / peer and govlib / floor of the times, and govlib / floor of peak memory.
"""
from __future__ import annotations

import sys
import time
import tracemalloc

from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import measure, quick, report  # noqa: E402
from govlib.services.hotline import combine_counts, finalise_monthly, hotline_observations, reduce_tickets  # noqa: E402
from govlib.data.units import units_table  # noqa: E402


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


def polars_path(t):
    """The floor's counts in polars (a lazy query over the whole frame)."""
    import polars as pl

    return (t.lazy().with_columns(period=pl.col("created_at").dt.truncate("1mo"))
            .group_by("unit", "period").agg(
                n=pl.len(), complaint=(pl.col("category") == "complaint").sum(),
                on_time=(pl.col("closed_at") <= pl.col("due_at")).sum(),
                rated=pl.col("satisfaction").is_not_null().sum(), satisfied=(pl.col("satisfaction") >= 4).sum(),
                repeat=pl.col("repeat").sum())
            .collect())


def peak_mib(fn, *args) -> float:
    """Peak traced memory of one run (tracemalloc slows Python code: never timed)."""
    tracemalloc.start()
    fn(*args)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2 ** 20


def main() -> None:
    import polars as pl

    n = int(sys.argv[1]) if len(sys.argv) > 1 else (200_000 if quick() else 2_000_000)
    t0 = time.perf_counter()
    tickets, units, population = synthesise(n)
    print(f"synthesised {n:,} tickets over {tickets['unit'].nunique():,} communities in "
          f"{time.perf_counter() - t0:.1f} s ({tickets.memory_usage(deep=True).sum() / 2**20:.0f} MiB)")
    as_polars = pl.from_pandas(tickets)
    ours = measure("govlib reduce(chunks of 500k)+combine+finalise+observations",
                   lambda: govlib_path(tickets, units, population))
    peer = measure("polars group_by().agg() counts only", lambda: polars_path(as_polars))
    floor = measure("pandas groupby().agg() counts only", lambda: pandas_path(tickets))
    counts, by_polars = floor.result, peer.result
    same = all(int(counts[c].sum()) == int(by_polars[c].sum()) for c in ("n", "complaint", "on_time", "rated",
                                                                        "satisfied", "repeat"))
    print(f"  {len(ours.result):,} observations (govlib); {len(counts):,} community-months (pandas), "
          f"{by_polars.height:,} (polars); polars and pandas counts agree: {same}")
    m_gov, m_pd = peak_mib(govlib_path, tickets, units, population), peak_mib(pandas_path, tickets)
    print(f"  peak traced memory: govlib {m_gov:.1f} MiB, pandas floor {m_pd:.1f} MiB")
    report(ours, peer, floor, f"{n:,} tickets")
    print(f"  ratio memory govlib / floor: {m_gov / m_pd:.2f}")


if __name__ == "__main__":
    main()
