"""Calibration of survey weights: post-stratification, raking and bounded trimming -- as R's ``survey``.

- :func:`poststratify` is ``postStratify(design, ~cells, population)``.
- :func:`rake` is ``rake(design, list(~m1, ~m2), list(pop1, pop2))`` with R's defaults (``max_iter=10``,
  ``epsilon=1``: stop when no weight changes by 1 or more between passes).
- :func:`trim_weights` is ``trimWeights(design, upper, lower, strict)``.

Standard errors after calibration are R's: the linearised values are replaced by their calibration residuals
before the variance formula (``survey:::svyrecvar``). For a post-stratification this is the weighted residual
from the cell means; for raking R applies ten sweeps of ``x - w_m * ave(x / w_m, margin)`` over the margins with
the weights ``w_m`` recorded after each margin's last adjustment -- reproduced here exactly. Every step is
``x <- x - g * C a`` with cell means ``a``; :func:`calibrated_linearisation` carries the accumulated cell
corrections at cell level (cell x cell cross-tables) and expands the squares for the second stage, so the
residuals of thousands of domains are never materialised row by row (a literal row-level version is kept for
SSUs spanning several rows and is tested equal).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from .errors import InputError
from .survey import SurveyDesign, _as_list, _column, _show, _variance, finalize_domain_sums, reduce_domain_sums

__all__ = ["poststratify", "rake", "trim_weights", "calibrated_linearisation"]


def _cells(data: pd.DataFrame, cols: Sequence[str], population: pd.DataFrame, design: SurveyDesign, what: str):
    """Cell code per row, population count per cell (aligned), and the cells' labels."""
    cols = _as_list(cols)
    if len(data) != design.n_rows:
        raise InputError(f"data have {len(data)} rows but the design was built on {design.n_rows}")
    missing = [c for c in cols if c not in population.columns]
    if missing:
        raise InputError(f"{what}: population table lacks the cell column(s) {missing}")
    counts = [c for c in population.columns if c not in cols]
    if len(counts) != 1:
        raise InputError(f"{what}: the population table must have the cell columns {cols} and exactly one count "
                         f"column; found extra columns {counts}")
    count_col = counts[0]
    for c in cols:
        _column(data, c, f"{what} cell")
        if data[c].isna().any():
            rows = np.flatnonzero(data[c].isna().to_numpy())[:8] + 2
            raise InputError(f"{what}: cell column '{c}' has empty values (rows {_show(rows)})")
    key_data = pd.MultiIndex.from_frame(data[cols].astype(str))
    pop = population.copy()
    pop_key = pd.MultiIndex.from_frame(pop[cols].astype(str))
    if pop_key.duplicated().any():
        raise InputError(f"{what}: population cells repeated: {_show(pop_key[pop_key.duplicated()].tolist())}")
    freq = pd.to_numeric(pop[count_col], errors="coerce").to_numpy(float)
    if np.isnan(freq).any() or (freq < 0).any():
        raise InputError(f"{what}: population count column '{count_col}' must be non-negative numbers; found "
                         f"{_show(pop[count_col][np.isnan(freq) | (freq < 0)].tolist())}")
    codes = pop_key.get_indexer(key_data)
    if (codes < 0).any():
        absent = [k[0] if len(k) == 1 else k for k in dict.fromkeys(key_data[codes < 0].tolist())]
        raise InputError(f"{what}: sample cells {cols} absent from the population table: {_show(absent)}")
    in_sample = np.bincount(codes, minlength=len(pop_key)) > 0
    only_pop = ~in_sample & (freq > 0)
    if only_pop.any():
        empty = [k[0] if len(k) == 1 else k for k in pop_key[only_pop].tolist()]
        raise InputError(f"{what}: population cells {cols} with no respondent (cannot be calibrated; merge them "
                         f"with a neighbouring cell): {_show(empty)}")
    return codes, freq


def _poststrat_weights(w: np.ndarray, codes: np.ndarray, freq: np.ndarray) -> np.ndarray:
    sample = np.bincount(codes, weights=w, minlength=len(freq))
    with np.errstate(divide="ignore", invalid="ignore"):
        reweight = freq / sample
    return w * reweight[codes]


def poststratify(design: SurveyDesign, data: pd.DataFrame, cells: str | Sequence[str],
                 population: pd.DataFrame) -> SurveyDesign:
    """Post-stratify the weights to known population cell counts (R ``postStratify``).

    Parameters
    ----------
    design, data : the design and the rows it was built on.
    cells : column(s) defining the post-strata.
    population : the cell columns and one count column (e.g. ``Freq`` or ``residents``).

    Returns
    -------
    SurveyDesign with calibrated weights; its SEs use the post-stratification residuals.

    Examples
    --------
    >>> from govlib.survey import make_design, estimate
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> d = poststratify(make_design(df), df, "g", pd.DataFrame({"g": ["a", "b"], "Freq": [30, 10]}))
    >>> float(d.weight.sum()), float(estimate(d, df, "y")["estimate"].iloc[0])
    (40.0, 2.125)
    """
    codes, freq = _cells(data, cells, population, design, "poststratify")
    old = design.weight
    new = _poststrat_weights(old, codes, freq)
    step = ("poststrat", codes, old.copy(), new.copy())
    return design.with_weights(new, design.calibration + (step,))


def rake(design: SurveyDesign, data: pd.DataFrame, margins: Sequence[str | Sequence[str]],
         populations: Sequence[pd.DataFrame], *, epsilon: float = 1.0, max_iter: int = 10) -> SurveyDesign:
    """Rake the weights to population margins by iterative proportional fitting (R ``rake``).

    Parameters
    ----------
    design, data : the design and its rows.
    margins : one column or list of columns per margin, e.g. ``[["jiezhen", "age_group"], ["jiezhen", "sex"]]``.
    populations : one table per margin: its cell columns and one count column.
    epsilon : stop when no cell of the table crossing all margin variables changes its weighted count by
        this much over a full pass (R default 1; below 1 it is relative to the sum of the weights, as R).
    max_iter : at most this many passes (R default 10).

    Examples
    --------
    >>> from govlib.survey import make_design
    >>> df = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"]})
    >>> d = rake(make_design(df), df, ["a", "b"], [pd.DataFrame({"a": ["x", "y"], "Freq": [60, 40]}),
    ...                                           pd.DataFrame({"b": ["u", "v"], "Freq": [50, 50]})])
    >>> np.round(d.weight, 6).tolist()
    [30.0, 30.0, 20.0, 20.0]
    """
    if len(margins) != len(populations) or not margins:
        raise InputError(f"rake: give one population table per margin ({len(margins)} margins, "
                         f"{len(populations)} tables)")
    if not (epsilon > 0 and max_iter >= 1):
        raise InputError(f"rake: epsilon={epsilon} must be > 0 and max_iter={max_iter} >= 1")
    cells = [_cells(data, m, p, design, f"rake margin {m!r}") for m, p in zip(margins, populations)]
    # R: convergence is judged on the weighted table crossing all margin variables; epsilon < 1 is relative
    all_cols = list(dict.fromkeys(c for m in margins for c in _as_list(m)))
    joint = pd.factorize(pd.MultiIndex.from_frame(data[all_cols].astype(str)))[0]
    tol = epsilon * design.weight.sum() if epsilon < 1 else epsilon
    w = design.weight.copy()
    old_table = np.bincount(joint, weights=w)
    recorded = []
    for _ in range(max_iter):
        recorded = []
        for codes, freq in cells:
            w = _poststrat_weights(w, codes, freq)
            recorded.append((codes, w.copy()))
        table = np.bincount(joint, weights=w, minlength=len(old_table))
        if np.max(np.abs(old_table - table)) < tol:
            break
        old_table = table
    step = ("raking", tuple(recorded))
    return design.with_weights(w, design.calibration + (step,))


def trim_weights(design: SurveyDesign, *, lower: float = -np.inf, upper: float = np.inf,
                 strict: bool = False) -> SurveyDesign:
    """Bound the weights to [lower, upper], spreading the trimmed amount over the other weights (R ``trimWeights``).

    With ``strict=True`` the redistribution is repeated until no weight is outside the bounds.

    Examples
    --------
    >>> from govlib.survey import make_design
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 9.0]})
    >>> trim_weights(make_design(df, weight="w"), upper=5).weight.tolist()
    [2.3333333333333335, 2.3333333333333335, 2.3333333333333335, 5.0]
    """
    if not lower < upper:
        raise InputError(f"trim_weights: lower={lower} must be below upper={upper}")
    pw = design.weight
    total = pw.sum()
    for _ in range(100 if strict else 1):
        outside = (pw < lower) | (pw > upper)
        if not outside.any():
            break
        trimmed = np.clip(pw, lower, upper)
        inside = ~outside
        if not inside.any():
            raise InputError(f"trim_weights: every weight is outside [{lower}, {upper}]")
        trimmed[inside] = trimmed[inside] * (total - trimmed[outside].sum()) / trimmed[inside].sum()
        pw = trimmed
    return design.with_weights(pw)


def _indicator(codes: np.ndarray, n_cells: int | None = None) -> sparse.csr_matrix:
    n = len(codes)
    k = int(codes.max()) + 1 if n_cells is None else n_cells
    return sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, k))


def _scale_rows(M, v: np.ndarray):
    """``diag(v) @ M`` for a CSR matrix, without building the diagonal matrix."""
    M = M.tocsr(copy=True)
    M.data *= np.repeat(v, np.diff(M.indptr))
    return M


def calibrated_linearisation(design: SurveyDesign, values: np.ndarray, dom: np.ndarray, n_domains: int, *,
                             stat: str, ratio_pairs=None, combinations=None, level: float = 0.95,
                             ci: str = "t") -> dict:
    """Estimates of a calibrated design with R's calibration-residual variance, all domains at once.

    Called by :func:`govlib.survey.estimate` when ``design.calibration`` is not empty. The point estimates
    come from the usual reduction/finaliser with the calibrated weights; the linearised values of every
    (domain, variable) form a sparse rows x columns matrix whose calibration residuals are summed to PSUs
    (and SSU sums of squares) at cell level, then passed to the same variance function.
    """
    ssu = design.ssu if design.two_stage else None
    sums = reduce_domain_sums(design.weight, design.stratum, design.psu, dom, values, ssu=ssu)
    res = finalize_domain_sums(sums, design, stat=stat, n_domains=n_domains, ratio_pairs=ratio_pairs,
                               combinations=combinations, level=level, ci=ci)
    w = design.weight
    n = design.n_rows
    y = np.where(np.isnan(values), 0.0, values)
    valid = ~np.isnan(values)
    wv = np.where(valid, w[:, None], 0.0)
    W_d = np.stack([np.bincount(dom, weights=wv[:, j], minlength=n_domains) for j in range(values.shape[1])], 1)
    Y_d = np.stack([np.bincount(dom, weights=wv[:, j] * y[:, j], minlength=n_domains)
                    for j in range(values.shape[1])], 1)
    # linearised values u (n x m), only within each row's own domain
    if stat == "ratio":
        num = [a for a, _ in ratio_pairs]
        den = [b for _, b in ratio_pairs]
        r = Y_d[:, num] / Y_d[:, den]
        u = (y[:, num] - r[dom] * y[:, den]) / Y_d[dom][:, den]
        u = np.where(valid[:, num], u, 0.0)
    elif stat == "mean":
        mean = Y_d / W_d
        u = np.where(valid, (y - mean[dom]) / W_d[dom], 0.0)
        for coefs in (combinations or {}).values():
            idx = list(coefs)
            a = np.array([coefs[i] for i in idx])
            u = np.column_stack([u, u[:, idx] @ a])
    else:
        u = np.where(valid, y, 0.0)
    u = np.nan_to_num(u)
    m = u.shape[1]
    x = w[:, None] * u
    rows = np.repeat(np.arange(n), m)
    cols = (dom[:, None] * m + np.arange(m)[None, :]).reshape(-1)
    X = sparse.csr_matrix((x.reshape(-1), (rows, cols)), shape=(n, n_domains * m))
    X.eliminate_zeros()
    single_row_ssu = ssu is None or len(np.unique(ssu)) == n
    if single_row_ssu:
        var = _aggregated_variance(design, X, m, n_domains)
    else:
        var = _rowlevel_variance(design, X, m, n_domains, ssu)
    var = np.where(var < 0, 0.0, var)
    var = np.where(res["n"] > 0, var, np.nan)
    se = np.sqrt(var)
    if ci == "t":
        q = stats.t.ppf(0.5 + level / 2, design.degf) if design.degf > 0 else np.nan
    else:
        q = stats.norm.ppf(0.5 + level / 2)
    est = res["estimate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        res["deff"] = res["deff"] * var / res["se"] ** 2
        res["n_eff"] = res["n"] / res["deff"]
        res["cv"] = se / np.abs(est)
    res.update(se=se, ci_low=est - q * se, ci_high=est + q * se)
    return res


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
    return _variance(z, np.ones_like(z, dtype=bool), stratum_e, psu_e, dom_e, ssu_e, design, n_domains)


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
            ids = []
            for codes, psw in recorded:
                terms.append((codes, psw))
                ids.append(len(terms) - 1)
            for _ in range(10):  # R: ten sweeps over the margins
                for t, (codes, psw) in zip(ids, recorded):
                    steps.append((t, 1.0 / psw, np.bincount(codes).astype(float)))
    return terms, steps


def _lookup(B, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Values ``B[rows[i], cols[i]]`` of a sparse matrix (0 where absent), by binary search on its keys."""
    B = B.tocoo()
    keys = B.row.astype(np.int64) * B.shape[1] + B.col
    order = np.argsort(keys)
    keys, data = keys[order], B.data[order]
    q = rows.astype(np.int64) * B.shape[1] + cols
    idx = np.searchsorted(keys, q)
    idx_c = np.minimum(idx, max(len(keys) - 1, 0))
    found = (idx < len(keys)) & (keys[idx_c] == q) if len(keys) else np.zeros(len(q), bool)
    return np.where(found, data[idx_c] if len(keys) else 0.0, 0.0)


def _aggregated_variance(design: SurveyDesign, X, m: int, n_domains: int) -> np.ndarray:
    """The same residualised variance without materialising the residuals of every row for every domain.

    Each step's cell means ``a`` depend on earlier steps only through cell x cell cross-tables, so the
    accumulated corrections ``b_T`` (cells x columns) are computed at cell level; PSU totals and, for a second
    stage whose SSUs are single rows, the within-PSU sums of squares follow by expanding the square.
    """
    terms, steps = _calibration_steps(design)
    n, ncols = X.shape
    ncell = [int(codes.max()) + 1 for codes, _ in terms]
    C = [_indicator(codes, k) for (codes, _), k in zip(terms, ncell)]
    H, K = {}, {}
    b = [sparse.csr_matrix((k, ncols)) for k in ncell]
    for t, h, den in steps:
        if t not in H:
            H[t] = (C[t].T @ _scale_rows(X, h)).tocsr()
            for u, (_, g_u) in enumerate(terms):
                K[t, u] = (C[t].T @ _scale_rows(C[u], h * g_u)).tocsr()
        acc = H[t]
        for u in range(len(terms)):
            if b[u].nnz:
                acc = acc - K[t, u] @ b[u]
        inv = np.zeros(ncell[t])
        inv[: len(den)] = np.where(den > 0, 1.0 / np.where(den > 0, den, 1.0), 0.0)
        b[t] = (b[t] + _scale_rows(acc, inv)).tocsr()
    psu = design.psu
    n_psus = len(design.psu_labels)
    P = _indicator(psu, n_psus)
    S1 = P.T @ X
    for (codes, g), Ct, bt in zip(terms, C, b):
        S1 = S1 - (P.T @ _scale_rows(Ct, g)) @ bt
    S1 = S1.tocsr()
    S2 = None
    if design.two_stage:
        Xc = X.tocoo()
        S2 = P.T @ X.multiply(X)
        for (codes, g), bt in zip(terms, b):
            val = Xc.data * g[Xc.row] * _lookup(bt, codes[Xc.row], Xc.col)
            S2 = S2 - 2 * sparse.csr_matrix((val, (psu[Xc.row], Xc.col)), shape=(n_psus, ncols))
        for (codes_t, g_t), bt in zip(terms, b):
            for (codes_u, g_u), bu in zip(terms, b):
                pair, uniq = pd.factorize(codes_t.astype(np.int64) * (int(codes_u.max()) + 1) + codes_u)
                Q = sparse.csr_matrix((g_t * g_u, (psu, pair)), shape=(n_psus, len(uniq)))
                ct, cu = uniq // (int(codes_u.max()) + 1), uniq % (int(codes_u.max()) + 1)
                E = bt[ct].multiply(bu[cu])
                S2 = S2 + Q @ E
        S2 = S2.tocsr()
    # entries (PSU, domain) x variable from the sparse PSU x (domain, variable) matrices
    parts = [S1.tocoo()] + ([S2.tocoo()] if S2 is not None else [])
    rows = np.concatenate([p.row for p in parts])
    cols = np.concatenate([p.col for p in parts])
    d, j = cols // m, cols % m
    key = rows.astype(np.int64) * n_domains + d
    g_e, uniq = pd.factorize(key, sort=True)
    z = np.zeros((len(uniq), m))
    s1 = parts[0]
    np.add.at(z, (g_e[: s1.nnz], j[: s1.nnz]), s1.data)
    psu_e = (uniq // n_domains).astype(np.int64)
    dom_e = (uniq % n_domains).astype(np.int64)
    stratum_e = design.psu_stratum[psu_e]
    stage2 = None
    if S2 is not None:
        ss_raw = np.zeros_like(z)
        np.add.at(ss_raw, (g_e[s1.nnz:], j[s1.nnz:]), parts[1].data)
        m_e = design.n_ssu[psu_e].astype(float)[:, None]
        stage2 = (ss_raw - z ** 2 / m_e, ss_raw)
    return _variance(z, np.ones_like(z, dtype=bool), stratum_e, psu_e, dom_e, None, design, n_domains,
                     stage2=stage2)
