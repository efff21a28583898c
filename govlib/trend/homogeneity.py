"""Homogeneity tests for a single shift in the mean, for many series at once: Buishand range, Buishand U, SNHT.

The tests and their statistics are those of R ``trend`` 1.1.6 (``br.test``, ``bu.test``, ``snh.test``; Pohlert),
read from its source (``R/br.test.R``, ``R/bu.test.R``, ``R/snht.test.R``, ``src/mc*.f``, ``src/getpval.f``).
With ``S_k = sum_{i<=k} (x_i - xbar)`` and ``s`` the sample SD (divisor n - 1, R's ``sd``):

- Buishand range (Buishand 1982): ``R / sqrt(n) = (max_k S_k - min_k S_k) / s / sqrt(n)`` over k = 1..n;
  change point K = the k of ``max |S_k|``.
- Buishand U (Buishand 1984): ``U = sum_{k=1}^{n-1} (S_k / s)^2 / (n (n + 1))``; K as for the range test.
- SNHT (Alexandersson 1986): ``T_k = k zbar_1^2 + (n - k) zbar_2^2`` with z = (x - xbar)/s and zbar_1, zbar_2 the
  means of z before and after k; ``T = max_k T_k`` over k = 1..n-1, K = its argmax.

K is the position (1-based) of the last observation before the shift; where several k tie, R returns all of them
and govlib the first (``change_point``). The time label of K is added by :func:`homogeneity_table`.

p-values: Monte Carlo under i.i.d. N(0, 1) with ``n_sim`` replicates (R's ``m``, default 20000). Two conventions,
named by ``p_convention``:

- ``"trend"`` (default, R ``trend``'s exact algorithm): the simulated statistics standardise by the SD with divisor
  n (the Fortran code's ``sigma``) although the observed one uses n - 1; p = #{T_sim > T_obs} / m (strict, no +1).
- ``"plus_one"``: the simulated statistics use the same divisor as the observed one, and
  p = (1 + #{T_sim >= T_obs}) / (m + 1) (Davison & Hinkley 1997, never 0).

Random numbers: ``rng="R"`` reproduces R's default generator exactly (Mersenne-Twister seeded as ``set.seed(seed)``,
normals by inversion, as ``norm_rand``), so ``seed=s`` gives the p-values R gives after ``set.seed(s)``; any
other value is a NumPy seed or ``Generator``. The null distribution depends only on n: series of the same length
share one simulation (vectorised; simulations of different lengths draw from one stream in order of n).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ..errors import InputError
from .mannkendall import make_panel, prepare_panel_values

__all__ = ["buishand_range", "buishand_u", "snht", "homogeneity", "homogeneity_table", "r_rnorm", "TESTS",
           "P_CONVENTIONS"]

TESTS = ("buishand_range", "buishand_u", "snht")
P_CONVENTIONS = ("trend", "plus_one")


# ------------------------------------------------------------------------------------------------ R's rnorm
def r_rnorm(size: int, seed: int) -> np.ndarray:
    """``set.seed(seed); rnorm(size)`` exactly as R (>= 3.6: Mersenne-Twister, Inversion).

    R seeds MT19937 with an LCG (``seed = 69069 seed + 1``, 50 scrambling steps, then 625 words of which the
    first is the position 624); a normal is ``qnorm((floor(2^27 u1) + u2) / 2^27)`` from two uniforms.

    Examples
    --------
    >>> r_rnorm(3, 1).round(7).tolist()  # R: set.seed(1); rnorm(3)
    [-0.6264538, 0.1836433, -0.8356286]
    """
    s = int(seed) & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint32)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        words[j] = s
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": {"key": words[1:], "pos": 624}}
    u = bitgen.random_raw(2 * int(size)).astype(np.float64) * 2.3283064365386963e-10
    u = np.clip(u, 0.5 * 2.328306437080797e-10, 1.0 - 0.5 * 2.328306437080797e-10)  # R's fixup to (0, 1)
    big = 134217728.0
    v = (np.floor(big * u[0::2]) + u[1::2]) / big
    return ndtri(v)


# ------------------------------------------------------------------------------------------------ statistics
def _statistics(x: np.ndarray, n: np.ndarray, test: str, ddof: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(statistic, K) per row of left-justified ``x`` with ``n`` observed values (NaN beyond)."""
    m, width = x.shape
    pos = np.arange(1, width + 1)[None, :]
    inside = pos <= n[:, None]
    nf = n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(inside, x, 0.0).sum(axis=1) / nf
        dev = np.where(inside, x - mean[:, None], 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=1) / (nf - ddof))
        sk = np.cumsum(dev, axis=1)
        if test == "snht":
            usable = pos < n[:, None]  # k = 1..n-1
            tk = sk ** 2 / sd[:, None] ** 2 * (1.0 / pos + 1.0 / (n[:, None] - pos))
            tk = np.where(usable, tk, -np.inf)
            k = np.argmax(tk, axis=1)
            return tk[np.arange(m), k], k + 1.0
        ska = np.where(inside, np.abs(sk), -np.inf)
        k = np.argmax(ska, axis=1)
        if test == "buishand_range":
            hi = np.where(inside, sk, -np.inf).max(axis=1)
            lo = np.where(inside, sk, np.inf).min(axis=1)
            stat = (hi - lo) / sd / np.sqrt(nf)
        else:
            first = pos < n[:, None]
            stat = np.where(first, (sk / sd[:, None]) ** 2, 0.0).sum(axis=1) / (nf * (nf + 1))
    return stat, k + 1.0


def _null_draws(rng, n: int, count: int) -> np.ndarray:
    if isinstance(rng, np.ndarray):  # an R stream: consume it in order
        return rng[: n * count].reshape(count, n)
    return rng.standard_normal((count, n))


def homogeneity(values, test: str = "buishand_range", *, n_sim: int = 20_000, seed=None,
                rng: str = "numpy", p_convention: str = "trend", min_n: int = 4,
                chunk: int = 2_000_000) -> pd.DataFrame:
    """One homogeneity test for every row of ``values`` (series x time; NaN dropped from its row).

    Parameters
    ----------
    test : ``"buishand_range"`` (R ``br.test``), ``"buishand_u"`` (``bu.test``) or ``"snht"`` (``snh.test``).
    n_sim : Monte Carlo replicates (R's ``m``); 0 skips the p-value.
    seed : seed of the simulation (an int; or a NumPy ``Generator`` with ``rng="numpy"``).
    rng : ``"numpy"`` or ``"R"`` (R's ``set.seed(seed)`` stream; reproduces R's p-value for one series).
    p_convention : ``"trend"`` (R trend's, default) or ``"plus_one"`` (see the module docstring).
    min_n : fewer observed values: no test (``test = "too_short"``).

    Returns
    -------
    DataFrame ``n, statistic, p, change_point, test`` (``change_point`` is the 1-based position K).

    Examples
    --------
    >>> x = [0.1, -0.3, 0.2, 0.0, -0.1, 2.1, 1.8, 2.2, 1.9, 2.0]
    >>> r = homogeneity(x, "snht", n_sim=2000, seed=1)
    >>> int(r["change_point"].iloc[0]), bool(r["p"].iloc[0] < 0.01)
    (5, True)
    """
    if test not in TESTS:
        raise InputError(f"test={test!r}: expected one of {', '.join(TESTS)}")
    if p_convention not in P_CONVENTIONS:
        raise InputError(f"p_convention={p_convention!r}: expected one of {', '.join(P_CONVENTIONS)}")
    if rng not in ("numpy", "R"):
        raise InputError(f"rng={rng!r}: expected 'numpy' or 'R'")
    if int(n_sim) < 0:
        raise InputError(f"n_sim={n_sim}: expected a number of Monte Carlo replicates >= 0")
    if min_n < 3:
        raise InputError(f"min_n={min_n}: the tests need at least 3 values")
    x, _, n = prepare_panel_values(values)
    stat, k = _statistics(x, n, test)
    short = n < min_n
    with np.errstate(invalid="ignore"):
        flat = ~short & ~(np.isfinite(stat))
    stat = np.where(short, np.nan, stat)
    k = np.where(short | flat, np.nan, k)
    p = np.full(len(n), np.nan)
    if n_sim:
        lengths = np.unique(n[~short & ~flat])
        if rng == "R":
            if seed is None:
                raise InputError("rng='R' needs an integer seed (as set.seed)")
            stream = r_rnorm(int(sum(int(L) * int(n_sim) for L in lengths)), int(seed))
        else:
            gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        offset = 0
        ddof = 0 if p_convention == "trend" else 1  # R trend's Fortran standardises by sqrt(SS / n)
        for L in lengths:
            L = int(L)
            per = max(1, chunk // L)
            sims = []
            for start in range(0, int(n_sim), per):
                count = min(per, int(n_sim) - start)
                if rng == "R":
                    draws = stream[offset: offset + L * count].reshape(count, L)
                    offset += L * count
                else:
                    draws = _null_draws(gen, L, count)
                sims.append(_statistics(draws, np.full(count, L), test, ddof=ddof)[0])
            sim = np.sort(np.concatenate(sims))
            rows = np.flatnonzero((n == L) & ~short & ~flat)
            if p_convention == "trend":
                above = len(sim) - np.searchsorted(sim, stat[rows], side="right")
                p[rows] = above / len(sim)
            else:
                at_least = len(sim) - np.searchsorted(sim, stat[rows], side="left")
                p[rows] = (1 + at_least) / (len(sim) + 1)
    out = pd.DataFrame({"n": n, "statistic": stat, "p": p, "change_point": k})
    out["test"] = np.where(short, "too_short", np.where(flat, "constant", "ok"))
    return out


def buishand_range(values, **kwargs) -> pd.DataFrame:
    """Buishand range test, R ``trend::br.test`` (statistic R/sqrt(n)); see :func:`homogeneity`.

    Examples
    --------
    >>> r = buishand_range([1.0, 1.2, 0.9, 1.1, 3.0, 3.2, 2.9, 3.1], n_sim=0)
    >>> round(float(r["statistic"].iloc[0]), 6), int(r["change_point"].iloc[0])
    (1.314684, 4)
    """
    return homogeneity(values, "buishand_range", **kwargs)


def buishand_u(values, **kwargs) -> pd.DataFrame:
    """Buishand U test, R ``trend::bu.test``; see :func:`homogeneity`.

    Examples
    --------
    >>> r = buishand_u([1.0, 1.2, 0.9, 1.1, 3.0, 3.2, 2.9, 3.1], n_sim=0)
    >>> int(r["change_point"].iloc[0])
    4
    """
    return homogeneity(values, "buishand_u", **kwargs)


def snht(values, **kwargs) -> pd.DataFrame:
    """Standard normal homogeneity test, R ``trend::snh.test``; see :func:`homogeneity`.

    Examples
    --------
    >>> r = snht([1.0, 1.2, 0.9, 1.1, 3.0, 3.2, 2.9, 3.1], n_sim=0)
    >>> int(r["change_point"].iloc[0])
    4
    """
    return homogeneity(values, "snht", **kwargs)


def homogeneity_table(df: pd.DataFrame, time: str, value: str, by: list[str] | None = None, *,
                      tests=TESTS, alpha: float = 0.05, **kwargs) -> pd.DataFrame:
    """The homogeneity tests for every series of a tidy frame (one row per series and test).

    Returns
    -------
    DataFrame: the ``by`` columns, ``test_name``, ``n``, ``statistic``, ``p``, ``change_point`` (time label of the
    last observation before the shift), ``position`` (K), ``shift`` (``"shift"`` when p < alpha, else
    ``"homogeneous"``; ``"no test"`` for short or constant series), ``test``.

    Examples
    --------
    >>> df = pd.DataFrame({"year": range(2001, 2011), "v": [1, 2, 1, 2, 1, 5, 6, 5, 6, 5]})
    >>> homogeneity_table(df, "year", "v", tests=["snht"], n_sim=1000, seed=1)[["change_point", "shift"]].values.tolist()
    [['2005', 'shift']]
    """
    if not 0 < alpha < 1:
        raise InputError(f"alpha={alpha}: expected a significance level between 0 and 1")
    tests = [tests] if isinstance(tests, str) else list(tests)
    panel = make_panel(df, time, value, by)
    frames = []
    for name in tests:
        r = homogeneity(panel.values, name, **kwargs)
        out = panel.keys.copy()
        out["test_name"] = name
        for c in ("n", "statistic", "p"):
            out[c] = r[c].to_numpy()
        k = r["change_point"].to_numpy()
        label = np.full(len(out), None, dtype=object)
        rows = np.flatnonzero(~np.isnan(k))
        label[rows] = panel.labels[rows, k[rows].astype(int) - 1]
        out["change_point"] = label
        out["position"] = k
        ok = (r["test"] == "ok").to_numpy()
        out["shift"] = np.where(~ok, "no test", np.where(r["p"].to_numpy() < alpha, "shift", "homogeneous"))
        out["test"] = r["test"].to_numpy()
        frames.append(out)
    return pd.concat(frames, ignore_index=True)
