"""Deterioration against a unit's own history: a one-sided step test of the latest periods, for many series.

For every series and period t, and every window length m (``windows``), the mean of the latest m values (t-m+1 ..
t, all observed) is compared with the mean of all earlier values (the in-control history, at least
``min_history`` of them):

    z = d (mean_recent - mean_history) / (sigma sqrt(1/m + 1/n_history))

with d the indicator's direction (negative z = worse) and sigma the noise SD (known: pooled over the units of the
indicator, so z is normal under no change). The one-sided p = Φ(z); the smallest p over the windows is reported.
With ``k`` = len(windows) x periods per year tests per series-year, firing at p < far / k keeps the false-alarm
rate per series-year at most ``far`` (Bonferroni; ``tests/test_alerts_rules.py`` checks it by simulation).

:func:`count_drop_test` is the same idea for counts (services delivered at a station per month): the latest m
months against the mean of the ``baseline`` months before them, quasi-Poisson.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import chi2, f as f_dist, norm

from ..errors import InputError

__all__ = ["step_test", "count_drop_test", "noise_sd", "noise_homogeneity", "season_scale", "period_effects"]


def period_effects(values, labels, groups=None, *, trim: float = 0.2, min_units: int = 6) -> np.ndarray:
    """The district's common movement in every cell of a panel of series: a two-way (unit + period) panel.

    Each series is centred on its own median (the unit's level); the period effect of a group (the units of one
    indicator) in a period is the ``trim``-trimmed mean over the group's series of their centred values in that
    period (trimmed: an entry error or a planted event in one unit does not move the district's movement). A
    step test on ``values - period_effects(...)`` compares a unit with its own history *after* the movement all
    units shared (a district-wide year effect: policy, the economy, a common shock), so one unit's change stands
    out of the period-to-period noise the units have in common; a district-wide change is no unit's alarm.

    Parameters
    ----------
    values : (S, T) series (NaN = missing), e.g. deseasonalised.
    labels : (S, T) period labels of the cells (series may be left-aligned with gaps: the labels align them).
    groups : (S,) group labels (default: one group); a group whose median number of series per period is below
        ``min_units`` gets no period effect (0: too few units to tell a common movement from one unit's).
    trim : share trimmed at each end (0: the mean).
    min_units : fewest series per period for a period effect; a period of a panel group with fewer series
        observed gets NaN (its cells are not tested).

    Returns
    -------
    (S, T) array: the period effect of each cell (NaN where the value is missing).

    Examples
    --------
    >>> x = np.array([[10.0, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 49]])
    >>> lab = np.tile(np.array(["2023", "2024", "2025"]), (4, 1))
    >>> c = period_effects(x, lab, min_units=3, trim=0.25)
    >>> c[0].tolist(), (x - c)[:, 2].tolist()
    ([-1.0, 0.0, 1.0], [11.0, 21.0, 31.0, 48.0])
    """
    x = np.asarray(values, dtype=float)
    lab = np.asarray(labels)
    if lab.shape != x.shape:
        raise InputError(f"labels: expected the shape of values {x.shape}, got {lab.shape}")
    if not 0 <= trim < 0.5:
        raise InputError(f"trim: expected a share in [0, 0.5), got {trim!r}")
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    out = np.full(x.shape, np.nan)
    r, c = np.nonzero(~np.isnan(x))
    if not len(r):
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # series with no values
        level = np.nanmedian(x, axis=1)
    cells = pd.DataFrame({"g": g[r], "p": lab[r, c].astype(str), "v": x[r, c] - level[r]})
    cells = cells.sort_values(["g", "p", "v"], kind="stable")
    by = cells.groupby(["g", "p"], sort=False)["v"]
    n = by.transform("size").to_numpy()
    rank = by.cumcount().to_numpy()
    k = np.floor(trim * n)
    kept = cells[(rank >= k) & (rank < n - k)].groupby(["g", "p"], sort=False)["v"].mean()
    effect = cells[["g", "p"]].join(kept.rename("e"), on=["g", "p"])["e"].to_numpy()
    effect = np.where(n >= min_units, effect, np.nan)
    # a group with too few units per period is left as it is (no period effect), not dropped
    per_group = pd.Series(n).groupby(cells["g"].to_numpy()).median()
    small = cells["g"].map(per_group).to_numpy() < min_units
    effect = np.where(small, 0.0, effect)
    out[r[cells.index.to_numpy()], c[cells.index.to_numpy()]] = effect
    return out


def step_test(values, direction, sigma, *, windows=(1, 2), min_history: int = 3, raw=None, scale=None,
              common=None) -> dict:
    """One-sided step test of the latest ``m`` periods against all earlier ones (vectorised, cumulative sums).

    Parameters
    ----------
    values : (S, T) series (NaN = missing), e.g. deseasonalised.
    direction : (S,) 1 higher is better, -1 lower is better.
    sigma : (S,) noise SD of each series.
    windows, min_history : window lengths tried; fewest earlier values for a test (a number, or one per series).
    raw : (S, T) values in the indicator's own scale (default ``values``): the evidence ``recent`` is the raw
        recent mean and ``history`` = recent - (recent - history in ``values``), i.e. the history's level in the
        season of the recent window.
    scale : (S, T) noise scale of each value (e.g. :func:`season_scale`: a count's noise grows with its season's
        level): the test runs on ``values / scale`` (then ``sigma`` is in those units); the evidence stays in
        the values' units.
    common : (S, T) the district's common movement in each cell (:func:`period_effects`): the test runs on
        ``values - common`` (a two-way panel: the unit-specific change), and the evidence ``history`` is the level
        expected from the unit's history and the district's movement since.

    Returns
    -------
    dict of (S, T) arrays ``p``, ``z``, ``recent``, ``history`` and ``window`` (the m of the smallest p).

    Examples
    --------
    >>> r = step_test(np.array([[10.0, 10.2, 9.9, 10.1, 10.0, 7.1]]), np.array([1.0]), np.array([0.2]))
    >>> round(float(r["z"][0, -1]), 2), int(r["window"][0, -1])
    (-13.42, 1)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise InputError(f"values: expected a 2-D array (series x periods), got shape {x.shape}")
    raw = x if raw is None else np.asarray(raw, dtype=float)
    d = np.asarray(direction, dtype=float)[:, None]
    sd = np.asarray(sigma, dtype=float)[:, None]
    S, T = x.shape
    min_history = np.broadcast_to(np.asarray(min_history), (S,))[:, None]
    if not windows or any(int(m) < 1 for m in windows) or (min_history < 1).any():
        raise InputError(f"windows: expected positive lengths and min_history >= 1, got {windows!r}, "
                         f"{int(min_history.min())}")
    if common is not None:
        x = x - np.asarray(common, dtype=float)
    xs = x if scale is None else x / np.asarray(scale, dtype=float)
    ok = ~np.isnan(xs)
    zero = np.zeros((S, 1))
    csum = np.concatenate([zero, np.cumsum(np.where(ok, xs, 0.0), axis=1)], axis=1)
    vsum = np.concatenate([zero, np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
    rsum = np.concatenate([zero, np.cumsum(np.where(ok, raw, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([zero, np.cumsum(ok, axis=1)], axis=1)
    best = {k: np.full((S, T), np.nan) for k in ("p", "z", "recent", "history", "window")}
    c = np.arange(T)
    for m in windows:
        s0 = np.clip(c - m + 1, 0, None)
        n_recent = ccnt[:, c + 1] - ccnt[:, s0]
        n_hist = ccnt[:, s0]
        good = ((c - m + 1) >= 0)[None, :] & (n_recent == m) & (n_hist >= min_history) & ok & (sd > 0)
        with np.errstate(all="ignore"):
            recent = (csum[:, c + 1] - csum[:, s0]) / n_recent
            hist = csum[:, s0] / n_hist
            z = np.where(good, d * (recent - hist) / (sd * np.sqrt(1 / m + 1 / n_hist)), np.nan)
            raw_recent = (rsum[:, c + 1] - rsum[:, s0]) / n_recent
            gap = (vsum[:, c + 1] - vsum[:, s0]) / n_recent - vsum[:, s0] / n_hist  # in the values' units
        p = norm.cdf(z)
        better = ~np.isnan(p) & (np.isnan(best["p"]) | (p < best["p"]))
        for k, v in (("p", p), ("z", z), ("recent", raw_recent), ("history", raw_recent - gap),
                     ("window", np.full((S, T), float(m)))):
            best[k] = np.where(better, v, best[k])
    return best


def count_drop_test(counts, *, windows=(1, 2), baseline: int = 12, min_expected: float = 5.0,
                    dispersion=None) -> dict:
    """One-sided quasi-Poisson test of a drop in the latest ``m`` periods' counts against a station's own baseline.

    For every series and period t and every window m, R = the sum of the m counts t-m+1 .. t and mu = the mean of
    the ``baseline`` counts before them (all observed). Under no change, R has mean m mu and variance phi m mu, and
    the baseline mean has variance phi mu / baseline, so

        z = (R - m mu) / sqrt(phi (m mu + m^2 mu / baseline))

    and the lower-tail p = Φ(z) (normal approximation: with ``min_expected`` or more expected counts in the window;
    the Poisson lower tail is lighter than the normal's, so the test errs on the safe side). phi is the dispersion:
    by default the median over the series of their Pearson dispersion in the same baseline months (its median bias
    removed), raised to a series' own where even the 99% lower bound of its own is larger, never below 1 (a
    Poisson series). The smallest p over the windows is reported, with the ratio R / (m mu).

    Parameters
    ----------
    counts : (S, T) counts (NaN = not observed).
    windows : window lengths (periods) tried.
    baseline : periods before the window whose mean is the expected level.
    min_expected : fewest expected counts in the window for a test (else NaN).
    dispersion : (S,) phi per series (default: estimated from the baselines as above).

    Returns
    -------
    dict of (S, T) arrays ``p``, ``z``, ``observed`` (R / m, per period), ``expected`` (mu), ``ratio`` and
    ``window``.

    Examples
    --------
    >>> x = np.array([[50, 47, 55, 52, 49, 51, 48, 53, 50, 46, 54, 50, 17.0]])
    >>> r = count_drop_test(x, windows=(1,), baseline=12)
    >>> round(float(r["z"][0, -1]), 1), round(float(r["ratio"][0, -1]), 2)
    (-4.5, 0.34)
    """
    x = np.asarray(counts, dtype=float)
    if x.ndim != 2:
        raise InputError(f"counts: expected a 2-D array (series x periods), got shape {x.shape}")
    if not windows or any(int(m) < 1 for m in windows) or baseline < 2:
        raise InputError(f"windows: expected positive lengths and baseline >= 2, got {windows!r}, {baseline}")
    if np.nanmin(x, initial=0.0) < 0:
        raise InputError("counts: negative counts")
    S, T = x.shape
    ok = ~np.isnan(x)
    zero = np.zeros((S, 1))
    csum = np.concatenate([zero, np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
    csq = np.concatenate([zero, np.cumsum(np.where(ok, x * x, 0.0), axis=1)], axis=1)
    ccnt = np.concatenate([zero, np.cumsum(ok, axis=1)], axis=1)
    best = {k: np.full((S, T), np.nan) for k in ("p", "z", "observed", "expected", "ratio", "window")}
    c = np.arange(T)
    for m in windows:
        s0 = c - m + 1  # first period of the window
        b0 = s0 - baseline
        valid = b0 >= 0
        s0c, b0c = np.clip(s0, 0, None), np.clip(b0, 0, None)
        n_win = ccnt[:, c + 1] - ccnt[:, s0c]
        n_base = ccnt[:, s0c] - ccnt[:, b0c]
        good = valid[None, :] & (n_win == m) & (n_base == baseline)
        with np.errstate(all="ignore"):
            R = csum[:, c + 1] - csum[:, s0c]
            mu = (csum[:, s0c] - csum[:, b0c]) / baseline
            if dispersion is None:
                # Pearson dispersion of each baseline; pooled: the median over the series (bias of the median of
                # chi2_(b-1) / (b-1) removed); a series' own counts only where even its 99% lower bound is larger
                # (an own estimate from 12 months is too noisy to use as it is: the test would be liberal)
                own = (csq[:, s0c] - csq[:, b0c] - baseline * mu ** 2) / (baseline - 1) / mu
                own = np.where(good & (mu > 0), own, np.nan)
                df = baseline - 1
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # periods with no testable series
                    pooled = np.nanmedian(own, axis=0, keepdims=True) * df / chi2.ppf(0.5, df)
                lower = own * df / chi2.ppf(0.99, df)
                phi = np.fmax(np.fmax(np.nan_to_num(pooled, nan=1.0), np.nan_to_num(lower, nan=0.0)), 1.0)
            else:
                phi = np.broadcast_to(np.asarray(dispersion, dtype=float)[:, None], (S, T))
            good &= (m * mu >= min_expected)
            z = np.where(good, (R - m * mu) / np.sqrt(phi * (m * mu + m * m * mu / baseline)), np.nan)
        p = norm.cdf(z)
        better = ~np.isnan(p) & (np.isnan(best["p"]) | (p < best["p"]))
        with np.errstate(all="ignore"):
            vals = (("p", p), ("z", z), ("observed", R / m), ("expected", mu), ("ratio", R / (m * mu)),
                    ("window", np.full((S, T), float(m))))
        for k, v in vals:
            best[k] = np.where(better, v, best[k])
    return best


def noise_sd(values, groups=None) -> dict:
    """Noise SD of every series for the step test: pooled over a group (the units of one indicator) and the
    series' own, both from successive differences (von Neumann: E[(x_t - x_t-1)^2] = 2 sigma^2 under no change).

    - ``pooled``: the median over the group's series of their mean squared difference / 2, divided by the median
      of chi2_k / k (k = the group's median number of differences) so that it estimates sigma^2 without the
      median's downward bias. A step or an outlier inflates one series' estimate, not the group's median. (The MAD
      of 7 differences, the change-point stage's robust SD, is too unstable for a test at p ~ 1e-5: it is 0.2
      noise SDs in a few series in a hundred.)
    - ``own``: the series' mean squared difference / 2 without its two largest differences (a step makes one, a
      one-period shock two), a floor that keeps
      a noisier series (a small unit) from borrowing the steadier noise of its group; it is biased low, so it
      raises sigma only where the series is clearly noisier.

    Parameters
    ----------
    values : (S, T) series (NaN = missing; differences across a gap are skipped).
    groups : (S,) group labels (default: one group).

    Returns
    -------
    dict of (S,) arrays ``pooled``, ``own``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(0, 2.0, size=(200, 8))
    >>> r = noise_sd(x)
    >>> bool(abs(r["pooled"][0] - 2.0) < 0.2), bool(np.median(r["own"]) < 2.0)
    (True, True)
    """
    x = np.asarray(values, dtype=float)
    d2 = np.diff(x, axis=1) ** 2
    ok = ~np.isnan(d2)
    k = ok.sum(axis=1)
    with np.errstate(all="ignore"):
        v = np.where(k > 0, np.nansum(d2, axis=1) / k / 2, np.nan)
        # without the two largest differences (a step makes one, a one-period shock two)
        srt = np.sort(np.where(ok, d2, -np.inf), axis=1)[:, ::-1]
        top = np.where(np.isfinite(srt[:, :2]), srt[:, :2], 0.0).sum(axis=1) if d2.shape[1] >= 2 else 0.0
        own = np.sqrt(np.where(k > 2, (np.nansum(d2, axis=1) - top) / np.maximum(k - 2, 1) / 2, v))
    g = pd.Series(np.zeros(len(x)) if groups is None else np.asarray(groups))
    frame = pd.DataFrame({"g": g.to_numpy(), "v": v, "k": np.where(k > 0, k, np.nan)})
    med_v = frame.groupby("g")["v"].transform("median").to_numpy()
    med_k = np.maximum(np.round(frame.groupby("g")["k"].transform("median").to_numpy()), 1)
    with np.errstate(all="ignore"):
        pooled = np.sqrt(med_v * med_k / chi2.ppf(0.5, med_k))
    return {"pooled": pooled, "own": own}


def noise_homogeneity(values, groups=None) -> np.ndarray:
    """Do the series of a group share one noise SD? The Brown–Forsythe test (Levene's test about the median,
    Brown & Forsythe 1974) across the group's series of their absolute successive differences, each series
    without its two largest (a planted step makes one, a one-period shock two: the test is about the noise, not
    the events). A large p: no evidence that the units' noise differs, so the pooled SD is the better estimate of
    every unit's (a short series' own estimate only adds noise); a small p: some units are noisier than others
    (a rate over a small unit's few tickets), and a unit's own SD must be able to raise its sigma.

    Parameters
    ----------
    values : (S, T) series (NaN = missing), e.g. deseasonalised.
    groups : (S,) group labels (default: one group).

    Returns
    -------
    (S,) p-value of the series' group (NaN where the group has fewer than two series with two or more
    differences left, or no spread at all).

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> same = rng.normal(0, 1, size=(30, 12))
    >>> mixed = same * np.repeat([1.0, 3.0], 15)[:, None]
    >>> p = noise_homogeneity(np.vstack([same, mixed]), np.repeat(["same", "mixed"], 30))
    >>> bool(p[0] > 0.05), bool(p[-1] < 1e-6)
    (True, True)
    """
    x = np.asarray(values, dtype=float)
    d = np.abs(np.diff(x, axis=1))
    ok = ~np.isnan(d)
    # each series without its two largest differences (sorted; the missing ones sort first as -inf)
    srt = np.sort(np.where(ok, d, -np.inf), axis=1)
    k = ok.sum(axis=1)
    pos = np.arange(d.shape[1])[None, :]
    first = d.shape[1] - k[:, None]  # first observed position after the sort
    keep = (pos >= first) & (pos < d.shape[1] - 2) & (k[:, None] >= 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(np.where(keep, srt, np.nan), axis=1)
    r, c = np.nonzero(keep)
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    cells = pd.DataFrame({"g": g[r], "s": r, "z": np.abs(srt[r, c] - med[r])})
    per = cells.groupby(["g", "s"], sort=False)["z"].agg(["mean", "size"]).reset_index()
    cells = cells.merge(per[["s", "mean"]], on="s", how="left")
    cells["sq"] = (cells["z"] - cells["mean"]) ** 2
    within = cells.groupby("g", sort=False)["sq"].sum()
    per["tot"] = per["mean"] * per["size"]
    grp = per.groupby("g", sort=False).agg(J=("s", "size"), N=("size", "sum"), tot=("tot", "sum"))
    per = per.join((grp["tot"] / grp["N"]).rename("grand"), on="g")
    between = (per["size"] * (per["mean"] - per["grand"]) ** 2).groupby(per["g"], sort=False).sum()
    J, N = grp["J"], grp["N"]
    with np.errstate(all="ignore"):
        F = (between / (J - 1)) / (within / (N - J))
        p = pd.Series(f_dist.sf(F, J - 1, N - J), index=grp.index).where((J >= 2) & (N > J) & (within > 0))
    return pd.Series(g).map(p).to_numpy(dtype=float)


def season_scale(values, seasons, groups=None) -> np.ndarray:
    """Noise scale of every value of deseasonalised sub-annual series, by season: the root of the median over the
    group's series of their median squared value in that season / the median of chi2_1 (robust to an outlying
    year). Counts (meetings a quarter) vary more in their busy season; one scale for all seasons
    turns every busy-season wobble into a signal.

    Parameters
    ----------
    values : (S, T) deseasonalised values (each series' season median removed).
    seasons : (S, T) season labels.
    groups : (S,) group labels (default: one group).

    Returns
    -------
    (S, T) array (NaN where the value is missing).

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(0, 1, size=(100, 16)) * np.tile([1.0, 4.0], 8)
    >>> s = season_scale(x, np.tile(np.array(["Q1", "Q2"]), (100, 8)))
    >>> [round(float(v), 0) for v in s[0, :2]]
    [1.0, 4.0]
    """
    x = np.asarray(values, dtype=float)
    seas = np.asarray(seasons)
    r, c = np.nonzero(~np.isnan(x))
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    flat = pd.DataFrame({"r": r, "g": g[r], "s": seas[r, c], "v2": x[r, c] ** 2})
    # per series and season the median squared value / the median of chi2_1 (one outlying year, e.g. the alarm
    # itself, does not move it), then the median over the group's series
    per = flat.groupby(["g", "s", "r"], sort=False)["v2"].median().rename("m").reset_index()
    pooled = per.groupby(["g", "s"], sort=False)["m"].median().reset_index()
    pooled["scale"] = np.sqrt(pooled["m"].to_numpy() / chi2.ppf(0.5, 1))
    flat = flat.merge(pooled[["g", "s", "scale"]], on=["g", "s"], how="left")
    out = np.full(x.shape, np.nan)
    out[r, c] = flat["scale"].to_numpy()
    return out
