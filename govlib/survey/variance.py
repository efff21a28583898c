"""Linearised variance of domain estimates: reduce (sufficient sums per stratum x PSU x domain), combine, finalise.

The reduction and the finaliser are described in :mod:`govlib.survey.estimate`; :func:`calibrated_linearisation`
handles designs calibrated by :mod:`govlib.survey.calibrate` (post-stratified or raked), whose variance needs the
residuals of the calibration model (R ``survey``'s ``postStratify``/``rake`` with ``svyby``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..errors import InputError, one_of
from .design import SurveyDesign

__all__ = ["STATS", "SUM_FIELDS", "reduce_domain_sums", "combine_domain_sums", "finalize_domain_sums",
           "domain_variance", "calibrated_linearisation"]


STATS = ("mean", "total", "prop", "ratio")


SUM_FIELDS = ("n", "sw", "swy", "swyy")


def reduce_domain_sums(weight: np.ndarray, stratum: np.ndarray, psu: np.ndarray, domain: np.ndarray,
                       values: np.ndarray, ssu: np.ndarray | None = None) -> pd.DataFrame:
    """The reduction: per (stratum, PSU[, SSU], domain) sums of each variable, one pass with ``np.bincount``.

    Parameters
    ----------
    weight : (n,) weights.
    stratum, psu, domain : (n,) integer codes (PSU codes unique across strata; SSU codes unique across PSUs).
    values : (n,) or (n, k) float array, or a list of k (n,) arrays; ``NaN`` marks a row outside that
        variable's domain (missing answer).
    ssu : (n,) SSU codes for a two-stage design whose second stage enters the variance, else ``None``.

    Returns
    -------
    DataFrame with key columns ``stratum``, ``psu`` (, ``ssu``), ``domain`` and, per variable k = 0, 1, ...,
    ``n_k`` (respondents), ``sw_k`` (sum of w), ``swy_k`` (sum of w*y), ``swyy_k`` (sum of w*y*y). Only
    groups with at least one row appear. Results of disjoint row chunks add up (:func:`combine_domain_sums`).

    Examples
    --------
    >>> s = reduce_domain_sums(np.array([1.0, 2.0, 1.0]), np.array([0, 0, 0]), np.array([0, 1, 1]),
    ...                        np.array([0, 0, 0]), np.array([1.0, 2.0, np.nan]))
    >>> s[["psu", "n_0", "sw_0", "swy_0"]].to_numpy().tolist()
    [[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 2.0, 4.0]]
    """
    weight = np.asarray(weight, dtype=float)
    if isinstance(values, np.ndarray):
        values = values[:, None] if values.ndim == 1 else values
        columns = [values[:, k] for k in range(values.shape[1])]
    else:  # a list of 1-D arrays: no (n x k) copy for wide data
        columns = [np.asarray(v, dtype=float) for v in values]
    unit = psu if ssu is None else ssu
    n_dom = int(domain.max()) + 1 if domain.size else 1
    key = unit.astype(np.int64) * n_dom + domain
    # hash-factorize (O(n)) and sort only the few distinct keys
    group, uniq = pd.factorize(key, sort=False)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group]
    uniq = uniq[order]
    g = len(uniq)
    first_unit = uniq // n_dom
    out_domain = uniq % n_dom
    # stratum and PSU of each group from its unit (PSU, or SSU nested in a PSU)
    unit_psu = np.zeros(int(unit.max()) + 1, dtype=np.int64)
    unit_psu[unit] = psu
    psu_str = np.zeros(int(psu.max()) + 1, dtype=np.int64)
    psu_str[psu] = stratum
    out_psu = unit_psu[first_unit]
    out = {"stratum": psu_str[out_psu], "psu": out_psu}
    if ssu is not None:
        out["ssu"] = first_unit
    out["domain"] = out_domain
    for k, y in enumerate(columns):
        valid = ~np.isnan(y)
        y0 = np.where(valid, y, 0.0)
        wv = weight * valid
        wy = wv * y0
        out[f"n_{k}"] = np.bincount(group, weights=valid, minlength=g)
        out[f"sw_{k}"] = np.bincount(group, weights=wv, minlength=g)
        out[f"swy_{k}"] = np.bincount(group, weights=wy, minlength=g)
        out[f"swyy_{k}"] = np.bincount(group, weights=wy * y0, minlength=g)
    return pd.DataFrame(out)


def combine_domain_sums(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Add up reductions of disjoint row chunks (the combine step of a parallel executor).

    Examples
    --------
    >>> a = reduce_domain_sums(np.ones(2), np.zeros(2, int), np.array([0, 1]), np.zeros(2, int), np.ones(2))
    >>> combine_domain_sums([a, a])["sw_0"].tolist()
    [2.0, 2.0]
    """
    frame = pd.concat(list(parts), ignore_index=True)
    keys = [c for c in ("stratum", "psu", "ssu", "domain") if c in frame.columns]
    return frame.groupby(keys, sort=True, as_index=False).sum()


def _n_variables(sums: pd.DataFrame) -> int:
    return sum(1 for c in sums.columns if c.startswith("swyy_"))


def domain_variance(z: np.ndarray, present: np.ndarray, stratum: np.ndarray, psu: np.ndarray, domain: np.ndarray,
              ssu: np.ndarray | None, design: SurveyDesign, n_domains: int,
              stage2: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Variance of linearised totals, R's ``multistage`` / ``onestrat``, for all domains and columns at once.

    ``z`` is (entries, k): the linearised total of one (PSU[, SSU], domain) entry per column; entries with no
    row are implicitly 0. ``present`` (entries, k) marks entries with respondents (for lonely_psu='average').
    With ``ssu=None`` and a two-stage design, ``stage2=(ss_centred, ss_raw)`` gives, per (PSU, domain) entry
    and column, the SSUs' sum of squared deviations from the PSU mean (all SSUs of the PSU counted) and their
    raw sum of squares. Returns (n_domains, k).
    """
    k = z.shape[1]
    # stage 1: PSU totals per domain
    if ssu is not None:
        key1 = psu.astype(np.int64) * n_domains + domain
        g1, u1 = pd.factorize(key1, sort=True)
        first = np.zeros(len(u1), dtype=np.int64)
        first[g1[::-1]] = np.arange(len(g1))[::-1]
        z1 = np.stack([np.bincount(g1, weights=z[:, j], minlength=len(u1)) for j in range(k)], axis=1)
        pres1 = np.stack([np.bincount(g1, weights=present[:, j], minlength=len(u1)) > 0 for j in range(k)], axis=1)
        psu1, dom1, str1 = psu[first], domain[first], stratum[first]
        if design.two_stage:
            # within each PSU: squared deviations of the SSU totals from the PSU mean, absent SSUs as 0
            m_e = design.n_ssu[psu1].astype(float)
            cnt = np.bincount(g1, minlength=len(u1)).astype(float)
            ss_c = np.empty_like(z1)
            ss_raw = np.empty_like(z1)
            for j in range(k):
                mean_i = z1[:, j] / m_e
                dev = np.bincount(g1, weights=(z[:, j] - mean_i[g1]) ** 2, minlength=len(u1))
                ss_c[:, j] = dev + (m_e - cnt) * mean_i ** 2
                ss_raw[:, j] = np.bincount(g1, weights=z[:, j] ** 2, minlength=len(u1))
            stage2 = (ss_c, ss_raw)
    else:
        z1, pres1, psu1, dom1, str1 = z, present, psu, domain, stratum
    # Only (stratum, domain) pairs that hold a PSU entry contribute (absent pairs have all z = 0), so work on
    # those pairs: strata x domains can be 10^7-10^8 cells (wave x 街镇 strata, community x wave domains).
    hd = str1.astype(np.int64) * n_domains + dom1
    g, pairs = pd.factorize(hd, sort=False)
    h_u = (pairs // n_domains).astype(np.int64)
    d_u = (pairs % n_domains).astype(np.int64)
    n_pairs = len(pairs)
    cnt = np.bincount(g, minlength=n_pairs).astype(float)
    nh_u = design.n_psu[h_u].astype(float)
    lonely_u = (design.n_psu == 1)[h_u]
    census = design.has_fpc & (1.0 - design.fraction1 < 1e-7)
    census_u = np.asarray(census)[h_u] if np.ndim(census) else np.full(n_pairs, bool(census))
    omf_u = (1.0 - design.fraction1[h_u]) if design.has_fpc else np.ones(n_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_u = np.where(lonely_u, omf_u, omf_u * nh_u / (nh_u - 1))
    out = np.zeros((n_domains, k))
    for j in range(k):
        zj = z1[:, j]
        s1 = np.bincount(g, weights=zj, minlength=n_pairs)
        mean_u = s1 / nh_u
        dev = np.bincount(g, weights=(zj - mean_u[g]) ** 2, minlength=n_pairs)
        ss_centred = dev + (nh_u - cnt) * mean_u ** 2  # absent PSUs of the stratum have z = 0
        v_u = np.where(lonely_u, 0.0, scale_u * ss_centred)
        if design.lonely_psu == "adjust":
            ss_raw = np.bincount(g, weights=zj ** 2, minlength=n_pairs)
            v_u = np.where(lonely_u, omf_u * ss_raw, v_u)
        v_u = np.where(census_u, 0.0, v_u)
        if design.lonely_psu == "average":
            pres_u = np.bincount(g, weights=pres1[:, j], minlength=n_pairs) > 0
            bad = lonely_u & ~census_u & pres_u
            nstrat = np.bincount(d_u, weights=pres_u, minlength=n_domains)
            nok = nstrat - np.bincount(d_u, weights=bad, minlength=n_domains)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, j] = np.bincount(d_u, weights=np.where(bad, 0.0, v_u), minlength=n_domains) * nstrat / nok
        else:
            out[:, j] = np.bincount(d_u, weights=v_u, minlength=n_domains)
    if design.two_stage and stage2 is not None:
        # stage 2 within each PSU: (1 - f2) m/(m-1) sum_j (z_ij - zbar_i)^2, times the stage-1 fraction n_h/N_h
        ss_c_all, ss_raw_all = stage2
        m_g = design.n_ssu[psu1].astype(float)
        f1_g = design.fraction1[str1]
        f2_g = design.fraction2[psu1]
        lonely2 = (m_g == 1) & (1 - f2_g >= 1e-7)
        for j in range(k):
            with np.errstate(divide="ignore", invalid="ignore"):
                v2 = np.where(m_g > 1, (1 - f2_g) * m_g / (m_g - 1) * ss_c_all[:, j], 0.0)
            if design.lonely_psu == "adjust":
                v2 = np.where(lonely2, (1 - f2_g) * ss_raw_all[:, j], v2)
            elif design.lonely_psu == "average":
                v2 = np.where(lonely2, np.nan, v2)
            v2 = np.where(1 - f2_g < 1e-7, 0.0, v2)
            out[:, j] += np.bincount(dom1, weights=v2 * f1_g, minlength=n_domains)
    return out


def _check_finaliser_options(stat: str, ci: str, level: float) -> None:
    one_of(stat, ("mean", "total", "ratio"), "stat")
    one_of(ci, ("t", "normal"), "ci")
    if not 0 < level < 1:
        raise InputError(f"level={level}: expected a confidence level between 0 and 1")


def finalize_domain_sums(sums: pd.DataFrame, design: SurveyDesign, *, stat: str = "mean",
                         n_domains: int | None = None, ratio_pairs: Sequence[tuple[int, int]] | None = None,
                         combinations: dict[str, dict[int, float]] | None = None,
                         level: float = 0.95, ci: str = "t") -> dict[str, np.ndarray]:
    """The finaliser: estimates, SEs, CIs, deff and effective n from combined domain sums.

    Parameters
    ----------
    sums : output of :func:`reduce_domain_sums` (or :func:`combine_domain_sums` of several).
    design : the design structure (PSUs per stratum, sampling fractions, lonely-PSU rule).
    stat : ``"mean"`` (also proportions of 0/1 variables), ``"total"`` or ``"ratio"``.
    n_domains : number of domain codes (default: max code + 1).
    ratio_pairs : for ``stat="ratio"``, (numerator, denominator) variable indices; each pair gives one column.
    combinations : for ``stat="mean"``, extra columns ``name -> {variable index: coefficient}``: the linear
        combination of domain means (e.g. a composite score), its SE from the combined linearised values.
    level : confidence level.
    ci : ``"t"`` (design df, R's ``degf``) or ``"normal"``.

    Returns
    -------
    dict of (n_domains, m) arrays: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``deff``, ``n_eff``,
    ``cv``, plus ``names`` (column labels: variable index, pair or name).

    Examples
    --------
    >>> from govlib.survey.design import make_design
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> d = make_design(df, strata="h")
    >>> s = reduce_domain_sums(d.weight, d.stratum, d.psu, np.zeros(4, int), df["y"].to_numpy())
    >>> r = finalize_domain_sums(s, d)
    >>> float(r["estimate"][0, 0]), round(float(r["se"][0, 0]), 6)
    (2.5, 0.707107)
    """
    _check_finaliser_options(stat, ci, level)
    k = _n_variables(sums)
    dom = sums["domain"].to_numpy(dtype=np.int64)
    D = int(n_domains if n_domains is not None else (dom.max() + 1 if len(dom) else 1))
    stratum = sums["stratum"].to_numpy(dtype=np.int64)
    psu = sums["psu"].to_numpy(dtype=np.int64)
    ssu = sums["ssu"].to_numpy(dtype=np.int64) if "ssu" in sums.columns else None
    N = np.stack([sums[f"n_{j}"].to_numpy(float) for j in range(k)], axis=1)
    W = np.stack([sums[f"sw_{j}"].to_numpy(float) for j in range(k)], axis=1)
    Y = np.stack([sums[f"swy_{j}"].to_numpy(float) for j in range(k)], axis=1)
    YY = np.stack([sums[f"swyy_{j}"].to_numpy(float) for j in range(k)], axis=1)

    def dsum(a):
        return np.stack([np.bincount(dom, weights=a[:, j], minlength=D) for j in range(a.shape[1])], axis=1)

    n_d, w_d, y_d, yy_d = dsum(N), dsum(W), dsum(Y), dsum(YY)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_d = y_d / w_d
        # svyvar's weighted variance with n/(n-1), per domain
        s2 = (yy_d - mean_d * y_d) / w_d * n_d / (n_d - 1)
    present = N > 0
    if stat == "ratio":
        pairs = list(ratio_pairs or [])
        if not pairs:
            raise InputError("stat='ratio' needs ratio_pairs=[(numerator, denominator), ...]")
        num = np.array([a for a, _ in pairs])
        den = np.array([b for _, b in pairs])
        with np.errstate(divide="ignore", invalid="ignore"):
            est = y_d[:, num] / y_d[:, den]
            z = (Y[:, num] - est[dom] * Y[:, den]) / y_d[dom][:, den]
        pres = present[:, num] | present[:, den]
        n_out = n_d[:, num]
        names = pairs
        deff = np.full_like(est, np.nan)
        var = domain_variance(z, pres, stratum, psu, dom, ssu, design, D)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if stat == "mean":
                est = mean_d
                z = (Y - mean_d[dom] * W) / w_d[dom]
            else:
                est = y_d
                z = Y
        z = np.where(np.isfinite(z), z, 0.0)
        names: list = list(range(k))
        n_out = n_d
        pres = present
        with np.errstate(divide="ignore", invalid="ignore"):
            # R svymean/svytotal deff=TRUE: SRS without replacement from a population of size sum(w)
            fsrs = (w_d - n_d) / w_d
            vsrs = s2 / n_d * fsrs if stat == "mean" else s2 * w_d ** 2 / n_d * fsrs
        extra_z, extra_est, extra_n, extra_p, extra_v = [], [], [], [], []
        for name, coefs in (combinations or {}).items():
            if stat != "mean":
                raise InputError("combinations (composite scores) are defined for stat='mean'")
            idx = np.array(list(coefs))
            a = np.array([coefs[i] for i in idx], dtype=float)
            extra_z.append(z[:, idx] @ a)
            extra_est.append(np.nan_to_num(mean_d[:, idx]) @ a
                             + np.where(np.isnan(mean_d[:, idx]).any(axis=1), np.nan, 0.0))
            extra_n.append(n_d[:, idx].max(axis=1))
            extra_p.append(present[:, idx].any(axis=1))
            extra_v.append(np.full(D, np.nan))
            names.append(name)
        if extra_z:
            z = np.column_stack([z] + extra_z)
            pres = np.column_stack([pres] + extra_p)
            est = np.column_stack([est] + extra_est)
            n_out = np.column_stack([n_out] + extra_n)
            vsrs = np.column_stack([vsrs] + extra_v)
        var = domain_variance(z, pres, stratum, psu, dom, ssu, design, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = var / vsrs
    var = np.where(var < 0, 0.0, var)  # rounding in a census
    var = np.where(n_out > 0, var, np.nan)  # an empty domain has no estimate
    se = np.sqrt(var)
    if ci == "t":
        q = stats.t.ppf(0.5 + level / 2, design.degf) if design.degf > 0 else np.nan
    else:
        q = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = n_out / deff
        cv = se / np.abs(est)
    return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "n": n_out,
            "deff": deff, "n_eff": n_eff, "cv": cv, "names": names, "df": design.degf}


def _indicator(codes: np.ndarray, n_cells: int | None = None) -> sparse.csr_matrix:
    n = len(codes)
    k = int(codes.max()) + 1 if n_cells is None else n_cells
    return sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, k))


def _scale_rows(M, v: np.ndarray):
    """``diag(v) @ M`` for a CSR matrix, without building the diagonal matrix."""
    M = M.tocsr(copy=True)
    M.data *= np.repeat(v, np.diff(M.indptr))
    return M


def _domain_totals(dom: np.ndarray, weights: np.ndarray, n_domains: int) -> np.ndarray:
    """(n_domains, k) column sums of ``weights`` (n, k) by domain (one pass over the rows, in row order)."""
    return _group_sums(dom, None, weights, n_domains)


def calibrated_linearisation(design: SurveyDesign, values: np.ndarray, dom: np.ndarray, n_domains: int, *,
                             stat: str, ratio_pairs=None, combinations=None, level: float = 0.95,
                             ci: str = "t") -> dict:
    """Estimates of a calibrated design with R's calibration-residual variance, all domains at once.

    Called by :func:`govlib.survey.estimate.estimate` when ``design.calibration`` is not empty. Point estimates,
    counts and the SRS variance (for ``deff``) come from domain sums of the rows; the linearised values of every
    (domain, variable) are residualised at cell level per block of strata (:func:`_blocked_variance`), or
    literally row by row when SSUs span several rows. No uncalibrated design variance is computed: ``deff`` is
    the calibrated variance over the SRS variance.
    """
    _check_finaliser_options(stat, ci, level)
    ssu = design.ssu if design.two_stage else None
    w = design.weight
    n = design.n_rows
    valid = ~np.isnan(values)
    y = np.where(valid, values, 0.0)
    wv = np.where(valid, w[:, None], 0.0)
    N_d = _domain_totals(dom, valid.astype(float), n_domains)
    W_d = _domain_totals(dom, wv, n_domains)
    wy = wv * y
    Y_d = _domain_totals(dom, wy, n_domains)
    wy *= y  # now w*y*y: one (rows x variables) temporary fewer
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = Y_d / W_d
        s2 = (_domain_totals(dom, wy, n_domains) - mean * Y_d) / W_d * N_d / (N_d - 1)
        fsrs = (W_d - N_d) / W_d
    del wv, wy
    # linearised values u (n x m), only within each row's own domain
    if stat == "ratio":
        num = [a for a, _ in ratio_pairs]
        den = [b for _, b in ratio_pairs]
        with np.errstate(divide="ignore", invalid="ignore"):
            est = Y_d[:, num] / Y_d[:, den]
            u = (y[:, num] - est[dom] * y[:, den]) / Y_d[dom][:, den]
        u = np.where(valid[:, num], u, 0.0)
        n_out = N_d[:, num]
        vsrs = np.full_like(est, np.nan)
    elif stat == "mean":
        est, n_out = mean, N_d
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(valid, (y - mean[dom]) / W_d[dom], 0.0)
            vsrs = s2 / N_d * fsrs
        extra_u, extra_est, extra_n = [], [], []
        for coefs in (combinations or {}).values():
            idx = list(coefs)
            a = np.array([coefs[i] for i in idx])
            extra_u.append(u[:, idx] @ a)
            extra_est.append(np.nan_to_num(mean[:, idx]) @ a + np.where(np.isnan(mean[:, idx]).any(axis=1), np.nan, 0.0))
            extra_n.append(N_d[:, idx].max(axis=1))
        if extra_u:
            u = np.column_stack([u] + extra_u)
            est = np.column_stack([est] + extra_est)
            n_out = np.column_stack([n_out] + extra_n)
            vsrs = np.column_stack([vsrs] + [np.full(n_domains, np.nan)] * len(extra_u))
    else:
        u = y
        est, n_out = Y_d, N_d
        with np.errstate(divide="ignore", invalid="ignore"):
            vsrs = s2 * W_d ** 2 / N_d * fsrs
    if not np.isfinite(u).all():
        u = np.nan_to_num(u)
    x = np.multiply(u, w[:, None], out=u)  # u is a fresh array here (never the caller's values)
    m = x.shape[1]
    if ssu is None or np.bincount(ssu).max() <= 1:  # second-stage units are single rows
        var = _blocked_variance(design, x, dom, n_domains)
    else:
        rows = np.repeat(np.arange(n), m)
        cols = (dom[:, None] * m + np.arange(m)[None, :]).reshape(-1)
        X = sparse.csr_matrix((x.reshape(-1), (rows, cols)), shape=(n, n_domains * m))
        X.eliminate_zeros()
        var = _rowlevel_variance(design, X, m, n_domains, ssu)
    var = np.where(var < 0, 0.0, var)
    var = np.where(n_out > 0, var, np.nan)
    se = np.sqrt(var)
    if ci == "t":
        q = stats.t.ppf(0.5 + level / 2, design.degf) if design.degf > 0 else np.nan
    else:
        q = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff = var / vsrs
        n_eff = n_out / deff
        cv = se / np.abs(est)
    return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "n": n_out, "deff": deff,
            "n_eff": n_eff, "cv": cv, "names": None, "df": design.degf}


def _rowlevel_variance(design: SurveyDesign, X, m: int, n_domains: int, ssu) -> np.ndarray:
    """R's residualisation applied literally to the rows x (domain, variable) matrix (general SSUs)."""
    for step in design.calibration:
        if step[0] == "poststrat":
            _, codes, oldw, psw = step
            C = _indicator(codes)
            oldsum = np.bincount(codes, weights=oldw)
            means = _scale_rows(C.T @ _scale_rows(X, oldw / psw), 1.0 / oldsum)
            X = (X - _scale_rows(C @ means, psw)).tocsr()
        else:
            _, recorded = step
            for _ in range(10):  # R: ten sweeps over the margins
                for codes, psw in recorded:
                    C = _indicator(codes)
                    cnt = np.bincount(codes).astype(float)
                    ave = _scale_rows(C.T @ _scale_rows(X, 1.0 / psw), 1.0 / cnt)
                    X = (X - _scale_rows(C @ ave, psw)).tocsr()
    unit = design.psu if ssu is None else ssu
    A = _indicator(unit)
    Z = (A.T @ X).tocoo()
    u_unit, c = Z.row, Z.col
    d, j = c // m, c % m
    key = u_unit.astype(np.int64) * n_domains + d
    g, uniq = pd.factorize(key, sort=True)
    z = np.zeros((len(uniq), m))
    np.add.at(z, (g, j), Z.data)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[g[::-1]] = np.arange(len(g))[::-1]
    unit_e, dom_e = u_unit[first], d[first]
    if ssu is None:
        psu_e, ssu_e = unit_e, None
    else:
        ssu_psu = np.empty(int(ssu.max()) + 1, dtype=np.int64)
        ssu_psu[ssu] = design.psu
        psu_e, ssu_e = ssu_psu[unit_e], unit_e
    stratum_e = design.psu_stratum[psu_e]
    return domain_variance(z, np.ones_like(z, dtype=bool), stratum_e, psu_e, dom_e, ssu_e, design, n_domains)


def _calibration_steps(design: SurveyDesign):
    """Every residualisation step as ``x <- x - g_T * C_T a`` with ``a = C_s'(h_s * x) / den_s`` (R's order)."""
    terms, steps = [], []
    for step in design.calibration:
        if step[0] == "poststrat":
            _, codes, oldw, psw = step
            terms.append((codes, psw))
            steps.append((len(terms) - 1, oldw / psw, np.bincount(codes, weights=oldw)))
        else:
            _, recorded = step
            ids, counts = [], []
            for codes, psw in recorded:
                terms.append((codes, psw))
                ids.append(len(terms) - 1)
                counts.append((1.0 / psw, np.bincount(codes).astype(float)))  # the same in every sweep
            for _ in range(10):  # R: ten sweeps over the margins
                for t, (h, den) in zip(ids, counts):
                    steps.append((t, h, den))
    return terms, steps


def _blocks(design: SurveyDesign, terms) -> np.ndarray:
    """Block of each stratum: the finest grouping of strata that no calibration cell crosses.

    Calibration residuals of a row depend only on rows sharing a cell with it (transitively), so the variance
    separates into independent blocks; the build's cells (wave x 街镇 x age/sex) nest in its strata and every
    block is one stratum.
    """
    n_strata = design.n_strata
    nested = True
    for codes, _ in terms:  # O(n): does every cell sit in one stratum?
        cell_stratum = np.zeros(int(codes.max()) + 1, dtype=np.int64)
        cell_stratum[codes] = design.stratum
        nested = nested and bool((cell_stratum[codes] == design.stratum).all())
    if nested:  # blocks are the strata
        return np.arange(n_strata, dtype=np.int64)
    from scipy.sparse.csgraph import connected_components

    edges_s, edges_c, offset = [], [], n_strata
    for codes, _ in terms:
        key = np.unique(codes.astype(np.int64) * n_strata + design.stratum)
        edges_s.append(key % n_strata)
        edges_c.append(key // n_strata + offset)
        offset += int(codes.max()) + 1
    s = np.concatenate(edges_s)
    c = np.concatenate(edges_c)

    graph = sparse.coo_matrix((np.ones(len(s)), (s, c)), shape=(offset, offset))
    _, label = connected_components(graph, directed=False)
    return pd.factorize(label[:n_strata], sort=True)[0].astype(np.int64)


def _local_codes(codes: np.ndarray, block_of_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Each row's cell numbered within its block: (local code per row, local code per cell, cells per block)."""
    n_cells = int(codes.max()) + 1
    cell_block = np.full(n_cells, -1, dtype=np.int64)
    cell_block[codes] = block_of_row
    order = np.lexsort((np.arange(n_cells), cell_block))
    sorted_block = cell_block[order]
    start = np.searchsorted(sorted_block, sorted_block, side="left")
    local_cell = np.empty(n_cells, dtype=np.int64)
    local_cell[order] = np.arange(n_cells) - start
    present = cell_block >= 0
    k = int(local_cell[present].max()) + 1 if present.any() else 1
    return local_cell[codes], local_cell, k


def _group_sums(group: np.ndarray, weight: np.ndarray | None, values: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups, m) sums of ``weight * values`` rows by group: one sparse indicator product, not m bincounts."""
    data = np.ones(len(group)) if weight is None else weight
    ind = sparse.csr_matrix((data, (group, np.arange(len(group)))), shape=(n_groups, len(group)))
    return np.asarray(ind @ values)


def _blocked_variance(design: SurveyDesign, x: np.ndarray, dom: np.ndarray, n_domains: int,
                      chunk_entries: int = 400_000) -> np.ndarray:
    """Calibration-residual variance of linearised values ``x`` (n, m; each row's own domain), all domains at once.

    Every residualisation step is ``x <- x - g_T C_T a`` with cell means ``a``; the accumulated cell corrections
    ``b_T`` of a (block, domain) pair are small dense arrays (cells of the block x columns), computed with grouped
    bincounts and batched products. The linearised PSU totals ``z`` of every PSU of the block, and for a second
    stage of single-row SSUs the within-PSU sums of squares (expanding the square), then go to
    :func:`domain_variance`. Pairs are processed in chunks of about ``chunk_entries`` PSU entries (memory).
    """
    terms, steps = _calibration_steps(design)
    n, m = x.shape
    # Only the blocks and PSUs of strata that have rows: a design's subset (one wave of the build) keeps the whole
    # design's numbering, and per-PSU tables over every wave's PSUs would be mostly zeros. Blocks and PSUs keep
    # their order, so every sum is the same.
    block_all = _blocks(design, terms)
    used = np.zeros(int(block_all.max()) + 1, dtype=bool)
    used[block_all[design.stratum]] = True
    block_of_stratum = np.where(used, np.cumsum(used) - 1, -1)[block_all]
    n_blocks = int(used.sum())
    row_block = block_of_stratum[design.stratum]
    psu_global = np.flatnonzero(block_of_stratum[design.psu_stratum] >= 0)  # the PSUs of those blocks
    psu_of_row = np.full(len(design.psu_stratum), -1, dtype=np.int64)
    psu_of_row[psu_global] = np.arange(len(psu_global))
    psu_of_row = psu_of_row[design.psu]
    local, local_cell, K = [], [], []
    for codes, _ in terms:
        lc, cell_local, k = _local_codes(codes, row_block)
        local.append(lc)
        local_cell.append(cell_local)
        K.append(k)
    # (block, domain) pairs with rows, in block order; rows sorted by pair so a chunk of pairs is a slice of rows
    pair_key = row_block * n_domains + dom
    pair_of_row, pair_keys = pd.factorize(pair_key, sort=True)
    pair_block = (pair_keys // n_domains).astype(np.int64)
    pair_dom = (pair_keys % n_domains).astype(np.int64)
    n_pairs = len(pair_keys)
    row_order = np.argsort(pair_of_row, kind="stable")
    row_start = np.searchsorted(pair_of_row[row_order], np.arange(n_pairs + 1))
    # PSUs of each block, in block order
    n_psus = len(psu_global)
    psu_block = block_of_stratum[design.psu_stratum[psu_global]]
    psu_order = np.argsort(psu_block, kind="stable")
    psus_in_block = np.bincount(psu_block, minlength=n_blocks)
    block_start = np.r_[0, np.cumsum(psus_in_block)[:-1]]
    psu_pos = np.empty(n_psus, dtype=np.int64)
    psu_pos[psu_order] = np.arange(n_psus) - block_start[psu_block[psu_order]]
    # cell-level cross tables per block (K_t[b, k, l] = sum of h_t g_u over rows in cells k of t and l of u),
    # per PSU sums of g_t (N) and of g_t g_u (Q), and the steps' inverse denominators per (block, local cell)
    first_h = {}
    for t, h, _ in steps:
        first_h.setdefault(t, h)
    nt = len(terms)
    g = [gg for _, gg in terms]
    cross = {}
    for t in first_h:
        for u in range(nt):
            key = (row_block * K[t] + local[t]) * K[u] + local[u]
            cross[t, u] = np.bincount(key, weights=first_h[t] * g[u],
                                      minlength=n_blocks * K[t] * K[u]).reshape(n_blocks, K[t], K[u])
    psu_n = [np.bincount(psu_of_row * K[t] + local[t], weights=g[t], minlength=n_psus * K[t]).reshape(n_psus, K[t])
             for t in range(nt)]
    two_stage = design.two_stage
    psu_q = {}
    if two_stage:
        for t in range(nt):
            for u in range(nt):
                key = (psu_of_row * K[t] + local[t]) * K[u] + local[u]
                psu_q[t, u] = np.bincount(key, weights=g[t] * g[u],
                                          minlength=n_psus * K[t] * K[u]).reshape(n_psus, K[t], K[u])
    inv_steps = []
    for t, _, den in steps:
        inv = np.zeros((n_blocks, K[t]))
        cb = np.full(len(local_cell[t]), -1, dtype=np.int64)
        cb[terms[t][0]] = row_block
        ok = cb >= 0
        d = np.zeros(len(local_cell[t]))
        d[: len(den)] = den
        inv[cb[ok], local_cell[t][ok]] = np.where(d[ok] > 0, 1.0 / np.where(d[ok] > 0, d[ok], 1.0), 0.0)
        inv_steps.append(inv)
    # chunks of pairs, bounded by their PSU entries (unless the 'average' rule needs every stratum of a domain)
    entries_per_pair = psus_in_block[pair_block]
    if design.lonely_psu == "average":
        bounds = [0, n_pairs]
    else:
        cum = np.cumsum(entries_per_pair)
        bounds = np.unique(np.r_[0, np.searchsorted(cum, np.arange(chunk_entries, cum[-1], chunk_entries)), n_pairs])
    out = np.zeros((n_domains, m))
    # b_T = L_T H per block: run the residualisation steps once on the block's cell operator (cells of every
    # term stacked), not on every (block, domain) pair's columns
    off = np.r_[0, np.cumsum(K)]
    L = [np.zeros((n_blocks, K[t], off[-1])) for t in range(nt)]
    touched = [False] * nt
    for s, (t, _, _) in enumerate(steps):
        acc = np.zeros((n_blocks, K[t], off[-1]))
        acc[:, np.arange(K[t]), off[t] + np.arange(K[t])] = 1.0
        for u in range(nt):
            if touched[u]:
                acc -= np.einsum("skl,slc->skc", cross[t, u], L[u])
        L[t] += acc * inv_steps[s][:, :, None]
        touched[t] = True
    out = np.zeros((n_domains, m))
    for a, b_ in zip(bounds[:-1], bounds[1:]):
        # one chunk (the build's waves): every row in its own order, no (rows x columns) copy; grouped sums add
        # each group's rows in row order either way (the sort by pair is stable), so the sums are the same
        rows = slice(None) if (a, b_) == (0, n_pairs) else row_order[row_start[a]:row_start[b_]]
        xr = x[rows]
        pr = pair_of_row[rows] - a
        P = b_ - a
        pb = pair_block[a:b_]
        lr = [lt[rows] for lt in local]
        # H: per pair, the stacked cell sums of h_T * x (P, cells, m); then b_T = L_T H
        H = np.zeros((P, off[-1], m))
        for t, h in first_h.items():
            H[:, off[t]:off[t + 1], :] = _group_sums(pr * K[t] + lr[t], h[rows], xr, P * K[t]).reshape(P, K[t], m)
        bt = [np.einsum("pkc,pcj->pkj", L[t][pb], H) for t in range(nt)]
        # entries: every PSU of the pair's block, laid out pair-major (pairs of a block x the block's PSUs)
        cnt = entries_per_pair[a:b_]
        e_start = np.cumsum(cnt) - cnt
        e_pair = np.repeat(np.arange(P), cnt)
        e_psu = psu_order[block_start[pb][e_pair] + np.arange(len(e_pair)) - e_start[e_pair]]
        row_entry = e_start[pr] + psu_pos[psu_of_row[rows]]
        E = len(e_pair)
        z = _group_sums(row_entry, None, xr, E)
        ss = None
        if two_stage:
            ss = _group_sums(row_entry, None, xr * xr, E)
            for t in range(nt):
                gathered = bt[t][pr, lr[t], :]  # b_T at each row's own pair and cell
                ss -= 2 * _group_sums(row_entry, g[t][rows], xr * gathered, E)
        # PSU x cell sums times the pairs' corrections: one small matrix product per block
        blocks_here, first_pair = np.unique(pb, return_index=True)
        ends = np.r_[first_pair[1:], P]
        for blk, p0, p1 in zip(blocks_here, first_pair, ends):
            psus = psu_order[block_start[blk]:block_start[blk] + psus_in_block[blk]]
            sl = slice(e_start[p0], e_start[p0] + (p1 - p0) * len(psus))
            zb = z[sl].reshape(p1 - p0, len(psus), m)
            for t in range(nt):
                zb -= np.matmul(psu_n[t][psus], bt[t][p0:p1])
            if ss is not None:
                sb = ss[sl].reshape(p1 - p0, len(psus), m)
                for t in range(nt):
                    for u in range(nt):
                        prod = (bt[t][p0:p1, :, None, :] * bt[u][p0:p1, None, :, :]).reshape(p1 - p0, -1, m)
                        sb += np.matmul(psu_q[t, u][psus].reshape(len(psus), -1), prod)
        stage2 = None
        e_psu = psu_global[e_psu]  # the design's PSU numbers again
        if ss is not None:
            m_e = design.n_ssu[e_psu].astype(float)[:, None]
            stage2 = (ss - z ** 2 / m_e, ss)
        out += domain_variance(z, np.ones_like(z, dtype=bool), design.psu_stratum[e_psu], e_psu,
                               pair_dom[a:b_][e_pair], None, design, n_domains, stage2=stage2)
    return out
