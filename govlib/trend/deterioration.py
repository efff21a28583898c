"""Deterioration against a unit's own history: a one-sided step test of the latest periods, for many series.

For every series and period t, and every window length m (``windows``), the mean of the latest m values (t-m+1 ..
t, all observed) is compared with the mean of all earlier values (the in-control history, at least
``min_history`` of them):

    z = d (mean_recent - mean_history) / (sigma sqrt(1/m + 1/n_history))

with d the indicator's direction (negative z = worse) and sigma the noise SD (known: pooled over the units of the
indicator, so z is normal under no change). The one-sided p = Φ(z); the smallest p over the windows is reported.
With ``k`` = len(windows) x periods per year tests per series-year, firing at p < far / k keeps the false-alarm
rate per series-year at most ``far`` (Bonferroni; ``tests/test_alerts_rules.py`` checks it by simulation).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ..errors import InputError

__all__ = ["step_test"]


def step_test(values, direction, sigma, *, windows=(1, 2), min_history: int = 3, raw=None) -> dict:
    """One-sided step test of the latest ``m`` periods against all earlier ones (vectorised, cumulative sums).

    Parameters
    ----------
    values : (S, T) series (NaN = missing), e.g. deseasonalised.
    direction : (S,) 1 higher is better, -1 lower is better.
    sigma : (S,) noise SD of each series.
    windows, min_history : window lengths tried; fewest earlier values for a test.
    raw : (S, T) values in the indicator's own scale (default ``values``): the evidence ``recent`` is the raw
        recent mean and ``history`` = recent - (recent - history in ``values``), i.e. the history's level in the
        season of the recent window.

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
    if not windows or any(int(m) < 1 for m in windows) or min_history < 1:
        raise InputError(f"windows: expected positive lengths and min_history >= 1, got {windows!r}, {min_history}")
    S, T = x.shape
    ok = ~np.isnan(x)
    zero = np.zeros((S, 1))
    csum = np.concatenate([zero, np.cumsum(np.where(ok, x, 0.0), axis=1)], axis=1)
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
        p = norm.cdf(z)
        better = ~np.isnan(p) & (np.isnan(best["p"]) | (p < best["p"]))
        for k, v in (("p", p), ("z", z), ("recent", raw_recent), ("history", raw_recent - (recent - hist)),
                     ("window", np.full((S, T), float(m)))):
            best[k] = np.where(better, v, best[k])
    return best
