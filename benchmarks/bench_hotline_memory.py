"""Memory bound of the out-of-core hotline aggregation, measured by /usr/bin/time -v (issue 9, item 6).

Writes a ticket table ten times the size of one demo year (about 20 million tickets, in Parquet files written
chunk by chunk; ``GOVLIB_BENCH_QUICK=1``: 2 million), then aggregates it in a *separate process* under
``/usr/bin/time -v`` -- wall time and maximum resident set size -- three contenders, each run 3 times (min, median):

- govlib: ``govlib.services.hotline_stream.aggregate_ticket_files`` (batches of 1M rows: validation, community x
  month counts, the roll-up and the rates);
- the peer: polars' streaming engine (``scan_parquet`` -> ``group_by().agg()`` -> ``collect(engine="streaming")``),
  the same community x month counts only;
- the floor: pyarrow batches of 1M rows -> a pandas ``groupby().agg()`` of boolean columns per batch, summed: the
  same counts only, in plain pyarrow/pandas.

    python benchmarks/bench_hotline_memory.py [--rows 20000000] [--bound-gb 3]
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import Timing, quick, ratio, runs  # noqa: E402
from bench_scale import make_population, make_units, write_tickets  # noqa: E402

GOVLIB = """
import sys, pandas as pd
from govlib.services.hotline_stream import aggregate_ticket_files
units = pd.read_parquet(sys.argv[2]); population = pd.read_parquet(sys.argv[3])
monthly = aggregate_ticket_files(sys.argv[1], units, population, batch_rows=1_000_000)
print("rows out", len(monthly))
"""
POLARS = """
import sys, polars as pl
t = pl.scan_parquet(sys.argv[1] + "/*.parquet")
out = (t.with_columns(period=pl.col("created_at").dt.truncate("1mo")).group_by("unit", "period").agg(
    n=pl.len(), complaint=(pl.col("category") == "complaint").sum(),
    on_time=(pl.col("closed_at") <= pl.col("due_at")).sum(), rated=pl.col("satisfaction").is_not_null().sum(),
    satisfied=(pl.col("satisfaction") >= 4).sum(), repeat=pl.col("repeat").sum()).collect(engine="streaming"))
print("rows out", out.height)
"""
FLOOR = """
import sys, pandas as pd, pyarrow.dataset as ds
parts = []
for batch in ds.dataset(sys.argv[1], format="parquet").to_batches(batch_size=1_000_000):
    t = batch.to_pandas()
    df = pd.DataFrame({"unit": t["unit"], "period": t["created_at"].dt.to_period("M"),
                       "complaint": t["category"] == "complaint", "on_time": t["closed_at"] <= t["due_at"],
                       "rated": t["satisfaction"].notna(), "satisfied": (t["satisfaction"] >= 4).fillna(False),
                       "repeat": t["repeat"]})
    parts.append(df.groupby(["unit", "period"], observed=True).agg(
        n=("complaint", "size"), complaint=("complaint", "sum"), on_time=("on_time", "sum"),
        rated=("rated", "sum"), satisfied=("satisfied", "sum"), repeat=("repeat", "sum")))
out = pd.concat(parts).groupby(level=[0, 1], observed=True).sum()
print("rows out", len(out))
"""


def run_child(code: str, args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, max RSS GiB, stdout) of ``python -c code args`` under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr).group(1)
    seconds = sum(float(part) * 60 ** i for i, part in enumerate(reversed(wall.split(":"))))
    return seconds, peak_kb / 2**20, proc.stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000 if quick() else 20_000_000,
                    help="tickets (default 20 million = 10x a demo year; quick: 2 million)")
    ap.add_argument("--bound-gb", type=float, default=3.0, help="the stated memory bound")
    args = ap.parse_args(argv)
    if not Path("/usr/bin/time").exists():
        print("/usr/bin/time is missing: apt-get install time")
        return 2
    with tempfile.TemporaryDirectory(prefix="govlib-hotline-mem-") as tmp:
        tmp = Path(tmp)
        units = make_units()
        population = make_population(units)
        units.to_parquet(tmp / "units.parquet")
        population.to_parquet(tmp / "population.parquet")
        t0 = time.perf_counter()
        write_tickets(tmp / "tickets", units, args.rows)
        size = sum(p.stat().st_size for p in (tmp / "tickets").glob("*.parquet"))
        print(f"wrote {args.rows:,} tickets ({size / 2**30:.2f} GiB Parquet) in {time.perf_counter() - t0:.1f} s")
        files = [str(tmp / "tickets"), str(tmp / "units.parquet"), str(tmp / "population.parquet")]
        results = {}
        for label, code in (("govlib aggregate_ticket_files", GOVLIB), ("polars streaming group_by", POLARS),
                            ("pyarrow batches + pandas groupby", FLOOR)):
            timing, peaks = Timing(label), []
            for _ in range(runs()):
                seconds, peak, out = run_child(code, files)
                timing.seconds.append(seconds)
                peaks.append(peak)
            results[label] = (timing, peaks)
            print(f"  {timing}; max RSS min {min(peaks):.2f} GiB, median {sorted(peaks)[len(peaks) // 2]:.2f} GiB "
                  f"({out})")
    (ours, ours_peak), (peer, peer_peak), (floor, floor_peak) = results.values()
    in_memory_gb = args.rows * 852 / 2**30  # bytes per ticket measured for the in-memory pandas path
    print(f"streaming aggregation of {args.rows:,} tickets: max RSS {max(ours_peak):.2f} GiB at most (bound "
          f"{args.bound_gb} GiB; loading them all would need about {in_memory_gb:.0f} GiB)")
    print(f"ratios, {args.rows:,} tickets (> 1: govlib is slower / larger):")
    ratio(ours, peer, "peer, time")
    ratio(ours, floor, "floor, time")
    print(f"  ratio govlib / peer, max RSS: {min(ours_peak) / min(peer_peak):.3g}; govlib / floor, max RSS: "
          f"{min(ours_peak) / min(floor_peak):.3g}")
    print(f"  ratio peak / bound: {max(ours_peak) / args.bound_gb:.2f}")
    return 0 if max(ours_peak) <= args.bound_gb else 1


if __name__ == "__main__":
    sys.exit(main())
