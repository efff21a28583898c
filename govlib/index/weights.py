"""Weighting methods for composite indices.

Every method returns weights as a :class:`pandas.Series` indexed by code, non-negative and summing to 1
(:func:`fixed_weights` sums to 1 *within each parent*), and methods with diagnostics also return them in a result
object. Weights travel as named sets (:class:`WeightSet`).

Public API (stable; the index engine calls these)::

    equal_weights(codes) -> Series
    fixed_weights(nodes, exclude_context=True) -> Series                  # every non-root node, sums to 1 per parent
    ahp_weights(matrix, labels=None, method="eigenvector", ri_table="saaty1980", force=False,
                reciprocal_tol=0.01) -> AHPResult   # .weights .lambda_max .ci .cr .ri .n .method .ri_table
    random_index(n, ri_table="saaty1980") -> float
    entropy_weights(data, form="raw", directions=None) -> EntropyResult   # .weights .entropy .divergence .form
    critic_weights(data, directions=None, ddof=1) -> CRITICResult         # .weights .sigma .correlation .information
    pca_weights(data, directions=None, ddof=1) -> PCAResult               # .weights .loadings .eigenvalue .explained
    effective_weights(nodes, node_weights=None) -> Series                 # leaves' real shares in the root, sum 1
    empirical_effective_weights(normalised, index_scores) -> DataFrame    # r, main_effect (r^2), share per code
    WeightSet(name, weights, method, diagnostics={})                      # a named, validated weight set

``nodes`` is the framework's node table (columns ``code``, ``parent`` with an empty parent for the root,
``weight``, optional ``direction``) or a :class:`govlib.data.framework.Framework` (its ``.nodes`` are used).
``data`` is a wide frame: rows are units (or unit x period), columns are indicator codes.

Conventions (each named in a parameter or stated here, and tested):

- AHP random index: ``ri_table`` = ``"saaty1980"`` (RI(7) = 1.32), ``"saaty2005"`` (1.35) or
  ``"chinese_textbook"`` (1.36; the only table here that reaches n = 15). RI = 0 for n <= 2, so CR = 0.
  With ``method="geometric_mean"`` lambda_max is estimated as mean_i((A w)_i / w_i).
- Entropy, raw form: p_ij = x_ij / sum_i x_ij on the data as given (non-negative, no directions used: the
  entropy of a column's distribution does not depend on whether more is better). Min-max form ("正向化"):
  each column rescaled to [0, 1] (cost columns as (max - x) / (max - min)), **no shift is added**, and
  0 * ln 0 = 0 (the limit); this reproduces Zavadskas & Podvezko (2016) 0.2518 0.2584 0.2182 0.2716 exactly
  (a shift of 0.001, also common in practice, already moves the third weight to 0.2183).
- Constant columns carry no information: they get weight 0 in entropy, CRITIC and PCA, and the other columns'
  weights are what they would be without them. If every column is constant, InputError.
- CRITIC: sigma_j with ``ddof=1`` (sample SD). The choice does not change the weights (it scales every
  sigma_j by the same factor); Tuş & Aytaç Adalı (2019) 0.157 0.249 0.168 0.121 0.154 0.151 hold with either.
  If all non-constant columns are perfectly correlated (r = 1) every C_j is 0: InputError (use equal weights).
- PCA: first principal component of the correlation matrix (columns z-scored, ``ddof=1``), cost columns
  flipped first, the eigenvector oriented so its loadings sum to a positive number; weights are the squared
  eigenvector entries (they sum to 1). Only the first component (not OECD's varimax-rotated factors).
- Scale invariance: multiplying a column by a positive constant leaves raw-entropy, min-max-entropy, CRITIC
  and PCA weights unchanged; adding a constant changes raw-entropy weights (the others are shift-invariant).
- Empirical effective weights: the linear first-order effect of each normalised indicator on the index,
  S_i = corr(x_i, y)^2 (Paruolo, Saisana & Saltelli 2013 with a linear rather than a smoothed regression),
  reported with its share S_i / sum_j S_j.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from govlib.errors import InputError, one_of

__all__ = [
    "RI_TABLES", "WeightSet", "AHPResult", "EntropyResult", "CRITICResult", "PCAResult",
    "equal_weights", "fixed_weights", "ahp_weights", "random_index", "entropy_weights", "critic_weights",
    "pca_weights", "effective_weights", "empirical_effective_weights",
]

#: Random-index tables for AHP, n = 1, 2, 3, ... (REFERENCES.md). RI(1) = RI(2) = 0.
RI_TABLES: dict[str, tuple[float, ...]] = {
    "saaty1980": (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49),
    "saaty2005": (0.0, 0.0, 0.52, 0.89, 1.11, 1.25, 1.35, 1.40, 1.45, 1.49),
    "chinese_textbook": (0.0, 0.0, 0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49,
                         1.52, 1.54, 1.56, 1.58, 1.59),
}

#: The consistency ratio at or above which an AHP matrix is refused (unless ``force=True``).
CR_LIMIT = 0.10


# --------------------------------------------------------------------------------------------------------------
# Result objects


def _check_weights(weights: pd.Series, name: str) -> None:
    values = weights.to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        shown = ", ".join(f"{k}={v}" for k, v in weights[bad].items())
        raise InputError(f"{name}: weights must be finite and non-negative; got {shown}")
    if weights.index.has_duplicates:
        dup = sorted(set(weights.index[weights.index.duplicated()]))
        raise InputError(f"{name}: duplicated codes {dup}")
    if not np.isclose(values.sum(), 1.0, atol=1e-9):
        raise InputError(f"{name}: weights must sum to 1; they sum to {values.sum():.12g}")


@dataclass
class WeightSet:
    """A named set of weights.

    Parameters
    ----------
    name : str
        Name of the set, e.g. ``"equal"``, ``"expert_ahp_2024"``.
    weights : Series
        Non-negative weights indexed by code, summing to 1.
    method : str
        How they were made (``"equal"``, ``"fixed"``, ``"ahp"``, ``"entropy"``, ``"critic"``, ``"pca"``...).
    diagnostics : dict
        Method-specific numbers (e.g. CR for AHP).

    Examples
    --------
    >>> ws = WeightSet("equal", equal_weights(["a", "b"]), "equal")
    >>> ws.weights.tolist()
    [0.5, 0.5]
    """

    name: str
    weights: pd.Series
    method: str
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.weights, pd.Series):
            raise InputError(f"WeightSet {self.name!r}: weights must be a pandas Series indexed by code, "
                             f"got {type(self.weights).__name__}")
        self.weights = self.weights.astype(float)
        _check_weights(self.weights, f"WeightSet {self.name!r}")

    def to_frame(self) -> pd.DataFrame:
        """``code, weight, weight_set, method``."""
        return _frame(self.weights, weight_set=self.name, method=self.method)


def _frame(weights: pd.Series, **columns: Any) -> pd.DataFrame:
    """A tidy ``code, weight, ...`` table: per-code Series in ``columns`` are aligned, scalars repeated."""
    out = pd.DataFrame({"code": weights.index.astype(str), "weight": weights.to_numpy(float)})
    for name, value in columns.items():
        out[name] = value.reindex(weights.index).to_numpy() if isinstance(value, pd.Series) else value
    return out


@dataclass
class AHPResult:
    """Result of :func:`ahp_weights`: priorities and consistency."""

    weights: pd.Series
    lambda_max: float
    ci: float
    cr: float
    ri: float
    n: int
    method: str
    ri_table: str

    def to_frame(self) -> pd.DataFrame:
        """``code, weight, lambda_max, ci, cr, ri, n, method, ri_table`` (the consistency numbers repeated)."""
        return _frame(self.weights, lambda_max=self.lambda_max, ci=self.ci, cr=self.cr, ri=self.ri, n=self.n,
                      method=self.method, ri_table=self.ri_table)

    def as_weight_set(self, name: str = "ahp") -> WeightSet:
        return WeightSet(name, self.weights, "ahp", {"lambda_max": self.lambda_max, "ci": self.ci,
                                                     "cr": self.cr, "ri": self.ri, "method": self.method,
                                                     "ri_table": self.ri_table})


@dataclass
class EntropyResult:
    """Result of :func:`entropy_weights`: weights, entropy E_j and divergence d_j = 1 - E_j per column."""

    weights: pd.Series
    entropy: pd.Series
    divergence: pd.Series
    form: str

    def to_frame(self) -> pd.DataFrame:
        """``code, weight, entropy, divergence, form``."""
        return _frame(self.weights, entropy=self.entropy, divergence=self.divergence, form=self.form)

    def as_weight_set(self, name: str = "entropy") -> WeightSet:
        return WeightSet(name, self.weights, f"entropy_{self.form}",
                         {"entropy": self.entropy, "divergence": self.divergence})


@dataclass
class CRITICResult:
    """Result of :func:`critic_weights`: weights, sigma_j, the correlation matrix and information C_j."""

    weights: pd.Series
    sigma: pd.Series
    correlation: pd.DataFrame
    information: pd.Series
    ddof: int

    def to_frame(self) -> pd.DataFrame:
        """``code, weight, sigma, information`` (the correlation matrix stays in ``correlation``)."""
        return _frame(self.weights, sigma=self.sigma, information=self.information)

    def as_weight_set(self, name: str = "critic") -> WeightSet:
        return WeightSet(name, self.weights, "critic",
                         {"sigma": self.sigma, "correlation": self.correlation, "information": self.information})


@dataclass
class PCAResult:
    """Result of :func:`pca_weights`: weights (squared eigenvector), loadings, first eigenvalue, variance share."""

    weights: pd.Series
    loadings: pd.Series
    eigenvalue: float
    explained: float
    negative_loadings: list[str]

    def to_frame(self) -> pd.DataFrame:
        """``code, weight, loading, negative_loading, eigenvalue, explained``."""
        neg = pd.Series(self.weights.index.astype(str).isin(self.negative_loadings), index=self.weights.index)
        return _frame(self.weights, loading=self.loadings, negative_loading=neg, eigenvalue=self.eigenvalue,
                      explained=self.explained)

    def as_weight_set(self, name: str = "pca") -> WeightSet:
        return WeightSet(name, self.weights, "pca",
                         {"loadings": self.loadings, "eigenvalue": self.eigenvalue, "explained": self.explained,
                          "negative_loadings": self.negative_loadings})


# --------------------------------------------------------------------------------------------------------------
# Equal and fixed


def equal_weights(codes: Iterable[str]) -> pd.Series:
    """Equal weights 1/k for k codes.

    Examples
    --------
    >>> equal_weights(["a", "b", "c", "d"]).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    codes = list(codes)
    if not codes:
        raise InputError("equal_weights: codes is empty; expected at least one indicator code")
    index = pd.Index(codes, name="code")
    if index.has_duplicates:
        raise InputError(f"equal_weights: duplicated codes {sorted(set(index[index.duplicated()]))}")
    return pd.Series(1.0 / len(codes), index=index, name="weight")


def _nodes_table(nodes: Any, need_weight: bool = False) -> pd.DataFrame:
    """The node table from a DataFrame or a Framework; parent None for the root."""
    table = getattr(nodes, "nodes", nodes)
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"nodes: expected the framework's node DataFrame or a Framework, "
                         f"got {type(nodes).__name__}")
    missing = [c for c in ("code", "parent") + (("weight",) if need_weight else ()) if c not in table.columns]
    if missing:
        raise InputError(f"nodes: missing column(s) {missing}; have {list(table.columns)}")
    t = table.copy()
    t["code"] = t["code"].astype(str)
    t["parent"] = [None if (p is None or (isinstance(p, float) and np.isnan(p)) or str(p).strip() == "")
                   else str(p) for p in t["parent"]]
    if t["code"].duplicated().any():
        raise InputError(f"nodes: duplicated codes {sorted(set(t.loc[t['code'].duplicated(), 'code']))}")
    roots = t.loc[t["parent"].isna(), "code"].tolist()
    if len(roots) != 1:
        raise InputError(f"nodes: expected exactly one root (a node with an empty parent), found {roots}")
    orphans = sorted(set(t["parent"].dropna()) - set(t["code"]))
    if orphans:
        raise InputError(f"nodes: parent code(s) {orphans} are not nodes of the framework")
    return t


def fixed_weights(nodes: Any, exclude_context: bool = True) -> pd.Series:
    """The framework's own weights, normalised to sum to 1 within each parent.

    Parameters
    ----------
    nodes : DataFrame or Framework
        Node table with ``code``, ``parent``, ``weight`` (and optionally ``direction``). A missing weight means
        1 (equal within its parent).
    exclude_context : bool, default True
        Leave out leaves with ``direction == 0`` (context indicators are not scored).

    Returns
    -------
    Series
        One weight per non-root node, indexed by code; each sibling group sums to 1.

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D1", "D2", "a", "b", "c"],
    ...                       "parent": [None, "I", "I", "D1", "D1", "D2"],
    ...                       "weight": [1, 2, 1, 1, 3, 5]})
    >>> fixed_weights(nodes).round(3).to_dict()
    {'D1': 0.667, 'D2': 0.333, 'a': 0.25, 'b': 0.75, 'c': 1.0}
    """
    t = _nodes_table(nodes, need_weight=True)
    t = t[t["parent"].notna()].copy()
    if exclude_context and "direction" in t.columns:
        parents = set(t["parent"])
        context = (pd.to_numeric(t["direction"], errors="coerce") == 0) & ~t["code"].isin(parents)
        t = t[~context]
    w = pd.to_numeric(t["weight"], errors="coerce")
    text_bad = t["weight"].notna() & w.isna()
    if text_bad.any():
        raise InputError("nodes: column 'weight' has non-numeric values "
                         + ", ".join(f"{c}={v!r}" for c, v in zip(t.loc[text_bad, "code"], t.loc[text_bad, "weight"])))
    w = w.fillna(1.0)
    if (w < 0).any() or not np.isfinite(w).all():
        bad = t.loc[(w < 0) | ~np.isfinite(w), "code"].tolist()
        raise InputError(f"nodes: column 'weight' must be finite and >= 0; nodes {bad} are not")
    sums = w.groupby(t["parent"]).transform("sum")
    zero = sums <= 0
    if zero.any():
        raise InputError(f"nodes: the weights of the children of {sorted(set(t.loc[zero, 'parent']))} "
                         "are all 0; at least one child must have a positive weight")
    return pd.Series((w / sums).to_numpy(), index=pd.Index(t["code"], name="code"), name="weight")


# --------------------------------------------------------------------------------------------------------------
# AHP


def random_index(n: int, ri_table: str = "saaty1980") -> float:
    """Saaty's random consistency index RI(n) from a named table.

    Examples
    --------
    >>> random_index(7), random_index(7, "saaty2005"), random_index(15, "chinese_textbook")
    (1.32, 1.35, 1.59)
    """
    one_of(ri_table, sorted(RI_TABLES), "ri_table (random-index table)")
    table = RI_TABLES[ri_table]
    if n < 1 or n > len(table):
        longest = max(RI_TABLES, key=lambda k: len(RI_TABLES[k]))
        raise InputError(f"AHP matrix of size n={n}: table {ri_table!r} covers n = 1..{len(table)}; "
                         f"use ri_table={longest!r} (n <= {len(RI_TABLES[longest])}) or split the criteria")
    return table[n - 1]


def _ahp_matrix(matrix: Any, labels: Sequence[str] | None, tol: float) -> tuple[np.ndarray, list[str]]:
    if isinstance(matrix, pd.DataFrame):
        if labels is None:
            labels = [str(c) for c in matrix.columns]
            if list(map(str, matrix.index)) != labels and not isinstance(matrix.index, pd.RangeIndex):
                raise InputError(f"AHP matrix: row labels {list(matrix.index)} differ from column labels {labels}")
        matrix = matrix.to_numpy()
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"AHP matrix: not numeric ({exc})") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise InputError(f"AHP matrix: must be square and non-empty, got shape {a.shape}")
    n = a.shape[0]
    labels = [str(x) for x in labels] if labels is not None else [f"c{i + 1}" for i in range(n)]
    if len(labels) != n:
        raise InputError(f"AHP labels: {len(labels)} labels for a {n}x{n} matrix")
    if len(set(labels)) != n:
        raise InputError(f"AHP labels: duplicated labels in {labels}")
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise InputError(f"AHP matrix: cell ({labels[i]}, {labels[j]}) is {a[i, j]}; every judgement must be "
                         "a positive number (1/9 .. 9)")
    if not np.allclose(np.diag(a), 1.0, rtol=0, atol=tol):
        i = int(np.argmax(np.abs(np.diag(a) - 1)))
        raise InputError(f"AHP matrix: diagonal cell ({labels[i]}, {labels[i]}) is {a[i, i]}; expected 1")
    # a_ij * a_ji must be 1: judgements typed as rounded decimals (0.333) pass within `tol`.
    off = np.abs(a * a.T - 1.0)
    if (off > tol).any():
        i, j = map(int, np.argwhere(np.triu(off > tol, 1))[0])
        raise InputError(f"AHP matrix is not reciprocal: cell ({labels[i]}, {labels[j]}) = {a[i, j]:.6g} but "
                         f"cell ({labels[j]}, {labels[i]}) = {a[j, i]:.6g}; expected {1 / a[i, j]:.6g} "
                         f"(a_ji = 1 / a_ij, tolerance {tol})")
    return a, labels


def ahp_weights(matrix: Any, labels: Sequence[str] | None = None, method: str = "eigenvector",
                ri_table: str = "saaty1980", force: bool = False, reciprocal_tol: float = 0.01) -> AHPResult:
    """Priorities from an AHP pairwise-comparison matrix, with Saaty's consistency check.

    Parameters
    ----------
    matrix : array-like or DataFrame, shape (n, n)
        Positive reciprocal matrix: ``matrix[i][j]`` says how much more important i is than j.
        A DataFrame's column labels are used as ``labels``.
    labels : sequence of str, optional
        Codes of the n criteria (default ``c1 .. cn``).
    method : {"eigenvector", "geometric_mean"}
        Principal right eigenvector (Saaty), or normalised row geometric means; for the latter lambda_max is
        estimated as mean_i((A w)_i / w_i).
    ri_table : {"saaty1980", "saaty2005", "chinese_textbook"}
        Random-index table for CR = CI / RI(n); see :data:`RI_TABLES`.
    force : bool, default False
        Accept a matrix with CR >= 0.10 (the result still reports its CR).
    reciprocal_tol : float, default 0.01
        Allowed |a_ij * a_ji - 1| (rounded decimals such as 0.333 for 1/3 pass).

    Returns
    -------
    AHPResult
        ``weights`` (Series, sum 1), ``lambda_max``, ``ci`` = (lambda_max - n) / (n - 1), ``cr``, ``ri``, ``n``.

    Raises
    ------
    InputError
        Not square, not positive, not reciprocal (names the cell and both values), unknown table or n beyond it,
        or CR >= 0.10 without ``force``.

    Examples
    --------
    >>> r = ahp_weights([[1, 3], [1 / 3, 1]], labels=["safety", "service"])
    >>> r.weights.round(2).to_dict(), r.cr
    ({'safety': 0.75, 'service': 0.25}, 0.0)
    """
    one_of(method, ("eigenvector", "geometric_mean"), "method (AHP)")
    a, labels = _ahp_matrix(matrix, labels, reciprocal_tol)
    n = a.shape[0]
    ri = random_index(n, ri_table)
    if method == "eigenvector":
        values, vectors = np.linalg.eig(a)
        k = int(np.argmax(values.real))
        lam = float(values[k].real)
        w = np.abs(vectors[:, k].real)  # the Perron vector has one sign; abs fixes eig's arbitrary sign
    else:
        w = np.exp(np.log(a).mean(axis=1))
        w = w / w.sum()
        lam = float(np.mean(a @ w / w))
    w = w / w.sum()
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    ci = max(ci, 0.0) if abs(ci) < 1e-12 else ci
    cr = ci / ri if ri > 0 else 0.0
    if cr >= CR_LIMIT and not force:
        raise InputError(f"AHP matrix {labels} is too inconsistent: CR = {cr:.4f} >= {CR_LIMIT} "
                         f"(lambda_max {lam:.4f}, CI {ci:.4f}, RI({n}) = {ri} from {ri_table!r}); revise the "
                         "judgements or pass force=True")
    weights = pd.Series(w, index=pd.Index(labels, name="code"), name="weight")
    return AHPResult(weights, lam, float(ci), float(cr), float(ri), n, method, ri_table)


# --------------------------------------------------------------------------------------------------------------
# Data-driven weights


def _wide(data: Any, name: str) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        df = data
    else:
        arr = np.asarray(data, dtype=float)
        if arr.ndim != 2:
            raise InputError(f"{name}: data must be 2-D (rows = units, columns = indicators), got shape {arr.shape}")
        df = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    if df.shape[1] == 0 or df.shape[0] < 2:
        raise InputError(f"{name}: need at least 2 rows and 1 column, got shape {df.shape}")
    if df.columns.has_duplicates:
        raise InputError(f"{name}: duplicated columns {sorted(set(df.columns[df.columns.duplicated()]))}")
    try:
        df = df.astype(float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: data must be numeric ({exc})") from None
    bad = ~np.isfinite(df.to_numpy())
    if bad.any():
        cols = [str(c) for c in df.columns[bad.any(axis=0)]]
        raise InputError(f"{name}: missing or infinite values in column(s) {cols}; impute or drop them first")
    return df


def _directions(directions: Any, columns: pd.Index, name: str) -> np.ndarray:
    if directions is None:
        return np.ones(len(columns))
    if isinstance(directions, Mapping) or isinstance(directions, pd.Series):
        d = pd.Series(directions)
        missing = [str(c) for c in columns if c not in d.index]
        if missing:
            raise InputError(f"{name}: directions missing for column(s) {missing}")
        d = d.reindex(columns)
    else:
        d = pd.Series(list(directions))
        if len(d) != len(columns):
            raise InputError(f"{name}: {len(d)} directions for {len(columns)} columns")
        d.index = columns
    mapped = d.map(lambda v: {"+": 1, "-": -1}.get(v, v))
    values = pd.to_numeric(mapped, errors="coerce")
    bad = ~values.isin([1, -1])
    if bad.any():
        raise InputError(f"{name}: directions must be 1/-1 or '+'/'-'; got "
                         + ", ".join(f"{c}={v!r}" for c, v in d[bad].items()))
    return values.to_numpy(dtype=float)


def _minmax(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns rescaled to [0, 1], cost columns flipped; constant columns flagged (and set to 0)."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    rng = hi - lo
    constant = rng <= 1e-12 * np.maximum(np.abs(hi), 1.0)
    safe = np.where(constant, 1.0, rng)
    z = np.where(d > 0, (x - lo) / safe, (hi - x) / safe)
    z[:, constant] = 0.0
    return z, constant


def _weights_series(values: np.ndarray, columns: pd.Index, name: str) -> pd.Series:
    total = values.sum()
    if not total > 0:
        raise InputError(f"{name}: every column is constant (or carries no information); weights are undefined")
    return pd.Series(values / total, index=pd.Index(columns, name="code"), name="weight")


def entropy_weights(data: Any, form: str = "raw", directions: Any = None) -> EntropyResult:
    """Entropy weights: columns whose values are more spread out get more weight.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Rows = alternatives/units (m >= 2), columns = indicators. No missing values.
    form : {"raw", "minmax"}
        ``"raw"``: p_ij = x_ij / sum_i x_ij on the values as given (they must be >= 0; directions are not
        used). ``"minmax"`` ("正向化"): each column first rescaled to [0, 1] with cost columns flipped, no shift.
    directions : sequence or mapping of 1/-1 (or '+'/'-'), optional
        Benefit (+1) or cost (-1) per column; used by the min-max form only. Default all benefit.

    Returns
    -------
    EntropyResult
        ``weights`` w_j = d_j / sum d_j with d_j = 1 - E_j, E_j = -(1/ln m) sum_i p_ij ln p_ij (0 ln 0 = 0).
        A constant column has E_j = 1 and weight 0.

    Examples
    --------
    >>> x = [[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]]   # Xu (2004)
    >>> entropy_weights(x).weights.round(4).tolist()
    [0.463, 0.3992, 0.1378, 0.0]
    """
    one_of(form, ("raw", "minmax"), "form (entropy)")
    df = _wide(data, "entropy_weights")
    x = df.to_numpy()
    m = x.shape[0]
    d = _directions(directions, df.columns, "entropy_weights")
    if form == "raw":
        neg = (x < 0).any(axis=0)
        if neg.any():
            cols = [str(c) for c in df.columns[neg]]
            raise InputError(f"entropy_weights(form='raw'): column(s) {cols} have negative values; the raw form "
                             "needs non-negative data (use form='minmax' or shift the data)")
        sums = x.sum(axis=0)
        zero = sums <= 0
        if zero.any():
            raise InputError(f"entropy_weights(form='raw'): column(s) {[str(c) for c in df.columns[zero]]} are "
                             "all zero; shares p_ij are undefined")
        p = x / sums
        constant = np.ptp(x, axis=0) <= 1e-12 * np.maximum(np.abs(x).max(axis=0), 1.0)
    else:
        z, constant = _minmax(x, d)
        sums = z.sum(axis=0)
        p = z / np.where(sums > 0, sums, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    entropy = -plogp.sum(axis=0) / np.log(m)
    entropy[constant] = 1.0  # no spread, no information
    divergence = np.clip(1.0 - entropy, 0.0, None)
    weights = _weights_series(divergence, df.columns, "entropy_weights")
    idx = pd.Index(df.columns, name="code")
    return EntropyResult(weights, pd.Series(entropy, index=idx, name="entropy"),
                         pd.Series(divergence, index=idx, name="divergence"), form)


def critic_weights(data: Any, directions: Any = None, ddof: int = 1) -> CRITICResult:
    """CRITIC weights (Diakoulaki, Mavrotas & Papayannakis 1995): contrast and conflict.

    Columns are min-max normalised (cost columns flipped); C_j = sigma_j * sum_k (1 - r_jk) with r the Pearson
    correlation of the normalised columns; w_j = C_j / sum C_j. Constant columns get weight 0 and are left out of
    the others' correlation sums.

    Parameters
    ----------
    data : DataFrame or 2-D array
        Rows = units, columns = indicators, no missing values.
    directions : sequence or mapping of 1/-1 (or '+'/'-'), optional
        Default all benefit.
    ddof : int, default 1
        Delta degrees of freedom of sigma_j (reported); the weights do not depend on it.

    Examples
    --------
    >>> x = [[5000, 3, 3, 4, 3, 2], [680, 5, 3, 2, 2, 1], [2000, 3, 2, 3, 4, 3],
    ...      [600, 4, 3, 1, 2, 2], [800, 2, 4, 3, 3, 4]]                    # Tuş & Aytaç Adalı (2019)
    >>> critic_weights(x).weights.round(3).tolist()
    [0.157, 0.249, 0.168, 0.121, 0.154, 0.151]
    """
    df = _wide(data, "critic_weights")
    d = _directions(directions, df.columns, "critic_weights")
    z, constant = _minmax(df.to_numpy(), d)
    keep = ~constant
    sigma = z.std(axis=0, ddof=ddof)
    sigma[constant] = 0.0
    k = df.shape[1]
    r = np.full((k, k), np.nan)
    if keep.any():
        r_keep = np.atleast_2d(np.corrcoef(z[:, keep], rowvar=False))
        r[np.ix_(keep, keep)] = r_keep
    info = np.zeros(k)
    info[keep] = sigma[keep] * np.nansum(1.0 - r[np.ix_(keep, keep)], axis=1)
    if not info.sum() > 0:
        raise InputError("critic_weights: every column is constant or all columns are perfectly correlated "
                         "(r = 1): there is no contrast or conflict to weight by; use equal weights")
    weights = _weights_series(info, df.columns, "critic_weights")
    idx = pd.Index(df.columns, name="code")
    return CRITICResult(weights, pd.Series(sigma, index=idx, name="sigma"), pd.DataFrame(r, index=idx, columns=idx),
                        pd.Series(info, index=idx, name="information"), ddof)


def pca_weights(data: Any, directions: Any = None, ddof: int = 1) -> PCAResult:
    """Weights from the first principal component of the correlation matrix.

    Cost columns are flipped, columns z-scored (``ddof``), the first eigenvector v of the correlation matrix
    oriented so that sum(v) > 0; weights w_j = v_j^2 (they sum to 1). Indicators with a negative loading after
    orientation are listed in ``negative_loadings``: their weight is positive but they pull against the
    component (a signal to revisit the framework, not to trust the weight). Loadings are v_j * sqrt(eigenvalue).

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 4, 6, 8], "c": [4, 3, 2, 1]})
    >>> r = pca_weights(x, directions=[1, 1, -1])
    >>> r.weights.round(3).tolist(), round(r.explained, 3)
    ([0.333, 0.333, 0.333], 1.0)
    """
    df = _wide(data, "pca_weights")
    d = _directions(directions, df.columns, "pca_weights")
    x = df.to_numpy() * d
    sd = x.std(axis=0, ddof=ddof)
    constant = sd <= 1e-12 * np.maximum(np.abs(x).max(axis=0), 1.0)
    if constant.all():
        raise InputError("pca_weights: every column is constant; weights are undefined")
    zs = (x[:, ~constant] - x[:, ~constant].mean(axis=0)) / sd[~constant]
    corr = np.atleast_2d(np.corrcoef(zs, rowvar=False))
    values, vectors = np.linalg.eigh(corr)
    v = vectors[:, -1]
    if v.sum() < 0:
        v = -v
    eig = float(values[-1])
    full_v = np.zeros(df.shape[1])
    full_v[~constant] = v
    idx = pd.Index(df.columns, name="code")
    weights = _weights_series(full_v ** 2, df.columns, "pca_weights")
    loadings = pd.Series(full_v * np.sqrt(max(eig, 0.0)), index=idx, name="loading")
    negative = [str(c) for c in idx[full_v < -1e-12]]
    return PCAResult(weights, loadings, eig, eig / float((~constant).sum()), negative)


# --------------------------------------------------------------------------------------------------------------
# Effective weights


def effective_weights(nodes: Any, node_weights: Any = None) -> pd.Series:
    """Each leaf's real share in the root index: the product of normalised weights along its path.

    Parameters
    ----------
    nodes : DataFrame or Framework
        Node table (``code``, ``parent``, ``weight``, optional ``direction``).
    node_weights : Series, mapping or WeightSet, optional
        Weights for some or all non-root nodes (e.g. AHP weights for one dimension's children); nodes not given
        keep the framework's weight. Weights are renormalised within each parent. Default: the framework's.

    Returns
    -------
    Series
        One weight per scored leaf (context leaves excluded), summing to 1, in node-table order.

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["I", "D1", "D2", "a", "b", "c"],
    ...                       "parent": [None, "I", "I", "D1", "D1", "D2"], "weight": [1, 1, 1, 1, 1, 1]})
    >>> effective_weights(nodes).to_dict()
    {'a': 0.25, 'b': 0.25, 'c': 0.5}
    """
    t = _nodes_table(nodes, need_weight=node_weights is None)
    if "weight" not in t.columns:
        t["weight"] = np.nan
    if isinstance(node_weights, WeightSet):
        node_weights = node_weights.weights
    if node_weights is not None:
        given = pd.Series(node_weights, dtype=float)
        unknown = sorted(set(map(str, given.index)) - set(t["code"]))
        if unknown:
            raise InputError(f"node_weights: codes {unknown} are not nodes of the framework")
        t = t.set_index("code", drop=False)
        t["weight"] = pd.to_numeric(t["weight"], errors="coerce").astype(float)
        t.loc[given.index.astype(str), "weight"] = given.to_numpy()
        t = t.reset_index(drop=True)
    local = fixed_weights(t)
    parent_of = dict(zip(t["code"], t["parent"]))
    parents = set(t["parent"].dropna())
    leaves = [c for c in t["code"] if c not in parents and c in local.index]
    # Walk up level by level for all leaves at once (depth is small; the loop is over levels, not rows).
    share = pd.Series(1.0, index=pd.Index(leaves, name="code"))
    current = pd.Series(leaves, index=leaves, dtype=object)
    while True:
        alive = current.notna() & current.isin(local.index)
        if not alive.any():
            break
        share[alive] *= local.reindex(current[alive]).to_numpy()
        current = current.map(lambda c: parent_of.get(c) if c is not None else None)
    total = share.sum()
    if not total > 0:
        raise InputError("effective_weights: every leaf has weight 0")
    return (share / total).rename("weight")


def empirical_effective_weights(normalised: pd.DataFrame, index_scores: Any) -> pd.DataFrame:
    """How much each indicator actually drives the index: linear first-order effects.

    S_i = corr(x_i, y)^2, the share of the index's variance explained by a linear regression on indicator i
    alone (Paruolo, Saisana & Saltelli 2013, "Ratings and rankings: voodoo or science?", with a linear instead of
    a smoothed regression). Compare ``share`` with the nominal effective weights: an indicator whose share is far
    below its weight does not drive the ranking the way its weight suggests.

    Parameters
    ----------
    normalised : DataFrame
        Wide normalised data (rows = unit x period, columns = indicator codes).
    index_scores : Series or array
        The index score of each row, aligned with ``normalised``.

    Returns
    -------
    DataFrame
        Indexed by code: ``r`` (Pearson), ``main_effect`` (r^2), ``share`` (main_effect / sum). Pairwise-complete
        rows are used.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 0, 1, 0]})
    >>> empirical_effective_weights(x, x["a"] + 0.5 * x["b"])["share"].round(3).tolist()
    [0.942, 0.058]
    """
    if not isinstance(normalised, pd.DataFrame):
        raise InputError("normalised: expected a wide DataFrame (columns = indicator codes)")
    y = np.asarray(index_scores, dtype=float).ravel()
    if len(y) != len(normalised):
        raise InputError(f"index_scores: {len(y)} values for {len(normalised)} rows of normalised data")
    corr = normalised.astype(float).corrwith(pd.Series(y, index=normalised.index))
    main = corr ** 2
    total = main.sum()
    out = pd.DataFrame({"r": corr, "main_effect": main,
                        "share": main / total if total > 0 else np.nan})
    out.index.name = "code"
    return out
