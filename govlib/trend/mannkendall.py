"""Trend tests for many short series at once: Mann–Kendall family, Sen's slope, Pettitt, BH-FDR.

Every function takes a 2-D array ``values`` of shape ``(series, time)`` (one row per series; a 1-D array is one
series) and returns a tidy DataFrame with one row per series. Rows may have different lengths: pad with NaN.
NaN values are dropped from their row (the row is compressed to its observed values, in order), so a gap is
simply an uneven time step; ``times`` (same shape, e.g. :func:`govlib.periods.decimal_time`) carries the spacing,
and slopes are per unit of ``times`` (per year with decimal years).

Vectorisation: the pairwise sign differences over the (series, i, j) triangle are computed for a chunk of rows
at a time (``chunk_elements`` bounds memory); ties are counted per row from sorted runs.

Conventions (named, tested; see ``tests/test_trend*.py``):

- Mann–Kendall S = sum_{i<j} sign(x_j - x_i); var(S) tie-corrected,
  ``(n(n-1)(2n+5) - sum t(t-1)(2t+5)) / 18``; z continuity-corrected ``(S -/+ 1)/sqrt(var)``; two-sided p from the
  normal distribution (as R ``trend::mk.test`` and ``pymannkendall.original_test``). For ``n <= exact_max_n`` with no
  ties the exact two-sided p of Kendall's S is used instead (``p_method`` says which). ``n < min_n`` (default 4):
  no test, ``test = "too_short"``.
- ``tau_b`` = S / sqrt((n0 - n1) n0) (tie-corrected in the values; the times are distinct), the ``tau`` of R
  ``trend::mk.test``; ``tau_a`` = S / n0 (what ``pymannkendall`` calls Tau), n0 = n(n-1)/2.
- Sen's slope = median of (x_j - x_i)/(t_j - t_i) over pairs with t_j > t_i; the confidence interval is Sen's
  (1968) rank interval with the tie-corrected var(S), as R ``trend::sens.slope`` and ``scipy.stats.theilslopes``.
- Pettitt: U_t = 2 sum_{i<=t} r_i - t(n+1) with mid-ranks r; U* = max |U_t|; K = first t where |U_t| = U*
  (the last observation before the shift); p = min(1, 2 exp(-6 U*^2 / (n^3 + n^2))) (as R ``trend::pettitt.test``).
- A constant series: S = 0, var(S) = 0, z = 0, p = 1, tau_b = NaN, trend "no trend" (documented, tested).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..errors import InputError
from ..periods import decimal_time, frequency_of

__all__ = [
    "SeriesPanel", "make_panel", "mann_kendall", "mann_kendall_sen", "hamed_rao", "sens_slope", "pettitt",
    "seasonal_mann_kendall",
    "seasonal_sens_slope", "benjamini_hochberg", "trend_table", "TREND_COLUMNS",
]

#: The columns of :func:`trend_table` (and of ``govlib trend``), after the ``by`` columns.
TREND_COLUMNS = ["n", "s", "var_s", "z", "p", "tau_b", "sen_slope", "sen_low", "sen_high", "pettitt_u",
                 "pettitt_p", "change_point", "trend"]

_CHUNK_ELEMENTS = 4_000_000  # pairwise work arrays hold at most this many float64 (~32 MB)


# --------------------------------------------------------------------------------------------------- helpers
def _as_2d(values, name: str = "values") -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            bad = [v for v in np.ravel(arr) if not _is_number(v)][:5]
            raise InputError(f"{name}: expected numbers, got non-numeric values {bad}") from None
    arr = np.array(arr, dtype=float)  # copy: NaN payloads normalised below
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 1-D or 2-D array (series x time), got shape {arr.shape}")
    arr[np.isnan(arr)] = np.nan  # R's NA is a signalling NaN: normalise the payload
    return arr


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _left_justify(values: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Move each row's non-NaN values to the front (order kept); other arrays follow the same permutation."""
    missing = np.isnan(values)
    if not missing.any():
        return (values, *others)
    order = np.argsort(missing, axis=1, kind="stable")
    out = [np.take_along_axis(values, order, axis=1)]
    for other in others:
        moved = np.take_along_axis(other, order, axis=1)
        if moved.dtype.kind == "f":
            moved[np.take_along_axis(missing, order, axis=1)] = np.nan
        out.append(moved)
    return tuple(out)


def prepare_panel_values(values, times=None):
    x = _as_2d(values)
    if times is None:
        t = np.broadcast_to(np.arange(x.shape[1], dtype=float), x.shape).copy()
    else:
        t = _as_2d(times, "times")
        if t.shape != x.shape:
            if t.shape[0] == 1 and t.shape[1] == x.shape[1]:
                t = np.broadcast_to(t, x.shape).copy()
            else:
                raise InputError(f"times: shape {t.shape} does not match values {x.shape}")
        x = np.where(np.isnan(t), np.nan, x)
    x, t = _left_justify(x, t)
    n = (~np.isnan(x)).sum(axis=1)
    return x, t, n


def _chunks(m: int, width: int, chunk_elements: int):
    step = max(1, int(chunk_elements // max(width, 1)))
    for start in range(0, m, step):
        yield slice(start, min(m, start + step))


def _tie_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: sum t(t-1)(2t+5) and sum t(t-1)/2 over runs of equal values (NaN never tie)."""
    m, length = x.shape
    if length == 0:
        return np.zeros(m), np.zeros(m)
    srt = np.sort(x, axis=1)
    start = np.ones((m, length), dtype=bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(start.ravel()) - 1
    run_len = np.bincount(run_id).astype(float)
    run_row = np.repeat(np.arange(m), start.sum(axis=1))
    var_term = np.bincount(run_row, weights=run_len * (run_len - 1) * (2 * run_len + 5), minlength=m)
    pair_term = np.bincount(run_row, weights=run_len * (run_len - 1) / 2, minlength=m)
    return var_term, pair_term


def _mid_ranks(x: np.ndarray) -> np.ndarray:
    """Mid-ranks (1-based, ties averaged) within each row; NaN stays NaN."""
    m, length = x.shape
    order = np.argsort(x, axis=1, kind="stable")
    srt = np.take_along_axis(x, order, axis=1)
    start = np.ones((m, length), dtype=bool)
    start[:, 1:] = srt[:, 1:] != srt[:, :-1]
    if length == 0:
        return x.copy()
    flat_start = start.ravel()
    run_id = np.cumsum(flat_start) - 1
    starts = np.flatnonzero(flat_start)  # runs never cross rows: every row starts a run
    run_len = np.diff(np.append(starts, flat_start.size))
    mid = (starts % length) + (run_len - 1) / 2 + 1
    rank_sorted = mid[run_id].reshape(m, length)
    ranks = np.empty_like(rank_sorted)
    np.put_along_axis(ranks, order, rank_sorted, axis=1)
    ranks[np.isnan(x)] = np.nan
    return ranks


def _s_statistic(x: np.ndarray, chunk_elements: int = _CHUNK_ELEMENTS) -> np.ndarray:
    """S per row: the (i, j) triangle walked by lag k = j - i, each lag one vectorised slice over all rows
    (slices, unlike a gather of all pairs, copy nothing); comparisons with NaN are False, so gaps add nothing."""
    m, length = x.shape
    s = np.zeros(m)
    for sl in _chunks(m, length, chunk_elements):
        block = x[sl]
        acc = np.zeros(block.shape[0], dtype=np.int64)
        for k in range(1, length):
            d = block[:, k:] - block[:, :-k]
            acc += np.count_nonzero(d > 0, axis=1) - np.count_nonzero(d < 0, axis=1)
        s[sl] = acc
    return s


def _pairwise_slopes(xb: np.ndarray, tb: np.ndarray, times_increasing: bool = False) -> np.ndarray:
    """All pairwise slopes (x_j - x_i)/(t_j - t_i), i < j, of a chunk of rows; NaN where t_j <= t_i or missing.

    ``times_increasing``: the caller guarantees t_j > t_i for every observed pair (left-justified rows with
    strictly increasing times), so the mask is skipped (missing values give NaN by themselves)."""
    m, length = xb.shape
    out = np.empty((m, length * (length - 1) // 2))
    # one shared time grid (the usual case): the time differences are one row, broadcast
    shared = m > 0 and bool((tb == tb[:1]).all())
    grid = tb[:1] if shared else tb
    col = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(1, length):  # lag by lag: contiguous slices, no gather, written in place
            width = length - k
            dt = grid[:, k:] - grid[:, :-k]
            block = out[:, col:col + width]
            np.subtract(xb[:, k:], xb[:, :-k], out=block)
            np.divide(block, dt, out=block)
            if not times_increasing:
                block[np.broadcast_to(~(dt > 0), block.shape)] = np.nan
            col += width
    return out


def _order_statistics(values: np.ndarray, positions: list[np.ndarray]) -> list[np.ndarray]:
    """Per-row order statistics (0-based positions per row; NaN sorts last). Sorts ``values`` in place: a full
    in-place sort measured faster than ``np.partition`` with several kth (which also copies)."""
    rows = np.arange(values.shape[0])
    if values.shape[1] == 0:
        return [np.full(values.shape[0], np.nan) for _ in positions]
    values.sort(axis=1)
    return [values[rows, np.clip(p, 0, values.shape[1] - 1)] for p in positions]


@lru_cache(maxsize=None)
def _exact_s_tail(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact null distribution of Kendall's S for n distinct values: (S values, P(|S| >= s) for s >= 0)."""
    counts = np.array([1], dtype=object)  # Mahonian numbers: permutations by number of inversions
    for k in range(2, n + 1):
        new = np.zeros(len(counts) + k - 1, dtype=object)
        for shift in range(k):
            new[shift:shift + len(counts)] += counts
        counts = new
    n0 = n * (n - 1) // 2
    s_values = n0 - 2 * np.arange(len(counts))  # inversions -> S
    total = sum(counts)
    abs_s = np.abs(s_values)
    grid = np.arange(n0 + 1)
    tail = np.array([float(sum(c for c, a in zip(counts, abs_s) if a >= g) / total) for g in grid])
    return grid, tail


def _trend_word(z: np.ndarray, p: np.ndarray, alpha: float) -> np.ndarray:
    sig = p < alpha
    return np.where(sig & (z > 0), "increasing", np.where(sig & (z < 0), "decreasing", "no trend")).astype(object)


# --------------------------------------------------------------------------------------------- Mann–Kendall
def mann_kendall(values, *, alpha: float = 0.05, continuity: bool = True, min_n: int = 4, exact_max_n: int = 10,
                 chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Mann–Kendall trend test for every row of ``values`` (order = time order; NaN dropped).

    Parameters
    ----------
    values : array (series x time) or 1-D array.
    alpha : significance level for the ``trend`` word.
    continuity : apply the continuity correction (S -/+ 1) in z (R and pymannkendall do).
    min_n : rows with fewer observed values get no test (``test = "too_short"``, statistics NaN).
    exact_max_n : for ``min_n <= n <= exact_max_n`` and no ties, p is the exact two-sided p of S
        (``p_method = "exact"``); otherwise the normal approximation (``"normal"``). 0 disables.

    Returns
    -------
    DataFrame with ``n, s, var_s, z, p, p_method, tau_a, tau_b, trend, test``.

    Examples
    --------
    >>> r = mann_kendall([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 1, 2, 2, 5, 4, 4, 6, 7, 5, 8, 9]])
    >>> r[["n", "s", "trend"]].values.tolist()
    [[12, 66.0, 'increasing'], [12, 49.0, 'increasing']]
    """
    x, _, n = prepare_panel_values(values)
    return _mk_from_prepared(x, n, alpha=alpha, continuity=continuity, min_n=min_n, exact_max_n=exact_max_n,
                             chunk_elements=chunk_elements)


def _mk_from_prepared(x, n, *, alpha, continuity, min_n, exact_max_n, chunk_elements, s=None, ties=None):
    s = _s_statistic(x, chunk_elements) if s is None else s
    tie_var, tie_pairs = _tie_sums(x) if ties is None else ties
    nf = n.astype(float)
    var_s = (nf * (nf - 1) * (2 * nf + 5) - tie_var) / 18.0
    z = _z_from_s(s, var_s, continuity)
    p = 2.0 * norm.sf(np.abs(z))
    p_method = np.full(len(n), "normal", dtype=object)
    exact = (n >= min_n) & (n <= exact_max_n) & (tie_pairs == 0)
    for size in np.unique(n[exact]):
        rows = exact & (n == size)
        grid, tail = _exact_s_tail(int(size))
        p[rows] = tail[np.abs(s[rows]).astype(int)]
        p_method[rows] = "exact"
    n0 = nf * (nf - 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_a = s / n0
        tau_b = s / np.sqrt((n0 - tie_pairs) * n0)
    out = pd.DataFrame({"n": n.astype(int), "s": s, "var_s": var_s, "z": z, "p": p, "p_method": p_method,
                        "tau_a": tau_a, "tau_b": tau_b})
    out["trend"] = _trend_word(z, p, alpha)
    short = n < min_n
    out["test"] = np.where(short, "too_short", "ok")
    out.loc[short, ["s", "var_s", "z", "p", "tau_a", "tau_b"]] = np.nan
    out.loc[short, "p_method"] = "none"
    out.loc[short, "trend"] = "no test"
    return out


def _z_from_s(s, var_s, continuity: bool):
    corr = 1.0 if continuity else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(var_s)
        z = np.where(s > 0, (s - corr) / sd, np.where(s < 0, (s + corr) / sd, 0.0))
    return np.where(np.isnan(s), np.nan, z)


# ---------------------------------------------------------------------------------------------- Hamed–Rao
def hamed_rao(values, times=None, *, alpha: float = 0.05, acf_alpha: float = 0.05, min_n: int = 4,
              chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Mann–Kendall with the Hamed & Rao (1998) autocorrelation-corrected variance, for every row.

    As ``pymannkendall.hamed_rao_modification_test`` (lag = all lags): the series is detrended with Sen's slope,
    ranked, and var(S) is multiplied by ``1 + 2/(n(n-1)(n-2)) sum (n-k)(n-k-1)(n-k-2) rho_k`` over the lags k
    whose rank autocorrelation rho_k lies outside ``±z_{1-acf_alpha/2}/sqrt(n)``.

    **Guard (never negative):** with strong negative autocorrelation that factor can be <= 0, which would make
    var(S) zero or negative (pymannkendall then returns NaN or nonsense). Here such rows keep the uncorrected
    variance (factor 1) and say so in ``hr_guard = True``.

    Returns
    -------
    DataFrame ``n, s, var_s, z, p, trend, hr_factor, hr_guard``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = np.cumsum(rng.normal(size=(2, 30)), axis=1)  # random walks: strongly autocorrelated
    >>> r = hamed_rao(x)
    >>> bool((r["var_s"] > 0).all())
    True
    """
    x, t, n = prepare_panel_values(values, times)
    m, length = x.shape
    base = _mk_from_prepared(x, n, alpha=alpha, continuity=True, min_n=min_n, exact_max_n=0,
                             chunk_elements=chunk_elements)
    slope = _sen_core(x, t, n, base["var_s"].to_numpy(), 0.95, chunk_elements)[0]
    # time from 1 at the first observation (as pymannkendall's arange(1, n+1) for unit steps): the detrended
    # values, their float rounding and hence their rank ties are then the same as pymannkendall's
    detrended = x - slope[:, None] * (t - t[:, :1] + 1)
    ranks = _mid_ranks(detrended)
    centred = ranks - np.nanmean(np.where(np.isnan(ranks), np.nan, ranks), axis=1, keepdims=True) \
        if length else ranks
    centred = np.nan_to_num(centred, nan=0.0)
    nf = n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acov0 = (centred ** 2).sum(axis=1) / nf
        bound = norm.ppf(1 - acf_alpha / 2) / np.sqrt(nf)
        sni = np.zeros(m)
        for k in range(1, length):  # loop over lags, vectorised over series
            rho = (centred[:, :-k] * centred[:, k:]).sum(axis=1) / nf / acov0
            use = (k < n) & (np.abs(rho) > bound)
            sni += np.where(use, (nf - k) * (nf - k - 1) * (nf - k - 2) * rho, 0.0)
        factor = 1 + 2 / (nf * (nf - 1) * (nf - 2)) * sni
    guard = ~(factor > 0)
    factor = np.where(guard, 1.0, factor)
    var_s = base["var_s"].to_numpy() * factor
    z = _z_from_s(base["s"].to_numpy(), var_s, True)
    p = 2.0 * norm.sf(np.abs(z))
    out = pd.DataFrame({"n": n, "s": base["s"], "var_s": var_s, "z": z, "p": p})
    out["trend"] = _trend_word(z, p, alpha)
    out["hr_factor"] = factor
    out["hr_guard"] = guard & (n >= min_n)
    short = n < min_n
    out.loc[short, ["var_s", "z", "p", "hr_factor"]] = np.nan
    out.loc[short, "trend"] = "no test"
    return out


# -------------------------------------------------------------------------------------------- Sen's slope
def _times_increasing(x: np.ndarray, t: np.ndarray) -> bool:
    """True when every row's observed times are strictly increasing (rows left-justified)."""
    if x.shape[1] < 2:
        return True
    both = ~np.isnan(x[:, 1:]) & ~np.isnan(x[:, :-1])
    return bool((np.diff(t, axis=1)[both] > 0).all())


def _sen_core(x, t, n, var_s, conf_level, chunk_elements, want_s=False):
    m, length = x.shape
    n_pairs = length * (length - 1) // 2
    slope = np.full(m, np.nan)
    low = np.full(m, np.nan)
    high = np.full(m, np.nan)
    s_stat = np.zeros(m) if want_s else None
    if n_pairs == 0:
        return (slope, low, high, s_stat) if want_s else (slope, low, high)
    increasing = _times_increasing(x, t)
    if want_s and not increasing:
        s_stat = _s_statistic(x, chunk_elements)
    zc = norm.ppf(1 - (1 - conf_level) / 2)
    for sl in _chunks(m, n_pairs, chunk_elements):
        slopes = _pairwise_slopes(x[sl], t[sl], increasing)
        if want_s and increasing:  # with t_j > t_i, sign(slope) = sign(x_j - x_i): S from the same pairs
            s_stat[sl] = np.count_nonzero(slopes > 0, axis=1) - np.count_nonzero(slopes < 0, axis=1)
        nt = np.count_nonzero(~np.isnan(slopes), axis=1)
        ok = nt > 0
        c = zc * np.sqrt(np.maximum(var_s[sl], 0))
        # R trend::sens.slope: d[round(M1)], d[round(M2 + 1)] (1-based) with M1,2 = (N -/+ C)/2
        last = np.maximum(nt - 1, 0)
        i_low = np.clip(np.round((nt - c) / 2).astype(int) - 1, 0, last)
        i_high = np.clip(np.round((nt + c) / 2).astype(int), 0, last)
        mid_lo, mid_hi, lo, hi = _order_statistics(slopes, [np.clip((nt - 1) // 2, 0, None), nt // 2 * ok,
                                                            i_low, i_high])
        slope[sl] = np.where(ok, (mid_lo + mid_hi) / 2, np.nan)
        low[sl] = np.where(ok, lo, np.nan)
        high[sl] = np.where(ok, hi, np.nan)
    return (slope, low, high, s_stat) if want_s else (slope, low, high)


def mann_kendall_sen(values, times=None, *, alpha: float = 0.05, conf_level: float = 0.95, min_n: int = 4,
                     exact_max_n: int = 10, continuity: bool = True,
                     chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """:func:`mann_kendall` and :func:`sens_slope` in one pass over the pairs (same results, less work).

    The pairwise slopes of a chunk of rows are computed once; with increasing times their signs give S.

    Returns
    -------
    DataFrame: the columns of :func:`mann_kendall` plus ``sen_slope, sen_low, sen_high``.

    Examples
    --------
    >>> r = mann_kendall_sen([[1.0, 3.0, 2.0, 5.0, 4.0, 6.0]])
    >>> r[["s", "sen_slope"]].values.tolist()
    [[11.0, 1.0]]
    """
    x, t, n = prepare_panel_values(values, times)
    ties = _tie_sums(x)
    nf = n.astype(float)
    var_s = (nf * (nf - 1) * (2 * nf + 5) - ties[0]) / 18.0
    slope, low, high, s = _sen_core(x, t, n, var_s, conf_level, chunk_elements, want_s=True)
    out = _mk_from_prepared(x, n, alpha=alpha, continuity=continuity, min_n=min_n, exact_max_n=exact_max_n,
                            chunk_elements=chunk_elements, s=s, ties=ties)
    out["sen_slope"], out["sen_low"], out["sen_high"] = slope, low, high
    out.loc[n < 2, ["sen_slope", "sen_low", "sen_high"]] = np.nan
    return out


def sens_slope(values, times=None, *, conf_level: float = 0.95, min_n: int = 2,
               chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Sen's (Theil–Sen) slope and its confidence interval for every row, for uneven time.

    Slope = median of (x_j - x_i)/(t_j - t_i) over pairs with t_j > t_i (pairs with equal times are skipped, as
    in scipy). CI: Sen (1968) with C = z_{1-(1-conf)/2} sqrt(var S), var S tie-corrected; bounds are the sorted
    pairwise slopes at (1-based) positions round((N - C)/2) and round((N + C)/2) + 1, N = number of slopes —
    as R ``trend::sens.slope`` and ``scipy.stats.theilslopes``. Units: per unit of ``times`` (default: per step).

    Returns
    -------
    DataFrame ``n, sen_slope, sen_low, sen_high``.

    Examples
    --------
    >>> r = sens_slope([1.0, 2.0, 2.5, 4.0, 4.5], times=[2019, 2020, 2021, 2022, 2023])
    >>> float(r["sen_slope"].iloc[0])  # median of the 10 pairwise slopes
    0.9375
    """
    x, t, n = prepare_panel_values(values, times)
    nf = n.astype(float)
    tie_var, _ = _tie_sums(x)
    var_s = (nf * (nf - 1) * (2 * nf + 5) - tie_var) / 18.0
    slope, low, high = _sen_core(x, t, n, var_s, conf_level, chunk_elements)
    out = pd.DataFrame({"n": n, "sen_slope": slope, "sen_low": low, "sen_high": high})
    out.loc[n < min_n, ["sen_slope", "sen_low", "sen_high"]] = np.nan
    return out


# ------------------------------------------------------------------------------------------------ Pettitt
def pettitt(values, *, min_n: int = 4) -> pd.DataFrame:
    """Pettitt's (1979) change-point test for every row (as R ``trend::pettitt.test``).

    Returns
    -------
    DataFrame ``n, pettitt_u`` (U*), ``pettitt_p``, ``pettitt_k`` (1-based position of the last observation
    before the shift; NaN without a test).

    Examples
    --------
    >>> r = pettitt([1, 2, 1, 2, 1, 8, 9, 8, 9, 8])
    >>> int(r["pettitt_k"].iloc[0]), float(r["pettitt_u"].iloc[0])
    (5, 25.0)
    """
    x, _, n = prepare_panel_values(values)
    m, length = x.shape
    ranks = np.nan_to_num(_mid_ranks(x), nan=0.0)
    steps = np.arange(1, length + 1, dtype=float)
    u = 2 * np.cumsum(ranks, axis=1) - steps[None, :] * (n[:, None] + 1.0)
    u = np.where(steps[None, :] <= n[:, None], np.abs(u), -1.0)
    k = np.argmax(u, axis=1) if length else np.zeros(m, dtype=int)
    ustar = u[np.arange(m), k] if length else np.full(m, np.nan)
    nf = n.astype(float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2.0 * np.exp(-6.0 * ustar ** 2 / (nf ** 3 + nf ** 2)))
    out = pd.DataFrame({"n": n, "pettitt_u": ustar, "pettitt_p": p, "pettitt_k": (k + 1).astype(float)})
    out.loc[n < min_n, ["pettitt_u", "pettitt_p", "pettitt_k"]] = np.nan
    return out


# ------------------------------------------------------------------------------------------------ seasonal
def _season_subpanel(x, t, seasons):
    """Rows split by season: sub-series (row, season) left-justified; returns x_sub, t_sub, n_sub, row_of_sub."""
    valid = ~np.isnan(x)
    valid[valid] = ~pd.isna(np.asarray(seasons, dtype=object)[valid])  # (labels only where there are values)
    row_idx, col_idx = np.nonzero(valid)
    # season codes in sorted order (as np.unique gives them), found by hashing the few distinct labels
    codes, distinct = pd.factorize(np.asarray(seasons, dtype=object)[valid].astype(str))
    season_codes = np.sort(np.asarray(distinct, dtype=str))
    season_inv = np.searchsorted(season_codes, np.asarray(distinct, dtype=str))[codes]
    key = row_idx * len(season_codes) + season_inv
    order = np.argsort(key, kind="stable")  # (row, col) come row-major: ties keep the time order
    key, row_idx, col_idx = key[order], row_idx[order], col_idx[order]
    uniq, start, counts = np.unique(key, return_index=True, return_counts=True)
    sub = np.repeat(np.arange(len(uniq)), counts)
    pos = np.arange(len(key)) - start[sub]
    width = int(counts.max()) if len(counts) else 0
    xs = np.full((len(uniq), width), np.nan)
    ts = np.full((len(uniq), width), np.nan)
    xs[sub, pos] = x[row_idx, col_idx]
    ts[sub, pos] = t[row_idx, col_idx]
    return xs, ts, counts, uniq // max(len(season_codes), 1)


def seasonal_mann_kendall(values, seasons, times=None, *, alpha: float = 0.05, continuity: bool = True,
                          min_n: int = 4, covariance: str = "none",
                          chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Seasonal Mann–Kendall (Hirsch–Slack) test, for every row.

    ``covariance="none"`` (default; Hirsch, Slack & Smith 1982): each season's sub-series (e.g. all Januaries)
    gets its own S and tie-corrected var(S); the test uses S = sum of S_g and var = sum of var_g — seasons treated
    as independent, as R ``trend::smk.test`` ("Seasonal Mann-Kendall trend test (Hirsch-Slack test)") and
    ``pymannkendall.seasonal_test``.

    ``covariance="hirsch_slack_1984"``: var(S) = sum over all season pairs of cov(S_g, S_h) =
    (K_gh + 4 sum_i R_ig R_ih - n(n+1)^2) / 3 (Hirsch & Slack 1984), for seasons that are serially dependent.
    It needs complete years: years (``floor(times)``) missing any season are dropped, as in
    ``pymannkendall.correlated_seasonal_test`` (which also uses no continuity correction: pass
    ``continuity=False`` to reproduce it).

    Parameters
    ----------
    seasons : array of season labels, same shape as ``values`` (e.g. month numbers).
    times : decimal times; their integer part is the year (needed for ``hirsch_slack_1984``).
    covariance : ``"none"`` or ``"hirsch_slack_1984"``.

    Returns
    -------
    DataFrame ``n, s, var_s, z, p, tau_a, trend, test`` (``n`` = all observations; too short when fewer than
    ``min_n`` observations in total).

    Examples
    --------
    >>> x = np.arange(24.0) % 12 + np.repeat([0.0, 1.0], 12)
    >>> r = seasonal_mann_kendall(x, seasons=np.arange(24) % 12)
    >>> float(r["s"].iloc[0])
    12.0
    """
    x, t, n = prepare_panel_values(values, times)
    seas = np.asarray(seasons, dtype=object)
    if seas.ndim == 1:
        seas = seas[None, :]
    if seas.shape != _as_2d(values).shape:
        raise InputError(f"seasons: shape {seas.shape} does not match values {_as_2d(values).shape}")
    # prepare_panel_values may have reordered rows with NaN; apply the same left-justification to seasons
    raw = _as_2d(values)
    order = np.argsort(np.isnan(raw), axis=1, kind="stable")
    seas = np.take_along_axis(seas, order, axis=1)
    m = x.shape[0]
    if covariance == "hirsch_slack_1984":
        s, var_s, pairs = _correlated_seasonal(x, t, seas, chunk_elements)
    elif covariance == "none":
        xs, _, ns, row_of = _season_subpanel(x, t, seas)
        s_sub = _s_statistic(xs, chunk_elements)
        tie_var, _ = _tie_sums(xs)
        nf = ns.astype(float)
        var_sub = (nf * (nf - 1) * (2 * nf + 5) - tie_var) / 18.0
        s = np.bincount(row_of, weights=s_sub, minlength=m)
        var_s = np.bincount(row_of, weights=var_sub, minlength=m)
        pairs = np.bincount(row_of, weights=nf * (nf - 1) / 2, minlength=m)
    else:
        raise InputError(f"covariance: expected 'none' or 'hirsch_slack_1984', got {covariance!r}")
    z = _z_from_s(s, var_s, continuity)
    p = 2.0 * norm.sf(np.abs(z))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_a = s / pairs
    out = pd.DataFrame({"n": n, "s": s, "var_s": var_s, "z": z, "p": p, "tau_a": tau_a})
    out["trend"] = _trend_word(z, p, alpha)
    short = n < min_n
    out["test"] = np.where(short, "too_short", "ok")
    out.loc[short, ["s", "var_s", "z", "p", "tau_a"]] = np.nan
    out.loc[short, "trend"] = "no test"
    return out


def _correlated_seasonal(x, t, seas, chunk_elements):
    """S, Hirsch–Slack (1984) var(S) and the number of pairs per row, on complete years (rows x years x seasons)."""
    m = x.shape[0]
    valid = ~np.isnan(x) & ~pd.isna(seas)
    rows, cols = np.nonzero(valid)
    _, season_idx = np.unique(seas[rows, cols].astype(str), return_inverse=True)
    n_seasons = int(season_idx.max()) + 1 if len(season_idx) else 1
    year = np.floor(t[rows, cols])
    keys = pd.DataFrame({"r": rows, "y": year})
    year_idx = keys.groupby("r")["y"].rank(method="dense").to_numpy().astype(int) - 1
    n_years = int(year_idx.max()) + 1 if len(year_idx) else 0
    cube = np.full((m, n_years, n_seasons), np.nan)
    cube[rows, year_idx, season_idx] = x[rows, cols]
    complete = ~np.isnan(cube).any(axis=2)
    order = np.argsort(~complete, axis=1, kind="stable")  # complete years first, in time order
    cube = np.take_along_axis(cube, order[:, :, None], axis=1)
    n = complete.sum(axis=1)
    cube[np.arange(n_years)[None, :] >= n[:, None]] = np.nan
    s = np.zeros(m)
    var_s = np.zeros(m)
    for sl in _chunks(m, max(n_years * n_years * n_seasons, 1), chunk_elements):
        c = cube[sl]
        nn = n[sl].astype(float)
        # pairwise signs over years, per season: (rows, i, j, season); NaN (padding) -> 0
        sg = np.nan_to_num(np.sign(c[:, None, :, :] - c[:, :, None, :]))  # sign(x_j - x_i) at [i, j]
        upper = np.triu(np.ones((n_years, n_years), dtype=bool), k=1)
        d = sg[:, upper, :]  # (rows, pairs i<j, season)
        s[sl] = d.sum(axis=(1, 2))
        k = np.einsum("mpg,mph->mgh", d, d)
        ranks = (nn[:, None, None] + 1 - sg.sum(axis=2)) / 2  # R_ig = (n + 1 + sum_j sgn(x_ig - x_jg)) / 2
        ranks[np.isnan(c)] = 0.0
        rr = np.einsum("mig,mih->mgh", ranks, ranks)
        gamma = (k + 4 * rr - (nn * (nn + 1) ** 2)[:, None, None]) / 3
        var_s[sl] = gamma.sum(axis=(1, 2))
    pairs = n * (n - 1) / 2 * n_seasons
    return s, var_s, pairs


def seasonal_sens_slope(values, seasons, times=None, *, conf_level: float = 0.95,
                        chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Seasonal Sen slope (Hirsch et al. 1982): median of all within-season pairwise slopes, per row.

    Slopes are per unit of ``times`` (pass decimal years for per-year slopes; the default time index makes a
    slope per step). CI as :func:`sens_slope` with N = number of within-season slopes and var = sum of the
    seasons' tie-corrected var(S).

    Examples
    --------
    >>> x = np.tile([1.0, 5.0, 3.0, 7.0], 3) + np.repeat([0.0, 2.0, 4.0], 4)
    >>> t = np.repeat([2020.0, 2021.0, 2022.0], 4) + np.tile([0, .25, .5, .75], 3)
    >>> float(seasonal_sens_slope(x, seasons=np.tile([1, 2, 3, 4], 3), times=t)["sen_slope"].iloc[0])
    2.0
    """
    x, t, n = prepare_panel_values(values, times)
    raw = _as_2d(values)
    seas = np.asarray(seasons, dtype=object)
    if seas.ndim == 1:
        seas = seas[None, :]
    order = np.argsort(np.isnan(raw), axis=1, kind="stable")
    seas = np.take_along_axis(seas, order, axis=1)
    xs, ts, ns, row_of = _season_subpanel(x, t, seas)
    m = x.shape[0]
    slopes = _pairwise_slopes(xs, ts)
    owner = np.broadcast_to(row_of[:, None], slopes.shape).ravel()
    flat = slopes.ravel()
    keep = ~np.isnan(flat)
    owner, flat = owner[keep], flat[keep]
    counts = np.bincount(owner, minlength=m)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = _sort_within(flat, owner, counts, starts)
    tie_var, _ = _tie_sums(xs)
    nf = ns.astype(float)
    var_s = np.bincount(row_of, weights=(nf * (nf - 1) * (2 * nf + 5) - tie_var) / 18.0, minlength=m)
    zc = norm.ppf(1 - (1 - conf_level) / 2)
    c = zc * np.sqrt(var_s)
    ok = counts > 0
    last = np.maximum(counts - 1, 0)

    def pick(idx):
        idx = np.clip(idx, 0, last)
        return np.where(ok, flat[np.minimum(starts + idx, max(len(flat) - 1, 0))] if len(flat) else np.nan, np.nan)

    med = (pick((counts - 1) // 2) + pick(counts // 2)) / 2
    low = pick(np.round((counts - c) / 2).astype(int) - 1)
    high = pick(np.round((counts + c) / 2).astype(int))
    return pd.DataFrame({"n": n, "sen_slope": med, "sen_low": low, "sen_high": high})


def _sort_within(flat: np.ndarray, owner: np.ndarray, counts: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``flat`` (no NaN) grouped by ``owner`` (non-decreasing) with each group's values sorted: what
    ``flat[np.lexsort((flat, owner))]`` gives, by row-wise sorts of padded blocks (rows bucketed by their number of
    values, powers of 2, so the padding stays below the data) instead of one sort of everything by two keys."""
    out = np.empty_like(flat)
    if not len(flat):
        return out
    pos = np.arange(len(flat)) - starts[owner]
    bucket = np.ceil(np.log2(np.maximum(counts, 1))).astype(int)
    element_bucket = bucket[owner]
    for b in np.unique(bucket[counts > 0]):
        rows = np.flatnonzero((bucket == b) & (counts > 0))
        slot = np.full(len(counts), -1)
        slot[rows] = np.arange(len(rows))
        sel = np.flatnonzero(element_bucket == b)
        block = np.full((len(rows), int(counts[rows].max())), np.nan)
        r, c = slot[owner[sel]], pos[sel]
        block[r, c] = flat[sel]
        block.sort(axis=1)  # NaN padding sorts last: a row's values fill its first counts[row] places
        out[sel] = block[r, c]
    return out


# ------------------------------------------------------------------------------------------ multiple tests
def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN and does not count as a test.

    As R ``p.adjust(p, "BH")``: q_(i) = min_{j >= i} m p_(j) / j, capped at 1.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, np.nan, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, nan, 0.5]
    """
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


# ------------------------------------------------------------------------------------------- tidy frames
@dataclass
class SeriesPanel:
    """Many series padded into arrays: row r of ``values``/``times``/``labels`` is the series ``keys.iloc[r]``.

    Rows are sorted by time and left-justified (observed values first, NaN padding after).
    """

    keys: pd.DataFrame
    values: np.ndarray
    times: np.ndarray
    labels: np.ndarray
    n: np.ndarray
    seasons: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """Back to a tidy frame: the key columns, ``position`` (1-based), ``label``, ``time``, ``value``.

        Examples
        --------
        >>> p = make_panel(pd.DataFrame({"g": ["a", "a", "b"], "year": [2021, 2020, 2020], "v": [2.0, 1.0, 5.0]}),
        ...                "year", "v", by=["g"])
        >>> p.to_frame()[["g", "label", "value"]].values.tolist()
        [['a', '2020', 1.0], ['a', '2021', 2.0], ['b', '2020', 5.0]]
        """
        rows, cols = np.nonzero(~np.isnan(self.values))
        out = self.keys.iloc[rows].reset_index(drop=True)
        out["position"] = cols + 1
        out["label"] = self.labels[rows, cols]
        out["time"] = self.times[rows, cols]
        out["value"] = self.values[rows, cols]
        return out


def _time_axis(col: pd.Series, name: str) -> np.ndarray:
    """Decimal time of a time column: period strings (2024, 2024Q3, 2024-07), numbers, or dates."""
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col)
        start = pd.to_datetime(ts.dt.year.astype(str) + "-01-01")
        days = np.where(ts.dt.is_leap_year, 366.0, 365.0)
        return (ts.dt.year + (ts - start).dt.days / days).to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype=float)
    text = col.astype(str)
    # a few dozen distinct periods among many rows: classify and convert each distinct value once
    codes, distinct = pd.factorize(text)
    distinct = pd.Series(np.asarray(distinct, dtype=object))
    freqs = distinct.map(frequency_of)
    if freqs.notna().all():
        return decimal_time(distinct)[codes]
    freqs = pd.Series(freqs.to_numpy()[codes], index=text.index)
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float)
    dates = pd.to_datetime(text, errors="coerce")
    if dates.notna().all():
        return _time_axis(dates, name)
    bad = text[freqs.isna() & numeric.isna() & dates.isna()].unique()[:5].tolist()
    raise InputError(f"column '{name}': time values {bad} are not periods (2024, 2024Q3, 2024-07), numbers or "
                     f"dates")


def _text(col: pd.Series, rows: np.ndarray) -> np.ndarray:
    """``col.astype(str)`` at positions ``rows``, as an object array (each distinct value converted once)."""
    codes, distinct = pd.factorize(col, use_na_sentinel=False)
    return pd.Series(distinct).astype(str).to_numpy(dtype=object)[codes[rows]]


def make_panel(df: pd.DataFrame, time: str, value: str, by: list[str] | None = None,
               season: str | None = None) -> SeriesPanel:
    """Pad a tidy frame into a :class:`SeriesPanel` (one row per ``by`` group), sorted by time.

    Input row order does not matter (each series is sorted by its time column). Missing values are dropped.
    Raises :class:`~govlib.errors.InputError` for missing columns, non-numeric values, unreadable times and
    duplicated time stamps within a series (naming the series and the time).

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a", "a", "b"], "year": [2021, 2020, 2020], "v": [2.0, 1.0, 5.0]})
    >>> p = make_panel(df, "year", "v", by=["g"])
    >>> p.values.tolist(), p.n.tolist()
    ([[1.0, 2.0], [5.0, nan]], [2, 1])
    """
    by = list(by or [])
    needed = [time, value] + by + ([season] if season else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"columns {missing} not found; the data has columns {list(df.columns)}")
    frame = df[needed].copy()
    raw_values = frame[value]
    numeric = raw_values if pd.api.types.is_float_dtype(raw_values) else pd.to_numeric(raw_values, errors="coerce")
    suspect = numeric.isna() & raw_values.notna()  # (the text of a value is only needed where it did not parse)
    bad = raw_values[suspect]
    bad = bad[bad.astype(str).str.strip() != ""]
    if len(bad):
        rows = (bad.index[:5] + 2).tolist() if isinstance(df.index, pd.RangeIndex) else bad.index[:5].tolist()
        raise InputError(f"column '{value}': non-numeric values {bad.astype(str).unique()[:5].tolist()} "
                         f"(rows {rows}); expected numbers")
    frame[value] = numeric.astype(float)
    if frame[time].isna().any():
        raise InputError(f"column '{time}': {int(frame[time].isna().sum())} empty time values")
    frame["_t"] = _time_axis(frame[time], time)
    # with a season column the time may repeat across seasons (e.g. --time year --season month): the series
    # is then ordered by (time, season), seasons numerically when they are numbers
    order_keys = ["_t"]
    if season:
        season_text = frame[season].astype(str)
        codes, distinct = pd.factorize(season_text)  # a dozen distinct labels: parse each once
        season_num = pd.to_numeric(pd.Series(np.asarray(distinct, dtype=object)), errors="coerce")
        frame["_s"] = pd.Series(season_num.to_numpy()[codes], index=frame.index) if season_num.notna().all() \
            else season_text
        order_keys = ["_t", "_s"]
    # series numbers in sorted key order (groupby's), so that duplicates and the sort use one integer key column
    # instead of the by-columns' text; the same panel as sorting and matching the text
    gnum = df.groupby(by, sort=True, dropna=False).ngroup().to_numpy() if by else np.zeros(len(frame), dtype=int)
    stamp = pd.DataFrame({"_g": gnum, **{k: frame[k].to_numpy() for k in order_keys}})
    dup = stamp.duplicated(keep=False).to_numpy()
    if dup.any():
        shown = frame.loc[dup, by + [time] + ([season] if season else [])].drop_duplicates().head(5) \
            .astype(str).agg(" / ".join, axis=1).tolist()
        raise InputError(f"duplicated time stamps in column '{time}' within a series: {shown}; each series "
                         f"needs one value per time{' and season' if season else ''} (aggregate first)")
    present = frame[value].notna().to_numpy()
    stamp = stamp[present]
    # stable sort by (series, time[, season]): np.lexsort takes the primary key last; only the arrays the panel
    # needs are gathered (taking every text column of the frame cost more than the sort)
    perm = np.lexsort([stamp[k].to_numpy() if pd.api.types.is_numeric_dtype(stamp[k])
                       else pd.factorize(stamp[k], sort=True)[0] for k in reversed(order_keys)]
                      + [stamp["_g"].to_numpy()])
    sel = np.flatnonzero(present)[perm]  # positions in `frame` of the panel's values, in panel order
    gid = gnum[sel]
    if by:
        # every series of the input gets a row, also one whose values are all missing (n = 0)
        keys = df[by].iloc[np.unique(gnum, return_index=True)[1]].reset_index(drop=True)
    else:
        keys = pd.DataFrame(index=[0])
    m = len(keys)
    counts = np.bincount(gid, minlength=m)
    order = np.argsort(gid, kind="stable")
    gid_sorted = gid[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(gid)) - starts[gid_sorted]
    width = int(counts.max()) if m and counts.size else 0
    values = np.full((m, width), np.nan)
    times = np.full((m, width), np.nan)
    labels = np.full((m, width), None, dtype=object)
    values[gid_sorted, pos] = frame[value].to_numpy()[sel][order]
    times[gid_sorted, pos] = frame["_t"].to_numpy()[sel][order]
    if pd.api.types.is_datetime64_any_dtype(frame[time]):
        stamps = frame[time].iloc[sel]
        midnight = (stamps == stamps.dt.normalize()).all()
        label = (stamps.dt.strftime("%Y-%m-%d") if midnight else stamps.astype(str)).to_numpy()
    else:
        label = _text(frame[time], sel)
    season_label = _text(frame[season], sel) if season else None
    if season and stamp.duplicated(["_g", "_t"]).any():
        label = label + "/" + season_label  # time repeats across seasons: label "1932/5"
    labels[gid_sorted, pos] = label[order]
    seasons = None
    if season:
        seasons = np.full((m, width), None, dtype=object)
        seasons[gid_sorted, pos] = season_label[order]
    return SeriesPanel(keys=keys.reset_index(drop=True), values=values, times=times, labels=labels, n=counts,
                       seasons=seasons)


def trend_table(df: pd.DataFrame, time: str, value: str, by: list[str] | None = None, season: str | None = None,
                *, alpha: float = 0.05, conf_level: float = 0.95, min_n: int = 4, exact_max_n: int = 10,
                seasonal_covariance: str = "none", continuity: bool = True, variance: str = "original",
                chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """Mann–Kendall, Sen's slope and Pettitt for every series of a tidy frame: the table of ``govlib trend``.

    Parameters
    ----------
    df : tidy frame with a time column, a value column and optional grouping columns ``by``.
    time : period strings (2024, 2024Q3, 2024-07), numbers or dates; slopes are per year for periods and dates,
        per unit of the number otherwise.
    season : optional column of season labels: the seasonal Mann–Kendall test and the seasonal Sen slope are used.
    seasonal_covariance : ``"none"`` or ``"hirsch_slack_1984"`` (see :func:`seasonal_mann_kendall`).
    continuity : continuity correction (S -/+ 1) in z (default True, as R; ``False`` reproduces
        ``pymannkendall.correlated_seasonal_test``).
    variance : ``"original"`` (tie-corrected var(S)) or ``"hamed_rao"`` (autocorrelation-corrected, see
        :func:`hamed_rao`; not with ``season``); adds ``hr_factor`` and ``hr_guard`` columns.

    Returns
    -------
    DataFrame: the ``by`` columns, then :data:`TREND_COLUMNS` plus ``tau_a``, ``p_method`` and ``test``.
    ``change_point`` is the time label of the last observation before the shift (Pettitt's K).

    Examples
    --------
    >>> df = pd.DataFrame({"year": range(2001, 2011), "v": [5, 6, 5, 7, 8, 7, 9, 10, 9, 11]})
    >>> r = trend_table(df, "year", "v")
    >>> r[["n", "s", "sen_slope", "trend"]].values.tolist()
    [[10, 36.0, 0.6666666666666666, 'increasing']]
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha={alpha}: expected a significance level between 0 and 1 (e.g. 0.05)")
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level={conf_level}: expected a confidence level between 0 and 1 (e.g. 0.95)")
    if variance not in ("original", "hamed_rao"):
        raise InputError(f"variance={variance!r}: expected 'original' or 'hamed_rao'")
    if variance == "hamed_rao" and season:
        raise InputError("variance='hamed_rao' is for the non-seasonal test; with a season column use "
                         "seasonal_covariance='hirsch_slack_1984' for serially dependent seasons")
    panel = make_panel(df, time, value, by, season)
    return panel_trends(panel, alpha=alpha, conf_level=conf_level, min_n=min_n, exact_max_n=exact_max_n,
                        seasonal_covariance=seasonal_covariance, continuity=continuity, variance=variance,
                        chunk_elements=chunk_elements)


def panel_trends(panel: SeriesPanel, *, alpha: float = 0.05, conf_level: float = 0.95, min_n: int = 4,
                 exact_max_n: int = 10, seasonal_covariance: str = "none", continuity: bool = True,
                 variance: str = "original", chunk_elements: int = _CHUNK_ELEMENTS) -> pd.DataFrame:
    """:func:`trend_table` for an already padded :class:`SeriesPanel`."""
    x, t, n = panel.values, panel.times, panel.n
    if panel.seasons is not None:
        mk = seasonal_mann_kendall(x, panel.seasons, t, alpha=alpha, min_n=min_n, covariance=seasonal_covariance,
                                   continuity=continuity, chunk_elements=chunk_elements)
        mk["tau_b"] = np.nan  # tau-b is not defined for the seasonal statistic
        mk["p_method"] = np.where(mk["test"] == "ok", "normal", "none")
        sen = seasonal_sens_slope(x, panel.seasons, t, conf_level=conf_level, chunk_elements=chunk_elements)
    else:
        mk = mann_kendall_sen(x, t, alpha=alpha, conf_level=conf_level, min_n=min_n, exact_max_n=exact_max_n,
                              continuity=continuity, chunk_elements=chunk_elements)
        sen = mk
        if variance == "hamed_rao":
            hr = hamed_rao(x, t, alpha=alpha, min_n=min_n, chunk_elements=chunk_elements)
            for col in ("var_s", "z", "p", "trend", "hr_factor", "hr_guard"):
                mk[col] = hr[col].to_numpy()
            mk["p_method"] = np.where(n >= min_n, "normal", "none")
    pt = pettitt(x, min_n=min_n)
    out = panel.keys.copy()
    for col in ["n", "s", "var_s", "z", "p", "tau_b"]:
        out[col] = mk[col].to_numpy()
    for col in ["sen_slope", "sen_low", "sen_high"]:
        out[col] = sen[col].to_numpy()
    out.loc[n < max(min_n, 2), ["sen_slope", "sen_low", "sen_high"]] = np.nan
    out["pettitt_u"] = pt["pettitt_u"].to_numpy()
    out["pettitt_p"] = pt["pettitt_p"].to_numpy()
    k = pt["pettitt_k"].to_numpy()
    has_k = ~np.isnan(k)
    cp = np.full(len(out), None, dtype=object)
    if has_k.any():
        rows = np.nonzero(has_k)[0]
        cp[rows] = panel.labels[rows, k[rows].astype(int) - 1]
    out["change_point"] = cp
    out["trend"] = mk["trend"].to_numpy()
    out["tau_a"] = mk["tau_a"].to_numpy()
    out["p_method"] = mk["p_method"].to_numpy()
    out["test"] = mk["test"].to_numpy()
    if "hr_factor" in mk.columns:
        out["hr_factor"] = mk["hr_factor"].to_numpy()
        out["hr_guard"] = mk["hr_guard"].to_numpy()
    out["n"] = out["n"].astype(int)
    return out
