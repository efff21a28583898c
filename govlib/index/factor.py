"""Weights from factor analysis with varimax rotation, as in the OECD/JRC Handbook (2008, section 6.1).

Steps (each checked against R in ``tests/data/index_make_factanal_reference.R``):

1. Extract ``n_factors`` factors from the correlation matrix of the indicators (cost indicators flipped first):
   ``extraction="ml"`` is maximum likelihood exactly as R's ``stats::factanal`` (uniquenesses optimised with
   L-BFGS-B within [0.005, 1] from factanal's start ``(1 - q / 2p) / diag(R^-1)``); ``extraction="pca"`` takes
   principal-component loadings ``v_j sqrt(lambda_j)``, the Handbook's worked example.
2. Rotate with varimax (``stats::varimax``: Kaiser-normalised rows, tolerance 1e-5).
3. Square the rotated loadings and scale each factor's column to unity sum; each indicator belongs to the factor
   where its scaled squared loading is largest (the Handbook's "intermediate composites").
4. An indicator's weight is its scaled squared loading in that factor times the factor's share of the explained
   variance (sum of squared rotated loadings over all retained factors); the weights are scaled to sum to 1.

``n_factors=None`` keeps the factors whose correlation-matrix eigenvalue exceeds 1 (Kaiser's rule, the first of
the Handbook's criteria); ML needs ``(p - q)^2 >= p + q`` (factanal's degrees of freedom).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import InputError

__all__ = ["FactorResult", "factor_weights", "varimax", "ml_factor_analysis"]


@dataclass
class FactorResult:
    """Result of :func:`factor_weights`.

    Attributes
    ----------
    weights : Series (sums to 1), one per indicator.
    loadings : DataFrame indicators x factors, rotated.
    uniqueness : Series, 1 - communality (ML: the fitted uniquenesses).
    explained : Series, per factor the sum of squared rotated loadings (variance explained).
    assigned : Series, per indicator the factor (1-based) it is grouped in.
    extraction, rotation : the choices.
    """

    weights: pd.Series
    loadings: pd.DataFrame
    uniqueness: pd.Series
    explained: pd.Series
    assigned: pd.Series
    extraction: str
    rotation: str

    def to_frame(self) -> pd.DataFrame:
        """``indicator, factor, loading, scaled_squared_loading, weight`` (one row per indicator and factor; the
        weight is repeated on the indicator's rows, ``assigned`` marks its factor)."""
        sq = self.loadings ** 2
        scaled = sq / sq.sum(axis=0)
        long = self.loadings.stack().rename("loading").reset_index()
        long.columns = ["indicator", "factor", "loading"]
        long["scaled_squared_loading"] = scaled.stack().to_numpy()
        long["assigned"] = long["indicator"].map(self.assigned).eq(long["factor"])
        long["weight"] = long["indicator"].map(self.weights)
        return long

    def as_weight_set(self, name: str = "factor"):
        from .weights import WeightSet

        return WeightSet(name, self.weights, f"factor analysis ({self.extraction}, {self.rotation})")


def varimax(loadings, normalize: bool = True, eps: float = 1e-5, max_iter: int = 1000) -> np.ndarray:
    """Varimax rotation, a port of R's ``stats::varimax`` (same normalisation, stopping rule and result).

    Examples
    --------
    >>> L = np.array([[0.8, 0.3], [0.7, 0.4], [0.3, 0.8], [0.2, 0.9]])
    >>> R = varimax(L)
    >>> bool(np.allclose((R ** 2).sum(axis=1), (L ** 2).sum(axis=1)))  # communalities unchanged
    True
    """
    x = np.asarray(loadings, dtype=float)
    p, nc = x.shape
    if nc < 2:
        return x.copy()
    sc = np.sqrt((x ** 2).sum(axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    tt = np.eye(nc)
    d = 0.0
    for _ in range(max_iter):
        z = x @ tt
        b = x.T @ (z ** 3 - z @ np.diag((z ** 2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        d_past, d = d, s.sum()
        if d < d_past * (1 + eps):
            break
    return (x @ tt) * sc[:, None]


def _fa_objective(psi: np.ndarray, s: np.ndarray, q: int) -> float:
    sc = 1 / np.sqrt(psi)
    e = np.linalg.eigvalsh(s * sc[:, None] * sc[None, :])[::-1]
    rest = e[q:]
    return -(np.sum(np.log(rest) - rest) - q + s.shape[0])


def _fa_loadings(psi: np.ndarray, s: np.ndarray, q: int) -> np.ndarray:
    sc = 1 / np.sqrt(psi)
    values, vectors = np.linalg.eigh(s * sc[:, None] * sc[None, :])
    values, vectors = values[::-1][:q], vectors[:, ::-1][:, :q]
    return np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values - 1, 0))[None, :]


def _fa_gradient(psi: np.ndarray, s: np.ndarray, q: int) -> np.ndarray:
    load = _fa_loadings(psi, s, q)
    g = load @ load.T + np.diag(psi) - s
    return np.diag(g) / psi ** 2


def ml_factor_analysis(corr, n_factors: int, lower: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood factor analysis of a correlation matrix, as R's ``factanal`` (unrotated).

    Returns ``(loadings p x q, uniquenesses p)``; columns ordered by decreasing sum of squares.
    """
    s = np.asarray(corr, dtype=float)
    p = s.shape[0]
    q = int(n_factors)
    if (p - q) ** 2 < p + q:
        raise InputError(f"n_factors: {q} factors are too many for {p} indicators (maximum likelihood needs "
                         f"(p - q)^2 >= p + q)")
    start = (1 - 0.5 * q / p) / np.diag(np.linalg.inv(s))
    scale = 0.01  # factanal's parscale: optimise psi / 0.01
    res = optimize.minimize(lambda u: _fa_objective(u * scale, s, q), start / scale, method="L-BFGS-B",
                            jac=lambda u: _fa_gradient(u * scale, s, q) * scale,
                            bounds=[(lower / scale, 1 / scale)] * p,
                            options={"ftol": 1e-12, "gtol": 1e-10, "maxiter": 1000})
    psi = res.x * scale
    load = _fa_loadings(psi, s, q)
    order = np.argsort(-(load ** 2).sum(axis=0), kind="stable")
    load = load[:, order]
    signs = np.sign(load.sum(axis=0))
    return load * np.where(signs == 0, 1, signs)[None, :], psi


def factor_weights(data, n_factors: int | None = None, *, extraction: str = "ml", rotation: str = "varimax",
                   directions=None) -> FactorResult:
    """Indicator weights from factor analysis (OECD/JRC Handbook 2008, section 6.1); see the module docstring.

    Parameters
    ----------
    data : wide DataFrame, rows = units, columns = indicators (complete cases are used).
    n_factors : factors kept; None = eigenvalues > 1 (Kaiser).
    extraction : ``"ml"`` (R ``factanal``) or ``"pca"`` (principal components).
    rotation : ``"varimax"`` or ``"none"``.
    directions : per column +1 / -1 (cost indicators flipped so that all loadings point the same way).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 2))
    >>> x = pd.DataFrame(np.c_[f[:, [0]] + 0.5 * rng.normal(size=(200, 3)), f[:, [1]] + 0.5 * rng.normal(size=(200, 3))],
    ...                  columns=list("abcdef"))
    >>> r = factor_weights(x, 2)
    >>> round(float(r.weights.sum()), 6), r.assigned.tolist()
    (1.0, ['F2', 'F2', 'F2', 'F1', 'F1', 'F1'])
    """
    if extraction not in ("ml", "pca"):
        raise InputError(f"extraction: expected 'ml' (as R factanal) or 'pca', got {extraction!r}")
    if rotation not in ("varimax", "none"):
        raise InputError(f"rotation: expected 'varimax' or 'none', got {rotation!r}")
    if not isinstance(data, pd.DataFrame):
        raise InputError("data: expected a wide DataFrame (columns = indicators)")
    x = data.astype(float).dropna()
    cols = list(x.columns)
    if x.shape[1] < 2 or x.shape[0] <= x.shape[1]:
        raise InputError(f"data: factor analysis needs at least 2 indicators and more complete rows than "
                         f"indicators; got {x.shape[0]} rows x {x.shape[1]} indicators")
    if (x.std(ddof=1) == 0).any():
        raise InputError(f"data: constant indicator(s) {[c for c in cols if x[c].std() == 0]}; drop them first")
    if directions is not None:
        d = np.broadcast_to(np.asarray(directions, dtype=float), (len(cols),))
        x = x * d
    corr = np.corrcoef(x.to_numpy(), rowvar=False)
    eig = np.linalg.eigvalsh(corr)[::-1]
    q = int((eig > 1).sum()) if n_factors is None else int(n_factors)
    if not 1 <= q <= len(cols):
        raise InputError(f"n_factors: expected 1 .. {len(cols)}, got {n_factors}")
    if extraction == "ml":
        load, psi = ml_factor_analysis(corr, q)
    else:
        values, vectors = np.linalg.eigh(corr)
        load = vectors[:, ::-1][:, :q] * np.sqrt(values[::-1][:q])[None, :]
        psi = None
    if rotation == "varimax":
        load = varimax(load)
    sq = load ** 2
    ss = sq.sum(axis=0)
    scaled = sq / ss[None, :]
    assigned = scaled.argmax(axis=1)
    w = scaled[np.arange(len(cols)), assigned] * (ss / ss.sum())[assigned]
    names = [f"F{j + 1}" for j in range(q)]
    idx = pd.Index(cols, name="code")
    uniq = psi if psi is not None else 1 - sq.sum(axis=1)
    return FactorResult(weights=pd.Series(w / w.sum(), index=idx, name="weight"),
                        loadings=pd.DataFrame(load, index=idx, columns=names),
                        uniqueness=pd.Series(uniq, index=idx, name="uniqueness"),
                        explained=pd.Series(ss, index=names, name="explained"),
                        assigned=pd.Series(np.asarray(names, dtype=object)[assigned], index=idx, name="factor"),
                        extraction=extraction, rotation=rotation)
