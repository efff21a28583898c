"""Why did the score change: an exact decomposition of a composite score's change into node contributions (pure).

The change of the root score of a unit between two periods, ``root(t) - root(t-1)``, is split over the tree:
every node gets a *contribution* (in root score points) and, at every internal node, the contributions of its
children add up **exactly** to the node's own contribution. So the dimension rows of a unit add up to the change of
its index, and so do the indicator rows.

How a node's change is shared among its children depends on how the node aggregates them (the framework's
``aggregation`` column; empty = ``default_method``):

* ``arithmetic`` (``x_N = sum w_c x_c`` with the weights renormalised over the available children): the change is
  linear, ``dx_N = sum w_c dx_c``; a leaf's contribution to the root is its change times its *effective weight*
  (the product of the renormalised weights on its path), which is exact.
* ``geometric`` (``x_N = prod x_c^w_c``): ``d ln x_N = sum w_c d ln x_c`` exactly; the change in points is shared
  with the logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)`` (``L(a, a) = a``) as
  ``contribution_c = L(x_N(t), x_N(t-1)) w_c d ln x_c`` — the additive LMDI-I decomposition (Ang 2004), whose
  parts add up exactly to ``dx_N``. Values must be positive.
* any other method (harmonic, generalised mean, MPI): the node is not decomposed further; it shows as one
  contribution (``method`` says ``not decomposed``).

The weights are renormalised over the children available in **both** periods. When a child is present in only one
of them (an indicator newly collected, or suppressed), the part of the node's change that the common children do
not explain is a row ``<node>:coverage`` (``kind = "coverage"``), so the sums stay exact and the effect of the
changed coverage is shown, not hidden.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["DECOMPOSED_METHODS", "decompose_change", "log_mean", "largest_contributions"]

DECOMPOSED_METHODS = ("arithmetic", "geometric")
_TOL = 1e-9


def log_mean(a, b) -> np.ndarray:
    """The logarithmic mean ``(a - b) / (ln a - ln b)``, equal to ``a`` where ``a == b``; NaN where not positive.

    Examples
    --------
    >>> log_mean([2.0, 3.0], [2.0, 1.0]).round(6).tolist()
    [2.0, 1.820478]
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(all="ignore"):
        out = np.where(np.isclose(a, b, rtol=1e-12, atol=0.0), a, (a - b) / (np.log(a) - np.log(b)))
    return np.where((a > 0) & (b > 0), out, np.nan)


def _tree(tree: pd.DataFrame) -> tuple[str, dict[str, list[str]], dict[str, float], dict[str, str]]:
    missing = [c for c in ("code", "parent") if c not in tree.columns]
    if missing:
        raise InputError(f"decompose_change: the tree needs columns code and parent; missing {missing}")
    codes = tree["code"].astype(str)
    parents = tree["parent"].where(tree["parent"].notna() & (tree["parent"].astype(str) != ""), None)
    roots = codes[parents.isna()].tolist()
    if len(roots) != 1:
        raise InputError(f"decompose_change: expected one root node (a row with no parent), found {roots}")
    children: dict[str, list[str]] = {}
    for code, parent in zip(codes, parents):
        if parent is not None:
            children.setdefault(str(parent), []).append(code)
    weight = dict(zip(codes, pd.to_numeric(tree["weight"], errors="coerce").fillna(1.0))) if "weight" in tree \
        else dict.fromkeys(codes, 1.0)
    agg = dict(zip(codes, tree["aggregation"].fillna("").astype(str))) if "aggregation" in tree \
        else dict.fromkeys(codes, "")
    return roots[0], children, weight, agg


def decompose_change(scores: pd.DataFrame, tree: pd.DataFrame, period: str, period_prev: str, *,
                     default_method: str = "arithmetic") -> pd.DataFrame:
    """Contributions of every node to the change of each unit's root score from ``period_prev`` to ``period``.

    Parameters
    ----------
    scores : tidy ``unit, period, node, score`` with the scores of every node of the tree (root, dimensions and the
        normalised indicators), as in the ``index_scores`` table.
    tree : ``code, parent`` and optionally ``weight`` (default 1) and ``aggregation`` (empty = ``default_method``),
        one row per node, as in the ``framework`` table.
    period, period_prev : the two periods compared.
    default_method : the aggregation of nodes whose ``aggregation`` is empty.

    Returns
    -------
    DataFrame
        One row per unit and node: ``unit, period, period_prev, node, parent, level`` (0 = root), ``kind``
        (``root``, ``node``, ``leaf`` or ``coverage``), ``value_prev, value, change`` (of the node itself, in its own
        points), ``weight`` (renormalised over the children available in both periods), ``method`` (how the parent
        shares its change), ``contribution`` (to the root's change, in root points). Units whose root score is
        missing in either period are left out.

    Examples
    --------
    A root that averages two indicators with weights 3 and 1; ``a`` rises by 4, ``b`` falls by 4:

    >>> tree = pd.DataFrame({"code": ["R", "a", "b"], "parent": [None, "R", "R"], "weight": [1, 3, 1]})
    >>> scores = pd.DataFrame({"unit": "u", "period": ["1", "1", "1", "2", "2", "2"],
    ...                        "node": ["R", "a", "b"] * 2, "score": [50, 50, 50, 52, 54, 46]})
    >>> d = decompose_change(scores, tree, "2", "1")
    >>> d[["node", "change", "contribution"]].to_dict("list")
    {'node': ['R', 'a', 'b'], 'change': [2.0, 4.0, -4.0], 'contribution': [2.0, 3.0, -1.0]}
    """
    if default_method not in DECOMPOSED_METHODS:
        raise InputError(f"decompose_change: default_method {default_method!r}: expected one of "
                         f"{', '.join(DECOMPOSED_METHODS)}")
    need = [c for c in ("unit", "period", "node", "score") if c not in scores.columns]
    if need:
        raise InputError(f"decompose_change: scores need columns unit, period, node, score; missing {need}")
    root, children, weight, agg = _tree(tree)
    per = scores["period"].astype(str)
    now = scores[per == str(period)].pivot_table(index="unit", columns="node", values="score", aggfunc="first")
    before = scores[per == str(period_prev)].pivot_table(index="unit", columns="node", values="score",
                                                         aggfunc="first")
    units = now.index.intersection(before.index)
    if root in now.columns and root in before.columns:
        units = units[now.loc[units, root].notna().to_numpy() & before.loc[units, root].notna().to_numpy()]
    else:
        units = units[:0]
    now, before = now.reindex(units), before.reindex(units)

    scored = {n for n in set(now.columns) | set(before.columns)
              if (n in now.columns and now[n].notna().any()) or (n in before.columns and before[n].notna().any())}
    # a node none of whose children has a score (e.g. only the dimensions were kept) is a leaf here
    children = {n: kids for n, kids in children.items() if any(k in scored for k in kids)}

    def col(frame, node):
        return frame[node].to_numpy(dtype=float) if node in frame.columns else np.full(len(units), np.nan)

    parts: list[pd.DataFrame] = []

    def emit(node, parent, level, kind, v0, v1, w, method, contribution):
        parts.append(pd.DataFrame({"unit": units.astype(str), "node": node, "parent": parent, "level": level,
                                   "kind": kind, "value_prev": v0, "value": v1, "change": v1 - v0, "weight": w,
                                   "method": method, "contribution": contribution}))

    r0, r1 = col(before, root), col(now, root)
    emit(root, None, 0, "root", r0, r1, 1.0, "", r1 - r0)
    # (node, level, multiplier): a node's contribution to the root = multiplier * its own change
    stack = [(root, 0, np.ones(len(units)))]
    while stack:
        node, level, mult = stack.pop(0)
        kids = children.get(node, [])
        if not kids:
            continue
        method = agg.get(node) or default_method
        n0, n1 = col(before, node), col(now, node)
        x0 = np.column_stack([col(before, c) for c in kids])
        x1 = np.column_stack([col(now, c) for c in kids])
        both = ~np.isnan(x0) & ~np.isnan(x1)
        w = np.where(both, np.array([weight.get(c, 1.0) for c in kids], dtype=float), 0.0)
        with np.errstate(all="ignore"):
            wn = w / w.sum(axis=1, keepdims=True)
            if method == "arithmetic":
                m = wn
            elif method == "geometric":
                m = log_mean(n1, n0)[:, None] * wn / log_mean(x1, x0)
            else:
                m = np.zeros_like(wn)
            m = np.where(both & np.isfinite(m), m, 0.0)
            explained = np.nansum(m * np.where(both, x1 - x0, 0.0), axis=1)
        label = method if method in DECOMPOSED_METHODS else "not decomposed"
        for j, kid in enumerate(kids):
            present = ~(np.isnan(x0[:, j]) & np.isnan(x1[:, j]))
            if not present.any():
                continue  # the indicator does not apply to any of these units
            change = np.where(both[:, j], x1[:, j] - x0[:, j], 0.0)
            emit(kid, node, level + 1, "node" if kid in children else "leaf", x0[:, j], x1[:, j], wn[:, j], label,
                 mult * m[:, j] * change)
            stack.append((kid, level + 1, mult * m[:, j]))
        residual = mult * ((n1 - n0) - explained)
        if np.any(np.abs(np.nan_to_num(residual)) > _TOL):
            emit(f"{node}:coverage", node, level + 1, "coverage", np.nan, np.nan, np.nan, label, residual)
    cols = ["unit", "period", "period_prev", "node", "parent", "level", "kind", "value_prev", "value", "change",
            "weight", "method", "contribution"]
    if not parts or not len(units):
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    # a child missing in both periods (not applicable to this unit) is no row
    out = out[(out["kind"] == "root") | out["value_prev"].notna() | out["value"].notna()
              | ((out["kind"] == "coverage") & (out["contribution"].abs() > _TOL))]
    out = out.assign(period=str(period), period_prev=str(period_prev))
    order = {n: i for i, n in enumerate(tree["code"].astype(str))}
    out["_o"] = out["node"].map(order).fillna(out["parent"].map(order).fillna(-1) + 0.5)
    out = out.sort_values(["unit", "_o"], kind="stable").drop(columns="_o")
    return out[cols].reset_index(drop=True)


def largest_contributions(decomposition: pd.DataFrame, unit: str | None = None, n: int = 2,
                          kind: tuple[str, ...] = ("leaf", "coverage")) -> pd.DataFrame:
    """The ``n`` rows with the largest absolute contribution (for one unit, among leaves by default).

    Examples
    --------
    >>> d = pd.DataFrame({"unit": "u", "node": ["a", "b", "c"], "kind": "leaf", "contribution": [0.5, -2.0, 1.0]})
    >>> largest_contributions(d, "u")["node"].tolist()
    ['b', 'c']
    """
    d = decomposition
    if unit is not None:
        d = d[d["unit"] == unit]
    d = d[d["kind"].isin(kind)]
    return d.reindex(d["contribution"].abs().sort_values(ascending=False, kind="stable").index).head(n)
