"""Control charts for many series at once: robust standardisation, two-sided CUSUM, EWMA, Shewhart; ARLs exact and by
Monte Carlo, and the limit that gives a target ARL.

Every chart works on standardised values z (in-control mean 0, SD 1), one row per series, and loops over time
only (vectorised across series). NaN (a missing period) leaves the chart statistic unchanged and never signals.

Conventions (as R ``spc`` 0.6.7, checked by a seeded Monte Carlo in ``tests/test_control.py``):

- Tabular CUSUM, two-sided: C+_t = max(0, C+_{t-1} + z_t - k), C-_t = max(0, C-_{t-1} - z_t - k), C_0 = 0; signal
  when C+ > h or C- > h (``spc::xcusum.arl(k, h, sided="two")``).
- EWMA: E_t = lambda z_t + (1 - lambda) E_{t-1}, E_0 = 0; signal when |E_t| > L sigma_E. ``limits="fixed"`` uses the
  asymptotic sigma_E = sqrt(lambda / (2 - lambda)) — the default of ``spc::xewma.arl`` (``limits="fix"``), and the
  one that reproduces its ARLs (371.10 for lambda 0.2, L 2.860); ``limits="exact"`` uses the time-varying
  sigma_E,t = sqrt(lambda/(2-lambda) (1 - (1-lambda)^{2t})) (narrower at the start: shorter in-control ARL).
- Shewhart: signal when |z_t| > L.
- The run length counts the observation at which the chart signals (first observation = 1).

Exact ARLs (:func:`arl_cusum`, :func:`arl_ewma`) solve the ARL integral equation by the Nyström method with
Gauss-Legendre nodes, exactly as ``spc``'s default ``method="igl"`` (Crowder 1987 for EWMA; Vance 1986 / Goel &
Wu 1971 for the one-sided CUSUM with its atom at 0, two-sided by the Lucas & Crosier 1982 combination), with the same
default node counts (``r=30`` CUSUM, ``r=40`` EWMA). :func:`cusum_limit` and :func:`ewma_limit` solve for h or L
given a target in-control ARL (``spc::xcusum.crit`` / ``xewma.crit``), with Brent's method on the exact ARL.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError, one_of

__all__ = ["robust_standardise", "cusum", "ewma", "shewhart", "run_length_monte_carlo", "arl_cusum", "arl_ewma",
           "cusum_limit", "ewma_limit", "arl_shewhart", "ChartResult"]


def _as_2d(values) -> np.ndarray:
    arr = np.array(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"values: expected a 1-D or 2-D array (series x time), got shape {arr.shape}")
    arr[np.isnan(arr)] = np.nan
    return arr


def robust_standardise(values, baseline=5, *, min_baseline: int = 3, scale=None) -> tuple[np.ndarray, pd.DataFrame]:
    """Standardise each row by the median and MAD of its first ``baseline`` observed values.

    z = (x - median) / (1.4826 MAD). Rows with fewer than ``min_baseline`` baseline values, or a MAD of 0 (a flat
    baseline), cannot be standardised: their z is NaN and ``status`` says why.

    Parameters
    ----------
    baseline : number of first observed values forming the baseline (an int, or one int per row).
    scale : optional SD per row to use instead of the baseline MAD (e.g. a robust noise SD pooled across the
        units of one indicator, steadier than the MAD of a few baseline values).

    Returns
    -------
    (z, info): z has the shape of ``values``; info has ``center, scale, n_baseline, status`` per row.

    Examples
    --------
    >>> z, info = robust_standardise([[10, 11, 9, 10, 12, 20]], baseline=5)
    >>> info["center"].tolist(), info["scale"].tolist(), round(float(z[0, -1]), 3)
    ([10.0], [1.4826], 6.745)
    """
    x = _as_2d(values)
    observed = ~np.isnan(x)
    rank = np.cumsum(observed, axis=1)
    limit = np.broadcast_to(np.asarray(baseline), (x.shape[0],))[:, None]
    base = np.where(observed & (rank <= limit), x, np.nan)
    n_base = (~np.isnan(base)).sum(axis=1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        center = np.nanmedian(base, axis=1)
        if scale is None:
            scale = 1.4826 * np.nanmedian(np.abs(base - center[:, None]), axis=1)
        else:
            scale = np.broadcast_to(np.asarray(scale, dtype=float), (x.shape[0],)).copy()
    status = np.where(n_base < min_baseline, "short_baseline", np.where(~(scale > 0), "flat_baseline", "ok"))
    ok = status == "ok"
    z = np.full_like(x, np.nan)
    z[ok] = (x[ok] - center[ok, None]) / scale[ok, None]
    info = pd.DataFrame({"center": center, "scale": scale, "n_baseline": n_base, "status": status})
    return z, info


class ChartResult(dict):
    """The arrays of a chart (a dict, as before) with a tidy :meth:`to_frame`."""

    def to_frame(self) -> pd.DataFrame:
        """One row per (series, time): ``series``, ``t`` (1-based) and every (series x time) array of the chart,
        plus ``first_signal`` of the series.

        Examples
        --------
        >>> shewhart([[0.5, -3.5]]).to_frame()[["series", "t", "signal_down", "first_signal"]].values.tolist()
        [[0, 1, False, 2], [0, 2, True, 2]]
        """
        first = np.asarray(self["first_signal"])
        shape = next(np.shape(v) for k, v in self.items() if k != "first_signal")
        m, length = shape
        out = pd.DataFrame({"series": np.repeat(np.arange(m), length), "t": np.tile(np.arange(1, length + 1), m)})
        for key, value in self.items():
            if key != "first_signal":
                out[key] = np.asarray(value).reshape(-1)
        out["first_signal"] = np.repeat(first, length)
        return out


def _first_signal(signal: np.ndarray) -> np.ndarray:
    any_sig = signal.any(axis=1)
    return np.where(any_sig, np.argmax(signal, axis=1) + 1, 0)


def cusum(z, *, k: float = 0.5, h: float = 4.0) -> dict[str, np.ndarray]:
    """Two-sided tabular CUSUM of standardised values (rows = series).

    Returns
    -------
    dict with ``upper``, ``lower`` (C+ and C-, same shape as z), ``signal_up``, ``signal_down`` (bool arrays) and
    ``first_signal`` (1-based time of the first signal per row, 0 for none).

    Examples
    --------
    >>> r = cusum([0.0, 0.2, -0.1, 2.0, 2.5, 2.2, 1.9], k=0.5, h=4.0)
    >>> r["signal_up"][0].tolist(), int(r["first_signal"][0])
    ([False, False, False, False, False, True, True], 6)
    """
    z = _as_2d(z)
    m, length = z.shape
    up = np.zeros(m)
    lo = np.zeros(m)
    upper = np.empty_like(z)
    lower = np.empty_like(z)
    for t in range(length):
        zt = z[:, t]
        ok = ~np.isnan(zt)
        up = np.where(ok, np.maximum(0.0, up + np.nan_to_num(zt) - k), up)
        lo = np.where(ok, np.maximum(0.0, lo - np.nan_to_num(zt) - k), lo)
        upper[:, t] = up
        lower[:, t] = lo
    obs = ~np.isnan(z)
    sig_up = (upper > h) & obs
    sig_down = (lower > h) & obs
    return ChartResult(upper=upper, lower=lower, signal_up=sig_up, signal_down=sig_down,
                       first_signal=_first_signal(sig_up | sig_down))


def ewma(z, *, lam: float = 0.2, L: float = 2.86, limits: str = "fixed") -> dict[str, np.ndarray]:
    """EWMA chart of standardised values (rows = series).

    Parameters
    ----------
    lam : smoothing weight lambda in (0, 1].
    L : limit width in SDs of the EWMA statistic.
    limits : ``"fixed"`` (asymptotic, the ``spc`` default) or ``"exact"`` (time-varying).

    Returns
    -------
    dict with ``statistic``, ``limit`` (same shape), ``signal_up``, ``signal_down``, ``first_signal``.

    Examples
    --------
    >>> r = ewma([0.0, 0.1, 3.0, 3.0, 3.0], lam=0.2, L=2.86)
    >>> int(r["first_signal"][0])
    4
    """
    if not 0 < lam <= 1:
        raise InputError(f"lam: expected 0 < lambda <= 1, got {lam}")
    one_of(limits, ("fixed", "exact"), "limits")
    z = _as_2d(z)
    m, length = z.shape
    e = np.zeros(m)
    steps = np.zeros(m)
    stat = np.empty_like(z)
    limit = np.empty_like(z)
    asym = np.sqrt(lam / (2 - lam))
    for t in range(length):
        zt = z[:, t]
        ok = ~np.isnan(zt)
        e = np.where(ok, lam * np.nan_to_num(zt) + (1 - lam) * e, e)
        steps = steps + ok
        stat[:, t] = e
        if limits == "fixed":
            limit[:, t] = L * asym
        else:
            limit[:, t] = L * asym * np.sqrt(1 - (1 - lam) ** (2 * steps))
    obs = ~np.isnan(z)
    sig_up = (stat > limit) & obs
    sig_down = (stat < -limit) & obs
    return ChartResult(statistic=stat, limit=limit, signal_up=sig_up, signal_down=sig_down,
                       first_signal=_first_signal(sig_up | sig_down))


def shewhart(z, *, L: float = 3.0) -> dict[str, np.ndarray]:
    """Shewhart individuals chart on standardised values: signal when |z| > L.

    Examples
    --------
    >>> shewhart([0.5, -3.5, 1.0])["signal_down"][0].tolist()
    [False, True, False]
    """
    z = _as_2d(z)
    obs = ~np.isnan(z)
    sig_up = (z > L) & obs
    sig_down = (z < -L) & obs
    return ChartResult(signal_up=sig_up, signal_down=sig_down, first_signal=_first_signal(sig_up | sig_down))


def run_length_monte_carlo(chart: str, *, shift: float = 0.0, n_runs: int = 20_000, seed: int = 0,
                           block: int = 64, max_length: int = 100_000, **params) -> tuple[float, float]:
    """Average run length (ARL) of a chart by Monte Carlo: (ARL, its standard error).

    Runs are simulated together (vectorised): each step draws N(shift, 1) for every run that has not signalled.

    Parameters
    ----------
    chart : ``"cusum"`` (params ``k``, ``h``), ``"ewma"`` (``lam``, ``L``, ``limits``) or ``"shewhart"`` (``L``).
    shift : mean shift in SDs from the first observation (zero-state ARL).

    Examples
    --------
    >>> arl, se = run_length_monte_carlo("shewhart", L=3.0, n_runs=2000, seed=1)
    >>> abs(arl - 370.4) < 4 * se
    True
    """
    rng = np.random.default_rng(seed)
    if chart == "cusum":
        k, h = params.get("k", 0.5), params.get("h", 4.0)
    elif chart == "ewma":
        lam, L, limits = params.get("lam", 0.2), params.get("L", 2.86), params.get("limits", "fixed")
        asym = np.sqrt(lam / (2 - lam))
    elif chart == "shewhart":
        L = params.get("L", 3.0)
    else:
        raise InputError(f"chart: expected 'cusum', 'ewma' or 'shewhart', got {chart!r}")
    active = np.arange(n_runs)
    a = np.zeros(n_runs)
    b = np.zeros(n_runs)
    lengths = np.zeros(n_runs)
    t = 0
    while active.size and t < max_length:
        draws = rng.normal(shift, 1.0, size=(active.size, block))
        done = np.zeros(active.size, dtype=bool)
        when = np.zeros(active.size)
        aa, bb = a[active], b[active]
        for j in range(block):
            zt = draws[:, j]
            step = t + j + 1
            if chart == "cusum":
                aa = np.maximum(0.0, aa + zt - k)
                bb = np.maximum(0.0, bb - zt - k)
                sig = (aa > h) | (bb > h)
            elif chart == "ewma":
                aa = lam * zt + (1 - lam) * aa
                width = L * asym if limits == "fixed" else L * asym * np.sqrt(1 - (1 - lam) ** (2 * step))
                sig = np.abs(aa) > width
            else:
                sig = np.abs(zt) > L
            new = sig & ~done
            when[new] = step
            done |= sig
        a[active], b[active] = aa, bb
        lengths[active[done]] = when[done]
        active = active[~done]
        t += block
    if active.size:
        raise InputError(f"{active.size} runs did not signal within max_length={max_length}")
    return float(lengths.mean()), float(lengths.std(ddof=1) / np.sqrt(n_runs))


# ----------------------------------------------------------------------------------------------------------------
# Exact ARLs (integral equations, as R spc's method="igl") and limits for a target ARL
# ----------------------------------------------------------------------------------------------------------------

def _nodes(n: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [lo, hi] (spc's ``gausslegendre``; numpy's agree to rounding)."""
    x, w = np.polynomial.legendre.leggauss(n)
    half = 0.5 * (hi - lo)
    return lo + half * (x + 1.0), half * w


def _arl_cusum_one(k: float, h: float, hs: float, mu: float, r: int) -> float:
    """Upper one-sided CUSUM ARL, spc's ``xc1_iglarl``: the Nystrom system on (0, h] plus the atom at 0."""
    from scipy.stats import norm

    z, w = _nodes(r, 0.0, h)
    a = np.zeros((r + 1, r + 1))
    a[:r, :r] = np.eye(r) - w[None, :] * norm.pdf(z[None, :] + k - z[:, None] - mu)
    a[:r, r] = -norm.cdf(k - z - mu)
    a[r, :r] = -w * norm.pdf(z + k - mu)
    a[r, r] = 1.0 - norm.cdf(k - mu)
    g = np.linalg.solve(a, np.ones(r + 1))
    return float(1.0 + norm.cdf(k - hs - mu) * g[r] + np.sum(w * norm.pdf(z + k - hs - mu) * g[:r]))


def _check_positive(**values) -> None:
    for name, v in values.items():
        if not (np.isfinite(v) and v > 0):
            raise InputError(f"{name}: expected a positive number, got {v}")


def arl_cusum(k: float = 0.5, h: float = 4.0, shift: float = 0.0, *, sided: str = "two", hs: float = 0.0,
              r: int = 30) -> float:
    """Exact zero-state ARL of the tabular CUSUM (signal when C > h), as ``spc::xcusum.arl(k, h, mu, sided=)``.

    Parameters
    ----------
    k, h : reference value and decision interval (in SDs).
    shift : mean shift mu in SDs (0: in control).
    sided : ``"two"`` (C+ and C-, Lucas & Crosier 1982) or ``"one"`` (upper C+ only).
    hs : head start (C_0 = hs; spc's ``hs``).
    r : Gauss-Legendre nodes (spc's default 30).

    Examples
    --------
    >>> round(arl_cusum(0.5, 4.0), 2), round(arl_cusum(0.5, 4.0, 1.0), 2)
    (167.68, 8.38)
    """
    _check_positive(h=h)
    if k < 0:
        raise InputError(f"k: expected k >= 0, got {k}")
    if sided not in ("one", "two"):
        raise InputError(f"sided: expected 'one' or 'two', got {sided!r}")
    if r < 4:
        raise InputError(f"r: expected at least 4 nodes, got {r}")
    if sided == "one":
        if not 0 <= hs <= h:
            raise InputError(f"hs: head start must be in [0, h={h}], got {hs}")
        return _arl_cusum_one(k, h, hs, shift, r)
    if not 0 <= hs <= h / 2 + k:
        raise InputError(f"hs: a two-sided head start must be in [0, h/2 + k = {h / 2 + k}], got {hs}")
    a1 = _arl_cusum_one(k, h, 0.0, shift, r)
    a2 = _arl_cusum_one(k, h, hs, shift, r)
    a3 = _arl_cusum_one(k, h, 0.0, -shift, r)
    a4 = _arl_cusum_one(k, h, hs, -shift, r)
    return float((a2 * a3 + a1 * a4 - a1 * a3) / (a1 + a3))


def arl_ewma(lam: float = 0.2, L: float = 2.86, shift: float = 0.0, *, hs: float = 0.0, r: int = 40) -> float:
    """Exact zero-state ARL of the two-sided EWMA with fixed (asymptotic) limits, as ``spc::xewma.arl(l, c, mu,
    sided="two")``.

    The chart signals when |E_t| > L sqrt(lam / (2 - lam)); ``hs`` is the head start E_0 in the same units as L.

    Examples
    --------
    >>> round(arl_ewma(0.2, 2.860), 2), round(arl_ewma(0.1, 2.700), 2)
    (371.1, 368.99)
    """
    from scipy.stats import norm

    if not 0 < lam <= 1:
        raise InputError(f"lam: expected 0 < lambda <= 1, got {lam}")
    _check_positive(L=L)
    if r < 4:
        raise InputError(f"r: expected at least 4 nodes, got {r}")
    if abs(hs) > L:
        raise InputError(f"hs: head start must be within the limits (|hs| <= L = {L}), got {hs}")
    s = np.sqrt(lam / (2.0 - lam))
    c, h0 = L * s, hs * s
    z, w = _nodes(r, -c, c)
    a = np.eye(r) - w[None, :] / lam * norm.pdf((z[None, :] - (1 - lam) * z[:, None]) / lam - shift)
    g = np.linalg.solve(a, np.ones(r))
    return float(1.0 + np.sum(w / lam * norm.pdf((z - (1 - lam) * h0) / lam - shift) * g))


def arl_shewhart(L: float = 3.0, shift: float = 0.0) -> float:
    """Exact ARL of the Shewhart individuals chart (signal when |z| > L): 1 / P(|N(shift, 1)| > L).

    Examples
    --------
    >>> round(arl_shewhart(3.0), 2)
    370.4
    """
    from scipy.stats import norm

    _check_positive(L=L)
    return float(1.0 / (norm.sf(L - shift) + norm.cdf(-L - shift)))


def _solve_limit(arl, target: float, lo: float, what: str) -> float:
    from scipy.optimize import brentq

    if not (np.isfinite(target) and target > 1):
        raise InputError(f"target ARL: expected a number above 1, got {target}")
    # bracket by small steps up from lo (the ARL rises with the limit; far beyond the root the linear system is
    # ill-conditioned, so never jump there)
    hi = lo
    while True:
        value = arl(hi)
        if not np.isfinite(value) or value < 1 or hi > 50:
            raise InputError(f"no {what} gives an in-control ARL of {target} (the exact ARL is not accurate there)")
        if value >= target:
            break
        lo, hi = hi, hi * 1.2
    if hi == lo:
        return float(hi)
    return float(brentq(lambda x: arl(x) - target, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=200))


def cusum_limit(target: float, k: float = 0.5, *, sided: str = "two", r: int = 30) -> float:
    """The decision interval h whose in-control ARL is ``target`` (``spc::xcusum.crit(k, L0, sided=)``).

    Examples
    --------
    >>> h = cusum_limit(370.0, k=0.5)
    >>> round(arl_cusum(0.5, h), 6)
    370.0
    """
    return _solve_limit(lambda h: arl_cusum(k, h, sided=sided, r=r), target, 0.05, "h")


def ewma_limit(target: float, lam: float = 0.2, *, r: int = 40) -> float:
    """The limit width L whose in-control ARL is ``target`` (``spc::xewma.crit(l, L0, sided="two")``).

    Examples
    --------
    >>> round(ewma_limit(370.0, lam=0.1), 4)
    2.701
    """
    return _solve_limit(lambda L: arl_ewma(lam, L, r=r), target, 0.05, "L")
