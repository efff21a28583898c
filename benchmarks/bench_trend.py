"""Benchmark: vectorised Mann–Kendall + Sen's slope against a pymannkendall loop; Pettitt; the trend stage.

    python benchmarks/bench_trend.py [--series 20000] [--length 40] [--pmk-series N] [--demo small|full|none]

20,000 series of length 40 with ties (values rounded to integers). govlib computes all of them at once
(`govlib.trend.mannkendall.mann_kendall_sen`); pymannkendall is run in a loop (`original_test` + `sens_slope` per series) in the
same run, on the first --pmk-series series (default 500), and govlib is timed again on those same series for the
ratio (the size is printed beside it; nothing is extrapolated). S, var(S) and z must be identical. The floor is
plain numpy by broadcasting: S (sum of the signs of all pairwise differences) and Sen's slope (median of the
pairwise slopes), without the tie-corrected variance, p-values or the slope's confidence interval; it is timed on
all series and on the peer's k. Every timing (govlib, peer, floor) is 3 runs after a warm-up, printed as
min / median (the machine is shared). The last lines are the ratios.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_outbreak import timed  # noqa: E402  (the benchmarks' one timer: min, median of 3 runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=20_000)
    ap.add_argument("--length", type=int, default=40)
    ap.add_argument("--pmk-series", type=int, default=500,
                    help="series run through pymannkendall (and govlib, for the ratio); default 500")
    ap.add_argument("--demo", default="small", choices=["small", "full", "none"],
                    help="time the trend stage on a demo build of this size")
    args = ap.parse_args()

    import pymannkendall as pmk

    from govlib.trend.mannkendall import mann_kendall_sen, pettitt

    rng = np.random.default_rng(20240611)
    m, n = args.series, args.length
    slope = rng.normal(0, 0.05, size=(m, 1))
    x = np.round(rng.normal(0, 2, size=(m, n)) + slope * np.arange(n))  # integers: many ties
    ties = float(np.mean([len(np.unique(r)) < n for r in x[:1000]]))
    print(f"{m} series of length {n}; {ties:.0%} of them have ties; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores (shared machine)")

    iu = np.triu_indices(n, 1)
    span = (iu[1] - iu[0]).astype(float)

    def floor(rows):
        """Plain numpy floor: S = sum of sign(x_j - x_i), i < j, and Sen's slope = median of the pairwise slopes,
        by broadcasting (no tie correction of var(S), no p-value, no slope CI)."""
        d = x[:rows, iu[1]] - x[:rows, iu[0]]
        return np.sign(d).sum(axis=1), np.median(d / span, axis=1)

    mann_kendall_sen(x[:100], exact_max_n=0)  # warm-ups (imports, first allocations)
    floor(100)
    t_ours = timed(lambda: mann_kendall_sen(x, exact_max_n=0))
    ours = t_ours[2]
    t_floor = timed(lambda: floor(m))
    print(f"govlib mann_kendall_sen (MK + Sen slope with CI), all {m:,} series: {_fmt(t_ours)}; numpy floor "
          f"(S + Sen slope): {_fmt(t_floor)}")
    assert np.array_equal(ours["s"].to_numpy(), t_floor[2][0]) and np.allclose(ours["sen_slope"], t_floor[2][1])

    # the peer, like govlib and the floor: one warm-up, 3 runs, on the same rows (the first k series; govlib and
    # the floor are timed on those k too, and the ratios are printed with that size -- nothing is extrapolated)
    k = m if args.pmk_series is None else min(args.pmk_series, m)

    def pmk_loop():
        out = []
        for row in x[:k]:
            r = pmk.original_test(row)
            out.append((r.s, r.var_s, r.z, r.p, pmk.sens_slope(row).slope))
        return out

    pmk_loop() if k <= 2_000 else [pmk.original_test(r) for r in x[:50]]  # warm-up
    t_pmk = timed(pmk_loop)
    ref = np.array(t_pmk[2])
    t_ours_k = timed(lambda: mann_kendall_sen(x[:k], exact_max_n=0))
    t_floor_k = timed(lambda: floor(k))
    print(f"pymannkendall loop (original_test + sens_slope) on {k:,} series: {_fmt(t_pmk)}; govlib on the same "
          f"{k:,}: {_fmt(t_ours_k)}; numpy floor on the same {k:,}: {_fmt(t_floor_k)}")
    same_s = np.array_equal(ours["s"].to_numpy()[:k], ref[:, 0])
    same_var = np.array_equal(ours["var_s"].to_numpy()[:k], ref[:, 1])
    same_z = np.array_equal(ours["z"].to_numpy()[:k], ref[:, 2])
    max_dp = float(np.max(np.abs(ours["p"].to_numpy()[:k] - ref[:, 3])))
    max_dslope = float(np.max(np.abs(ours["sen_slope"].to_numpy()[:k] - ref[:, 4])))
    print(f"identical S: {same_s}; identical var(S): {same_var}; identical z: {same_z}; "
          f"max |p difference| {max_dp:.1e}; max |Sen slope difference| {max_dslope:.1e}")

    pettitt(x[:100])
    t_pettitt = timed(lambda: pettitt(x))
    print(f"Pettitt on {m} series: {_fmt(t_pettitt)} (target < 1 s)")

    stage_line = "trend stage: not timed (--demo none)"
    if args.demo != "none":
        stage_line = _stage_time(args.demo)
    print(stage_line)
    print(f"ratio MK+Sen pymannkendall/govlib ({k:,} series of length {n}): {t_pmk[0] / t_ours_k[0]:.1f}x min, "
          f"{t_pmk[1] / t_ours_k[1]:.1f}x median (target >= 50x)")
    print(f"ratio govlib/numpy floor (S + Sen slope; {k:,} series of length {n}): {t_ours_k[0] / t_floor_k[0]:.1f}x "
          f"min, {t_ours_k[1] / t_floor_k[1]:.1f}x median; all {m:,} series: {t_ours[0] / t_floor[0]:.1f}x min, "
          f"{t_ours[1] / t_floor[1]:.1f}x median")
    print(f"ratio Pettitt time / 1 s budget: {t_pettitt[0]:.2f} min, {t_pettitt[1]:.2f} median")


def _fmt(t) -> str:
    return f"{t[0]:.3f} / {t[1]:.3f} s (min / median of 3)"


def _stage_time(size: str) -> str:
    """Time govlib.pipeline.stages.trend.run on a demo data set run through the upstream stages that work."""
    import importlib

    from govlib.data.demo import generate_demo_data
    from govlib.settings import load_settings

    tables = generate_demo_data(size)
    fw = tables["framework"]
    if isinstance(fw, dict):
        import pandas as pd
        tables["framework"] = pd.DataFrame(fw["nodes"])
    settings = load_settings()
    upstream = []
    for name in ("survey", "hotline", "doorstep", "index"):
        try:
            produced = importlib.import_module(f"govlib.pipeline.stages.{name}").run(tables, settings)
            tables.update(produced)
            derived = [k for k in list(tables) if k.startswith("observations_")]
            if derived:
                import pandas as pd
                obs = pd.concat([tables["observations"]] + [tables.pop(d) for d in derived], ignore_index=True)
                tables["observations"] = obs.drop_duplicates(["unit", "period", "indicator"], keep="last")
            upstream.append(name)
        except Exception as exc:  # an upstream engine still in progress: time the stage on what exists
            upstream.append(f"{name} failed ({type(exc).__name__})")
    from govlib.pipeline.stages.trend import run

    t0 = time.perf_counter()
    out = run(tables, settings)
    dt = time.perf_counter() - t0
    return (f"trend stage on the {size} demo data: {dt:.2f} s for {len(out['trends'])} series, "
            f"{len(out['alerts'])} alerts (upstream: {', '.join(upstream)})")


if __name__ == "__main__":
    main()
