"""Inequality measures: Gini and Theil, optionally population-weighted, for one vector or many groups at once.

Conventions (named in the parameters, tested):

- **Gini** is the *population* (descriptive) Gini, ``G = sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mu)``, which
  for equal weights is ``sum |x_i - x_j| / (2 n^2 mu)``. It equals the area formula on the Lorenz curve
  ``1 - sum_i (p_i - p_{i-1}) (L_i + L_{i-1})``. ``small_sample=True`` multiplies by ``n / (n - 1)`` (the
  "sample" Gini that reaches 1 when one unit holds everything); it is only defined for equal weights.
- **Theil** ``T`` (``index="T"``, GE(1), the default) is ``sum_i s_i (x_i / mu) ln(x_i / mu)`` with population
  shares ``s_i = w_i / W``; ``0 ln 0 = 0``. ``index="L"`` is the mean log deviation GE(0),
  ``sum_i s_i ln(mu / x_i)``, which is infinite when any value is 0 (returned as ``inf``).

Values must be finite and non-negative; a group whose mean is 0 (everybody has nothing) has no defined
inequality and gets NaN. Missing values are dropped (with their weights) before computing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, one_of

__all__ = ["gini", "theil", "inequality_by_group"]


def _clean(values, weights, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    if weights is None:
        w = np.ones_like(x)
    else:
        w = np.asarray(weights, dtype=float).ravel()
        if w.shape != x.shape:
            raise InputError(f"{name}: 'weights' has {w.size} values but 'values' has {x.size}")
    keep = ~(np.isnan(x) | np.isnan(w))
    x, w = x[keep], w[keep]
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        bad = x[~np.isfinite(x) | (x < 0)][:5].tolist()
        raise InputError(f"{name}: 'values' must be finite and non-negative; got {bad}")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        bad = w[~np.isfinite(w) | (w < 0)][:5].tolist()
        raise InputError(f"{name}: 'weights' must be finite and non-negative; got {bad}")
    return x, w


def gini(values, weights=None, small_sample: bool = False) -> float:
    """Gini coefficient of non-negative values (population convention), optionally population-weighted.

    Parameters
    ----------
    values : array-like of non-negative numbers (NaN dropped).
    weights : array-like of non-negative weights (e.g. residents), same length; ``None`` = equal weights.
    small_sample : multiply by ``n / (n - 1)`` (equal weights only).

    Returns
    -------
    float in ``[0, 1)`` (``[0, 1]`` with ``small_sample``); NaN when there are no values or the mean is 0.

    Examples
    --------
    >>> round(gini([1, 2, 3, 4, 5]), 4)
    0.2667
    >>> gini([0, 0, 0, 10], small_sample=True)
    1.0
    >>> round(gini([1, 3], weights=[3, 1]), 4)
    0.25
    """
    x, w = _clean(values, weights, "gini")
    if small_sample and weights is not None:
        raise InputError("gini: small_sample=True is only defined for equal weights (weights=None)")
    if x.size == 0 or w.sum() == 0:
        return float("nan")
    order = np.argsort(x, kind="mergesort")
    x, w = x[order], w[order]
    total_w = w.sum()
    wx = w * x
    total = wx.sum()
    if total == 0:
        return float("nan")
    # Lorenz-curve trapezoids: sum_i w_i (L_{i-1} + L_i) with cumulative value shares L.
    cum = np.cumsum(wx)
    prev = cum - wx
    g = 1.0 - float(np.sum(w * (cum + prev)) / (total_w * total))
    if small_sample:
        n = x.size
        g = g * n / (n - 1) if n > 1 else float("nan")
    return max(g, 0.0) if abs(g) < 1e-14 else g


def theil(values, weights=None, index: str = "T") -> float:
    """Theil index of non-negative values, optionally population-weighted.

    Parameters
    ----------
    values : array-like of non-negative numbers (NaN dropped).
    weights : population weights (``None`` = equal).
    index : ``"T"`` (Theil T, GE(1), ``0 ln 0 = 0``) or ``"L"`` (mean log deviation, GE(0); ``inf`` if any value is 0).

    Examples
    --------
    >>> round(theil([1, 2, 3, 4]), 6)
    0.10644
    >>> theil([5, 5, 5])
    0.0
    >>> round(theil([1, 2, 3, 4], index="L"), 6)
    0.121777
    """
    one_of(index, ("T", "L"), "theil: index")
    x, w = _clean(values, weights, "theil")
    if x.size == 0 or w.sum() == 0:
        return float("nan")
    s = w / w.sum()
    top = float(x.max())
    if top > 0:
        x = x / top  # scale-free: keeps r = x / mu finite for tiny (subnormal) values
    mu = float(np.sum(s * x))
    if mu == 0:
        return float("nan")
    r = x / mu
    if index == "T":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)
        return float(max(np.sum(s * terms), 0.0))
    if np.any((x == 0) & (s > 0)):
        return float("inf")
    return float(max(np.sum(s * -np.log(np.where(r > 0, r, 1.0))), 0.0))


def inequality_by_group(data: pd.DataFrame, by, value: str, weight: str | None = None,
                        floor: float | None = None) -> pd.DataFrame:
    """Gini, Theil T and the share below a floor for every group of a long table, vectorised (no group loop).

    Parameters
    ----------
    data : long table with the group columns, ``value`` and optionally ``weight``.
    by : column name or list of names that define a group (e.g. ``["parent", "period"]``).
    value : non-negative values whose inequality is measured (NaN rows are dropped).
    weight : optional population-weight column (NaN weight drops the row); ``None`` = every row counts once.
    floor : if given, ``share_below_floor`` is the (weighted) share of rows with ``value < floor``.

    Returns
    -------
    DataFrame with the group columns and ``n``, ``mean`` (weighted), ``gini``, ``theil``, ``share_below_floor``.

    Examples
    --------
    >>> df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 2, "x": [1, 2, 3, 4, 5, 5]})
    >>> out = inequality_by_group(df, "g", "x", floor=2)
    >>> out.round(4).to_dict("list")["gini"], out["share_below_floor"].tolist()
    ([0.25, 0.0], [0.25, 0.0])
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by + [value] + ([weight] if weight else []) if c not in data.columns]
    if missing:
        raise InputError(f"inequality_by_group: columns {missing} not in the table (have {list(data.columns)})")
    cols = by + [value] + ([weight] if weight else [])
    d = data[cols].copy()
    d["_x"] = pd.to_numeric(d[value], errors="coerce").astype(float)
    d["_w"] = 1.0 if weight is None else pd.to_numeric(d[weight], errors="coerce").astype(float)
    d = d[d["_x"].notna() & d["_w"].notna()]
    if ((d["_x"] < 0) | ~np.isfinite(d["_x"])).any() or ((d["_w"] < 0) | ~np.isfinite(d["_w"])).any():
        raise InputError(f"inequality_by_group: '{value}' and weights must be finite and non-negative")
    if d.empty:
        return pd.DataFrame(columns=by + ["n", "mean", "gini", "theil", "share_below_floor"])
    d = d.sort_values(by + ["_x"], kind="mergesort")
    d["_wx"] = d["_w"] * d["_x"]
    g = d.groupby(by, sort=False, dropna=False)
    tot_w = g["_w"].transform("sum")
    tot_wx = g["_wx"].transform("sum")
    cum = g["_wx"].cumsum()
    prev = cum - d["_wx"]
    d["_trap"] = d["_w"] * (cum + prev) / (tot_w * tot_wx)
    mu = tot_wx / tot_w
    r = d["_x"] / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        d["_theil"] = np.where(r > 0, (d["_w"] / tot_w) * r * np.log(r.where(r > 0, 1.0)), 0.0)
    if floor is not None:
        d["_below"] = d["_w"] * (d["_x"] < floor)
    out = g.agg(n=("_x", "size"), _w=("_w", "sum"), _wx=("_wx", "sum"), _trap=("_trap", "sum"),
                theil=("_theil", "sum"))
    out["mean"] = out["_wx"] / out["_w"]
    out["gini"] = 1.0 - out["_trap"]
    zero = (out["_wx"] == 0) | (out["_w"] == 0)
    out.loc[zero, ["gini", "theil"]] = np.nan
    # Tiny negative values are rounding noise around perfect equality.
    out["gini"] = out["gini"].where(~(out["gini"].abs() < 1e-12), 0.0)
    out["theil"] = out["theil"].where(~(out["theil"].abs() < 1e-12), 0.0)
    if floor is not None:
        out["share_below_floor"] = g["_below"].sum() / out["_w"]
    else:
        out["share_below_floor"] = np.nan
    out = out.reset_index()
    return out[by + ["n", "mean", "gini", "theil", "share_below_floor"]]
