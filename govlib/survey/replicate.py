"""Replicate-weight variance: jackknife (JK1, JKn), BRR with Fay's factor, bootstrap -- as R ``survey``.

:func:`as_replicate_design` turns a :class:`~govlib.survey.design.SurveyDesign` into replicate weights as
``survey::as.svrepdesign``; :func:`replicate_design` takes replicate weights supplied with the data, as
``svrepdesign``; :func:`replicate_estimate` gives means, totals, proportions and ratios by domain with their
replicate SEs (``svyby(~y, ~d, repdesign, svymean)``); :func:`replicate_poststratify` and :func:`replicate_rake`
calibrate the full-sample and every replicate weight (R's ``postStratify``/``rake`` of a ``svyrep.design``).

Representation (vectorised, and small for big surveys): replicate weight ``r`` of row ``i`` is
``base[i] * prod_k M_k[index_k[i], r]`` -- one factor matrix per level (PSU multipliers for a design, the whole
supplied matrix for ``svrepdesign``, cell adjustments per calibration step). Estimation groups rows by all the
indices and the domain once, sums ``base * y`` per group, and multiplies the (groups x replicates) factors: the
(rows x replicates) matrix is never formed unless it was supplied.

Conventions (R ``survey`` 4.1-1; tested against it in ``tests/test_replicate.py``):

- JK1 (unstratified): replicate j drops PSU j and multiplies the others by n/(n-1); ``scale = (1 - f) (n-1)/n``.
- JKn (stratified): one replicate per PSU; within the PSU's stratum h, drop it and multiply the rest by
  n_h/(n_h-1); ``rscales_j = (1 - f_h) (n_h-1)/n_h``; lonely PSUs as R's ``survey.lonely.psu`` (``"fail"``,
  ``"remove"``/``"certainty"``: no replicate, ``"average"``: scale n_PSU/n_replicates; ``"adjust"`` is not
  implemented and raises).
- BRR / Fay: two PSUs per stratum; replicate r multiplies the PSU chosen by the Hadamard matrix (Sylvester
  order, columns 2..H+1: full orthogonal balance) by ``2 - rho`` and the other by ``rho``;
  ``scale = 1 / (R (1 - rho)^2)``. The fpc is dropped (as R, with a note in ``notes``). A different Hadamard
  matrix than R's gives the same variance of totals (full balance), not of nonlinear statistics: for R's exact
  replicates, supply its weights (``replicate_design``).
- bootstrap (R's ``bootweights``): per stratum, n_h PSUs drawn with replacement (multiplier = times drawn); with
  an fpc, n_h drawn without replacement from the sample PSUs repeated cyclically to the population size N_h;
  ``scale = nbar / ((nbar - 1)(R - 1))`` with nbar the harmonic mean of PSUs per stratum. NumPy's generator is
  used (``seed``): for R's exact replicates, supply them.
- Variance ``scale * sum_r rscales_r (theta_r - c)^2`` with ``c`` the mean of the replicates (``mse=False``,
  R's default ``survey.replicates.mse``) or the full-sample estimate (``mse=True``).
- ``ci="normal"`` (R's ``confint`` default) or ``"t"`` with df = rank of the replicate weights - 1 (R's
  ``degf``). Missing values leave the variable's domain (R ``na.rm=TRUE``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

from ..errors import InputError
from .calibrate import cell_codes
from .design import (SurveyDesign, category_indicators, column_list, design_column, design_columns,
                     design_fingerprint, domain_codes, show_values)
from .estimate import estimate_table, numeric_columns

__all__ = ["ReplicateDesign", "as_replicate_design", "replicate_design", "replicate_estimate",
           "replicate_poststratify", "replicate_rake", "REPLICATE_TYPES", "hadamard"]

REPLICATE_TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "other")


@dataclass(frozen=True)
class ReplicateDesign:
    """Full-sample weights and replicate weights (in factored form), with the variance constants.

    ``base`` (n,), ``factors``: tuple of ``(index (n,), matrix (levels, R))``; replicate weight
    ``w_ir = base_i * prod_k matrix_k[index_k[i], r]``. ``weight`` (n,) is the full-sample weight.
    """

    weight: np.ndarray
    base: np.ndarray
    factors: tuple
    type: str
    scale: float
    rscales: np.ndarray
    fay_rho: float = 0.0
    mse: bool = False
    notes: tuple = ()
    n_rows: int = 0
    fingerprint: str = ""
    names: dict = field(default_factory=dict)

    @property
    def n_replicates(self) -> int:
        return int(self.rscales.shape[0])

    def replicate_weights(self) -> np.ndarray:
        """The (rows x replicates) matrix of replicate weights (R ``weights(design, "analysis")``)."""
        out = np.repeat(self.base[:, None], self.n_replicates, axis=1)
        for index, matrix in self.factors:
            out *= matrix[index]
        return out

    @property
    def degf(self) -> int:
        """R's ``degf``: rank of the replicate weights minus 1."""
        return int(np.linalg.matrix_rank(self.replicate_weights(), tol=1e-5)) - 1

    def to_frame(self) -> pd.DataFrame:
        """The full-sample weight and one column per replicate weight (``weight``, ``rep_1`` ... ``rep_R``)."""
        reps = self.replicate_weights()
        frame = pd.DataFrame(reps, columns=[f"rep_{r + 1}" for r in range(reps.shape[1])])
        frame.insert(0, "weight", self.weight)
        return frame


def hadamard(order: int) -> np.ndarray:
    """A Sylvester Hadamard matrix of the smallest power-of-two order >= ``order`` (entries +1/-1).

    Examples
    --------
    >>> h = hadamard(3)
    >>> h.shape, bool((h @ h.T == 4 * np.eye(4)).all())
    ((4, 4), True)
    """
    h = np.ones((1, 1))
    while h.shape[0] < order:
        h = np.block([[h, h], [h, -h]])
    return h


def _check_type(type: str) -> None:
    if type not in REPLICATE_TYPES:
        raise InputError(f"type={type!r}: expected one of {', '.join(REPLICATE_TYPES)}")


def as_replicate_design(design: SurveyDesign, type: str = "auto", *, fay_rho: float = 0.0, replicates: int = 50,
                        seed=None, mse: bool = False) -> ReplicateDesign:
    """Replicate weights from a design, as R ``as.svrepdesign(design, type=, fay.rho=, replicates=)``.

    Parameters
    ----------
    design : from :func:`~govlib.survey.design.make_design` (uncalibrated: calibrate the replicate design).
    type : ``"auto"`` (JK1 without strata, else JKn, as R), ``"JK1"``, ``"JKn"``, ``"BRR"``, ``"Fay"``,
        ``"bootstrap"``.
    fay_rho : Fay's factor for ``"Fay"`` (0 < rho < 1); ``"BRR"`` is rho = 0.
    replicates : number of bootstrap replicates.
    seed : seed of the bootstrap draws.
    mse : centre the variance at the full-sample estimate (True) or the replicates' mean (False, R's default).

    Returns
    -------
    ReplicateDesign

    Examples
    --------
    >>> from govlib.survey.design import make_design
    >>> df = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 2.0, 3.0, 6.0]})
    >>> r = as_replicate_design(make_design(df, clusters="c"), "JK1")
    >>> r.n_replicates, round(r.scale, 4)
    (3, 0.6667)
    """
    if type == "auto":
        type = "JK1" if design.n_strata == 1 else "JKn"
    _check_type(type)
    if type == "other":
        raise InputError("type='other' is for supplied replicate weights (replicate_design)")
    if design.calibration:
        raise InputError("as_replicate_design needs the uncalibrated design: make the replicate design first, "
                         "then replicate_poststratify / replicate_rake it (so every replicate is calibrated)")
    if design.two_stage:
        notes = ("fpc after the first stage dropped (as R)",)
    else:
        notes = ()
    P = design.psu_stratum.shape[0]
    H = design.n_strata
    n_h = design.n_psu.astype(float)
    f_h = design.fraction1 if design.has_fpc else np.zeros(H)
    rscales = None
    scale = 1.0
    rho = 0.0
    if type == "JK1":
        if H > 1:
            raise InputError("type='JK1' is for an unstratified design (R: \"Can't use JK1 for a stratified "
                             "design\"); use 'JKn'")
        n = float(P)
        if n < 2:
            raise InputError("JK1 needs at least 2 PSUs")
        M = np.full((P, P), n / (n - 1))
        np.fill_diagonal(M, 0.0)
        scale = (1 - f_h[0]) * (n - 1) / n
        rscales = np.ones(P)
    elif type == "JKn":
        if H == 1:
            raise InputError("type='JKn' is for a stratified design (R: \"Must use JK1 or bootstrap for an "
                             "unstratified design\")")
        h_of = design.psu_stratum
        lonely = n_h[h_of] == 1
        census = f_h[h_of] >= 1 - 1e-12
        if lonely.any() and design.lonely_psu == "adjust":
            raise InputError("lonely_psu='adjust' is not implemented for replicate weights; use 'remove', "
                             "'certainty' or 'average'")
        keep = ~lonely | census  # R: a census stratum of one PSU gets its (zero-scaled) replicate
        cols = np.flatnonzero(keep)
        M = np.ones((P, cols.size))
        same = h_of[:, None] == h_of[cols][None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            grow = np.where(n_h > 1, n_h / (n_h - 1), 1.0)
        M = np.where(same, grow[h_of][:, None], 1.0)
        M[cols, np.arange(cols.size)] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            rscales = np.where(n_h[h_of[cols]] > 1, (1 - f_h[h_of[cols]]) * (n_h[h_of[cols]] - 1) / n_h[h_of[cols]],
                               0.0)
        if cols.size < P and design.lonely_psu == "average":
            scale = P / cols.size
    elif type in ("BRR", "Fay"):
        if H == 1:
            raise InputError(f"type={type!r} needs strata with two PSUs each")
        if (n_h != 2).any():
            bad = design.stratum_labels[n_h != 2]
            raise InputError(f"type={type!r} needs exactly two PSUs per stratum; strata {show_values(bad)} have "
                             f"{show_values(n_h[n_h != 2].astype(int))}")
        rho = float(fay_rho)
        if type == "BRR" and rho != 0:
            raise InputError("type='BRR' has fay_rho=0; use type='Fay' for 0 < fay_rho < 1")
        if type == "Fay" and not 0 < rho < 1:
            raise InputError(f"type='Fay' needs 0 < fay_rho < 1, got {fay_rho}")
        had = hadamard(H + 1)[:, 1:H + 1]  # rows = replicates, column h = stratum h (skip the constant column)
        R = had.shape[0]
        first = np.zeros(P, dtype=bool)
        order = np.lexsort((np.arange(P), design.psu_stratum))
        firsts = order[::2]  # PSUs are sorted within strata: the first of each pair
        first[firsts] = True
        sign = had[:, design.psu_stratum].T  # (P, R)
        chosen = np.where(first[:, None], sign > 0, sign < 0)
        M = np.where(chosen, 2.0 - rho, rho)
        scale = 1.0 / (R * (1 - rho) ** 2)
        rscales = np.ones(R)
        if design.has_fpc:
            notes = notes + ("finite population correction dropped (BRR/Fay, as R)",)
    else:  # bootstrap
        if int(replicates) < 2:
            raise InputError(f"replicates={replicates}: the bootstrap needs at least 2 replicates")
        gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        R = int(replicates)
        M = np.zeros((P, R))
        pop = np.rint(n_h / design.fraction1).astype(np.int64) if design.has_fpc else None
        for h in range(H):  # loop over strata only; the draws of all replicates at once
            members = np.flatnonzero(design.psu_stratum == h)
            m = members.size
            if pop is None:
                draws = gen.integers(0, m, size=(R, m))  # with replacement
            else:
                # R's bootstratum with popsize: m draws without replacement from the sample PSUs repeated
                # cyclically to the population size N_h (rep(psu, length = N_h))
                N = int(pop[h])
                if N * R <= 5_000_000:
                    draws = np.argsort(gen.random((R, N)), axis=1)[:, :m] % m
                else:  # a large population: sample positions one replicate at a time (O(m) memory each)
                    draws = np.stack([gen.choice(N, m, replace=False) for _ in range(R)]) % m
            counts = np.zeros((R, m))
            np.add.at(counts, (np.broadcast_to(np.arange(R)[:, None], draws.shape), draws), 1.0)
            M[members] = counts.T
        nbar = 1.0 / np.mean(1.0 / n_h)
        scale = nbar / ((nbar - 1) * (R - 1))
        rscales = np.ones(R)
    return ReplicateDesign(weight=design.weight.copy(), base=design.weight.copy(), factors=((design.psu, M),),
                           type=type, scale=float(scale), rscales=np.asarray(rscales, float), fay_rho=rho,
                           mse=bool(mse), notes=notes, n_rows=design.n_rows, fingerprint=design.fingerprint,
                           names=dict(design.names))


def replicate_design(data: pd.DataFrame, repweights: str | Sequence[str], *, weight: str | None = None,
                     type: str = "other", combined_weights: bool = True, scale: float | None = None,
                     rscales: Sequence[float] | float | None = None, fay_rho: float | None = None,
                     mse: bool = False) -> ReplicateDesign:
    """A design from replicate weights supplied with the data, as R ``svrepdesign``.

    Parameters
    ----------
    data : the rows.
    repweights : the replicate-weight columns (a list, or a comma-separated string, or a prefix ending in ``*``
        such as ``"repw*"``).
    weight : the full-sample weight column (default: 1, as R with a warning).
    type : ``"BRR"`` (scale 1/R), ``"Fay"`` (needs ``fay_rho``; scale 1/(R(1-rho)^2)), ``"JK1"`` (scale
        (R-1)/R unless given), ``"JKn"`` (needs ``rscales``), ``"bootstrap"`` (scale 1/(R-1)), ``"other"``
        (needs ``scale``).
    combined_weights : the columns are the replicate weights themselves (True, R's default) or multipliers of
        the full-sample weight (False).
    scale, rscales : the variance constants (R's ``scale``, ``rscales``); defaults as R by type.

    Examples
    --------
    >>> df = pd.DataFrame({"w": [2.0, 2.0], "r1": [4.0, 0.0], "r2": [0.0, 4.0], "y": [1.0, 3.0]})
    >>> rd = replicate_design(df, ["r1", "r2"], weight="w", type="BRR")
    >>> round(float(replicate_estimate(rd, df, "y", stat="total")["se"].iloc[0]), 6)
    4.0
    """
    _check_type(type)
    if isinstance(repweights, str) and repweights.endswith("*"):
        cols = [c for c in data.columns if str(c).startswith(repweights[:-1])]
    else:
        cols = column_list(repweights)
    if not cols:
        raise InputError(f"repweights={repweights!r}: no replicate-weight columns")
    mats = []
    for c in cols:
        s = design_column(data, c, "replicate weight")
        v = pd.to_numeric(s, errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(v) | (v < 0))
        if bad.size:
            raise InputError(f"replicate weight column '{c}' must be numbers >= 0; found "
                             f"{show_values(s.to_numpy()[bad])} (rows {show_values(bad[:8] + 2)})")
        mats.append(v)
    M = np.column_stack(mats)
    R = M.shape[1]
    n = len(data)
    if weight is not None:
        w = pd.to_numeric(design_column(data, weight, "weight"), errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~(w > 0) | ~np.isfinite(w))
        if bad.size:
            raise InputError(f"weight column '{weight}' must be positive and finite (rows {show_values(bad[:8] + 2)})")
    else:
        w = np.ones(n)
    rho = 0.0
    rs = None
    if type == "BRR":
        sc = 1.0 / R
    elif type == "Fay":
        if fay_rho is None or not 0 < fay_rho < 1:
            raise InputError(f"type='Fay' needs fay_rho in (0, 1), got {fay_rho}")
        rho = float(fay_rho)
        sc = 1.0 / (R * (1 - rho) ** 2)
    elif type == "bootstrap":
        sc = 1.0 / (R - 1) if scale is None else float(scale)
    elif type == "JK1":
        sc = (R - 1) / R if scale is None else float(scale)
    elif type == "JKn":
        if rscales is None:
            raise InputError("type='JKn' needs rscales ((n_h - 1)/n_h of each replicate's stratum)")
        sc = 1.0 if scale is None else float(scale)
    else:
        if scale is None:
            raise InputError("type='other' needs scale (and optionally rscales)")
        sc = float(scale)
    if rscales is not None:
        rs = np.broadcast_to(np.asarray(rscales, float), (R,)).copy() if np.ndim(rscales) == 0 or \
            len(np.atleast_1d(rscales)) in (1, R) else None
        if rs is None:
            raise InputError(f"rscales has {len(rscales)} values; expected 1 or {R} (one per replicate)")
    else:
        rs = np.ones(R)
    base = np.ones(n) if combined_weights else w.copy()
    return ReplicateDesign(weight=w, base=base, factors=((np.arange(n), M),), type=type, scale=float(sc),
                           rscales=rs, fay_rho=rho, mse=bool(mse), n_rows=n,
                           names={"weight": weight, "repweights": cols})


# ----------------------------------------------------------------------------------------------- estimation
def _group_factors(rd: ReplicateDesign, dom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group code per row (all factor indices x domain), each group's domain, and its (groups x R) factor."""
    keys = [idx for idx, _ in rd.factors] + [dom]
    if len(keys) == 1:
        group, uniq = pd.factorize(keys[0])
    else:
        group, uniq = pd.factorize(pd.MultiIndex.from_arrays(keys))
    G = len(uniq)
    first = np.full(G, -1, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]  # a representative row of each group
    factor = np.ones((G, rd.n_replicates))
    for idx, matrix in rd.factors:
        factor *= matrix[idx[first]]
    return group, dom[first], factor


def replicate_estimate(rd: ReplicateDesign, data: pd.DataFrame, variables: str | Sequence[str], *,
                       by: str | Sequence[str] | None = None, stat: str = "mean",
                       denominator: str | Sequence[str] | None = None, level: float = 0.95, ci: str = "normal",
                       empty: str = "error") -> pd.DataFrame:
    """Domain estimates with replicate SEs, R ``svyby(~y, ~by, repdesign, svymean/svytotal/svyratio)``.

    Parameters are those of :func:`govlib.survey.estimate.estimate` (``stat``: ``"mean"``, ``"total"``,
    ``"prop"``, ``"ratio"`` with ``denominator``); ``ci`` defaults to ``"normal"`` (R's ``confint``).

    Returns
    -------
    DataFrame: the ``by`` columns, ``variable``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``,
    ``n_eff`` (= n), ``deff`` (NaN), ``cv``.

    Examples
    --------
    >>> from govlib.survey.design import make_design
    >>> df = pd.DataFrame({"c": [1, 1, 2, 3], "y": [1.0, 2.0, 3.0, 6.0]})
    >>> r = replicate_estimate(as_replicate_design(make_design(df, clusters="c"), "JK1"), df, "y")
    >>> round(float(r["estimate"].iloc[0]), 4), round(float(r["se"].iloc[0]), 4)
    (3.0, 1.453)
    """
    if stat not in ("mean", "total", "prop", "ratio"):
        raise InputError(f"stat={stat!r}: expected one of mean, total, prop, ratio")
    if ci not in ("t", "normal"):
        raise InputError(f"ci={ci!r}: expected 't' or 'normal'")
    if not 0 < level < 1:
        raise InputError(f"level={level}: expected a confidence level between 0 and 1")
    if empty not in ("error", "nan"):
        raise InputError(f"empty={empty!r}: expected 'error' or 'nan'")
    if len(data) != rd.n_rows:
        raise InputError(f"data have {len(data)} rows but the replicate design was built on {rd.n_rows}")
    if rd.fingerprint and all(c in data.columns for c in design_columns(rd.names)) \
            and design_fingerprint(data, rd.names) != rd.fingerprint:
        raise InputError("the data's design columns differ from those the replicate design was made from (rows "
                         "re-sorted, filtered or changed); estimate with the same data frame, or use by= domains")
    variables = column_list(variables)
    if not variables:
        raise InputError("no variables to estimate")
    by_cols = column_list(by)
    dom, labels = domain_codes(data, by_cols)
    D = len(labels)
    names = list(variables)
    if stat == "prop":
        values, names = category_indicators(data, variables)
        dens = None
    else:
        values = numeric_columns(data, variables)
        dens = None
        if stat == "ratio":
            den_names = column_list(denominator)
            if len(den_names) != len(variables):
                raise InputError(f"stat='ratio' needs one denominator per variable; got variables={variables}, "
                                 f"denominator={den_names}")
            dens = numeric_columns(data, den_names)
            names = [f"{v}/{d}" for v, d in zip(variables, den_names)]
    if len(rd.factors) == 1:
        # one factor level per row (PSU multipliers, or supplied weights): domain x level totals as a sparse
        # matrix, times the (levels x R) multipliers -- one sparse-dense product per statistic
        idx, M = rd.factors[0]
        L = M.shape[0]

        def totals(x):
            t = sparse.csr_matrix((rd.base * x, (dom, idx)), shape=(D, L))
            full = np.bincount(dom, weights=rd.weight * x, minlength=D)
            return full, np.asarray(t @ M)
    else:
        group, g_dom, factor = _group_factors(rd, dom)
        G = factor.shape[0]
        to_dom = sparse.csr_matrix((np.ones(G), (g_dom, np.arange(G))), shape=(D, G))

        def totals(x):
            """Full-sample (D,) and replicate (D, R) weighted totals of x (rows outside the domain carry 0)."""
            g = np.bincount(group, weights=rd.base * x, minlength=G)
            full = np.bincount(dom, weights=rd.weight * x, minlength=D)
            return full, np.asarray(to_dom @ (g[:, None] * factor))

    k = len(names)
    est = np.full((D, k), np.nan)
    se = np.full((D, k), np.nan)
    n_out = np.zeros((D, k))
    for j in range(k):
        y = values[j]
        valid = ~np.isnan(y)
        if dens is not None:
            valid &= ~np.isnan(dens[j])
        n_out[:, j] = np.bincount(dom, weights=valid, minlength=D)
        ty, ty_r = totals(np.where(valid, y, 0.0))
        if stat == "total":
            theta, theta_r = ty, ty_r
        else:
            den = np.where(valid, dens[j], 0.0) if dens is not None else valid.astype(float)
            tw, tw_r = totals(den)
            with np.errstate(divide="ignore", invalid="ignore"):
                theta, theta_r = ty / tw, ty_r / tw_r
        centre = theta[:, None] if rd.mse else _replicate_mean(theta_r, rd.rscales)
        var = rd.scale * np.nansum(rd.rscales[None, :] * (theta_r - centre) ** 2, axis=1)
        est[:, j] = theta
        se[:, j] = np.sqrt(var)
    df = float(rd.degf) if ci == "t" else np.inf
    q = stats.t.ppf(0.5 + level / 2, df) if ci == "t" else stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = se / np.abs(est)
    res = {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "df": df, "n": n_out,
           "n_eff": n_out.astype(float), "deff": np.full_like(est, np.nan), "cv": cv}
    return estimate_table(res, names, labels, by_cols, ci, empty)


def _replicate_mean(theta_r: np.ndarray, rscales: np.ndarray) -> np.ndarray:
    use = rscales > 0  # R: colMeans(thetas[rscales > 0, ])
    return theta_r[:, use].mean(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------- calibration
def _calibrate(rd: ReplicateDesign, cells: list[tuple[np.ndarray, np.ndarray]], passes: int, epsilon: float,
               what: str) -> ReplicateDesign:
    """Iterative proportional fitting of the full-sample and every replicate weight (one pass = post-strat)."""
    R = rd.n_replicates
    w = rd.weight.copy()
    factors = list(rd.factors)
    adjust = [np.ones((len(freq), R)) for _, freq in cells]
    full_adjust = [np.ones(len(freq)) for _, freq in cells]
    group, _, base_factor = _group_factors(rd, np.zeros(rd.n_rows, np.int64))
    converged = False
    for _ in range(passes):
        change = 0.0
        for m, (codes, freq) in enumerate(cells):
            # replicate weights now: base * base_factor[group] * prod_m adjust[m][codes_m]
            sums = _cell_rep_totals(rd, group, base_factor, cells, adjust, m)
            with np.errstate(divide="ignore", invalid="ignore"):
                # a cell with no weight in a replicate (its PSUs dropped) has nothing to adjust
                ratio = np.where(sums > 0, freq[:, None] / sums, 1.0)
            adjust[m] = adjust[m] * ratio
            full_sum = np.bincount(codes, weights=w, minlength=len(freq))
            r_full = freq / full_sum
            w = w * r_full[codes]
            full_adjust[m] = full_adjust[m] * r_full
            change = max(change, float(np.max(np.abs(r_full - 1.0))), float(np.nanmax(np.abs(ratio - 1.0))))
        if change < epsilon:
            converged = True
            break
    if passes > 1 and not converged:
        raise InputError(f"{what}: raking did not converge in {passes} passes (largest cell adjustment still "
                         f"{change:.3g} > epsilon={epsilon}); raise max_iter or check the margins agree")
    new_factors = tuple(factors) + tuple((codes, adj) for (codes, _), adj in zip(cells, adjust))
    return replace(rd, weight=w, factors=new_factors)


def _cell_rep_totals(rd, group, base_factor, cells, adjust, m):
    """Current replicate weighted counts per cell of margin m, (cells x R), without the (rows x R) matrix."""
    codes_m, freq_m = cells[m]
    keys = [group, codes_m] + [c for i, (c, _) in enumerate(cells) if i != m]
    g2, uniq = pd.factorize(pd.MultiIndex.from_arrays(keys))
    first = np.full(len(uniq), -1, dtype=np.int64)
    first[g2[::-1]] = np.arange(len(g2))[::-1]
    f = base_factor[group[first]].copy()
    for i, (c, _) in enumerate(cells):  # the adjustments so far, margin m's own included
        f *= adjust[i][c[first]]
    b = np.bincount(g2, weights=rd.base, minlength=len(uniq))
    out = np.zeros((len(freq_m), f.shape[1]))
    np.add.at(out, codes_m[first], b[:, None] * f)
    return out


def replicate_poststratify(rd: ReplicateDesign, data: pd.DataFrame, cells: str | Sequence[str],
                           population: pd.DataFrame) -> ReplicateDesign:
    """Post-stratify the full-sample and every replicate weight to population cell counts (R ``postStratify``
    of a ``svyrep.design``).

    Examples
    --------
    >>> from govlib.survey.design import make_design
    >>> df = pd.DataFrame({"c": [1, 2, 3, 4], "g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> rd = replicate_poststratify(as_replicate_design(make_design(df, clusters="c")), df, "g",
    ...                             pd.DataFrame({"g": ["a", "b"], "Freq": [30, 10]}))
    >>> float(rd.weight.sum()), rd.replicate_weights().sum(axis=0).round(6).tolist()
    (40.0, [40.0, 40.0, 40.0, 40.0])
    """
    codes, freq = cell_codes(data, cells, population, "poststratify")
    return _calibrate(rd, [(codes, freq)], 1, np.inf, "poststratify")


def replicate_rake(rd: ReplicateDesign, data: pd.DataFrame, margins: Sequence[str | Sequence[str]],
                   populations: Sequence[pd.DataFrame], *, epsilon: float = 1e-7,
                   max_iter: int = 50) -> ReplicateDesign:
    """Rake the full-sample and every replicate weight to population margins (iterative proportional fitting).

    Convergence: stop when no cell's adjustment factor differs from 1 by ``epsilon`` or more in a pass (for the
    full sample and every replicate); not converged within ``max_iter`` passes is an error.

    Examples
    --------
    >>> from govlib.survey.design import make_design
    >>> df = pd.DataFrame({"c": range(8), "a": list("xxyy") * 2, "b": list("uvuv") * 2})
    >>> rd = replicate_rake(as_replicate_design(make_design(df, clusters="c")), df, ["a", "b"],
    ...     [pd.DataFrame({"a": ["x", "y"], "Freq": [60, 40]}), pd.DataFrame({"b": ["u", "v"], "Freq": [50, 50]})])
    >>> np.round(rd.weight, 6).tolist()
    [15.0, 15.0, 10.0, 10.0, 15.0, 15.0, 10.0, 10.0]
    >>> bool(np.allclose(rd.replicate_weights().sum(axis=0), 100))
    True
    """
    if len(margins) != len(populations) or not margins:
        raise InputError(f"rake: give one population table per margin ({len(margins)} margins, "
                         f"{len(populations)} tables)")
    if not (epsilon > 0 and max_iter >= 1):
        raise InputError(f"rake: epsilon={epsilon} must be > 0 and max_iter={max_iter} >= 1")
    cells = [cell_codes(data, m, p, f"rake margin {m!r}") for m, p in zip(margins, populations)]
    return _calibrate(rd, cells, int(max_iter), float(epsilon), "rake")
