"""Benchmark: domain means with linearised SEs of a stratified cluster design -- govlib, its peers, and a floor.

Run: nice python benchmarks/bench_survey.py [--quick] [--peer-rows N] [--big]

What the build runs (raked two-stage designs, the survey stage at the full demo's scale, R ``survey``) is timed by
``bench_survey_calibrated.py``; this script times the plain engine, ``estimate`` of an uncalibrated one-stage
stratified cluster design (no fpc), and compares like with like:

- data: 1,000,000 responses, 36 strata, 13,000 PSUs, 1,300 domains, one item with 5 % missing ("don't know");
- every implementation gets the same rows, missing values included, and handles them itself (govlib and svy:
  domain estimation; samplics: ``remove_nan=True``, which drops the rows -- its SEs are printed beside);
- a plain numpy/pandas floor computes the same estimates and SEs (group-by sums and the with-replacement
  variance formula, nothing else) and is checked equal to govlib;
- svy and samplics cannot run a million rows with 1,300 domains in minutes (svy: 4.8 s for 10,000 rows, 96 s for
  40,000), so they run on the first ``--peer-rows`` rows (default 20,000, all 1,300 domains), where govlib and the
  floor are timed again; the size is printed beside each ratio;
- every timing: one warm-up, then the minimum and median of three runs.

``--big`` (own process, for its peak RSS): 10,000,000 responses x 8 items by 街镇 x wave, govlib alone.
"""
from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from govlib.survey.estimate import estimate, make_design  # noqa: E402

REPEATS = 3


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


def timed(fn):
    """(min, median) wall seconds of REPEATS runs after one warm-up, and the last result."""
    out = fn()
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def govlib_run(df):
    d = make_design(df, weight="weight", strata="stratum", clusters="psu")
    return estimate(d, df, "q1", by="domain", empty="nan")


def floor_run(df):
    """The same estimates and SEs in plain pandas/numpy: domain sums, PSU x domain sums of the linearised values,
    and the with-replacement variance per stratum (PSUs without a member of the domain count as zeros)."""
    ok = df["q1"].notna().to_numpy()
    w = np.where(ok, df["weight"].to_numpy(), 0.0)
    wy = w * np.where(ok, df["q1"].to_numpy(), 0.0)
    g = pd.DataFrame({"h": df["stratum"].to_numpy(), "p": df["psu"].to_numpy(), "d": df["domain"].to_numpy(),
                      "w": w, "wy": wy, "n": ok.astype(np.int64)})
    dom = g.groupby("d")[["w", "wy", "n"]].sum()
    mean = dom["wy"] / dom["w"]
    cell = g.groupby(["h", "p", "d"], sort=False)[["w", "wy"]].sum().reset_index()
    d = cell["d"].to_numpy()
    z = (cell["wy"].to_numpy() - mean.reindex(d).to_numpy() * cell["w"].to_numpy()) / dom["w"].reindex(d).to_numpy()
    hd = pd.DataFrame({"h": cell["h"], "d": d, "z": z, "zz": z * z}).groupby(["h", "d"])[["z", "zz"]].sum()
    n_h = g.groupby("h")["p"].nunique().reindex(hd.index.get_level_values("h")).to_numpy(float)
    var = (n_h / (n_h - 1) * (hd["zz"].to_numpy() - hd["z"].to_numpy() ** 2 / n_h))
    var = pd.Series(var, index=hd.index.get_level_values("d")).groupby(level=0).sum()
    return pd.DataFrame({"estimate": mean, "se": np.sqrt(var.reindex(mean.index)), "n": dom["n"]}).reset_index()


def check_floor(g, f):
    g = g[g["n"] > 0].sort_values("domain").reset_index(drop=True)
    f = f[f["n"] > 0].sort_values("d").reset_index(drop=True)
    de = np.max(np.abs(f["estimate"].to_numpy() / g["estimate"].to_numpy() - 1))
    ds = np.max(np.abs(f["se"].to_numpy() / g["se"].to_numpy() - 1))
    assert de < 1e-10 and ds < 1e-8, (de, ds)
    return max(de, ds)


def part_big():
    n = 2_000_000 if "--quick" in sys.argv else 10_000_000
    df = synth(n, n_items=8, n_waves=8, n_dom=36)
    df["domain"] = df["stratum"]  # 街镇 = stratum: PSUs (communities) nest in the reporting 街镇
    t = time.perf_counter()
    d = make_design(df, weight="weight", strata="stratum", clusters="psu")
    r = estimate(d, df, [f"q{k}" for k in range(1, 9)], by=["domain", "wave"])
    el = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    print(f"BIG {n:,} responses x 8 items by jiezhen x wave ({len(r)} estimates), govlib alone, one run: "
          f"{el:.2f} s, peak RSS {rss:.2f} GB")


def main():
    if "--big" in sys.argv and "--child" in sys.argv:
        part_big()
        return
    n = 200_000 if "--quick" in sys.argv else 1_000_000
    peer_rows = int(sys.argv[sys.argv.index("--peer-rows") + 1]) if "--peer-rows" in sys.argv else 20_000
    df = synth(n)
    size = f"{n:,} responses, 36 strata, {df['psu'].nunique():,} PSUs, {df['domain'].nunique():,} domains"
    g_min, g_med, g = timed(lambda: govlib_run(df))
    f_min, f_med, f = timed(lambda: floor_run(df))
    diff = check_floor(g, f)
    print(f"{size}: govlib {g_min:.3f} / {g_med:.3f} s, numpy/pandas floor {f_min:.3f} / {f_med:.3f} s "
          f"(min / median of {REPEATS}; same estimates and SEs, max relative difference {diff:.1e})")

    sub = df.iloc[:peer_rows].reset_index(drop=True)
    sub_size = f"{len(sub):,} rows with {int(sub['q1'].isna().sum()):,} missing, {sub['domain'].nunique():,} domains"
    gs_min, gs_med, gs = timed(lambda: govlib_run(sub))
    fs_min, fs_med, _ = timed(lambda: floor_run(sub))

    import polars as pl
    import svy

    pdf = pl.from_pandas(sub)

    def svy_run():
        s = svy.Sample(pdf, svy.Design(stratum="stratum", psu="psu", wgt="weight"))
        return s.estimation.mean("q1", by="domain", drop_nulls=True).to_polars().to_pandas()

    v_min, v_med, ref = timed(svy_run)
    ref = ref.sort_values("domain").reset_index(drop=True)
    keep = gs["n"].to_numpy() > 0
    est_diff = np.max(np.abs(ref["est"].to_numpy() / gs["estimate"].to_numpy()[keep] - 1))
    se_diff = np.nanmax(np.abs(ref["se"].to_numpy() / gs["se"].to_numpy()[keep] - 1))
    print(f"svy on {sub_size}: {v_min:.3f} / {v_med:.3f} s; govlib {gs_min:.3f} / {gs_med:.3f} s, floor "
          f"{fs_min:.3f} / {fs_med:.3f} s on the same rows; svy vs govlib max relative difference: estimate "
          f"{est_diff:.1e}, se {se_diff:.1e}")

    warnings.filterwarnings("ignore")
    from samplics import PopParam
    from samplics.estimation import TaylorEstimator

    def samplics_run():
        est = TaylorEstimator(PopParam.mean)
        est.estimate(y=sub["q1"].to_numpy(), samp_weight=sub["weight"].to_numpy(), stratum=sub["stratum"].to_numpy(),
                     psu=sub["psu"].to_numpy(), domain=sub["domain"].to_numpy(), remove_nan=True)
        return est

    s_min, s_med, est = timed(samplics_run)
    sam = pd.DataFrame({"est": pd.Series(est.point_est), "se": pd.Series(est.stderror)}).sort_index()
    sam_est = np.max(np.abs(sam["est"].to_numpy() / gs["estimate"].to_numpy()[keep] - 1))
    sam_se = np.nanmax(np.abs(sam["se"].to_numpy() / gs["se"].to_numpy()[keep] - 1))
    print(f"samplics on {sub_size} (it drops the missing rows itself): {s_min:.3f} / {s_med:.3f} s; max relative "
          f"difference to govlib: estimate {sam_est:.1e}, se {sam_se:.1e} (its SEs drop PSUs whose rows are all "
          f"missing)")

    if "--big" in sys.argv:
        big = subprocess.run([sys.executable, __file__, "--big", "--child"]
                             + (["--quick"] if "--quick" in sys.argv else []), capture_output=True, text=True)
        print(big.stdout.strip() or big.stderr[-2000:])
    print(f"ratio govlib / floor ({size}): {g_min / f_min:.2f}x; ({sub_size}): {gs_min / fs_min:.2f}x")
    print(f"ratio svy / govlib ({sub_size}): {v_min / gs_min:.1f}x")
    print(f"ratio samplics / govlib ({sub_size}): {s_min / gs_min:.1f}x")


if __name__ == "__main__":
    main()
