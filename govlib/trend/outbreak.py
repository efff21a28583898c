"""Count-surge (outbreak) detection for many count series at once: Farrington (1996), Noufaily (2013), EARS C1-C3.

Every function takes a 2-D array of counts (one row per series, one column per period, NaN = not reported) and
returns 2-D arrays of the same shape (NaN / False outside the evaluated ``range``). Loops run over the evaluated
periods only; each period's quasi-Poisson GLMs are fitted for all series at once (batched IRLS: the design matrix
is shared, only the responses differ), so thousands of series cost little more than one.

Methods and their conventions (each a parameter; the defaults are those of R ``surveillance`` 1.20.3, whose
results ``tests/test_outbreak.py`` reproduces):

:func:`farrington` — classic Farrington et al. (1996), R ``algo.farrington`` with ``fitGLM.fast``:

- reference values: the ``2w + 1`` periods around the same period in each of the ``b`` previous years, found by
  **lags** of ``freq`` periods (``reference="lags"``, R's undated series; 52-week lags for weekly data, 12 months
  for monthly data, where lags and calendar dates coincide) or by **calendar date** (``reference="dates"`` with
  ``dates=``, R's sts with ``epochAsDate``; see below).
- quasi-Poisson GLM with a linear time trend, kept only when b >= 3, its Wald p < 0.05 and the prediction does
  not exceed the largest reference count; down-weighting of past outbreaks: Anscombe residuals s > 1 get weight
  ``gamma s^-2`` (``weights_threshold=1``) and the model is refitted.
- upper bound on the 2/3-power scale with the **two-sided** normal quantile: ``(mu^(2/3) + z(1 - alpha/2)
  sqrt(4/9 mu^(1/3) (phi + se^2/mu)))^(3/2)`` (``alpha_sided="two"``), dispersion phi = max(Pearson, 1).
- **low-count rule** ``limit54=(5, 4)``: fewer than 5 cases in the 4 periods ending with the current one: upper
  bound 0 and no alarm (``low_count_bound=0.0``, R's convention for this method).

:func:`farrington_flexible` — R ``farringtonFlexible``; with ``noPeriods=10``, ``past_excluded=26``,
``weights_threshold=2.58`` and ``threshold_method="nbPlugin"`` it is the improved method of Noufaily et al. (2013):

- reference periods: the b windows of ``2w + 1`` periods around the lags ``freq, 2 freq, ..., b freq`` (or the
  reference weeks by calendar date) and, when ``n_periods > 1``, the periods between them split into
  ``n_periods - 1`` seasonal blocks (a factor in the GLM); the last ``past_excluded`` periods before the current
  one are left out (default: w).
- **one-sided** alpha (``alpha_sided="one"``): delta method ``z(1 - alpha)`` on the 2/3-power scale, or a
  negative-binomial quantile (``nbPlugin``: mean ``exp(eta)``; ``muan``: mean ``exp(eta + z(1-alpha) se)``) with
  size ``mu/(phi - 1)`` (Poisson when phi = 1).
- as R 1.20.3 (which stores the down-weights as the model's weights), the trend test and the standard error of the
  prediction use sum(omega ((y - mu)/mu)^2) / df as dispersion, not the floored phi of the bound.
- low-count rule ``limit54=(5, 4)``: upper bound NaN and no alarm (``low_count_bound=nan``); an alarm also needs
  a count above 0.

:func:`ears` — EARS C1, C2, C3 (R ``earsC``): baseline of 7 periods (C1: the 7 before; C2, C3: the 7 before a
gap of 2); **one-sided** alpha (0.001 for C1/C2, 0.025 for C3); bound = mean + z(1-alpha) sd (sd with n - 1).

Reference weeks by calendar date (``reference="dates"``, weekly series, ``freq=52``; ``dates`` the periods' start
dates, one every 7 days), as R ``algo.farrington.referencetimepoints`` (``farringtonFlexible``) and
``refvalIdxByDate`` (``algo.farrington``): the reference week j years back is the week whose start date has the
current week's weekday and lies nearest the same calendar date j years earlier (R ``seq(by = "-1 year")``: 29
February goes to 1 March), and its window is the ``2w + 1`` weeks around it. A year is 52 weeks and a day or two,
so the lag is 52 weeks one year back and 156 or 157, 208 or 209, 260 or 261 weeks three to five years back
(the ISO years with 53 weeks): the windows follow the season, where fixed 52-week lags drift by a week every five
to six years. ``farrington`` drops reference weeks before the series (as R, which warns); ``farrington_flexible``
needs every window inside the series (R stops; the default ``range_`` starts at the first such week). The trend
term is the week number either way (R's dated ``farringtonFlexible`` counts weeks from the first reference week:
the same fit, another intercept). Missing weeks are NaN counts, not gaps in ``dates``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from ..errors import InputError

__all__ = ["farrington", "farrington_flexible", "ears", "glm_quasipoisson", "calendar_reference_weeks"]


def _counts(counts) -> np.ndarray:
    arr = np.array(counts, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"counts: expected a 1-D or 2-D array (series x periods), got shape {arr.shape}")
    finite = arr[~np.isnan(arr)]
    if (finite < 0).any() or (finite != np.round(finite)).any():
        bad = finite[(finite < 0) | (finite != np.round(finite))][0]
        raise InputError(f"counts: expected non-negative whole numbers, got {bad!r}")
    return arr


def glm_quasipoisson(X: np.ndarray, y: np.ndarray, prior: np.ndarray, *, maxit: int = 25,
                     epsilon: float = 1e-8) -> dict:
    """Quasi-Poisson log-link GLMs for many series sharing one design matrix (batched IRLS, as R ``glm.fit``).

    Parameters
    ----------
    X : (n, p) design matrix shared by all series.
    y : (S, n) responses; ``prior`` : (S, n) prior weights (0 drops an observation).
    maxit, epsilon : R's ``glm.control`` (converged when |dev - dev_old| / (|dev| + 0.1) < epsilon).

    Returns
    -------
    dict with ``beta`` (S, p), ``mu`` (S, n), ``cov_unscaled`` (S, p, p) = (X'WX)^-1, ``hat`` (S, n) leverages,
    ``dispersion`` (S,) Pearson chi^2 / residual df (not floored), ``df`` (S,) residual df.

    Examples
    --------
    >>> X = np.ones((4, 1)); y = np.array([[1.0, 2, 3, 6]])
    >>> fit = glm_quasipoisson(X, y, np.ones_like(y))
    >>> round(float(np.exp(fit["beta"][0, 0])), 6), round(float(fit["dispersion"][0]), 6)
    (3.0, 1.555556)
    """
    S, n = y.shape
    p = X.shape[1]
    eye = np.eye(p) * 1e-10
    # X'WX for all series as one matrix product: row n of XX is the outer product x_n x_n' (a 3-operand einsum
    # loops in C without BLAS and was 45% of the detector's time)
    XX = (X[:, :, None] * X[:, None, :]).reshape(n, p * p)

    def deviance(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * np.sum(prior * (np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)), axis=1)

    # R glm.fit step by step: start at mu = y + 0.1; each iteration's working weights come from the mu before the
    # update, and R keeps those weights (and their QR) for the fit's covariance, leverages and dispersion — to
    # reproduce R to 6+ digits we do the same, and freeze each series at its own convergence
    eta = np.log(y + 0.1)
    mu = np.exp(eta)
    dev_old = deviance(mu)
    beta = np.zeros((S, p))
    w_used = prior * mu
    active = np.ones(S, dtype=bool)
    for _ in range(maxit):
        w = prior[active] * mu[active]
        z = eta[active] + (y[active] - mu[active]) / mu[active]
        xtwx = (w @ XX).reshape(-1, p, p) + eye
        b_new = np.linalg.solve(xtwx, ((w * z) @ X)[..., None])[..., 0]
        idx = np.nonzero(active)[0]
        beta[idx], w_used[idx] = b_new, w
        eta[idx] = b_new @ X.T
        mu[idx] = np.exp(eta[idx])
        dev = deviance(mu)
        done = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < epsilon
        dev_old = dev
        active &= ~done
        if not active.any():
            break
    cov = np.linalg.inv((w_used @ XX).reshape(S, p, p) + eye)
    hat = w_used * (cov.reshape(S, p * p) @ XX.T)
    df = (prior > 0).sum(axis=1) - p
    with np.errstate(divide="ignore", invalid="ignore"):
        dispersion = np.sum(w_used * ((y - mu) / mu) ** 2, axis=1) / df
    return {"beta": beta, "mu": mu, "cov_unscaled": cov, "hat": hat, "dispersion": dispersion, "df": df}


def _down_weights(s: np.ndarray, prior: np.ndarray, threshold: float) -> np.ndarray:
    """R ``algo.farrington.assign.weights``: weight gamma s^-2 above the threshold, gamma below; mean weight 1."""
    use = prior > 0
    big = (s > threshold) & use
    with np.errstate(divide="ignore"):
        inv = np.where(big, s ** -2.0, 1.0)
    gamma = use.sum(axis=1) / np.where(use, inv, 0.0).sum(axis=1)
    return np.where(use, gamma[:, None] * inv, 0.0)


def _fit(X, y, prior, reweight: bool, threshold: float) -> dict:
    """Fit, then (optionally) down-weight large Anscombe residuals and refit (R fitGLM.fast / fitGLM.flexible)."""
    fit = glm_quasipoisson(X, y, prior)
    if reweight:
        phi = np.maximum(fit["dispersion"], 1.0)
        mu = fit["mu"]
        with np.errstate(divide="ignore", invalid="ignore"):
            s = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu ** 0.5) / np.sqrt(phi[:, None] * (1 - fit["hat"]))
        omega = _down_weights(np.nan_to_num(s), prior, threshold)
        fit = glm_quasipoisson(X, y, omega)
        # R farringtonFlexible stores the down-weights as the model's `weights`, so its summary() (trend test) and
        # predict() (standard error) use sum(omega ((y - mu)/mu)^2) / df as the dispersion; reproduced here
        with np.errstate(divide="ignore", invalid="ignore"):
            fit["dispersion_flexible"] = np.sum(omega * ((y - fit["mu"]) / fit["mu"]) ** 2, axis=1) / fit["df"]
    else:
        fit["dispersion_flexible"] = fit["dispersion"]
    fit["phi"] = np.maximum(fit["dispersion"], 1.0)
    return fit


def _predict(fit, x0):
    """Linear predictor and its unscaled variance at x0 (p,) for every series."""
    eta = fit["beta"] @ x0
    var = np.einsum("p,spq,q->s", x0, fit["cov_unscaled"], x0)
    return eta, var


def _trend_choice(X, y, prior, x0, b, p_trend, reweight, threshold, disp="dispersion"):
    """Fit with and without the time trend (column 1 of X); keep the trend where R would (per series)."""
    with_t = _fit(X, y, prior, reweight, threshold)
    without = _fit(np.delete(X, 1, axis=1), y, prior, reweight, threshold)
    eta_t, _ = _predict(with_t, x0)
    se_b = np.sqrt(with_t["cov_unscaled"][:, 1, 1] * with_t[disp])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(with_t["beta"][:, 1] / se_b), np.maximum(with_t["df"], 1))
    ymax = np.nanmax(np.where(prior > 0, y, -np.inf), axis=1)
    keep = (b >= 3) & (p < p_trend) & (np.exp(eta_t) <= ymax)
    return with_t, without, keep


def _select(keep, a, b_):
    k = keep.reshape((-1,) + (1,) * (np.ndim(a) - 1))
    return np.where(k, a, b_)


def _range(range_, T, first, name):
    """0-based period positions to evaluate (``range_`` is 0-based; default: every period with enough history)."""
    rng = np.arange(first, T) if range_ is None else np.asarray(range_, dtype=int)
    if len(rng) == 0:
        raise InputError(f"{name}: nothing to evaluate (series of {T} periods, first possible position {first})")
    if rng.min() < first or rng.max() >= T:
        raise InputError(f"{name}: range must lie within positions {first}..{T - 1} (0-based) for b, w and freq; "
                         f"got {rng.min()}..{rng.max()}")
    return rng


def calendar_reference_weeks(dates, b: int, freq: int = 52) -> np.ndarray:
    """Positions of the reference week 1..b years before each week, by calendar date (R's dated weekly sts).

    Parameters
    ----------
    dates : the T weeks' start dates, 7 days apart (anything ``numpy.datetime64`` reads).
    b, freq : years back, periods per year (52 only).

    Returns
    -------
    (len(dates), b) int array: 0-based position of the week with the same weekday nearest the same calendar date j years
    back (column j - 1); -1 before the series.

    Examples
    --------
    >>> d = np.datetime64("1990-01-01") + 7 * np.arange(320)
    >>> (np.arange(320)[300] - calendar_reference_weeks(d, 5)[300]).tolist()  # weeks back, 1..5 years
    [52, 104, 156, 209, 261]
    """
    if freq != 52:
        raise InputError(f"reference='dates' is R's convention for weekly series (freq=52), got freq={freq}; "
                         f"monthly series: use reference='lags' (12-month lags are the calendar months)")
    try:
        d = np.asarray(dates, dtype="datetime64[D]")
    except (TypeError, ValueError) as exc:
        raise InputError(f"dates: expected the periods' start dates (YYYY-MM-DD), got {exc}") from None
    if d.ndim != 1 or len(d) < 2:
        raise InputError(f"dates: expected a 1-D array of start dates, got shape {d.shape}")
    if np.isnat(d).any():
        raise InputError(f"dates: missing date at position {int(np.nonzero(np.isnat(d))[0][0])} (0-based)")
    steps = np.diff(d).astype(int)
    if (steps != 7).any():
        i = int(np.nonzero(steps != 7)[0][0])
        raise InputError(f"dates: weekly periods must start 7 days apart (a missing week is a NaN count); "
                         f"positions {i} and {i + 1} (0-based): {d[i]} then {d[i + 1]}")
    months = d.astype("datetime64[M]")
    day = (d - months.astype("datetime64[D]")).astype(int)  # day of month - 1
    years = np.arange(1, b + 1)
    # same month and day j years back; day overflow rolls into the next month (R's POSIXlt: 29 Feb -> 1 Mar)
    back = (months[:, None] - 12 * years[None, :]).astype("datetime64[D]") + day[:, None]
    off = (back - d[:, None]).astype(int) % 7  # days after the nearest date with the current weekday
    nearest = back - np.where(off <= 3, off, off - 7)
    pos = (nearest - d[0]).astype(int) // 7
    return np.where(pos >= 0, pos, -1)


def _reference_years(reference, dates, T, b, freq):
    """Positions (T, b) of the reference period 1..b years back (lags or calendar dates), or None for lags."""
    if reference not in ("lags", "dates"):
        raise InputError(f"reference: expected 'lags' or 'dates', got {reference!r}")
    if reference == "lags":
        if dates is not None:
            raise InputError("dates: only used with reference='dates' (reference='lags' counts periods back)")
        return None
    if dates is None:
        raise InputError("reference='dates' needs dates= (the start date of every period)")
    refs = calendar_reference_weeks(dates, b, freq)
    if len(refs) != T:
        raise InputError(f"dates: expected one start date per period ({T}), got {len(refs)}")
    return refs


def _low_count(y, k, limit54):
    cases, periods = limit54
    return np.nansum(y[:, k - periods + 1:k + 1], axis=1) >= cases


def _empty(shape):
    return {"upperbound": np.full(shape, np.nan), "expected": np.full(shape, np.nan),
            "alarm": np.zeros(shape, dtype=bool), "score": np.full(shape, np.nan),
            "pvalue": np.full(shape, np.nan), "trend": np.zeros(shape, dtype=bool), "phi": np.full(shape, np.nan)}


def _power_bound(mu0, se_fit, phi, alpha, sided, powertrans, y):
    """Delta-method bound on the power scale: returns (upper, upper-tail probability of y)."""
    tau = phi + se_fit ** 2 / mu0
    exponent = {"2/3": 2 / 3, "1/2": 0.5, "none": 1.0}[powertrans]
    se = {"2/3": np.sqrt(4 / 9 * mu0 ** (1 / 3) * tau), "1/2": np.sqrt(tau / 4),
          "none": np.sqrt(mu0 * tau)}[powertrans]
    z = stats.norm.ppf(1 - alpha / 2) if sided == "two" else stats.norm.ppf(1 - alpha)
    upper = np.maximum(mu0 ** exponent + z * se, 0) ** (1 / exponent)
    prob = stats.norm.sf(y ** exponent, loc=mu0 ** exponent, scale=se)
    return upper, prob


def _check(alpha, sided, powertrans, limit54, b, w, freq):
    if not 0 < alpha < 1:
        raise InputError(f"alpha: expected a probability between 0 and 1, got {alpha!r}")
    if sided not in ("one", "two"):
        raise InputError(f"alpha_sided: expected 'one' or 'two', got {sided!r}")
    if powertrans not in ("2/3", "1/2", "none"):
        raise InputError(f"powertrans: expected '2/3', '1/2' or 'none', got {powertrans!r}")
    if not (limit54[0] >= 0 and limit54[1] > 0):
        raise InputError(f"limit54: expected (cases >= 0, periods > 0), got {limit54!r}")
    if b < 1 or w < 0 or freq <= 2 * w:
        raise InputError(f"b, w, freq: expected b >= 1, w >= 0 and freq > 2w, got b={b}, w={w}, freq={freq}")


# One BLAS thread for the detectors: each period is a few small batched products and solves, where a second
# OpenBLAS thread only adds synchronisation (measured: 1.5-2.3x slower with 2 threads on the 2-core machine).
_one_blas_thread = threadpool_limits.wrap(limits=1, user_api="blas")


@_one_blas_thread
def farrington(counts, *, freq: int = 52, b: int = 5, w: int = 3, range_=None, reweight: bool = True,
               weights_threshold: float = 1.0, trend: bool = True, alpha: float = 0.05, alpha_sided: str = "two",
               limit54=(5, 4), low_count_bound: float = 0.0, powertrans: str = "2/3",
               reference: str = "lags", dates=None) -> dict:
    """Classic Farrington et al. (1996) detector (R ``algo.farrington``) for many series at once.

    Parameters
    ----------
    counts : (S, T) or (T,) counts.
    freq, b, w : periods per year, years back, half-window.
    range_ : 0-based positions to evaluate (default: from ``freq * b - w``, R's 1-based ``freq b - w``, onward;
        reference periods before the start are dropped, as R).
    alpha, alpha_sided : significance and its sidedness ("two": z(1 - alpha/2), R's convention for this method).
    limit54, low_count_bound : low-count rule (cases, periods) and the bound reported when it applies (R: 0).
    reference, dates : "lags" (reference periods ``freq``, ..., ``b freq`` periods back) or "dates" (weekly series:
        the week nearest the same calendar date, R's ``refvalIdxByDate``; ``dates`` the periods' start dates; see
        the module docstring).

    Returns
    -------
    dict of (S, T) arrays: ``upperbound``, ``expected`` (mu0), ``alarm``, ``score`` ((y - mu0)/(U - mu0)),
    ``pvalue`` (upper tail of y on the power scale), ``trend`` (trend kept), ``phi``.

    Examples
    --------
    >>> y = np.tile([2, 3, 4, 3, 2, 3, 4, 3, 2, 3, 4, 3], 4).astype(float); y[-1] = 15
    >>> r = farrington(y, freq=12, b=3, w=1, alpha=0.01)
    >>> bool(r["alarm"][0, -1]), bool(r["alarm"][0, -2])
    (True, False)
    """
    _check(alpha, alpha_sided, powertrans, limit54, b, w, freq)
    y = _counts(counts)
    S, T = y.shape
    refs = _reference_years(reference, dates, T, b, freq)
    out = _empty(y.shape)
    first = max(freq * b - w - 1, limit54[1] - 1, 0)
    for k in _range(range_, T, first, "farrington"):
        if refs is None:
            lags = np.concatenate([np.arange(k - freq * i - w, k - freq * i + w + 1) for i in range(b, 0, -1)])
        else:  # R's refvalIdxByDate order: one year back first; weeks before the series are dropped
            lags = np.concatenate([np.arange(r - w, r + w + 1) for r in refs[k] if r >= 0] or [np.arange(0)])
        lags = lags[lags >= 0]
        if len(lags) == 0:
            raise InputError(f"farrington: no reference period for position {k} (0-based); postpone range_")
        yy = y[:, lags]
        prior = (~np.isnan(yy)).astype(float)
        yy = np.nan_to_num(yy)
        t = lags + 1.0  # R's wtime: 1-based period numbers
        X = np.column_stack([np.ones(len(lags)), t])
        x0 = np.array([1.0, k + 1.0])
        if trend:
            with_t, without, keep = _trend_choice(X, yy, prior, x0, b, 0.05, reweight, weights_threshold)
            eta_t, var_t = _predict(with_t, x0)
            eta_n, var_n = _predict(without, x0[:1])
            eta, var = np.where(keep, eta_t, eta_n), np.where(keep, var_t, var_n)
            phi = np.where(keep, with_t["phi"], without["phi"])
        else:
            keep = np.zeros(S, dtype=bool)
            fit = _fit(X[:, :1], yy, prior, reweight, weights_threshold)
            eta, var = _predict(fit, x0[:1])
            phi = fit["phi"]
        mu0 = np.exp(eta)
        se_fit = np.sqrt(var * phi) * mu0  # R: predict(..., dispersion = phi) on the response scale
        upper, prob = _power_bound(mu0, se_fit, phi, alpha, alpha_sided, powertrans, y[:, k])
        enough = _low_count(y, k, limit54)
        out["upperbound"][:, k] = np.where(enough, upper, low_count_bound)
        out["expected"][:, k] = mu0
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(enough, (y[:, k] - mu0) / (upper - mu0), 0.0)
        out["score"][:, k] = score
        out["alarm"][:, k] = score > 1
        out["pvalue"][:, k] = prob
        out["trend"][:, k] = keep
        out["phi"][:, k] = phi
    return out


def _blocks(k, refs, w, n_periods):
    """Seasonal block of every position before k (R ``blocks``): level n_periods in the windows around k and its
    reference positions ``refs`` (1..b years back), levels 1..n-1 in the periods between two windows."""
    f = np.full(k + 1, -1)
    f[k - w:k + 1] = n_periods
    later = k
    for ref in refs:
        f[ref - w:ref + w + 1] = n_periods
        if n_periods > 1:
            gap = later - ref - 2 * w - 1
            lengths = np.full(n_periods - 1, gap // (n_periods - 1))
            lengths[:gap % (n_periods - 1)] += 1
            starts = ref + w + 1 + np.concatenate([[0], np.cumsum(lengths)])
            for j in range(n_periods - 1):
                f[starts[j]:starts[j + 1]] = j + 1
        later = ref
    return f


@_one_blas_thread
def farrington_flexible(counts, *, freq: int = 52, b: int = 5, w: int = 3, range_=None, reweight: bool = True,
                        weights_threshold: float = 2.58, trend: bool = True, p_trend: float = 0.05,
                        alpha: float = 0.05, alpha_sided: str = "one", limit54=(5, 4),
                        low_count_bound: float = np.nan, powertrans: str = "2/3", n_periods: int = 1,
                        past_excluded: int | None = None, threshold_method: str = "delta",
                        reference: str = "lags", dates=None) -> dict:
    """Improved Farrington detector (Noufaily et al. 2013; R ``farringtonFlexible``) for many series at once.

    Parameters
    ----------
    counts : (S, T) or (T,) counts (NaN: not reported; dropped from the fit).
    freq, b, w : periods per year, years back, half-window; ``n_periods`` seasonal factor levels (1: none);
        ``past_excluded`` the most recent periods left out of the fit (default w; Noufaily: 26 weeks).
    threshold_method : "delta" (2/3-power normal), "nbPlugin" or "muan" (negative-binomial quantiles).
    alpha, alpha_sided : significance and sidedness ("one": z(1 - alpha), R's convention for this method).
    limit54, low_count_bound : low-count rule and the bound when it applies (R: NaN, no alarm).
    range_ : 0-based positions to evaluate (default: from ``freq b + w``, R's 1-based ``freq b + w + 1``; with
        ``reference="dates"`` from the first week whose reference windows all lie inside the series).
    reference, dates : "lags" or "dates" (weekly series with the periods' start dates ``dates``: reference weeks
        by calendar date, R's ``epochAsDate``; see the module docstring).

    Returns
    -------
    dict of (S, T) arrays as :func:`farrington`; ``expected`` is the fitted mean exp(eta) and ``pvalue`` the
    upper-tail probability of the count under the method's distribution; ``score`` is (y - mu0)/(U - mu0).

    Examples
    --------
    >>> y = np.tile([2, 3, 4, 3, 2, 3, 4, 3, 2, 3, 4, 3], 4).astype(float); y[-1] = 15
    >>> r = farrington_flexible(y, freq=12, b=3, w=1, n_periods=3, threshold_method="nbPlugin")
    >>> bool(r["alarm"][0, -1]), int(r["alarm"][0].sum())
    (True, 1)
    """
    if threshold_method not in ("delta", "nbPlugin", "muan"):
        raise InputError(f"threshold_method: expected 'delta', 'nbPlugin' or 'muan', got {threshold_method!r}")
    _check(alpha, alpha_sided, powertrans, limit54, b, w, freq)
    gap = freq - 2 * w - 1
    if n_periods < 1 or (n_periods > 1 and n_periods - 1 > gap):
        raise InputError(f"n_periods: expected 1..{gap + 1} for freq={freq}, w={w}; got {n_periods}")
    past = w if past_excluded is None else int(past_excluded)
    y = _counts(counts)
    S, T = y.shape
    refs = _reference_years(reference, dates, T, b, freq)
    if refs is None:
        refs = np.arange(T)[:, None] - freq * np.arange(1, b + 1)[None, :]
        first = max(freq * b + w, limit54[1] - 1)
    else:  # every reference window inside the series (R stops otherwise)
        inside = np.nonzero(refs[:, -1] - w >= 0)[0]
        first = max(int(inside[0]) if len(inside) else T, limit54[1] - 1)
    out = _empty(y.shape)
    z = stats.norm.ppf(1 - alpha / 2) if alpha_sided == "two" else stats.norm.ppf(1 - alpha)
    for k in _range(range_, T, first, "farrington_flexible"):
        f = _blocks(k, refs[k], w, n_periods)
        f[max(k - past, 0):] = -1
        idx = np.nonzero(f >= 0)[0]
        levels = np.unique(f[idx])
        # cell-means coding of the seasonal factor (same fit and predictions as R's treatment contrasts)
        dummies = (f[idx][:, None] == levels[None, :]).astype(float)
        X = np.column_stack([dummies[:, :1] * 0 + 1, idx + 1.0, dummies[:, 1:]]) if len(levels) > 1 else \
            np.column_stack([np.ones(len(idx)), idx + 1.0])
        x0 = np.concatenate([[1.0, k + 1.0], (levels[1:] == n_periods).astype(float)])
        yy = y[:, idx]
        prior = (~np.isnan(yy)).astype(float)
        yy = np.nan_to_num(yy)
        if trend:
            with_t, without, keep = _trend_choice(X, yy, prior, x0, b, p_trend, reweight, weights_threshold,
                                                  "dispersion_flexible")
            eta_t, var_t = _predict(with_t, x0)
            eta_n, var_n = _predict(without, np.delete(x0, 1))
            eta = np.where(keep, eta_t, eta_n)
            var = np.where(keep, var_t * with_t["dispersion_flexible"], var_n * without["dispersion_flexible"])
            phi = np.where(keep, with_t["phi"], without["phi"])
        else:
            keep = np.zeros(S, dtype=bool)
            fit = _fit(np.delete(X, 1, axis=1), yy, prior, reweight, weights_threshold)
            eta, v = _predict(fit, np.delete(x0, 1))
            var, phi = v * fit["dispersion_flexible"], fit["phi"]
        se_eta = np.sqrt(var)  # R 1.20.3: predict() gets no dispersion argument (see _fit for which one it uses)
        obs = y[:, k]
        if threshold_method == "delta":
            mu0 = np.exp(eta)
            upper, prob = _power_bound(mu0, se_eta * mu0, phi, alpha, alpha_sided, powertrans, obs)
        else:
            mu0 = np.exp(eta)
            mq = mu0 if threshold_method == "nbPlugin" else np.exp(eta + z * se_eta)
            q = 1 - alpha / 2 if alpha_sided == "two" else 1 - alpha
            with np.errstate(divide="ignore", invalid="ignore"):
                size = mq / (phi - 1)
                nb = phi > 1
                upper = np.where(nb, stats.nbinom.ppf(q, np.where(nb, size, 1), 1 / phi), stats.poisson.ppf(q, mq))
                prob = np.where(nb, stats.nbinom.sf(obs - 1, np.where(nb, size, 1), 1 / phi),
                                stats.poisson.sf(obs - 1, mq))
        enough = _low_count(y, k, limit54)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = (obs - mu0) / (upper - mu0)
        out["upperbound"][:, k] = np.where(enough, upper, low_count_bound)
        out["expected"][:, k] = np.where(enough, mu0, np.nan)
        out["score"][:, k] = np.where(enough, score, np.nan)
        out["alarm"][:, k] = enough & (obs > upper) & (obs > 0)
        out["pvalue"][:, k] = prob
        out["trend"][:, k] = keep
        out["phi"][:, k] = phi
    return out


def ears(counts, *, method: str = "C1", baseline: int = 7, alpha: float | None = None, min_sigma: float = 0.0,
         range_=None) -> dict:
    """EARS C1, C2 or C3 (R ``earsC``) for many series at once; one-sided alpha.

    Returns
    -------
    dict of (S, T) arrays ``upperbound``, ``alarm`` (count > bound), ``expected`` (baseline mean) and ``score``
    (the C statistic (y - mean) / sd).

    Examples
    --------
    >>> r = ears([3, 4, 3, 5, 4, 3, 4, 12], method="C1")
    >>> round(float(r["upperbound"][0, -1]), 4), bool(r["alarm"][0, -1])
    (6.0503, True)
    """
    if method not in ("C1", "C2", "C3"):
        raise InputError(f"method: expected 'C1', 'C2' or 'C3', got {method!r}")
    if baseline < 3 or min_sigma < 0:
        raise InputError(f"baseline >= 3 and min_sigma >= 0 expected, got {baseline}, {min_sigma}")
    alpha = (0.025 if method == "C3" else 0.001) if alpha is None else alpha
    y = _counts(counts)
    S, T = y.shape
    gap = 0 if method == "C1" else 2
    z = stats.norm.ppf(1 - alpha)
    # rolling baseline (mean, sd) for every position: the baseline periods end gap + 1 before it
    win = np.lib.stride_tricks.sliding_window_view(y, baseline, axis=1)  # win[:, j] = y[:, j:j+baseline]
    mean_all = np.full((S, T), np.nan)
    sd_all = np.full((S, T), np.nan)
    pos = np.arange(baseline + gap, T)
    mean_all[:, pos] = win[:, pos - baseline - gap].mean(axis=2)
    sd_all[:, pos] = np.maximum(win[:, pos - baseline - gap].std(axis=2, ddof=1), min_sigma)
    first = baseline + gap + (2 if method == "C3" else 0)
    rng = _range(range_, T, first, "ears")
    out = {"upperbound": np.full((S, T), np.nan), "alarm": np.zeros((S, T), dtype=bool),
           "expected": np.full((S, T), np.nan), "score": np.full((S, T), np.nan)}
    with np.errstate(invalid="ignore", divide="ignore"):
        c = (y - mean_all) / sd_all
        if method == "C3":
            lag = np.maximum(c[:, rng - 2] - 1, 0) + np.maximum(c[:, rng - 1] - 1, 0)
            upper = np.maximum(y[:, rng] + sd_all[:, rng] * (z - lag), 0)
        else:
            upper = mean_all[:, rng] + z * sd_all[:, rng]
    out["upperbound"][:, rng] = upper
    out["alarm"][:, rng] = y[:, rng] > upper
    out["expected"][:, rng] = mean_all[:, rng]
    out["score"][:, rng] = c[:, rng]
    return out
