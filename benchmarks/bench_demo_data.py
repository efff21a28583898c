"""Benchmark: full-size synthetic demo data, generated and written (target: under 60 s on the 2-core machine).

Run: ``python benchmarks/bench_demo_data.py [--size full|small] [--seed N]`` (``GOVLIB_BENCH_QUICK=1``: small).
Prints the row counts per table, then three contenders, each run 3 times (min and median wall time):

- govlib: ``generate_demo_data`` + ``write_demo_data`` (what ``govlib demo-data`` does);
- the peer, for the write: the same generated tables written with pandas' defaults (``DataFrame.to_parquet``, one
  file per table) against govlib's tuned writer (``write_demo_data`` alone), same tables, same runs;
- the floor: numpy draws of the same shapes (every table's rows, columns and dtypes; text columns drawn from their
  values), written with ``DataFrame.to_parquet``: the cost of making and storing this much data with no model.

The last lines: govlib / peer (write only), govlib / floor (generate + write), and govlib / the 60-second budget.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _compare import Timing, measure, quick, ratio  # noqa: E402
from govlib.commands.demo_data import write_demo_data  # noqa: E402
from govlib.data.demo import DEFAULT_SEED, generate_demo_data  # noqa: E402

BUDGET_SECONDS = 60.0


def frames(tables: dict) -> dict[str, pd.DataFrame]:
    return {name: df for name, df in tables.items() if isinstance(df, pd.DataFrame)}


def same_shapes(tables: dict[str, pd.DataFrame], seed: int = 0):
    """A function that draws frames shaped like ``tables`` (values of text columns taken from a pool of theirs)."""
    pools = {(name, c): df[c].dropna().astype(str).unique()[:2000] for name, df in tables.items()
             for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])
                                         or isinstance(df[c].dtype, pd.CategoricalDtype)
                                         or pd.api.types.is_datetime64_any_dtype(df[c]))}

    def draw() -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(seed)
        out = {}
        for name, df in tables.items():
            n, cols = len(df), {}
            for c in df.columns:
                dtype = df[c].dtype
                if pd.api.types.is_bool_dtype(dtype):
                    cols[c] = rng.random(n) < 0.5
                elif isinstance(dtype, pd.CategoricalDtype):
                    cols[c] = pd.Categorical.from_codes(rng.integers(0, len(dtype.categories), n), dtype=dtype)
                elif pd.api.types.is_datetime64_any_dtype(dtype):
                    cols[c] = np.datetime64("2018-01-01", "s") + rng.integers(0, 8 * 365 * 86400, n).astype(
                        "timedelta64[s]")
                elif pd.api.types.is_numeric_dtype(dtype):
                    cols[c] = (rng.random(n) * 100).astype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype")
                                                           else dtype)
                else:
                    pool = pools[(name, c)]
                    cols[c] = pool[rng.integers(0, len(pool), n)] if len(pool) else np.full(n, "")
            out[name] = pd.DataFrame(cols)
        return out
    return draw


def write_defaults(tables: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_parquet(folder / f"{name}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="small" if quick() else "full", choices=["small", "full"])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        tmp = Path(tmp)
        tables = generate_demo_data(args.size, args.seed)
        print(f"demo data, size={args.size}, seed={args.seed}")
        for name, df in frames(tables).items():
            print(f"  {name:22s} {len(df):>12,} rows")
        runs = iter(range(10**6))

        def ours_all():
            out = tmp / f"ours{next(runs)}"
            write_demo_data(generate_demo_data(args.size, args.seed), out, args.size, args.seed)
            return out

        ours = measure("govlib generate + write", ours_all)
        size_mb = sum(p.stat().st_size for p in ours.result.rglob("*") if p.is_file()) / 1e6
        print(f"  files written: {sum(1 for p in ours.result.rglob('*') if p.is_file())} ({size_mb:,.0f} MB)")
        ours_write = measure("govlib write_demo_data (tuned writer)",
                             lambda: write_demo_data(tables, tmp / f"w{next(runs)}", args.size, args.seed))
        peer = measure("pandas to_parquet defaults, same tables",
                       lambda: write_defaults(frames(tables), tmp / f"p{next(runs)}"))
        draw = same_shapes(frames(tables))
        floor = measure("numpy draws of the same shapes + to_parquet",
                        lambda: write_defaults(draw(), tmp / f"f{next(runs)}"))
    print(f"ratios, size={args.size} (> 1: govlib is slower):")
    ratio(ours_write, peer, "peer, write only")
    ratio(ours, floor, "floor, generate + write")
    ratio(ours, Timing("the budget", [BUDGET_SECONDS]), "60-second budget")


if __name__ == "__main__":
    main()
