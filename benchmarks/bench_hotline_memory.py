"""Memory bound of the out-of-core hotline aggregation, measured by /usr/bin/time -v (issue 9, item 6).

Writes a ticket table ten times the size of one demo year (about 20 million tickets, in Parquet files written
chunk by chunk), then aggregates it in a *separate process* with govlib.services.hotline_stream.aggregate_ticket_files under
`/usr/bin/time -v` and prints the time and the maximum resident set size, against the stated bound.

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
from bench_scale import make_population, make_units, write_tickets  # noqa: E402

CHILD = """
import sys, pandas as pd
from govlib.services.hotline_stream import aggregate_ticket_files
units = pd.read_parquet(sys.argv[2]); population = pd.read_parquet(sys.argv[3])
monthly = aggregate_ticket_files(sys.argv[1], units, population, batch_rows=1_000_000)
print("rows out", len(monthly))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000_000, help="tickets (default 20 million = 10x a demo year)")
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
        proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", CHILD, str(tmp / "tickets"),
                               str(tmp / "units.parquet"), str(tmp / "population.parquet")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            return 1
        peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr).group(1)
        peak_gb = peak_kb / 2**20
        in_memory_gb = args.rows * 852 / 2**30  # bytes per ticket measured for the in-memory pandas path
        print(proc.stdout.strip())
        print(f"streaming aggregation of {args.rows:,} tickets: wall {wall}, max RSS {peak_gb:.2f} GiB "
              f"(bound {args.bound_gb} GiB; loading them all would need about {in_memory_gb:.0f} GiB)")
        print(f"ratio peak / bound: {peak_gb / args.bound_gb:.2f}")
        return 0 if peak_gb <= args.bound_gb else 1


if __name__ == "__main__":
    sys.exit(main())
