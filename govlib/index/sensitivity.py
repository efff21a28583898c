"""Variance-based sensitivity indices from a Saltelli design (pure estimators).

Public API (stable; the uncertainty engine calls these)::

    saltelli_sample(factors, n, seed=None, sampling="sobol") -> SaltelliDesign   # .A .B .AB (k, n, k) .stacked()
    sobol_indices(f_A, f_B, f_AB, factor_names=None, output_names=None,
                  n_bootstrap=0, confidence=0.95, seed=None, center=True) -> SobolResult  # .S1 .ST (k, m) .to_frame()

The design follows Saltelli et al. (2010), "Variance based sensitivity analysis of model output. Design and
estimator for the total sensitivity index", Comput. Phys. Commun. 181:259-270: two independent N x k matrices A
and B, and for each factor i the matrix A_B^i = A with column i taken from B. The model is run on the
N (k + 2) rows; with outputs f_A, f_B (shape (N,) or (N, m)) and f_AB (shape (k, N) or (k, N, m)):

- first-order  S_i  = mean(f_B * (f_AB^i - f_A)) / V            (Saltelli 2010, Table 2 (b))
- total        S_Ti = mean((f_A - f_AB^i)^2) / (2 V)             (Jansen 1999, Table 2 (f))
- V = var(concat(f_A, f_B)) with ddof=0 (as SALib does).
- ``center=True`` (default) first subtracts the mean of all N (k + 2) outputs, per output, as SALib does: the
  first-order estimator is not invariant to adding a constant to the output, and ranks 1..36 sit far from 0, so
  centring removes a needless source of Monte Carlo error. The indices are then identical to SALib's
  (``SALib.analyze.sobol`` with ``calc_second_order=False``) on the same runs.

Outputs are vectorised: m outputs (e.g. the rank of each of 36 units) are estimated at once. An output with zero
variance (a unit whose rank never moves) has undefined indices: NaN, never a division warning.

Factors are continuous (uniform on [0, 1); rescale them in the model) or discrete with L equally likely levels,
coded 0 .. L-1 (e.g. normalisation method choice, which indicator is left out). Discrete factors are drawn from
the same uniform numbers by floor(u * L), so the design stays a valid Saltelli design.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import pandas as pd

from govlib.errors import InputError, one_of

__all__ = ["SaltelliDesign", "SobolResult", "saltelli_sample", "sobol_indices"]


@dataclass
class SaltelliDesign:
    """Sample matrices of a Saltelli design.

    Attributes
    ----------
    A, B : ndarray, shape (n, k)
        Independent base samples.
    AB : ndarray, shape (k, n, k)
        ``AB[i]`` is A with column i replaced by B's column i.
    levels : list of (int or None)
        Per factor: number of discrete levels, or None for continuous U[0, 1).
    """

    A: np.ndarray
    B: np.ndarray
    AB: np.ndarray
    levels: list[int | None]

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def k(self) -> int:
        return self.A.shape[1]

    def stacked(self) -> np.ndarray:
        """All n (k + 2) rows to evaluate, in the order A, B, AB[0], ..., AB[k-1]."""
        return np.concatenate([self.A, self.B, self.AB.reshape(-1, self.k)], axis=0)

    def split(self, outputs: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split outputs of :meth:`stacked` rows (shape (n (k+2),) or (n (k+2), m)) into f_A, f_B, f_AB.

        Examples
        --------
        >>> d = saltelli_sample([None, None], 8, seed=1)
        >>> f_A, f_B, f_AB = d.split(d.stacked().sum(axis=1))
        >>> f_A.shape, f_AB.shape
        ((8,), (2, 8))
        """
        y = np.asarray(outputs, dtype=float)
        n, k = self.n, self.k
        if y.shape[0] != n * (k + 2):
            raise InputError(f"outputs: expected {n * (k + 2)} rows (n (k + 2)), got {y.shape[0]}")
        return y[:n], y[n:2 * n], y[2 * n:].reshape((k, n) + y.shape[1:])


def saltelli_sample(factors: Any, n: int, seed: Any = None, sampling: str = "sobol") -> SaltelliDesign:
    """Build the A, B and A_B^i matrices for k continuous or discrete factors.

    Parameters
    ----------
    factors : int or sequence of (int or None)
        ``k`` (all continuous), or one entry per factor: ``None`` = continuous U[0, 1), an int L >= 1 = discrete
        levels 0 .. L-1 with equal probability.
    n : int
        Base sample size N (model runs: N (k + 2)). With ``sampling="sobol"`` a power of 2 is best.
    seed : int or numpy Generator, optional
        Makes the design reproducible.
    sampling : {"sobol", "random"}
        Scrambled Sobol' sequence in 2k dimensions (first k columns -> A, last k -> B; Saltelli 2010's
        recommendation) or plain pseudo-random uniforms.

    Examples
    --------
    >>> d = saltelli_sample([None, 3], 16, seed=0)
    >>> d.A.shape, d.AB.shape, sorted(set(d.A[:, 1].tolist()))
    ((16, 2), (2, 16, 2), [0.0, 1.0, 2.0])
    >>> bool((d.AB[0][:, 1] == d.A[:, 1]).all() and (d.AB[0][:, 0] == d.B[:, 0]).all())
    True
    """
    if isinstance(factors, (int, np.integer)) and not isinstance(factors, bool):
        levels: list[int | None] = [None] * int(factors)
    else:
        levels = list(factors)
    if not levels:
        raise InputError("factors: need at least one factor")
    for i, lv in enumerate(levels):
        if lv is not None and (not isinstance(lv, (int, np.integer)) or isinstance(lv, bool) or lv < 1):
            raise InputError(f"factors[{i}]: {lv!r} is neither None (continuous) nor a number of levels >= 1")
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise InputError(f"n: base sample size must be an integer >= 2, got {n!r}")
    one_of(sampling, ("sobol", "random"), "sampling")
    k = len(levels)
    rng = np.random.default_rng(seed)
    if sampling == "sobol":
        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "balance properties" warning for n not 2^m
            u = qmc.Sobol(d=2 * k, scramble=True, seed=rng).random(int(n))
    else:
        u = rng.random((int(n), 2 * k))
    A, B = u[:, :k].copy(), u[:, k:].copy()
    for i, lv in enumerate(levels):
        if lv is not None:
            A[:, i] = np.minimum(np.floor(A[:, i] * lv), lv - 1)
            B[:, i] = np.minimum(np.floor(B[:, i] * lv), lv - 1)
    AB = np.repeat(A[None, :, :], k, axis=0)
    idx = np.arange(k)
    AB[idx, :, idx] = B.T  # AB[i][:, i] = B[:, i]
    return SaltelliDesign(A, B, AB, levels)


@dataclass
class SobolResult:
    """First-order and total indices, shape (k, m) (m = 1 for a scalar output), with optional bootstrap CIs."""

    S1: np.ndarray
    ST: np.ndarray
    variance: np.ndarray
    factor_names: list[str]
    output_names: list[str]
    S1_conf: np.ndarray | None = None
    ST_conf: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``factor, output, S1, ST`` (+ ``S1_conf, ST_conf``: half-widths of the bootstrap CI)."""
        k, m = self.S1.shape
        out = pd.DataFrame({
            "factor": np.repeat(self.factor_names, m),
            "output": np.tile(self.output_names, k),
            "S1": self.S1.ravel(),
            "ST": self.ST.ravel(),
        })
        if self.S1_conf is not None:
            out["S1_conf"] = self.S1_conf.ravel()
            out["ST_conf"] = self.ST_conf.ravel()
        return out


def _estimate(f_A: np.ndarray, f_B: np.ndarray, f_AB: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S1, ST, V along the sample axis; f_A, f_B (..., N, m); f_AB (..., k, N, m)."""
    var = np.concatenate([f_A, f_B], axis=-2).var(axis=-2)  # (..., m)
    ok = var > 1e-12 * np.maximum(1.0, np.abs(np.concatenate([f_A, f_B], axis=-2)).max(axis=-2) ** 2)
    safe = np.where(ok, var, 1.0)[..., None, :]
    s1 = (f_B[..., None, :, :] * (f_AB - f_A[..., None, :, :])).mean(axis=-2) / safe
    st = 0.5 * ((f_A[..., None, :, :] - f_AB) ** 2).mean(axis=-2) / safe
    nan = ~ok[..., None, :]
    s1 = np.where(nan, np.nan, s1)
    st = np.where(nan, np.nan, st)
    return s1, st, var


def _nanquantile(x: np.ndarray, q: float) -> np.ndarray:
    """Quantile along axis 0 ignoring NaN (linear interpolation, numpy's default), without numpy's slow
    per-column loop in ``nanquantile``; all-NaN columns give NaN."""
    ordered = np.sort(x, axis=0)  # NaN sort last
    valid = (~np.isnan(x)).sum(axis=0)
    pos = q * np.maximum(valid - 1, 0)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, np.maximum(valid - 1, 0))
    low = np.take_along_axis(ordered, lo[None], axis=0)[0]
    high = np.take_along_axis(ordered, hi[None], axis=0)[0]
    out = low + (pos - lo) * (high - low)
    return np.where(valid > 0, out, np.nan)


def _bootstrap_counts(seed: Any, n: int, n_bootstrap: int) -> np.ndarray:
    """Multinomial resampling counts (``n_bootstrap`` x ``n``) from ``np.random.default_rng(seed)``; the same
    counts for the same integer seed are drawn once (the Monte Carlo asks for them once per period)."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return _bootstrap_counts_cached(int(seed), int(n), int(n_bootstrap))
    return np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(float)


@lru_cache(maxsize=8)
def _bootstrap_counts_cached(seed: int, n: int, n_bootstrap: int) -> np.ndarray:
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(float)
    counts.setflags(write=False)  # shared between calls
    return counts


def sobol_indices(f_A: Any, f_B: Any, f_AB: Any, factor_names: Sequence[str] | None = None,
                  output_names: Sequence[str] | None = None, n_bootstrap: int = 0, confidence: float = 0.95,
                  seed: Any = None, center: bool = True) -> SobolResult:
    """First-order (Saltelli 2010) and total (Jansen 1999) sensitivity indices.

    Parameters
    ----------
    f_A, f_B : array, shape (N,) or (N, m)
        Model outputs on the rows of A and B.
    f_AB : array, shape (k, N) or (k, N, m)
        Outputs on A_B^i for each of the k factors.
    factor_names, output_names : sequence of str, optional
        Labels for :meth:`SobolResult.to_frame` (default ``x1..xk``, ``y1..ym``).
    n_bootstrap : int, default 0
        If > 0, resample the N rows this many times and report CI half-widths (percentile method).
    confidence : float, default 0.95
    seed : int or Generator, optional
        For the bootstrap.
    center : bool, default True
        Subtract the mean of all outputs first (SALib's convention; see the module docstring).

    Returns
    -------
    SobolResult
        ``S1`` and ``ST`` of shape (k, m); NaN for outputs with zero variance.

    Examples
    --------
    >>> d = saltelli_sample(2, 1024, seed=1)
    >>> f = lambda x: x[..., 0] + 2 * x[..., 1]          # additive: S1 = ST = (1/5, 4/5)
    >>> r = sobol_indices(f(d.A), f(d.B), f(d.AB))
    >>> r.S1.ravel().round(2).tolist(), r.ST.ravel().round(2).tolist()
    ([0.2, 0.8], [0.2, 0.8])
    """
    a = np.asarray(f_A, dtype=float)
    b = np.asarray(f_B, dtype=float)
    ab = np.asarray(f_AB, dtype=float)
    scalar = a.ndim == 1
    if scalar:
        a, b = a[:, None], b[:, None]
        if ab.ndim == 2:
            ab = ab[:, :, None]
    if a.ndim != 2 or b.shape != a.shape:
        raise InputError(f"f_A and f_B: expected equal shapes (N,) or (N, m), got {np.shape(f_A)} and "
                         f"{np.shape(f_B)}")
    n, m = a.shape
    if ab.ndim != 3 or ab.shape[1:] != (n, m):
        raise InputError(f"f_AB: expected shape (k, {n}" + (")" if scalar else f", {m})") +
                         f", got {np.shape(f_AB)}")
    if n < 2:
        raise InputError(f"f_A: need at least 2 rows, got {n}")
    for name, arr in (("f_A", a), ("f_B", b), ("f_AB", ab)):
        if not np.isfinite(arr).all():
            raise InputError(f"{name}: contains missing or infinite model outputs; the estimators need every run")
    if center:
        mean = (a.sum(axis=0) + b.sum(axis=0) + ab.sum(axis=(0, 1))) / (n * (ab.shape[0] + 2))
        a, b, ab = a - mean, b - mean, ab - mean
    k = ab.shape[0]
    factor_names = [str(x) for x in factor_names] if factor_names is not None else [f"x{i + 1}" for i in range(k)]
    output_names = [str(x) for x in output_names] if output_names is not None else [f"y{j + 1}" for j in range(m)]
    if len(factor_names) != k or len(output_names) != m:
        raise InputError(f"names: {len(factor_names)} factor names for k={k}, {len(output_names)} output names "
                         f"for m={m}")
    s1, st, var = _estimate(a, b, ab)
    result = SobolResult(s1, st, var, factor_names, output_names)
    if n_bootstrap > 0:
        if not 0 < confidence < 1:
            raise InputError(f"confidence: must be in (0, 1), got {confidence}")
        # Resampling rows with replacement = weighting rows by multinomial counts, so every bootstrap mean is
        # one matrix product (R, N) @ (N, ...) instead of R gathers of the (k, N, m) outputs.
        counts = _bootstrap_counts(seed, n, n_bootstrap)  # (R, N)
        first = (b[None] * (ab - a[None])).transpose(1, 0, 2).reshape(n, k * m)
        total = ((a[None] - ab) ** 2).transpose(1, 0, 2).reshape(n, k * m)
        mean_sum = counts @ (a + b) / (2 * n)                       # (R, m)
        mean_sq = counts @ (a ** 2 + b ** 2) / (2 * n)
        var_boot = mean_sq - mean_sum ** 2
        ok = (var_boot > 0) & np.isfinite(s1[0])[None, :]
        safe = np.where(ok, var_boot, 1.0)[:, None, :]
        s1_boot = (counts @ first / n).reshape(n_bootstrap, k, m) / safe
        st_boot = 0.5 * (counts @ total / n).reshape(n_bootstrap, k, m) / safe
        s1_boot = np.where(ok[:, None, :], s1_boot, np.nan)
        st_boot = np.where(ok[:, None, :], st_boot, np.nan)
        lo, hi = (1 - confidence) / 2, 1 - (1 - confidence) / 2
        result.S1_conf = (_nanquantile(s1_boot, hi) - _nanquantile(s1_boot, lo)) / 2
        result.ST_conf = (_nanquantile(st_boot, hi) - _nanquantile(st_boot, lo)) / 2
    return result
