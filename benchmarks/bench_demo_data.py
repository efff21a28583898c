"""Benchmark: full-size synthetic demo data, generated and written (target: under 60 s on the 2-core machine).

Run: ``python benchmarks/bench_demo_data.py [--size full|small] [--seed N]``. Prints wall and CPU times per stage,
row counts per table, and, as its last lines, the ratio to the 60-second budget and the ratio of our tuned Parquet
writer to pyarrow's defaults (``govlib.data.store.write_table``) on one year of hotline tickets, measured in this run.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from govlib.commands.demo_data import _write_parquet, write_demo_data
from govlib.data.demo import DEFAULT_SEED, generate_demo_data
from govlib.data.store import write_table

BUDGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="full", choices=["small", "full"])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    w0, c0 = time.perf_counter(), time.process_time()
    tables = generate_demo_data(args.size, args.seed)
    w1, c1 = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        written = write_demo_data(tables, tmp, args.size, args.seed)
        w2, c2 = time.perf_counter(), time.process_time()
        size_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6

        # Peer: pyarrow's default Parquet settings (store.write_table) against our writer, same year of tickets.
        hot = tables["hotline_tickets"]
        year = hot[hot["created_at"].dt.year == hot["created_at"].dt.year.max()].reset_index(drop=True)
        t = time.perf_counter()
        write_table(year, Path(tmp) / "peer_default.parquet")
        t_default = time.perf_counter() - t
        t = time.perf_counter()
        _write_parquet(year, Path(tmp) / "peer_tuned.parquet")
        t_tuned = time.perf_counter() - t

    print(f"demo data, size={args.size}, seed={args.seed}")
    for name, df in tables.items():
        if name != "framework":
            print(f"  {name:22s} {len(df):>12,} rows")
    print(f"  files written          {len(written):>12,}  ({size_mb:,.0f} MB)")
    print(f"generate: wall {w1 - w0:6.1f} s   cpu {c1 - c0:6.1f} s")
    print(f"write:    wall {w2 - w1:6.1f} s   cpu {c2 - c1:6.1f} s")
    print(f"total:    wall {w2 - w0:6.1f} s   cpu {c2 - c0:6.1f} s")
    print(f"hotline year ({len(year):,} rows): store.write_table (pyarrow defaults) {t_default:.2f} s, "
          f"tuned writer {t_tuned:.2f} s")
    print(f"ratio total wall time / {BUDGET_SECONDS:.0f} s budget: {(w2 - w0) / BUDGET_SECONDS:.2f}")
    print(f"ratio tuned writer / pyarrow defaults (hotline year): {t_tuned / t_default:.2f}")


if __name__ == "__main__":
    main()
