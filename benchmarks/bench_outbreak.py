"""Benchmark: the vectorised count-surge detector against its peers (statsmodels loop, R) and a numpy floor.

    python benchmarks/bench_outbreak.py [--monthly PATH] [--level subdistrict|community] [--sm-series N]
                                        [--r-series N] [--no-r]

Series: every 街镇 x category x month series of 12345 tickets — ``hotline_monthly`` of a build (``--monthly``, a
parquet file; e.g. the full demo's ``data/processed/current/hotline_monthly.parquet``: 36 x 5 series x 96 months;
``--level community``: 1,275 x 5). Without it, the same shape is simulated (Poisson with the demo's seasonality),
and the script says so.

Method: the improved Farrington detector as the trend stage runs it (:func:`govlib.trend.outbreak.farrington_flexible`,
freq 12, b 3, w 1, 4 seasonal periods, nbPlugin, alpha 0.0005), evaluated at every month with enough history.

Every timing is 3 runs after a warm-up, printed as min / median (the machine is shared). Peers are timed like with
like: each peer and govlib run on the same series, the same number of times; a peer run on the first N series
only is compared with govlib on those N series, and N is printed beside the ratio (nothing is extrapolated).

- statsmodels: the same algorithm with one ``sm.GLM`` quasi-Poisson fit per series, month and model (with and
  without trend, each fitted twice for the down-weighting), on the first ``--sm-series`` series; bounds compared.
- R ``surveillance::farringtonFlexible`` 1.20.3 (when ``Rscript`` exists) on the first ``--r-series`` series: R's
  own ``system.time`` of the detector, 3 runs in one R process, package loading excluded; bounds compared.
- numpy floor: for every evaluated month, ONE Poisson GLM (log link, the method's first design: intercept, trend,
  seasonal factor) fitted to all series at once by batched IRLS in plain numpy (R's starting values and
  convergence rule; X'WX as one BLAS product; one BLAS thread, as govlib), designs built beforehand. It leaves
  out what the method adds: the fit without trend, the trend test, the refit with down-weights (Anscombe
  residuals, leverages), dispersion, prediction variance, the negative-binomial quantiles and the low-count
  rule. govlib / floor says what those extras cost.

The last lines are the ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

CFG = dict(freq=12, b=3, w=1, n_periods=4, past_excluded=1, threshold_method="nbPlugin", alpha=0.0005)


def load_series(path: str | None, level: str) -> tuple[np.ndarray, str]:
    if path:
        m = pd.read_parquet(path)
        m = m[(m["level"].astype(str) == level) & m["period"].astype(str).str.contains("-")]
        cats = [c for c in ("n_consultation", "n_help", "n_complaint", "n_suggestion", "n_other") if c in m]
        long = m.melt(id_vars=["unit", "period"], value_vars=cats)
        wide = long.pivot_table(index=["unit", "variable"], columns="period", values="value", aggfunc="sum")
        return wide.to_numpy(dtype=float), f"{path}, {level} ({wide.shape[0]} series x {wide.shape[1]} months)"
    rng = np.random.default_rng(0)
    season = np.tile([0.85, 0.8, 0.95, 1.0, 1.05, 1.1, 1.2, 1.2, 1.05, 0.95, 0.9, 0.95], 8)
    n = 180 if level == "subdistrict" else 6375
    level_ = rng.lognormal(np.log(600 if n == 180 else 17), 0.8, size=(n, 1))
    return rng.poisson(level_ * season).astype(float), f"SIMULATED (no --monthly given): {n} series x 96 months"


def timed(fn, runs: int = 3):
    """(min, median, last result) of ``runs`` calls."""
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def fmt(t) -> str:
    return f"{t[0]:.3f} / {t[1]:.3f} s"


def design(k: int, cfg: dict):
    """Rows and design matrix of the method's first fit at 0-based month k (as farrington_flexible builds them)."""
    from govlib.trend.outbreak import _blocks  # the block layout is shared; peers differ only in fitting

    refs = k - cfg["freq"] * np.arange(1, cfg["b"] + 1)
    f = _blocks(k, refs, cfg["w"], cfg["n_periods"])
    f[k - cfg["past_excluded"]:] = -1
    idx = np.nonzero(f >= 0)[0]
    levels = np.unique(f[idx])
    X = np.column_stack([np.ones(len(idx)), idx + 1.0] + [(f[idx] == lv).astype(float) for lv in levels[1:]])
    x0 = np.concatenate([[1.0, k + 1.0], (levels[1:] == cfg["n_periods"]).astype(float)])
    return idx, X, x0


def numpy_floor(y: np.ndarray, designs) -> np.ndarray:
    """One batched Poisson IRLS fit per month for all series (the floor; see the module docstring)."""
    fitted = np.full(y.shape, np.nan)
    for k, idx, X, x0, XX in designs:
        p = X.shape[1]
        yy = y[:, idx]
        eta = np.log(yy + 0.1)
        mu = np.exp(eta)
        dev_old = np.full(len(y), np.inf)
        for _ in range(25):
            z = eta + (yy - mu) / mu
            xtwx = (mu @ XX).reshape(-1, p, p)  # row n of XX: x_n x_n' (one BLAS product for all series)
            beta = np.linalg.solve(xtwx, ((mu * z) @ X)[..., None])[..., 0]
            eta = beta @ X.T
            mu = np.exp(eta)
            dev = 2 * np.sum(np.where(yy > 0, yy * np.log(np.where(yy > 0, yy, 1) / mu), 0) - (yy - mu), axis=1)
            if np.all(np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < 1e-8):
                break
            dev_old = dev
        fitted[:, k] = np.exp(beta @ x0)
    return fitted


def statsmodels_loop(y: np.ndarray, cfg: dict) -> np.ndarray:
    """The same detector with one statsmodels GLM per fit (the per-series loop a user would write)."""
    import statsmodels.api as sm
    from scipy import stats

    fam = sm.families.Poisson()
    S, T = y.shape
    upper = np.full((S, T), np.nan)
    first = cfg["freq"] * cfg["b"] + cfg["w"]
    for s in range(S):
        for k in range(first, T):
            idx, X, x0 = design(k, cfg)
            yy = y[s, idx]

            def fit(X, x0):
                m = sm.GLM(yy, X, family=fam).fit(scale="X2")
                phi = max(m.scale, 1.0)
                mu = m.fittedvalues
                h = m.get_hat_matrix_diag()
                a = 1.5 * (yy ** (2 / 3) * mu ** (-1 / 6) - mu ** 0.5) / np.sqrt(phi * (1 - h))
                big = a > 2.58
                down = np.where(big, a, 1.0) ** -2.0  # (a = 0 where the fit is exact: not down-weighted)
                gamma = len(a) / np.where(big, down, 1.0).sum()
                w = np.where(big, gamma * down, gamma)
                m = sm.GLM(yy, X, family=fam, var_weights=w).fit(scale="X2")
                return m, max(m.scale, 1.0), float(m.predict(x0[None, :])[0])

            m, phi, mu0 = fit(X, x0)
            if not (m.pvalues[1] < 0.05 and mu0 <= yy.max()):
                m, phi, mu0 = fit(np.delete(X, 1, axis=1), np.delete(x0, 1))
            q = 1 - cfg["alpha"]
            upper[s, k] = stats.nbinom.ppf(q, mu0 / (phi - 1), 1 / phi) if phi > 1 else stats.poisson.ppf(q, mu0)
    return upper


R_SCRIPT = """
suppressPackageStartupMessages(library(surveillance))
y <- as.matrix(read.csv("{csv}", header = FALSE))
x <- sts(observed = t(y), frequency = 12)
ctl <- list(b = 3, w = 1, noPeriods = 4, pastWeeksNotIncluded = 1, thresholdMethod = "nbPlugin", alpha = 0.0005,
            weightsThreshold = 2.58, reweight = TRUE, range = {first}:nrow(observed(x)), glmWarnings = FALSE)
tm <- sapply(1:3, function(i) system.time(res <<- farringtonFlexible(x, control = ctl))[["elapsed"]])
write.csv(upperbound(res), "{out}", row.names = FALSE)
cat(tm, "\\n")
"""


def run_r(y: np.ndarray, res_upper: np.ndarray):
    """R's 3 timings (min, median) on y and the largest relative difference of its bounds from govlib's."""
    with tempfile.TemporaryDirectory() as d:
        csv, out = Path(d) / "y.csv", Path(d) / "ub.csv"
        np.savetxt(csv, np.nan_to_num(y), delimiter=",", fmt="%d")
        script = Path(d) / "run.R"
        first = CFG["freq"] * CFG["b"] + CFG["w"] + 1
        script.write_text(R_SCRIPT.format(csv=csv, out=out, first=first))
        run = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True)
        times = [float(t) for t in run.stdout.split()[-3:]]
        ub_r = pd.read_csv(out).to_numpy(dtype=float).T
    mine = res_upper[:, first - 1:]
    both = ~np.isnan(ub_r) & ~np.isnan(mine)
    rel = float(np.max(np.abs(ub_r[both] - mine[both]) / np.maximum(np.abs(ub_r[both]), 1)))
    return (min(times), statistics.median(times)), rel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--monthly", default=None, help="hotline_monthly parquet of a build")
    ap.add_argument("--level", default="subdistrict", choices=["subdistrict", "community"])
    ap.add_argument("--sm-series", type=int, default=20, help="series run through the statsmodels loop (default 20)")
    ap.add_argument("--r-series", type=int, default=20, help="series run through R (default 20)")
    ap.add_argument("--no-r", action="store_true", help="skip R even if Rscript exists")
    args = ap.parse_args()

    from govlib.trend.outbreak import farrington_flexible, glm_quasipoisson

    y, source = load_series(args.monthly, args.level)
    S, T = y.shape
    print(f"series: {source}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared machine); "
          f"times are min / median of 3 runs after a warm-up")

    def gov(rows):
        return lambda: farrington_flexible(y[:rows], **CFG)

    gov(5)()  # warm-up
    t_gov = timed(gov(S))
    res = t_gov[2]
    n_eval = int((~np.isnan(res["upperbound"])).sum())
    print(f"govlib farrington_flexible: {S} series, {n_eval} series-months evaluated: {fmt(t_gov)}, "
          f"{int(res['alarm'].sum())} alarms")

    first = CFG["freq"] * CFG["b"] + CFG["w"]
    designs = [(k, idx, X, x0, (X[:, :, None] * X[:, None, :]).reshape(len(X), -1))
               for k, (idx, X, x0) in ((k, design(k, CFG)) for k in range(first, T))]
    with threadpool_limits(limits=1, user_api="blas"):  # as govlib's detectors (one BLAS thread)
        numpy_floor(y[:5], designs)  # warm-up
        t_floor = timed(lambda: numpy_floor(y, designs))
    # the floor fits what govlib's first fit does: same fitted means (checked on the last month)
    k, idx, X, x0, _ = designs[-1]
    check = glm_quasipoisson(X, y[:, idx], np.ones((S, len(idx))))
    gap = np.max(np.abs(np.exp(check["beta"] @ x0) / t_floor[2][:, k] - 1))
    print(f"numpy floor (one batched Poisson IRLS fit per month, all series; no trend choice, reweighting or "
          f"bounds): {S} series: {fmt(t_floor)}; its means agree with govlib's glm_quasipoisson to {gap:.0e}")

    n_sm = min(args.sm_series, S)
    statsmodels_loop(y[:1, :first + 2], CFG)  # warm-up (imports)
    t_sm = timed(lambda: statsmodels_loop(y[:n_sm], CFG))
    t_gov_sm = timed(gov(n_sm))
    ok = ~np.isnan(t_sm[2]) & ~np.isnan(res["upperbound"][:n_sm])
    rel = np.abs(t_sm[2][ok] / res["upperbound"][:n_sm][ok] - 1)
    # the loop is a timing peer written the textbook way (statsmodels' own dispersion and leverages at the final
    # weights), not R's exact bookkeeping (govlib matches R, below), so its bounds differ a little
    print(f"statsmodels loop on the first {n_sm} series: {fmt(t_sm)}; govlib on the same {n_sm}: {fmt(t_gov_sm)}; "
          f"its upper bounds differ from govlib's by {100 * np.median(rel):.1f}% (median), "
          f"{100 * np.quantile(rel, 0.95):.1f}% (95th percentile)")

    t_r = None
    if not args.no_r and shutil.which("Rscript"):
        n_r = min(args.r_series, S)
        t_r, rel = run_r(y[:n_r], res["upperbound"][:n_r])
        t_gov_r = timed(gov(n_r))
        print(f"R surveillance::farringtonFlexible on the first {n_r} series (R's system.time): "
              f"{t_r[0]:.3f} / {t_r[1]:.3f} s; govlib on the same {n_r}: {fmt(t_gov_r)}; max relative difference "
              f"of upper bounds {rel:.1e}")
    else:
        print("R: not run (no Rscript or --no-r)")
    print(f"ratio statsmodels loop / govlib ({n_sm} series): {t_sm[0] / t_gov_sm[0]:.0f}x min, "
          f"{t_sm[1] / t_gov_sm[1]:.0f}x median")
    if t_r is not None:
        print(f"ratio R surveillance / govlib ({n_r} series): {t_r[0] / t_gov_r[0]:.0f}x min, "
              f"{t_r[1] / t_gov_r[1]:.0f}x median")
    print(f"ratio govlib / numpy floor ({S} series): {t_gov[0] / t_floor[0]:.1f}x min, "
          f"{t_gov[1] / t_floor[1]:.1f}x median")


if __name__ == "__main__":
    main()
