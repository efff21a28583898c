"""Multiple change points in the mean, for many short series at once (exact optimal partitioning).

The cost of a segment is its sum of squared deviations from the segment mean (the ``l2`` cost of ruptures and
of R ``changepoint`` with a normal mean model). The segmentation minimises total cost + ``penalty`` x number of
segments, exactly, by dynamic programming (optimal partitioning, Jackson et al. 2005) — the same optimum that
PELT finds (Killick et al. 2012), which only prunes. The recursion loops over time and is vectorised across all
series, so thousands of short series cost a few milliseconds. Every position is admissible (ruptures' ``jump=1``);
``min_size`` is explicit. NaN values are dropped from their row first (checked: ruptures would silently give
wrong breaks).

Penalty ``"bic"`` (default): ``2 log(n) sigma^2`` per change, sigma estimated robustly from first differences
(``1.4826 MAD(diff) / sqrt 2``), i.e. the BIC for a normal mean change with two parameters per change. A number
is used as given (in squared value units).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InputError
from .mannkendall import prepare_panel_values

__all__ = ["change_points", "robust_sigma"]


def _nanmedian_rows(a: np.ndarray) -> np.ndarray:
    """``np.nanmedian(a, axis=1)`` from one sort of the rows (NaN sort last): the middle value, or the mean of the
    two middle values, of each row's values; the same numbers without numpy's masked-array path for short rows."""
    if a.shape[1] == 0:
        return np.full(a.shape[0], np.nan)
    s = np.sort(a, axis=1)
    n = (~np.isnan(a)).sum(axis=1)
    rows = np.arange(a.shape[0])
    low = s[rows, np.clip((n - 1) // 2, 0, None)]
    high = s[rows, np.clip(n // 2, 0, max(a.shape[1] - 1, 0))]
    return np.where(n > 0, (low + high) / 2, np.nan)


def robust_sigma(values) -> np.ndarray:
    """Noise SD per row from first differences: 1.4826 * MAD(diff) / sqrt(2) (robust to mean shifts).

    Where the MAD is 0 (e.g. a step series without noise: most differences are exactly 0) the SD of the
    differences / sqrt(2) is used instead; a constant row gives 0.

    Examples
    --------
    >>> robust_sigma([[0.0, 1.0, 0.0, 5.0, 4.0, 6.0, 5.0]]).round(4).tolist()  # the step adds one outlying diff
    [1.0484]
    """
    x, _, n = prepare_panel_values(values)
    d = np.diff(x, axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with < 2 values: NaN, handled below
        med = _nanmedian_rows(d)[:, None] if d.shape[1] else d
        mad = _nanmedian_rows(np.abs(d - med))
        sd = np.nanstd(d, axis=1, ddof=1) if d.shape[1] > 1 else np.full(len(d), np.nan)
    out = 1.4826 * mad / np.sqrt(2)
    return np.where(out > 0, out, np.nan_to_num(sd / np.sqrt(2)))


def change_points(values, *, penalty="bic", min_size: int = 2, max_changes: int | None = None,
                  bic_factor: float = 2.0, times=None) -> pd.DataFrame:
    """Change points in the mean of every row (exact optimal partitioning with an l2 cost).

    Parameters
    ----------
    values : array (series x time); NaN values are dropped from their row.
    penalty : ``"bic"`` (``bic_factor log(n) sigma^2``, sigma from :func:`robust_sigma`) or a number, or an
        array of one number per row, in squared value units.
    bic_factor : multiple of ``log(n) sigma^2`` for ``penalty="bic"``; 2 is the BIC (two parameters per change).
        Larger values trade recall for fewer false changes in short series.
    min_size : minimum number of observations in a segment (>= 1).
    max_changes : keep at most this many (the largest by |mean shift|); None: no limit.

    Returns
    -------
    Long DataFrame, one row per change: ``series`` (row number), ``k`` (1-based position of the last observation
    before the change, as Pettitt's K), ``mean_before``, ``mean_after``, ``shift`` (after - before).

    Examples
    --------
    >>> x = [0.0, 0.1, -0.1, 0.0, 5.0, 5.1, 4.9, 5.0, 0.0, 0.1, -0.1, 0.05]
    >>> change_points(x, penalty=1.0)["k"].tolist()
    [4, 8]
    """
    if not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise InputError(f"min_size: expected an integer >= 1, got {min_size!r}")
    x, _, n = prepare_panel_values(values, times)
    m, length = x.shape
    if isinstance(penalty, str):
        if penalty != "bic":
            raise InputError(f"penalty: expected 'bic' or a number, got {penalty!r}")
        sig = robust_sigma(x)
        pen = float(bic_factor) * np.log(np.maximum(n, 2)) * sig ** 2
    else:
        pen = np.broadcast_to(np.asarray(penalty, dtype=float), (m,)).copy()
        if (pen < 0).any() or np.isnan(pen).any():
            raise InputError(f"penalty: expected non-negative numbers, got {penalty!r}")
    xf = np.nan_to_num(x, nan=0.0)
    c1 = np.concatenate([np.zeros((m, 1)), np.cumsum(xf, axis=1)], axis=1)
    c2 = np.concatenate([np.zeros((m, 1)), np.cumsum(xf ** 2, axis=1)], axis=1)
    # Rows longest first: at time t only the rows with at least t values need the recursion (a panel of 32-point
    # quarterly series padded to the 96 months of a few monthly ones would otherwise pay 96 steps for every row).
    by_len = np.argsort(-n, kind="stable")
    c1s, c2s, pens = c1[by_len], c2[by_len], pen[by_len]
    active = np.searchsorted(-n[by_len], -np.arange(length + 1), side="right")  # rows with n >= t
    best = np.full((m, length + 1), np.inf)
    best[:, 0] = -pens
    last_s = np.zeros((m, length + 1), dtype=int)
    for t in range(min_size, length + 1):  # loop over time, vectorised over series
        a = int(active[t])
        if a == 0:
            break
        # candidate segment starts s: 0 and min_size .. t - min_size (a slice: views, no gathered copies);
        # np.argmin's first-minimum rule over [0, slice] is kept by preferring 0 on a tie
        total0 = (best[:a, 0] + ((c2s[:a, t] - c2s[:a, 0]) - (c1s[:a, t] - c1s[:a, 0]) ** 2 / float(t))) + pens[:a]
        hi = t - min_size + 1
        if hi > min_size:
            seg_len = (t - np.arange(min_size, hi)).astype(float)
            seg_cost = (c2s[:a, t:t + 1] - c2s[:a, min_size:hi]) - (c1s[:a, t:t + 1] - c1s[:a, min_size:hi]) ** 2 \
                / seg_len
            total = best[:a, min_size:hi] + seg_cost + pens[:a, None]
            j = np.argmin(total, axis=1)
            tmin = total[np.arange(a), j]
            take0 = total0 <= tmin
            best[:a, t] = np.where(take0, total0, tmin)
            last_s[:a, t] = np.where(take0, 0, min_size + j)
        else:
            best[:a, t] = total0
            last_s[:a, t] = 0
    last = np.empty_like(last_s)
    last[by_len] = last_s
    rows, ks = [], []
    for r in np.nonzero(n >= 2 * min_size)[0]:  # backtracking: a few steps per series
        t = int(n[r])
        while t > 0:
            s = int(last[r, t])
            if s > 0:
                rows.append(r)
                ks.append(s)
            t = s
    out = pd.DataFrame({"series": np.asarray(rows, dtype=int), "k": np.asarray(ks, dtype=int)})
    if len(out):
        out = out.sort_values(["series", "k"]).reset_index(drop=True)
        prev = out.groupby("series")["k"].shift(1, fill_value=0).to_numpy()
        nxt = out.groupby("series")["k"].shift(-1).fillna(-1).to_numpy().astype(int)
        nxt = np.where(nxt < 0, n[out["series"]], nxt)
        r = out["series"].to_numpy()
        k = out["k"].to_numpy()
        out["mean_before"] = (c1[r, k] - c1[r, prev]) / (k - prev)
        out["mean_after"] = (c1[r, nxt] - c1[r, k]) / (nxt - k)
        out["shift"] = out["mean_after"] - out["mean_before"]
        if max_changes is not None:
            out["_abs"] = out["shift"].abs()
            out = (out.sort_values(["series", "_abs"], ascending=[True, False]).groupby("series").head(max_changes)
                   .drop(columns="_abs").sort_values(["series", "k"]).reset_index(drop=True))
    else:
        out = out.assign(mean_before=np.array([], float), mean_after=np.array([], float),
                         shift=np.array([], float))
    return out
