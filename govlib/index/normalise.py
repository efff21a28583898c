"""Normalisation of indicator values onto a common scale (pure functions over arrays / wide DataFrames).

Every method works column-wise on a 2-D array ``x`` (rows = unit-periods, columns = indicators) with NaN for
missing values, and takes ``direction`` (+1 higher is better, -1 lower is better, 0 context) explicitly: for -1
indicators the result is flipped so that a higher normalised score is always better. Context indicators
(direction 0) are returned as NaN by :func:`normalise` because they are shown, never scored.

``groups`` (one label per row, e.g. the period) makes a method compute its statistics (min, max, mean, SD,
ranks, reference value) within each group: ``groups=None`` is *pooled* normalisation over all rows (all units and
all periods), which keeps scores on one scale across years so that a change in score is a real change and not a
reshuffle of relative positions. Per-period normalisation is ``groups=period``.

Conventions (named in the parameters):

* ``min_max``: ``low + (high - low) * (x - min) / (max - min)``; a constant column maps to the midpoint.
* ``z_score``: ``center + spread * (x - mean) / sd`` with ``ddof=1`` (sample SD, as in the OECD/JRC Handbook).
  ``center=100, spread=10`` gives the MPI standardisation.
* ``goalposts``: ``(t(x) - t(gp_low)) / (t(gp_high) - t(gp_low))`` where ``t`` is the indicator's transform
  (``none`` or ``log``), then capped to [0, 1] (``cap=True``) *after* the transform, then mapped to [low, high].
  This is the UNDP HDI dimension index.
* ``distance_to_target``: ``(x - min) / (target - min)`` capped at 1 (for -1: ``(max - x) / (max - target)``).
* ``distance_to_reference``: ``100 * x / x_ref`` (for -1: ``100 * x_ref / x``), the reference unit's value in the
  same group.
* ``rank_score`` and ``percentile_rank``: tie rule ``ties`` in {"average", "min", "max", "dense"} (pandas'
  ``rank`` methods; "average" is the default). Percentile rank has two conventions, named by ``percentile``:
  ``"(rank-1)/(n-1)"`` (default; 0 for the worst, 1 for the best; COINr's ``n_prank`` and R's
  ``dplyr::percent_rank``) and ``"rank/n"`` (the OECD/JRC Handbook 2008, Table 15: 1/n for the worst, 1 for the
  best), mapped to [low, high].
* ``ratio_to_mean`` / ``ratio_to_median``: ``100 * x / s`` where ``s`` is the mean (median) of the indicator over
  the rows (per group); for -1 indicators ``100 * s / x``. The Handbook's "distance to a reference" with the
  reference the average (Table 15, ``x / mean(x)``), on a scale where the typical unit scores 100.
* ``fraction_of_max``: ``x / max`` (for -1: ``min / x``), needs positive values, mapped to [0, high].
* ``ampi``: adjusted Mazziotta–Pareto rescaling ``100 ± 60 * (x - ref) / (max - min)``: reference value ``ref``
  (default the mean of the reference group) maps to 100 and the goalposts are ``ref ± (max - min) / 2`` of the
  pooled range, so values fall in about 70-130.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, one_of

__all__ = ["METHODS", "TIE_RULES", "min_max", "z_score", "goalposts", "distance_to_target",
           "distance_to_reference", "rank_score", "percentile_rank", "fraction_of_max", "ampi", "ratio_to_statistic",
           "PERCENTILE_CONVENTIONS", "normalise", "normalise_array", "NORMALISE_PARAMS"]

METHODS = ("minmax", "zscore", "goalposts", "distance_to_target", "distance_to_reference", "rank",
           "percentile_rank", "fraction_of_max", "ampi", "ratio_to_mean", "ratio_to_median")
TIE_RULES = ("average", "min", "max", "dense")
#: Percentile-rank conventions: ``(rank - 1) / (n - 1)`` (COINr, dplyr) and ``rank / n`` (OECD/JRC Handbook).
PERCENTILE_CONVENTIONS = ("(rank-1)/(n-1)", "rank/n")


def _as2d(x) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise InputError(f"x: expected a 1-D or 2-D array of values, got {a.ndim} dimensions")
    return a


def _direction(direction, k: int) -> np.ndarray:
    d = np.broadcast_to(np.asarray(1 if direction is None else direction, dtype=float), (k,)).copy()
    bad = ~np.isin(d, (-1.0, 0.0, 1.0))
    if bad.any():
        raise InputError(f"direction: expected 1, -1 or 0 for every indicator, got {sorted(set(d[bad]))}")
    return d


def _group_stat(x: np.ndarray, groups, how: str, ddof: int = 1) -> np.ndarray:
    """Per-group column statistic broadcast back to the rows (NaN-aware)."""
    if groups is None:
        with np.errstate(all="ignore"):
            if how == "min":
                s = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0)
                s[np.isinf(s)] = np.nan
            elif how == "max":
                s = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=0)
                s[np.isinf(s)] = np.nan
            elif how == "mean":
                n = (~np.isnan(x)).sum(axis=0)
                s = np.where(n > 0, np.nansum(x, axis=0) / np.maximum(n, 1), np.nan)
            elif how == "std":
                n = (~np.isnan(x)).sum(axis=0)
                m = np.where(n > 0, np.nansum(x, axis=0) / np.maximum(n, 1), np.nan)
                ss = np.nansum((x - m) ** 2, axis=0)
                s = np.where(n - ddof > 0, np.sqrt(ss / np.maximum(n - ddof, 1)), np.nan)
            else:  # pragma: no cover - internal
                raise ValueError(how)
        return np.broadcast_to(s, x.shape)
    frame = pd.DataFrame(x)
    g = frame.groupby(np.asarray(groups), sort=False)
    if how == "std":
        return g.transform("std", ddof=ddof).to_numpy(dtype=float)
    return g.transform(how).to_numpy(dtype=float)


def _to_scale(u: np.ndarray, low: float, high: float) -> np.ndarray:
    return low + (high - low) * u


def min_max(x, direction=1, *, low: float = 0.0, high: float = 100.0, groups=None) -> np.ndarray:
    """Min-max normalisation to ``[low, high]`` per column (per group).

    A column (group) whose values are all equal maps to the midpoint ``(low + high) / 2``.

    Examples
    --------
    >>> min_max([1.0, 2.0, 3.0]).ravel().tolist()
    [0.0, 50.0, 100.0]
    >>> min_max([1.0, 2.0, 3.0], direction=-1, low=0, high=1).ravel().tolist()
    [1.0, 0.5, 0.0]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    lo, hi = _group_stat(a, groups, "min"), _group_stat(a, groups, "max")
    with np.errstate(all="ignore"):
        u = np.where(hi > lo, (a - lo) / (hi - lo), 0.5)
    u = np.where(d < 0, 1 - u, u)
    return np.where(np.isnan(a), np.nan, _to_scale(u, low, high))


def z_score(x, direction=1, *, ddof: int = 1, center: float = 0.0, spread: float = 1.0, groups=None) -> np.ndarray:
    """Standardisation ``center + spread * direction * (x - mean) / sd``; ``ddof=1`` is the sample SD.

    A column with zero SD gives ``center``.

    Examples
    --------
    >>> z_score([1.0, 2.0, 3.0]).ravel().tolist()
    [-1.0, 0.0, 1.0]
    >>> z_score([1.0, 2.0, 3.0], ddof=0, center=100, spread=10).ravel().round(3).tolist()
    [87.753, 100.0, 112.247]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    m, s = _group_stat(a, groups, "mean"), _group_stat(a, groups, "std", ddof=ddof)
    with np.errstate(all="ignore"):
        z = np.where(s > 0, (a - m) / s, 0.0)
    z = np.where(d < 0, -z, z)
    return np.where(np.isnan(a), np.nan, center + spread * z)


def _transform(x: np.ndarray, transform) -> np.ndarray:
    if transform is None:
        return x
    t = np.broadcast_to(np.asarray(transform, dtype=object), (x.shape[-1],))
    out = x.copy()
    for j, name in enumerate(t):
        if name in (None, "", "none"):
            continue
        if name != "log":
            raise InputError(f"transform: expected 'none' or 'log', got {name!r}")
        col = out[..., j]
        if np.any(col[~np.isnan(col)] <= 0):
            raise InputError(f"transform: indicator column {j} has values <= 0; a log transform needs positive values")
        with np.errstate(all="ignore"):
            out[..., j] = np.log(col)
    return out


def goalposts(x, direction=1, *, goalpost_low, goalpost_high, transform=None, cap: bool = True,
              low: float = 0.0, high: float = 100.0) -> np.ndarray:
    """Fixed-goalpost normalisation (UNDP style), with the cap applied after the transform.

    Parameters
    ----------
    x : values, one column per indicator.
    goalpost_low, goalpost_high : per-column goalposts in the indicator's own units (before the transform).
    transform : per-column ``"none"`` or ``"log"``; applied to the values and the goalposts alike.
    cap : clip the [0, 1] index to [0, 1] (values beyond the goalposts score 0 or 1).

    Examples
    --------
    >>> goalposts([[20.0], [85.0], [90.0]], goalpost_low=[20], goalpost_high=[85], low=0, high=1).ravel().tolist()
    [0.0, 1.0, 1.0]
    >>> float(goalposts([[75000.0]], goalpost_low=[100], goalpost_high=[75000], transform=["log"], high=1)[0, 0])
    1.0
    """
    a = _as2d(x)
    k = a.shape[1]
    d = _direction(direction, k)
    gl = np.broadcast_to(np.asarray(goalpost_low, dtype=float), (k,)).astype(float)
    gh = np.broadcast_to(np.asarray(goalpost_high, dtype=float), (k,)).astype(float)
    missing = np.isnan(gl) | np.isnan(gh)
    if missing.any():
        raise InputError(f"goalposts: indicator columns {np.flatnonzero(missing).tolist()} have no goalpost_low/"
                         "goalpost_high; give both in the framework or choose another normalisation")
    if np.any(gh <= gl):
        raise InputError("goalposts: goalpost_low must be below goalpost_high for every indicator")
    ta = _transform(a, transform)
    tl = _transform(gl[None, :], transform)[0]
    th = _transform(gh[None, :], transform)[0]
    u = (ta - tl) / (th - tl)
    u = np.where(d < 0, 1 - u, u)
    if cap:
        u = np.clip(u, 0.0, 1.0)
    return _to_scale(u, low, high)


def distance_to_target(x, direction=1, *, target, cap: bool = True, low: float = 0.0, high: float = 100.0,
                       groups=None) -> np.ndarray:
    """Progress from the worst observed value to the target: ``(x - min) / (target - min)``, capped at 1.

    For -1 indicators: ``(max - x) / (max - target)``.

    Examples
    --------
    >>> distance_to_target([[0.0], [5.0], [12.0]], target=[10], high=1).ravel().tolist()
    [0.0, 0.5, 1.0]
    """
    a = _as2d(x)
    k = a.shape[1]
    d = _direction(direction, k)
    t = np.broadcast_to(np.asarray(target, dtype=float), (k,))
    if np.isnan(t[d != 0]).any():
        raise InputError("distance_to_target: every scored indicator needs a target in the framework")
    lo, hi = _group_stat(a, groups, "min"), _group_stat(a, groups, "max")
    with np.errstate(all="ignore"):
        u = np.where(d > 0, (a - lo) / (t - lo), (hi - a) / (hi - t))
    u = np.where(np.isfinite(u), u, 1.0)
    if cap:
        u = np.clip(u, 0.0, 1.0)
    return np.where(np.isnan(a), np.nan, _to_scale(u, low, high))


def distance_to_reference(x, direction=1, *, reference_rows, groups=None) -> np.ndarray:
    """``100 * x / x_ref`` where ``x_ref`` is the reference unit's value in the same group (for -1: ``x_ref / x``).

    Parameters
    ----------
    reference_rows : boolean mask of the rows of the reference unit (one per group).

    Examples
    --------
    >>> distance_to_reference([[50.0], [100.0], [200.0]], reference_rows=[False, True, False]).ravel().tolist()
    [50.0, 100.0, 200.0]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    ref = np.asarray(reference_rows, dtype=bool)
    if ref.shape != (a.shape[0],) or not ref.any():
        raise InputError("reference_rows: expected a boolean mask with one True row per group (the reference unit)")
    refvals = np.where(ref[:, None], a, np.nan)
    r = _group_stat(refvals, groups, "mean")
    with np.errstate(all="ignore"):
        out = np.where(d < 0, 100 * r / a, 100 * a / r)
    return np.where(np.isnan(a), np.nan, out)


def _average_ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks (1 = smallest) down each column, NaN kept: pandas' ``DataFrame.rank(method="average")`` in
    numpy (one sort of the whole array instead of pandas' column-by-column loop; the same numbers: a tie group's
    rank (first + last) / 2 is exact, as is pandas' sum / count)."""
    t = np.ascontiguousarray(a.T)  # each column's values contiguous: sorting along the last axis is fastest
    n = t.shape[1]
    order = np.argsort(t, axis=1)  # NaN last; the order within a tie does not change its average rank
    s = np.take_along_axis(t, order, axis=1)
    new = np.ones(s.shape, bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]  # NaN != NaN: NaNs never tie (they are masked below)
    last = np.ones(s.shape, bool)
    last[:, :-1] = new[:, 1:]
    pos = np.arange(1, n + 1, dtype=float)
    first = np.maximum.accumulate(np.where(new, pos, 0.0), axis=1)
    end = np.minimum.accumulate(np.where(last, pos, np.inf)[:, ::-1], axis=1)[:, ::-1]
    out = np.empty(t.shape)
    np.put_along_axis(out, order, (first + end) / 2, axis=1)
    out[np.isnan(t)] = np.nan
    return out.T


def _ranks(a: np.ndarray, groups, ties: str) -> tuple[np.ndarray, np.ndarray]:
    one_of(ties, TIE_RULES, "ties")
    if groups is None and ties == "average" and a.ndim == 2 and len(a):
        return _average_ranks(a), np.broadcast_to((~np.isnan(a)).sum(axis=0).astype(float), a.shape)
    frame = pd.DataFrame(a)
    if groups is None:
        r = frame.rank(method=ties, ascending=True).to_numpy(float)
        n = np.broadcast_to(frame.count().to_numpy(float), a.shape)
    else:
        g = frame.groupby(np.asarray(groups), sort=False)
        r = g.rank(method=ties, ascending=True).to_numpy(float)
        n = g.transform("count").to_numpy(float)
    if ties == "dense":  # the top of a dense ranking is the number of distinct values
        n = pd.DataFrame(r).groupby(np.zeros(len(r)) if groups is None else np.asarray(groups)) \
            .transform("max").to_numpy(float)
    return r, n


def rank_score(x, direction=1, *, ties: str = "average", groups=None) -> np.ndarray:
    """Rank of each value, 1 = worst and n = best (direction applied); tie rule ``ties``.

    Examples
    --------
    >>> rank_score([10.0, 30.0, 30.0, 5.0]).ravel().tolist()
    [2.0, 3.5, 3.5, 1.0]
    >>> rank_score([10.0, 30.0, 30.0, 5.0], ties="min").ravel().tolist()
    [2.0, 3.0, 3.0, 1.0]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    r, _ = _ranks(np.where(d < 0, -a, a), groups, ties)
    return r


def percentile_rank(x, direction=1, *, ties: str = "average", low: float = 0.0, high: float = 100.0,
                    groups=None, convention: str = "(rank-1)/(n-1)") -> np.ndarray:
    """Percentile rank mapped to ``[low, high]``, in one of two conventions.

    ``convention="(rank-1)/(n-1)"`` (default): the worst value 0, the best 1, a single value the midpoint
    (COINr ``n_prank``, ``dplyr::percent_rank``). ``convention="rank/n"``: the OECD/JRC Handbook (2008, Table 15)
    percentile, the worst value 1/n and the best 1.

    Examples
    --------
    >>> percentile_rank([10.0, 30.0, 20.0]).ravel().tolist()
    [0.0, 100.0, 50.0]
    >>> percentile_rank([10.0, 40.0, 20.0, 30.0], convention="rank/n").ravel().tolist()
    [25.0, 100.0, 50.0, 75.0]
    """
    if convention not in PERCENTILE_CONVENTIONS:
        raise InputError(f"percentile convention: expected one of {', '.join(PERCENTILE_CONVENTIONS)}, "
                         f"got {convention!r}")
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    r, n = _ranks(np.where(d < 0, -a, a), groups, ties)
    with np.errstate(all="ignore"):
        if convention == "rank/n":
            u = r / n
        else:
            u = np.where(n > 1, (r - 1) / (n - 1), 0.5)
    return np.where(np.isnan(a), np.nan, _to_scale(u, low, high))


def ratio_to_statistic(x, direction=1, *, statistic: str = "mean", groups=None) -> np.ndarray:
    """``100 * x / s`` with ``s`` the column's mean or median (per group); ``100 * s / x`` for -1 indicators.

    The OECD/JRC Handbook's "distance to a reference" normalisation with the average as reference (Table 15);
    100 = the typical unit. ``s`` must be positive (a ratio to a non-positive statistic has no meaning).

    Examples
    --------
    >>> ratio_to_statistic([[1.0], [2.0], [6.0]]).ravel().round(2).tolist()
    [33.33, 66.67, 200.0]
    >>> ratio_to_statistic([[1.0], [2.0], [6.0]], statistic="median").ravel().tolist()
    [50.0, 100.0, 300.0]
    """
    if statistic not in ("mean", "median"):
        raise InputError(f"statistic: expected 'mean' or 'median', got {statistic!r}")
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    if groups is None:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column gives NaN, not a warning
            s = (np.nanmean if statistic == "mean" else np.nanmedian)(a, axis=0)
        s = np.broadcast_to(s, a.shape)
    else:
        s = pd.DataFrame(a).groupby(np.asarray(groups), sort=False).transform(statistic).to_numpy(float)
    if np.any(s[~np.isnan(s)] <= 0):
        raise InputError(f"ratio_to_{statistic}: the {statistic} of an indicator is <= 0; a ratio to it has no "
                         "meaning (use min-max or z-scores)")
    with np.errstate(all="ignore"):
        out = np.where(d < 0, 100 * s / a, 100 * a / s)
    return np.where(np.isnan(a), np.nan, out)



def fraction_of_max(x, direction=1, *, high: float = 100.0, groups=None) -> np.ndarray:
    """``high * x / max`` (for -1: ``high * min / x``); needs positive values.

    Examples
    --------
    >>> fraction_of_max([[1.0], [2.0], [4.0]]).ravel().tolist()
    [25.0, 50.0, 100.0]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    if np.any(a[~np.isnan(a)] <= 0):
        raise InputError("fraction_of_max: needs positive values (x / max is meaningless otherwise); "
                         "use min-max instead")
    mx, mn = _group_stat(a, groups, "max"), _group_stat(a, groups, "min")
    out = np.where(d < 0, mn / a, a / mx)
    return np.where(np.isnan(a), np.nan, high * out)


def ampi(x, direction=1, *, reference=None, reference_groups=None, groups=None) -> np.ndarray:
    """Adjusted Mazziotta–Pareto rescaling to about 70-130 around a reference value of 100.

    ``r = 100 + direction * 60 * (x - ref) / (max - min)``, i.e. goalposts ``ref ± (max - min) / 2`` mapped to
    70 and 130, with ``max``/``min`` over the pooled data (all units and periods, or per ``groups``).

    Parameters
    ----------
    reference : per-column reference values; default the mean of the rows selected by ``reference_groups``
        (a boolean row mask, e.g. the base year) or of all rows.

    Examples
    --------
    >>> ampi([[0.0], [5.0], [10.0]]).ravel().tolist()
    [70.0, 100.0, 130.0]
    """
    a = _as2d(x)
    d = _direction(direction, a.shape[1])
    if reference is None:
        sel = a if reference_groups is None else a[np.asarray(reference_groups, dtype=bool)]
        with np.errstate(all="ignore"):
            ref = np.nanmean(sel, axis=0) if sel.size else np.full(a.shape[1], np.nan)
    else:
        ref = np.broadcast_to(np.asarray(reference, dtype=float), (a.shape[1],))
    lo, hi = _group_stat(a, groups, "min"), _group_stat(a, groups, "max")
    with np.errstate(all="ignore"):
        u = np.where(hi > lo, (a - ref) / (hi - lo), 0.0)
    return np.where(np.isnan(a), np.nan, 100 + np.where(d < 0, -1, 1) * 60 * u)


def normalise(values: pd.DataFrame, framework: pd.DataFrame | None = None, *, method: str | Sequence[str] = "minmax",
              scale: tuple[float, float] = (0.0, 100.0), ddof: int = 1, ties: str = "average",
              groups=None, reference_rows=None, reference_groups=None, ampi_reference_rows=None,
              cap: bool = True, percentile: str = "(rank-1)/(n-1)") -> pd.DataFrame:
    """Normalise a wide table (rows = unit-periods, columns = indicator codes) indicator by indicator.

    Parameters
    ----------
    values : wide DataFrame of (treated) indicator values.
    framework : node table indexed or keyed by ``code`` with ``direction`` and, as needed, ``goalpost_low``,
        ``goalpost_high``, ``transform``, ``target``, ``normalisation`` (per-indicator override). Without it every
        column has direction 1.
    method : the default method (one of :data:`METHODS`) or one per column.
    scale : the framework's scale ``(low, high)`` for the bounded methods.
    ddof : degrees of freedom of the z-score SD (1 = sample SD).
    ties : tie rule of rank methods.
    groups : per-row group labels (e.g. periods) for per-group normalisation; None = pooled.
    reference_rows : row mask of the reference unit (``distance_to_reference``).
    reference_groups : per-row labels within which the reference value is taken (default ``groups``; a reference
        unit has one value per period, so pass the periods).
    ampi_reference_rows : row mask whose mean is the AMPI reference value (e.g. the base year); default all rows.
    percentile : convention of ``percentile_rank`` (one of :data:`PERCENTILE_CONVENTIONS`).

    Returns
    -------
    DataFrame like ``values``; context indicators (direction 0) are NaN.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0]})
    >>> fw = pd.DataFrame({"code": ["a", "b"], "direction": [1, -1]})
    >>> normalise(v, fw).to_numpy().tolist()
    [[0.0, 0.0], [50.0, 50.0], [100.0, 100.0]]
    """
    cols = list(values.columns)
    k = len(cols)
    if framework is not None:
        fw = framework.set_index("code") if "code" in framework.columns else framework
        missing = [c for c in cols if c not in fw.index]
        if missing:
            raise InputError(f"values: columns {missing} are not indicators of the framework")
        fw = fw.loc[cols]
    else:
        fw = pd.DataFrame(index=cols)
    direction = fw["direction"].to_numpy(float) if "direction" in fw else np.ones(k)
    if isinstance(method, str):
        methods = [method] * k
    else:
        methods = list(method)
        if len(methods) != k:
            raise InputError(f"method: expected one method or {k} (one per column), got {len(methods)}")
    if "normalisation" in fw:
        methods = [m_over if isinstance(m_over, str) and m_over else m
                   for m, m_over in zip(methods, fw["normalisation"].tolist())]
    bad = sorted(set(m for m in methods if m not in METHODS))
    if bad:
        raise InputError(f"normalisation: unknown method(s) {bad}; expected one of {', '.join(METHODS)}")
    a = values.to_numpy(dtype=float)
    out = np.full_like(a, np.nan)
    for m in dict.fromkeys(methods):
        idx = [j for j, mm in enumerate(methods) if mm == m]
        params = {name: _col(fw, name, idx, default) for name, default in NORMALISE_PARAMS.get(m, ())}
        out[:, idx] = normalise_array(a[:, idx], m, direction[idx], params, scale=scale, ddof=ddof, ties=ties,
                                      groups=groups, reference_rows=reference_rows, reference_groups=reference_groups,
                                      ampi_reference_rows=ampi_reference_rows, cap=cap, percentile=percentile)
    out[:, direction == 0] = np.nan
    return pd.DataFrame(out, index=values.index, columns=cols)


#: Per-indicator framework columns a method reads (with their defaults): :func:`normalise_array`'s ``params``.
NORMALISE_PARAMS = {"goalposts": (("goalpost_low", np.nan), ("goalpost_high", np.nan), ("transform", "none")),
           "distance_to_target": (("target", np.nan),)}


def normalise_array(x: np.ndarray, method: str, direction, params: dict | None = None, *,
                    scale: tuple[float, float] = (0.0, 100.0), ddof: int = 1, ties: str = "average", groups=None,
                    reference_rows=None, reference_groups=None, ampi_reference_rows=None, cap: bool = True,
                    percentile: str = "(rank-1)/(n-1)") -> np.ndarray:
    """One method over every column of a 2-D array (what :func:`normalise` does per method, without the table):
    ``params`` holds the per-column framework values the method reads (``goalpost_low``, ``goalpost_high``,
    ``transform``; ``target``). The Monte Carlo calls it on thousands of redrawn columns at once.

    Examples
    --------
    >>> normalise_array(np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]]), "minmax", [1, -1]).tolist()
    [[0.0, 0.0], [50.0, 50.0], [100.0, 100.0]]
    """
    params = params or {}
    low, high = float(scale[0]), float(scale[1])
    d, m = np.asarray(direction, dtype=float), method
    if m == "minmax":
        return min_max(x, d, low=low, high=high, groups=groups)
    if m == "zscore":
        return z_score(x, d, ddof=ddof, groups=groups)
    if m == "goalposts":
        return goalposts(x, d, goalpost_low=params["goalpost_low"], goalpost_high=params["goalpost_high"],
                         transform=params["transform"], cap=cap, low=low, high=high)
    if m == "distance_to_target":
        return distance_to_target(x, d, target=params["target"], cap=cap, low=low, high=high, groups=groups)
    if m == "distance_to_reference":
        if reference_rows is None:
            raise InputError("distance_to_reference: name the reference unit (reference_unit)")
        return distance_to_reference(x, d, reference_rows=reference_rows,
                                     groups=reference_groups if reference_groups is not None else groups)
    if m == "rank":
        return rank_score(x, d, ties=ties, groups=groups)
    if m == "percentile_rank":
        return percentile_rank(x, d, ties=ties, low=low, high=high, groups=groups, convention=percentile)
    if m in ("ratio_to_mean", "ratio_to_median"):
        return ratio_to_statistic(x, d, statistic=m.rsplit("_", 1)[1], groups=groups)
    if m == "fraction_of_max":
        return fraction_of_max(x, d, high=high, groups=groups)
    if m == "ampi":
        return ampi(x, d, reference_groups=ampi_reference_rows, groups=groups)
    raise InputError(f"normalisation: unknown method {m!r}; expected one of {', '.join(METHODS)}")


def _col(fw: pd.DataFrame, name: str, idx, default=np.nan):
    if name not in fw:
        return np.full(len(idx), default, dtype=object if isinstance(default, str) else float)
    return fw[name].iloc[idx].to_numpy()
