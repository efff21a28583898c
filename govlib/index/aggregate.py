"""Aggregation of normalised scores up the framework tree, one method per node (pure, vectorised).

All functions take ``values`` with the children on the **last axis** and any leading axes (units, or replications
x units in the Monte Carlo), and ``weights`` broadcastable to ``values`` (one weight per child, or one set per
replication). Missing children (NaN) are left out and the weights renormalised over the available ones.

Methods (the framework's ``aggregation`` column, per node; empty = the index default):

* ``arithmetic``: ``sum w x / sum w``.
* ``geometric``: ``prod x^(w / sum w)``. Zeros and negatives make it meaningless; ``zero_rule="error"`` (default)
  refuses with an error naming the node; ``zero_rule="epsilon"`` replaces values below ``epsilon`` by
  ``epsilon`` first (a named, documented shift; use a normalisation to [1, 100] instead where you can).
* ``harmonic``: ``sum w / sum (w / x)``; same zero rule as geometric.
* ``generalised`` (mean of order ``p``): ``(sum w x^p / sum w)^(1/p)``; p = 1, 0, -1 are the three above.
* ``mpi``: the Mazziotta–Pareto penalised mean ``M - S * cv`` with ``M`` the weighted mean, ``S`` the weighted
  *population* SD of the unit's children (its horizontal variability) and ``cv = S / M`` (the "negative" penalty,
  for indices where higher is better). Meant for values on the 70-130 AMPI scale or the 100 ± 10 z scale.

Coverage: the share of a node's applicable weight (children that apply to the unit's peer group) that is
available; below ``coverage_threshold`` the node is missing. Children that do not apply to a unit at all
(individual indicators of the other peer group, or weight 0) do not reduce coverage.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, one_of

__all__ = ["AGGREGATION_METHODS", "ZERO_RULES", "weighted_arithmetic", "weighted_geometric", "weighted_harmonic",
           "generalised_mean", "mpi", "aggregate_children", "aggregate_tree"]

AGGREGATION_METHODS = ("arithmetic", "geometric", "harmonic", "generalised", "mpi")
ZERO_RULES = ("error", "epsilon")


def _prep(values, weights):
    v = np.asarray(values, dtype=float)
    w = np.broadcast_to(np.asarray(weights, dtype=float), v.shape)
    if np.any(w < 0):
        raise InputError("weights: expected non-negative weights")
    avail = ~np.isnan(v)
    we = np.where(avail, w, 0.0)
    tot = we.sum(axis=-1)
    with np.errstate(all="ignore"):
        wn = we / tot[..., None]
    return v, wn, tot


def _nonpositive(v, wn, zero_rule, epsilon, what):
    one_of(zero_rule, ZERO_RULES, "zero_rule")
    bad = (v <= 0) & (wn > 0)
    if bad.any():
        if zero_rule == "error":
            raise InputError(f"{what} aggregation over {int(bad.sum())} value(s) <= 0 (e.g. {v[bad].min():g}): the "
                             "mean is 0 or undefined; normalise to a positive range (e.g. min-max to [1, 100]) or "
                             "set zero_rule='epsilon'")
        v = np.where(bad, epsilon, v)
    return v


def weighted_arithmetic(values, weights=1.0):
    """Weighted arithmetic mean over the last axis, weights renormalised over available values.

    Examples
    --------
    >>> weighted_arithmetic([[21, 1, 1, 1], [6, 6, 6, 6]]).tolist()
    [6.0, 6.0]
    """
    v, wn, tot = _prep(values, weights)
    out = np.nansum(np.where(wn > 0, v * wn, 0.0), axis=-1)
    return np.where(tot > 0, out, np.nan)


def weighted_geometric(values, weights=1.0, *, zero_rule: str = "error", epsilon: float = 1e-3):
    """Weighted geometric mean over the last axis (``zero_rule`` for values <= 0, see module docs).

    Examples
    --------
    >>> weighted_geometric([[21, 1, 1, 1], [6, 6, 6, 6], [21, 2, 1, 1], [6, 7, 6, 6]]).round(4).tolist()
    [2.1407, 6.0, 2.5457, 6.2357]
    """
    v, wn, tot = _prep(values, weights)
    v = _nonpositive(v, wn, zero_rule, epsilon, "geometric")
    with np.errstate(all="ignore"):
        out = np.exp(np.nansum(np.where(wn > 0, wn * np.log(np.where(wn > 0, v, 1.0)), 0.0), axis=-1))
    return np.where(tot > 0, out, np.nan)


def weighted_harmonic(values, weights=1.0, *, zero_rule: str = "error", epsilon: float = 1e-3):
    """Weighted harmonic mean over the last axis.

    Examples
    --------
    >>> round(float(weighted_harmonic([1.0, 4.0, 4.0])), 12)
    2.0
    """
    v, wn, tot = _prep(values, weights)
    v = _nonpositive(v, wn, zero_rule, epsilon, "harmonic")
    with np.errstate(all="ignore"):
        out = 1.0 / np.nansum(np.where(wn > 0, wn / np.where(wn > 0, v, 1.0), 0.0), axis=-1)
    return np.where(tot > 0, out, np.nan)


def generalised_mean(values, weights=1.0, *, p: float = 1.0, zero_rule: str = "error", epsilon: float = 1e-3):
    """Weighted mean of order ``p`` (p=1 arithmetic, 0 geometric, -1 harmonic).

    Examples
    --------
    >>> round(float(generalised_mean([1.0, 3.0], p=2)), 4)
    2.2361
    """
    if p == 0:
        return weighted_geometric(values, weights, zero_rule=zero_rule, epsilon=epsilon)
    v, wn, tot = _prep(values, weights)
    if p < 0 or p != int(p):
        v = _nonpositive(v, wn, zero_rule, epsilon, f"generalised (p={p})")
    with np.errstate(all="ignore"):
        out = np.nansum(np.where(wn > 0, wn * np.where(wn > 0, v, 1.0) ** p, 0.0), axis=-1) ** (1.0 / p)
    return np.where(tot > 0, out, np.nan)


def mpi(values, weights=1.0):
    """Mazziotta–Pareto index ``M - S * S / M`` (population SD ``S`` of the unit's children, negative penalty).

    Examples
    --------
    >>> mpi([[100.0, 100.0], [90.0, 110.0]]).tolist()
    [100.0, 99.0]
    """
    v, wn, tot = _prep(values, weights)
    vz = np.where(wn > 0, v, 0.0)
    m = (wn * vz).sum(axis=-1)
    var = (wn * (vz - m[..., None]) ** 2).sum(axis=-1)
    with np.errstate(all="ignore"):
        out = m - var / m
    return np.where(tot > 0, out, np.nan)


def aggregate_children(values, weights=1.0, method: str = "arithmetic", *, applicable=None,
                       coverage_threshold: float = 0.5, p: float = 1.0, zero_rule: str = "error",
                       epsilon: float = 1e-3, node: str = "",
                       coverage_weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Aggregate one node: ``(score, coverage)`` over the last axis, missing below the coverage threshold.

    Parameters
    ----------
    values : array (..., children).
    weights : non-negative weights broadcastable to ``values``.
    method : one of :data:`AGGREGATION_METHODS`.
    applicable : boolean array broadcastable to ``values``: children that apply to the unit (scope).
    coverage_threshold : minimum share of applicable weight that must be available.
    coverage_weights : weights used for the coverage share only (default ``weights``); the Monte Carlo passes
        the nominal weights so that a weight perturbation does not change which scores exist.

    Examples
    --------
    >>> s, c = aggregate_children([[50.0, np.nan, 70.0]], [1, 1, 2], coverage_threshold=0.7)
    >>> s.round(3).tolist(), c.tolist()
    ([63.333], [0.75])
    """
    v = np.asarray(values, dtype=float)
    w = np.broadcast_to(np.asarray(weights, dtype=float), v.shape)
    if applicable is not None:
        app = np.broadcast_to(np.asarray(applicable, dtype=bool), v.shape)
        w = np.where(app, w, 0.0)
        v = np.where(app, v, np.nan)
    cw = w if coverage_weights is None else np.where(w > 0, np.broadcast_to(
        np.asarray(coverage_weights, dtype=float), v.shape), 0.0)
    wapp = cw.sum(axis=-1)
    wav = np.where(np.isnan(v), 0.0, cw).sum(axis=-1)
    with np.errstate(all="ignore"):
        coverage = np.where(wapp > 0, wav / wapp, 0.0)
    label = f"node {node}: " if node else ""
    try:
        if method == "arithmetic":
            s = weighted_arithmetic(v, w)
        elif method == "geometric":
            s = weighted_geometric(v, w, zero_rule=zero_rule, epsilon=epsilon)
        elif method == "harmonic":
            s = weighted_harmonic(v, w, zero_rule=zero_rule, epsilon=epsilon)
        elif method == "generalised":
            s = generalised_mean(v, w, p=p, zero_rule=zero_rule, epsilon=epsilon)
        elif method == "mpi":
            s = mpi(v, w)
        else:
            raise InputError(f"{label}aggregation: expected one of {', '.join(AGGREGATION_METHODS)}, got {method!r}")
    except InputError as exc:
        if label and not str(exc).startswith(label):
            raise InputError(label + str(exc)) from None
        raise
    s = np.where(coverage + 1e-12 >= coverage_threshold, s, np.nan)
    return s, coverage


def _parse_method(spec: str, default: str, default_p: float) -> tuple[str, float]:
    """``"generalised:2"`` / ``"generalised(2)"`` -> ("generalised", 2.0)."""
    spec = (spec or "").strip() or default
    for sep in (":", "("):
        if sep in spec:
            name, arg = spec.split(sep, 1)
            try:
                return name.strip(), float(arg.strip(" )"))
            except ValueError:
                raise InputError(f"aggregation: cannot read the order p in {spec!r} (expected e.g. generalised:2)")
    return spec, default_p


def aggregate_tree(normalised: pd.DataFrame, nodes: pd.DataFrame, *, method: str = "arithmetic", p: float = 1.0,
                   weights: pd.Series | None = None, applicable: pd.DataFrame | None = None,
                   coverage_threshold: float = 0.5, zero_rule: str = "error",
                   epsilon: float = 1e-3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate normalised leaf scores up the tree, bottom-up, each node with its own method.

    Parameters
    ----------
    normalised : wide table (rows = unit-periods, columns = scored leaf codes).
    nodes : framework node table (``code``, ``parent``, ``is_leaf``, ``level``, ``direction``, ``weight``,
        ``aggregation``).
    method, p : the default aggregation (and order ``p`` of ``generalised``); a node's ``aggregation`` column
        overrides it (``geometric``, ``generalised:0.5`` ...).
    weights : weight per node code within its parent (default the framework ``weight``); renormalised.
    applicable : boolean wide table (rows like ``normalised``, columns leaves): which leaves apply to the row's unit.

    Returns
    -------
    ``(scores, coverage)``: wide tables with one column per node (leaves included, root last among levels).

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"], "is_leaf": [False, True, True],
    ...                       "level": [0, 1, 1], "direction": [1, 1, 1], "weight": [1.0, 1.0, 1.0],
    ...                       "aggregation": ["geometric", "", ""]})
    >>> s, c = aggregate_tree(pd.DataFrame({"a": [21.0, 6.0], "b": [1.0, 6.0]}), nodes)
    >>> s["I"].round(3).tolist()
    [4.583, 6.0]
    """
    n = nodes.copy()
    n["parent"] = n["parent"].where(n["parent"].notna(), None)
    scored = n["is_leaf"] & (n["direction"] != 0)
    keep = set(n.loc[scored, "code"])
    # Internal nodes are kept if they have a scored descendant.
    changed = True
    while changed:
        before = len(keep)
        keep |= set(n.loc[n["code"].isin(keep), "parent"].dropna())
        changed = len(keep) != before
    n = n[n["code"].isin(keep)]
    missing = [c for c in n.loc[n["is_leaf"], "code"] if c not in normalised.columns]
    if missing:
        raise InputError(f"normalised: no column for scored indicator(s) {missing}")
    w = (weights if weights is not None else n.set_index("code")["weight"]).astype(float)
    if w.reindex(n["code"]).isna().any():
        raise InputError(f"weights: no weight for node(s) {n.loc[w.reindex(n['code']).isna().to_numpy(), 'code'].tolist()}")
    scores = {c: normalised[c].to_numpy(float) for c in n.loc[n["is_leaf"], "code"]}
    app = {c: (applicable[c].to_numpy(bool) if applicable is not None and c in applicable.columns
               else np.ones(len(normalised), bool)) for c in scores}
    cov = {c: (~np.isnan(scores[c])).astype(float) for c in scores}
    for lvl in sorted(n.loc[~n["is_leaf"], "level"].unique(), reverse=True):
        for row in n[(n["level"] == lvl) & ~n["is_leaf"]].itertuples(index=False):
            kids = n.loc[n["parent"] == row.code, "code"].tolist()
            name, pp = _parse_method(getattr(row, "aggregation", "") if "aggregation" in n else "", method, p)
            vals = np.column_stack([scores[k] for k in kids])
            apps = np.column_stack([app[k] for k in kids])
            s, c = aggregate_children(vals, w.reindex(kids).to_numpy(float), name, applicable=apps,
                                      coverage_threshold=coverage_threshold, p=pp, zero_rule=zero_rule,
                                      epsilon=epsilon, node=str(row.code))
            scores[row.code], cov[row.code], app[row.code] = s, c, apps.any(axis=1)
    order = n.sort_values("level", kind="stable")["code"].tolist()
    return (pd.DataFrame({c: scores[c] for c in order}, index=normalised.index),
            pd.DataFrame({c: cov[c] for c in order}, index=normalised.index))
