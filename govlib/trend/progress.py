"""Progress to target (the Eurostat / Open SDG rule) and direction-aware trend status.

With a target (Eurostat, *SDG indicators in the EU*, "assessment of progress towards quantitative targets"):

    actual CAGR   = (x_t / x_0) ** (1 / (t - t_0)) - 1
    required CAGR = (target / x_0) ** (1 / (T - t_0)) - 1
    ratio         = actual CAGR / required CAGR

``ratio >= 0.95`` "on track"; ``0.6 <= ratio < 0.95`` "moderate progress"; ``0 <= ratio < 0.6`` "insufficient
progress"; ``ratio < 0`` "moving away". The rule works for both directions: for a lower-is-better indicator the
target lies below x_0, both CAGRs are negative when things improve, and the ratio is positive. A value already at
or beyond the target is "target met". CAGRs need positive values: otherwise "not assessable".

Without a target: "significant improvement" / "significant deterioration" / "no significant change" from the
trend test (its sign turned by the framework direction: direction -1 means lower is better; direction 0, a
context indicator, is "context").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cagr", "progress_to_target", "trend_status", "PROGRESS_THRESHOLDS"]

#: ratio of actual to required CAGR: lower bounds of the categories (Eurostat / Open SDG)
PROGRESS_THRESHOLDS = {"on track": 0.95, "moderate progress": 0.6, "insufficient progress": 0.0}


def cagr(start, end, years) -> np.ndarray:
    """Compound annual growth rate ``(end/start) ** (1/years) - 1``; NaN where undefined (non-positive values,
    years <= 0).

    Examples
    --------
    >>> cagr(100.0, 121.0, 2).round(6).tolist()
    0.1
    """
    start, end, years = (np.asarray(a, dtype=float) for a in (start, end, years))
    with np.errstate(all="ignore"):
        out = (end / start) ** (1.0 / years) - 1.0
    return np.where((start > 0) & (end > 0) & (years > 0), out, np.nan)


def progress_to_target(base_value, base_time, current_value, current_time, target, target_time,
                       direction=1) -> pd.DataFrame:
    """Eurostat progress category for each row (arrays broadcast).

    Parameters
    ----------
    base_value, base_time : value in the base period and its time (decimal years).
    current_value, current_time : latest value and its time.
    target, target_time : target value and the time it should be reached.
    direction : 1 higher is better, -1 lower is better (decides "target met").

    Returns
    -------
    DataFrame ``actual_cagr, required_cagr, ratio, status``.

    Examples
    --------
    >>> r = progress_to_target(50.0, 2018, 60.0, 2023, 80.0, 2030)
    >>> r["status"].tolist(), round(float(r["ratio"].iloc[0]), 3)
    (['moderate progress'], 0.93)
    >>> progress_to_target(20.0, 2018, 18.0, 2023, 10.0, 2030, direction=-1)["status"].tolist()  # lower is better
    ['insufficient progress']
    """
    b, bt, c, ct, tg, tt, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (
        base_value, base_time, current_value, current_time, target, target_time, direction)))
    actual = cagr(b, c, ct - bt)
    required = cagr(b, tg, tt - bt)
    with np.errstate(all="ignore"):
        ratio = actual / required
    status = np.select([ratio >= 0.95, ratio >= 0.6, ratio >= 0.0, ratio < 0.0],
                       ["on track", "moderate progress", "insufficient progress", "moving away"],
                       "not assessable").astype(object)
    met = np.where(d < 0, c <= tg, c >= tg) & ~np.isnan(c) & ~np.isnan(tg)
    status[met] = "target met"
    # a required CAGR of 0 (base already at target) or an undefined CAGR: not assessable unless met
    status[~met & ~np.isfinite(ratio)] = "not assessable"
    return pd.DataFrame({"actual_cagr": actual.ravel(), "required_cagr": required.ravel(),
                         "ratio": np.where(np.isfinite(ratio), ratio, np.nan).ravel(), "status": status.ravel()})


def trend_status(z, q, direction, *, fdr: float = 0.05) -> np.ndarray:
    """Direction-aware status from a trend test: significant improvement / deterioration / no significant change.

    ``q`` is the BH-adjusted p (or p); significant when ``q < fdr``. Direction 0 gives "context"; a missing test
    gives "no test".

    Examples
    --------
    >>> trend_status([-3.0, -3.0, 0.5, np.nan], [0.001, 0.001, 0.6, np.nan], [1, -1, 1, 1]).tolist()
    ['significant deterioration', 'significant improvement', 'no significant change', 'no test']
    """
    z, q, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (z, q, direction)))
    good = np.sign(z) * np.where(d < 0, -1, 1)
    sig = q < fdr
    out = np.where(sig & (good > 0), "significant improvement",
                   np.where(sig & (good < 0), "significant deterioration", "no significant change")).astype(object)
    out[np.isnan(q) | np.isnan(z)] = "no test"
    out[d == 0] = "context"
    return out
