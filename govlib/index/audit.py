"""Statistical audit of a composite index's indicators: correlations, Cronbach's alpha, PCA, flags.

Pure functions over a *wide* frame (rows = unit x period, columns = indicator codes; normally the normalised data,
so that every indicator already points "higher = better") and the framework's node table.

Public API (stable; the index engine calls these)::

    indicator_dimensions(nodes, codes, level=None) -> Series          # indicator -> dimension code
    correlation_matrix(data, nodes=None, method="pearson", level=None) -> DataFrame (tidy pairs)
    cronbach_alpha(df, standardized=False) -> float
    alpha_by_dimension(data, nodes, level=None) -> DataFrame
    pca_by_dimension(data, nodes, level=None) -> (summary DataFrame, loadings DataFrame)
    correlation_with_aggregates(data, scores, nodes, method="pearson", level=None) -> DataFrame
    audit_flags(correlations, alpha, pca, redundant_threshold=0.92, negative_threshold=0.0,
                alpha_threshold=0.7, aggregates=None) -> DataFrame
    audit(data, nodes, method="pearson", level=None, by=None, scores=None, redundant_threshold=0.92,
          negative_threshold=0.0, alpha_threshold=0.7) -> dict[str, DataFrame]
        keys: audit_correlations, audit_alpha, audit_pca, audit_pca_loadings, audit_flags
        (+ audit_aggregate_correlations when scores are given)

Conventions:

- The "dimension" of an indicator is its immediate parent (``level=None``) or its ancestor at depth ``level``
  (root = 0, so ``level=1`` groups by the top-level dimensions). Context indicators (``direction == 0``) are
  left out.
- Correlations use pairwise-complete rows (pandas); ``n`` is the number of such rows. Spearman = Pearson on
  average ranks.
- Cronbach's alpha = k/(k-1) (1 - sum var_i / var(sum)), sample variances (``ddof=1``), listwise deletion;
  standardised alpha = k r̄ / (1 + (k-1) r̄) with r̄ the mean off-diagonal correlation. Undefined (NaN) for a
  dimension with fewer than 2 indicators. Without missing values this is R ``psych::alpha``'s raw_alpha; with
  missing values it matches ``psych::alpha(x, use = "complete.obs")`` (psych's default is pairwise).
- PCA per dimension on the correlation matrix (listwise deletion): first eigenvalue, its share of variance, the
  number of eigenvalues > 1 (Kaiser), and first-component loadings v_1 sqrt(lambda_1) oriented so their sum is
  positive.
- Flags (``audit_flags``): ``negative_correlation`` (two indicators of one dimension with r < negative_threshold),
  ``redundant_pair`` (|r| > redundant_threshold, any two indicators: double counting), ``low_alpha`` (alpha <
  alpha_threshold, Nunnally's 0.7), ``multidimensional`` (more than one eigenvalue > 1 in a dimension).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from govlib.errors import InputError, one_of

__all__ = ["indicator_dimensions", "correlation_matrix", "correlation_with_aggregates", "cronbach_alpha",
           "alpha_by_dimension", "pca_by_dimension", "audit_flags", "audit"]

_METHODS = ("pearson", "spearman")


def _nodes(nodes: Any) -> pd.DataFrame:
    table = getattr(nodes, "nodes", nodes)
    if not isinstance(table, pd.DataFrame) or not {"code", "parent"} <= set(table.columns):
        raise InputError("nodes: expected the framework's node DataFrame (columns 'code', 'parent') or a Framework")
    t = table.copy()
    t["code"] = t["code"].astype(str)
    t["parent"] = [None if (p is None or (isinstance(p, float) and np.isnan(p)) or str(p).strip() == "")
                   else str(p) for p in t["parent"]]
    return t


def indicator_dimensions(nodes: Any, codes: Sequence[str], level: int | None = None) -> pd.Series:
    """The dimension each indicator belongs to.

    Parameters
    ----------
    nodes : DataFrame or Framework
    codes : sequence of str
        Indicator codes (data columns). Codes that are not framework nodes raise InputError.
    level : int, optional
        None = immediate parent; otherwise the ancestor at this depth (root = 0).

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D1", "S1", "a", "b"], "parent": [None, "I", "D1", "S1", "D1"]})
    >>> indicator_dimensions(nodes, ["a", "b"]).to_dict(), indicator_dimensions(nodes, ["a", "b"], 1).to_dict()
    ({'a': 'S1', 'b': 'D1'}, {'a': 'D1', 'b': 'D1'})
    """
    t = _nodes(nodes)
    codes = [str(c) for c in codes]
    unknown = [c for c in codes if c not in set(t["code"])]
    if unknown:
        raise InputError(f"data: column(s) {unknown} are not nodes of the framework")
    parent_of = {c: (p if pd.notna(p) else None) for c, p in zip(t["code"], t["parent"])}
    if level is None:
        return pd.Series([parent_of[c] for c in codes], index=pd.Index(codes, name="indicator"), name="dimension")
    if level < 1:
        raise InputError(f"level: must be >= 1 (root = 0), got {level}")
    out = []
    for c in codes:  # one walk per indicator; frameworks have tens of indicators, not a hot path
        path = [c]
        while parent_of.get(path[-1]) is not None:
            path.append(parent_of[path[-1]])
        path = path[::-1]  # root first
        out.append(path[level] if len(path) > level + 1 else parent_of[c])
    return pd.Series(out, index=pd.Index(codes, name="indicator"), name="dimension")


def _scored_columns(data: pd.DataFrame, nodes: Any) -> list[str]:
    t = _nodes(nodes)
    parents = set(t["parent"].dropna())
    cols = [str(c) for c in data.columns]
    unknown = [c for c in cols if c not in set(t["code"])]
    if unknown:
        raise InputError(f"data: column(s) {unknown} are not nodes of the framework")
    context = set()
    if "direction" in t.columns:
        context = set(t.loc[pd.to_numeric(t["direction"], errors="coerce") == 0, "code"])
    return [c for c in cols if c not in parents and c not in context]


def _numeric(data: Any, name: str = "data") -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{name}: expected a wide DataFrame (rows = unit x period, columns = indicator codes)")
    try:
        df = data.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: values must be numeric ({exc})") from None
    df.columns = [str(c) for c in df.columns]
    if df.columns.has_duplicates:
        raise InputError(f"{name}: duplicated columns {sorted(set(df.columns[df.columns.duplicated()]))}")
    return df.replace([np.inf, -np.inf], np.nan)


def correlation_matrix(data: pd.DataFrame, nodes: Any = None, method: str = "pearson",
                       level: int | None = None) -> pd.DataFrame:
    """Correlations between every pair of indicators, tagged within or across dimensions.

    Parameters
    ----------
    data : DataFrame
        Wide data; every column is used when ``nodes`` is None, else the scored leaves.
    nodes : DataFrame or Framework, optional
    method : {"pearson", "spearman"}
    level : int, optional
        Dimension depth, see :func:`indicator_dimensions`.

    Returns
    -------
    DataFrame
        One row per unordered pair (column order): ``indicator_a, indicator_b, dimension_a, dimension_b,
        same_dimension, method, r, n``.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 4, 6, 9], "c": [4.0, 3, 2, 1]})
    >>> correlation_matrix(x, method="spearman")[["indicator_a", "indicator_b", "r"]].to_dict("list")
    {'indicator_a': ['a', 'a', 'b'], 'indicator_b': ['b', 'c', 'c'], 'r': [1.0, -1.0, -1.0]}
    """
    one_of(method, _METHODS, "method (correlation)")
    df = _numeric(data)
    cols = _scored_columns(df, nodes) if nodes is not None else list(df.columns)
    df = df[cols]
    if nodes is not None:
        dims = indicator_dimensions(nodes, cols, level)
    else:
        dims = pd.Series([None] * len(cols), index=cols, dtype=object)
    r = df.corr(method=method).to_numpy()
    present = df.notna().to_numpy(dtype=float)
    counts = present.T @ present
    ia, ib = np.triu_indices(len(cols), 1)
    names = np.array(cols, dtype=object)
    dim = dims.to_numpy(dtype=object)
    return pd.DataFrame({
        "indicator_a": names[ia], "indicator_b": names[ib],
        "dimension_a": dim[ia], "dimension_b": dim[ib],
        "same_dimension": (dim[ia] == dim[ib]) & pd.notna(dim[ia]),
        "method": method, "r": r[ia, ib], "n": counts[ia, ib].astype(int),
    })


def correlation_with_aggregates(data: pd.DataFrame, scores: pd.DataFrame, nodes: Any, method: str = "pearson",
                                level: int | None = None) -> pd.DataFrame:
    """Correlation of each indicator with every dimension score (its own and the others).

    Parameters
    ----------
    data : DataFrame
        Wide indicator data.
    scores : DataFrame
        Wide aggregate scores on the same rows (columns = dimension codes; extra node columns such as the root
        are reported too, with ``own = False``).
    nodes : DataFrame or Framework
    method : {"pearson", "spearman"}
    level : int, optional
        Dimension depth, see :func:`indicator_dimensions`.

    Returns
    -------
    DataFrame
        ``indicator, dimension (own), node, own (bool), method, r, n``.

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D", "E", "a", "b"], "parent": [None, "I", "I", "D", "E"]})
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 1, 4, 3]})
    >>> scores = pd.DataFrame({"D": [1.0, 2, 3, 4], "E": [1.0, 2, 3, 4]})
    >>> correlation_with_aggregates(x, scores, nodes)[["indicator", "node", "own", "r"]].to_dict("list")
    {'indicator': ['a', 'a', 'b', 'b'], 'node': ['D', 'E', 'D', 'E'], 'own': [True, False, False, True], \
'r': [1.0, 1.0, 0.6, 0.6]}
    """
    one_of(method, _METHODS, "method (correlation)")
    df = _numeric(data)
    sc = _numeric(scores, "scores")
    if len(sc) != len(df):
        raise InputError(f"scores: {len(sc)} rows for {len(df)} rows of data; give one score row per data row")
    cols = _scored_columns(df, nodes)
    t = _nodes(nodes)
    unknown = [c for c in sc.columns if c not in set(t["code"])]
    if unknown:
        raise InputError(f"scores: column(s) {unknown} are not nodes of the framework")
    dims = indicator_dimensions(nodes, cols, level)
    both = pd.concat([df[cols].reset_index(drop=True), sc.reset_index(drop=True).add_prefix("score:")], axis=1)
    r = both.corr(method=method).to_numpy()[: len(cols), len(cols):]
    present_x = df[cols].notna().to_numpy(dtype=float)
    present_s = sc.notna().to_numpy(dtype=float)
    counts = present_x.T @ present_s
    k, q = len(cols), sc.shape[1]
    indicator = np.repeat(np.array(cols, dtype=object), q)
    node = np.tile(np.array(list(sc.columns), dtype=object), k)
    own = np.repeat(dims.to_numpy(dtype=object), q)
    return pd.DataFrame({"indicator": indicator, "dimension": own, "node": node, "own": own == node,
                         "method": method, "r": r.ravel(), "n": counts.ravel().astype(int)})


def cronbach_alpha(df: pd.DataFrame, standardized: bool = False) -> float:
    """Cronbach's alpha of the columns of ``df`` (rows with any missing value are dropped).

    alpha = k/(k-1) (1 - sum_i var(x_i) / var(sum_i x_i)), sample variances; with ``standardized=True``,
    k r̄ / (1 + (k-1) r̄) with r̄ the mean inter-item correlation.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 2, 4, 4, 5], "c": [1.0, 3, 2, 5, 4]})
    >>> round(cronbach_alpha(x), 4)       # 3/2 * (1 - (2.5 + 1.8 + 2.5) / 17.3)
    0.9104
    """
    x = _numeric(df, "df").dropna()
    k = x.shape[1]
    if k < 2:
        raise InputError(f"cronbach_alpha: needs at least 2 columns, got {k}")
    if len(x) < 2:
        raise InputError(f"cronbach_alpha: needs at least 2 complete rows, got {len(x)}")
    if standardized:
        r = np.corrcoef(x.to_numpy(), rowvar=False)
        rbar = r[np.triu_indices(k, 1)].mean()
        return float(k * rbar / (1 + (k - 1) * rbar))
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - item_var / total_var))


def _groups(data: pd.DataFrame, nodes: Any, level: int | None) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    df = _numeric(data)
    cols = _scored_columns(df, nodes)
    dims = indicator_dimensions(nodes, cols, level)
    groups: dict[str, list[str]] = {}
    for code, dim in dims.items():
        groups.setdefault(dim, []).append(code)
    return df, groups


def alpha_by_dimension(data: pd.DataFrame, nodes: Any, level: int | None = None) -> pd.DataFrame:
    """Cronbach's alpha (raw and standardised) for each dimension.

    Returns
    -------
    DataFrame
        ``dimension, n_indicators, n_obs, alpha, alpha_standardized`` (NaN with fewer than 2 indicators or
        complete rows).

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D", "a", "b", "c"], "parent": [None, "I", "D", "D", "D"]})
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 2, 4, 4, 5], "c": [1.0, 3, 2, 5, 4]})
    >>> alpha_by_dimension(x, nodes).round(4).to_dict("records")
    [{'dimension': 'D', 'n_indicators': 3, 'n_obs': 5, 'alpha': 0.9104, 'alpha_standardized': 0.9128}]
    """
    df, groups = _groups(data, nodes, level)
    rows = []
    for dim, cols in groups.items():  # loop over dimensions (a handful)
        complete = df[cols].dropna()
        ok = len(cols) >= 2 and len(complete) >= 2
        rows.append({"dimension": dim, "n_indicators": len(cols), "n_obs": len(complete),
                     "alpha": cronbach_alpha(complete) if ok else np.nan,
                     "alpha_standardized": cronbach_alpha(complete, standardized=True) if ok else np.nan})
    return pd.DataFrame(rows, columns=["dimension", "n_indicators", "n_obs", "alpha", "alpha_standardized"])


def pca_by_dimension(data: pd.DataFrame, nodes: Any, level: int | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Principal components of each dimension's correlation matrix.

    Returns
    -------
    summary : DataFrame
        ``dimension, n_indicators, n_obs, eigenvalue_1, explained_1, n_eigen_above_1``.
    loadings : DataFrame
        ``dimension, indicator, loading`` (first component, v_1 sqrt(lambda_1), oriented to a positive sum).

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D", "a", "b"], "parent": [None, "I", "D", "D"]})
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 3, 2, 4]})
    >>> summary, loadings = pca_by_dimension(x, nodes)
    >>> summary["explained_1"].round(3).tolist(), loadings["loading"].round(3).tolist()
    ([0.9], [0.949, 0.949])
    """
    df, groups = _groups(data, nodes, level)
    rows, loads = [], []
    for dim, cols in groups.items():
        x = df[cols].dropna().to_numpy()
        sd = x.std(axis=0, ddof=1) if len(x) >= 2 else np.zeros(len(cols))
        usable = sd > 0
        if len(x) < 2 or usable.sum() < 1:
            rows.append({"dimension": dim, "n_indicators": len(cols), "n_obs": len(x), "eigenvalue_1": np.nan,
                         "explained_1": np.nan, "n_eigen_above_1": 0})
            loads += [{"dimension": dim, "indicator": c, "loading": np.nan} for c in cols]
            continue
        corr = np.atleast_2d(np.corrcoef(x[:, usable], rowvar=False))
        values, vectors = np.linalg.eigh(corr)
        v = vectors[:, -1] if vectors[:, -1].sum() >= 0 else -vectors[:, -1]
        loading = np.full(len(cols), np.nan)
        loading[usable] = v * np.sqrt(max(values[-1], 0.0))
        rows.append({"dimension": dim, "n_indicators": len(cols), "n_obs": len(x),
                     "eigenvalue_1": float(values[-1]), "explained_1": float(values[-1] / usable.sum()),
                     "n_eigen_above_1": int((values > 1 + 1e-9).sum())})
        loads += [{"dimension": dim, "indicator": c, "loading": l} for c, l in zip(cols, loading)]
    summary = pd.DataFrame(rows, columns=["dimension", "n_indicators", "n_obs", "eigenvalue_1", "explained_1",
                                          "n_eigen_above_1"])
    return summary, pd.DataFrame(loads, columns=["dimension", "indicator", "loading"])


_FLAG_COLUMNS = ["kind", "dimension", "indicator", "other", "value", "threshold", "message"]


def audit_flags(correlations: pd.DataFrame, alpha: pd.DataFrame | None = None, pca: pd.DataFrame | None = None,
                redundant_threshold: float = 0.92, negative_threshold: float = 0.0,
                alpha_threshold: float = 0.7, aggregates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Flags from the audit tables (see the module docstring for the kinds).

    Parameters
    ----------
    correlations : DataFrame
        From :func:`correlation_matrix` (one method).
    alpha, pca : DataFrame, optional
        From :func:`alpha_by_dimension` and the summary of :func:`pca_by_dimension`.
    aggregates : DataFrame, optional
        From :func:`correlation_with_aggregates`; only nodes that are some indicator's dimension are compared.

    Returns
    -------
    DataFrame
        ``kind, dimension, indicator, other, value, threshold, message``.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [1.0, 2, 3, 4.1], "c": [4.0, 3, 1, 2]})
    >>> audit_flags(correlation_matrix(x))[["kind", "indicator", "other"]].to_dict("list")
    {'kind': ['redundant_pair'], 'indicator': ['a'], 'other': ['b']}
    """
    if not 0 < redundant_threshold <= 1:
        raise InputError(f"redundant_threshold: must be in (0, 1], got {redundant_threshold}")
    c = correlations
    frames = []
    neg = c[c["same_dimension"] & (c["r"] < negative_threshold)]
    frames.append(pd.DataFrame({
        "kind": "negative_correlation", "dimension": neg["dimension_a"], "indicator": neg["indicator_a"],
        "other": neg["indicator_b"], "value": neg["r"], "threshold": negative_threshold,
        "message": [f"{a} and {b} ({d}) correlate negatively: r = {r:.3f}"
                    for a, b, d, r in zip(neg["indicator_a"], neg["indicator_b"], neg["dimension_a"], neg["r"])]}))
    red = c[c["r"].abs() > redundant_threshold]
    frames.append(pd.DataFrame({
        "kind": "redundant_pair", "dimension": red["dimension_a"].where(red["same_dimension"], None),
        "indicator": red["indicator_a"], "other": red["indicator_b"], "value": red["r"],
        "threshold": redundant_threshold,
        "message": [f"{a} and {b} may count the same thing twice: |r| = {abs(r):.3f} > {redundant_threshold}"
                    for a, b, r in zip(red["indicator_a"], red["indicator_b"], red["r"])]}))
    if alpha is not None and len(alpha):
        low = alpha[alpha["alpha"] < alpha_threshold]
        frames.append(pd.DataFrame({
            "kind": "low_alpha", "dimension": low["dimension"], "indicator": None, "other": None,
            "value": low["alpha"], "threshold": alpha_threshold,
            "message": [f"dimension {d}: Cronbach's alpha {a:.3f} < {alpha_threshold}"
                        for d, a in zip(low["dimension"], low["alpha"])]}))
    if pca is not None and len(pca):
        multi = pca[pca["n_eigen_above_1"] > 1]
        frames.append(pd.DataFrame({
            "kind": "multidimensional", "dimension": multi["dimension"], "indicator": None, "other": None,
            "value": multi["n_eigen_above_1"].astype(float), "threshold": 1.0,
            "message": [f"dimension {d}: {k} eigenvalues > 1; its indicators may measure more than one thing"
                        for d, k in zip(multi["dimension"], multi["n_eigen_above_1"])]}))
    if aggregates is not None and len(aggregates):
        g = aggregates[aggregates["node"].isin(set(aggregates["dimension"]))]
        own_r = g[g["own"]].set_index("indicator")["r"]
        other = g[~g["own"]].sort_values("r", ascending=False).drop_duplicates("indicator")
        other = other[other["indicator"].isin(own_r.index)]
        other = other[other["r"].to_numpy() > own_r.reindex(other["indicator"]).to_numpy()]
        frames.append(pd.DataFrame({
            "kind": "closer_to_other_dimension", "dimension": other["dimension"], "indicator": other["indicator"],
            "other": other["node"], "value": other["r"],
            "threshold": own_r.reindex(other["indicator"]).to_numpy(),
            "message": [f"{i} ({d}) correlates more with {o} (r = {r:.3f}) than with its own dimension "
                        f"(r = {own_r[i]:.3f})" for i, d, o, r in zip(other["indicator"], other["dimension"],
                                                                      other["node"], other["r"])]}))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=_FLAG_COLUMNS)
    return pd.concat(frames, ignore_index=True)[_FLAG_COLUMNS]


def _audit_one(data: pd.DataFrame, nodes: Any, scores: pd.DataFrame | None, method: str, level: int | None,
               redundant_threshold: float, negative_threshold: float,
               alpha_threshold: float) -> dict[str, pd.DataFrame]:
    corr = {m: correlation_matrix(data, nodes, m, level) for m in _METHODS}
    alpha = alpha_by_dimension(data, nodes, level)
    pca, loadings = pca_by_dimension(data, nodes, level)
    out = {"audit_correlations": pd.concat(list(corr.values()), ignore_index=True), "audit_alpha": alpha,
           "audit_pca": pca, "audit_pca_loadings": loadings}
    aggregates = None
    if scores is not None:
        agg = {m: correlation_with_aggregates(data, scores, nodes, m, level) for m in _METHODS}
        aggregates = agg[method]
        out["audit_aggregate_correlations"] = pd.concat(list(agg.values()), ignore_index=True)
    out["audit_flags"] = audit_flags(corr[method], alpha, pca, redundant_threshold, negative_threshold,
                                     alpha_threshold, aggregates)
    return out


def audit(data: pd.DataFrame, nodes: Any, method: str = "pearson", level: int | None = None, by: str | None = None,
          scores: pd.DataFrame | None = None, redundant_threshold: float = 0.92, negative_threshold: float = 0.0,
          alpha_threshold: float = 0.7) -> dict[str, pd.DataFrame]:
    """The whole statistical audit as a dict of tidy tables.

    Parameters
    ----------
    data : DataFrame
        Wide normalised data (rows = unit x period, columns = indicator codes).
    nodes : DataFrame or Framework
    method : {"pearson", "spearman"}
        Correlation used for the flags (both are reported in ``audit_correlations``).
    level : int, optional
        Dimension depth (None = immediate parent).
    by : str, optional
        An index level or column of ``data`` (e.g. ``"period"``) to audit each group separately; every table then
        starts with that column. Default: all rows pooled.
    scores : DataFrame, optional
        Wide aggregate scores on the same rows as ``data`` (columns = node codes): adds
        ``audit_aggregate_correlations`` and the ``closer_to_other_dimension`` flag.
    redundant_threshold, negative_threshold, alpha_threshold : float
        See :func:`audit_flags`.

    Returns
    -------
    dict
        ``audit_correlations`` (both methods), ``audit_alpha``, ``audit_pca``, ``audit_pca_loadings``,
        ``audit_flags`` (+ ``audit_aggregate_correlations`` with ``scores``).

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D", "a", "b", "c"], "parent": [None, "I", "D", "D", "D"]})
    >>> x = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 2, 4, 4, 5], "c": [5.0, 3, 2, 5, 1]})
    >>> out = audit(x, nodes)                # a and b: r = 0.949 > 0.92
    >>> sorted(out), out["audit_flags"]["kind"].tolist()
    (['audit_alpha', 'audit_correlations', 'audit_flags', 'audit_pca', 'audit_pca_loadings'], \
['negative_correlation', 'negative_correlation', 'redundant_pair', 'low_alpha'])
    """
    one_of(method, _METHODS, "method (correlation)")
    args = (method, level, redundant_threshold, negative_threshold, alpha_threshold)
    if scores is not None and (not isinstance(scores, pd.DataFrame) or len(scores) != len(data)):
        raise InputError("scores: expected a wide DataFrame with one row per row of data "
                         f"({len(data)} rows)")
    if by is None:
        return _audit_one(data, nodes, scores, *args)
    if by in data.columns:
        keys, frame = data[by], data.drop(columns=[by])
    elif by in (data.index.names or []):
        keys, frame = data.index.get_level_values(by), data
    else:
        raise InputError(f"by: {by!r} is neither a column nor an index level of data "
                         f"(columns {list(data.columns)[:5]}..., index levels {list(data.index.names)})")
    parts: dict[str, list[pd.DataFrame]] = {}
    positions = pd.Series(np.arange(len(frame))).groupby(np.asarray(keys), sort=True)
    for key, pos in positions:  # one audit per period: a handful of groups
        rows = frame.iloc[pos.to_numpy()]
        group_scores = scores.iloc[pos.to_numpy()] if scores is not None else None
        for name, table in _audit_one(rows, nodes, group_scores, *args).items():
            parts.setdefault(name, []).append(table.assign(**{by: key})[[by] + list(table.columns)])
    return {name: pd.concat(tables, ignore_index=True) for name, tables in parts.items()}
