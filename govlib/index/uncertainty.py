"""Uncertainty and sensitivity analysis of a composite index: Monte Carlo over named choices (vectorised).

Each replication draws one value of every *factor* and recomputes the whole index from the treated data:

* ``normalisation``: one of ``normalisations`` (default min-max, z-score, percentile rank). In the Monte Carlo
  the z-score is the MPI standardisation ``100 + 10 z`` (``ddof`` of the index) so that every alternative is
  positive; framework per-indicator normalisation overrides are ignored here (the factor replaces them).
* ``aggregation``: one of ``aggregations`` (default arithmetic, geometric), applied at every aggregated node.
  Geometric and harmonic means replace values below ``epsilon`` (default 1 % of the scale width, e.g. 1 on
  0-100) by ``epsilon`` (the ``zero_rule="epsilon"`` of :mod:`govlib.index.aggregate`).
* ``imputation``: off or on (``imputations``, default ``("none", <the index's method or "mean">)``).
* ``leave_one_out``: no indicator or one scored indicator left out (its weight set to 0), equally likely.
* ``weights``: every node weight multiplied by an independent uniform factor in ``[1 - weight_noise,
  1 + weight_noise]`` (a *group* of inputs treated as one factor for the sensitivity indices).
* ``sampling`` (when some treated values carry a sampling SE, ``index.se``, e.g. the design-based SEs of the
  satisfaction indicators D6, and ``survey_error=True``): every such value is redrawn from its sampling
  distribution, ``value + se * z`` with independent standard normal ``z`` (the survey estimates of different
  街镇 come from independent samples), then normalised with the run's method, jointly with the other factors.
  The factor's levels are ``replications`` independent draws of the whole noise field (one level = one
  realisation of every survey estimate), so the Sobol indices treat sampling as one factor. The indices also
  report the group ``methodology`` (every other factor together), so ``S1``/``ST`` of ``sampling`` and
  ``methodology`` split the rank variance between survey noise and methodological choices; the rank table
  carries each unit's ``sampling_S1`` and ``sampling_ST`` (the share of that unit's rank variance due to survey
  noise alone, and with its interactions).

Design: Saltelli (2010) matrices A and B of ``replications`` rows each (from :func:`govlib.index.sensitivity.
saltelli_sample`), and for each factor (group) g the matrix A_B^g (A with g's columns from B): ``replications *
(5 + 2)`` index evaluations in all (``replications * (7 + 2)`` with sampling and the methodology group). Rank distributions (median, 5 % and 95 % quantiles) use the ``2 *
replications`` independent runs of A and B. First-order (Saltelli 2010) and total (Jansen 1999) indices come from
:func:`govlib.index.sensitivity.sobol_indices` for two outputs per period: the mean absolute rank shift of the ranked
units against the nominal ranks, and each unit's rank (``unit_rank``: indices averaged over units).

Vectorisation: normalised arrays are computed once per (imputation, normalisation) pair, and the runs are grouped
by (imputation, normalisation, aggregation) — a run's scores depend on its own design row only — so that within a
group every indicator without an SE is one ``(unit-periods,)`` column shared by all runs, and only the weights
(and the survey draws) vary: a chunk of runs is aggregated node by node with the children as separate arrays, the
weight side (coverage, total weight, shares) once per availability pattern of the children, the sums in numpy's own
order (the same numbers as ``aggregate_children`` on the stacked tensor, which the tests check). The survey draws
are normalised once per distinct (draw, imputation, normalisation): the A_B matrices of the other factors repeat A's.
Ranks in the Monte Carlo are ordinal (ties among continuous scores have probability zero); the nominal ranks are
the index's own.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .aggregate import AGGREGATION_METHODS
from ..errors import InputError
from .normalise import METHODS, NORMALISE_PARAMS, normalise, normalise_array
from .sensitivity import saltelli_sample, sobol_indices

__all__ = ["UncertaintyResult", "monte_carlo", "FACTORS"]

FACTORS = ("normalisation", "aggregation", "imputation", "leave_one_out", "weights")
#: With survey sampling error: the sampling factor and the group of all methodological factors.
SAMPLING_FACTORS = FACTORS + ("sampling", "methodology")


@dataclass
class UncertaintyResult:
    """Result of :func:`monte_carlo`.

    Attributes
    ----------
    ranks : ``unit, period, rank_nominal, rank_median, rank_p05, rank_p95, rank_mean, rank_min, rank_max,
        n_runs`` for ranked units (+ ``sampling_S1, sampling_ST`` when survey sampling error is a factor).
    sensitivity : ``period, output, factor, S1, ST``.
    indices : ``period, output, factor, S1, ST, S1_conf, ST_conf, evaluations`` (the ``sensitivity_indices``
        table: bootstrap 95 % half-widths for the scalar output ``mean_abs_rank_shift``).
    runs : rank array (2 N runs, unit-periods) of the A and B runs (NaN for unranked units).
    design : the factor levels of the A and B runs (one row per run).
    settings : the choices of the analysis.
    """

    ranks: pd.DataFrame
    sensitivity: pd.DataFrame
    runs: np.ndarray
    design: pd.DataFrame
    settings: dict = field(default_factory=dict)
    indices: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The tidy rank table (``ranks``): one row per ranked unit and period."""
        return self.ranks.copy()


def _node_plan(nodes: pd.DataFrame, scored: list[str]):
    """Bottom-up list of (node, child codes) over the scored part of the tree, and the root code."""
    n = nodes[~nodes["is_leaf"] | nodes["code"].isin(scored)]
    plan = []
    for lvl in sorted(n.loc[~n["is_leaf"], "level"].unique(), reverse=True):
        for code in n.loc[(n["level"] == lvl) & ~n["is_leaf"], "code"]:
            kids = n.loc[n["parent"] == code, "code"].tolist()
            if kids:
                plan.append((code, kids))
    root = n.loc[n["parent"].isna(), "code"].iloc[0]
    return plan, root


def _ordinal_ranks(scores: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) along axis 1 (units) of ``scores`` (runs, units, periods) among ``ranked`` units.

    NaN scores and unranked units get NaN.
    """
    s = np.where(ranked[None, :, None] & ~np.isnan(scores), scores, -np.inf)
    s = np.ascontiguousarray(s.transpose(0, 2, 1))  # (runs, periods, units): sorts along contiguous rows
    order = np.argsort(-s, axis=2, kind="stable")
    r = np.argsort(order, axis=2, kind="stable").astype(float) + 1
    return np.where(np.isinf(s), np.nan, r).transpose(0, 2, 1)


def _col_values(fw: pd.DataFrame, name: str, default) -> np.ndarray:
    """A framework column's values (or the default for every row when the framework has no such column)."""
    if name in fw:
        return fw[name].to_numpy()
    return np.full(len(fw), default, dtype=object if isinstance(default, str) else float)


def _ordered_sum(parts: list) -> np.ndarray:
    """``np.stack(parts, axis=-1).sum(axis=-1)`` without the stack, in numpy's own order of summation over a
    short last axis (sequential below 8 terms, 8 pairwise accumulators from 8 terms on, halves above 128), so
    that a node's children can be kept as separate arrays and the sums still agree bit for bit."""
    n = len(parts)
    if n < 8:
        s = parts[0]
        for p in parts[1:]:
            s = s + p
        return s
    if n > 128:
        half = n // 2
        half -= half % 8
        return _ordered_sum(parts[:half]) + _ordered_sum(parts[half:])
    acc = list(parts[:8])
    for i in range(8, n - n % 8, 8):
        acc = [acc[m] + parts[i + m] for m in range(8)]
    s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
    for p in parts[n - n % 8:]:
        s = s + p
    return s


def _node_weights(applicable: list, available: list, weights: list, nominal: list):
    """The weight side of one Monte Carlo node (see :func:`_aggregate_split`): coverage, the total available
    weight, each child's share of it and where the node applies, on the shape the masks and weights broadcast to."""
    cw, wav, we, node_app = [], [], [], None
    for a, avail, w, wn in zip(applicable, available, weights, nominal):
        w, wn = w[:, None], wn[:, None]
        pos = w > 0
        cw.append(np.where(a & pos, wn, 0.0))
        wav.append(np.where(avail & pos, wn, 0.0))
        we.append(np.where(avail, w, 0.0))
        app_k = a & (wn > 0)
        node_app = app_k if node_app is None else node_app | app_k
    wapp, wav_sum, tot = _ordered_sum(cw), _ordered_sum(wav), _ordered_sum(we)
    with np.errstate(all="ignore"):
        coverage = np.where(wapp > 0, wav_sum / wapp, 0.0)
        share = [e / tot for e in we]
    return coverage, tot, share, node_app


def _term(x, avail, share, transform, combine, neutral: float = 0.0) -> np.ndarray:
    """A child's term of a weighted mean: ``np.where(share > 0, combine(share, transform(x)), 0)`` (``combine``
    multiply: share * t; divide: share / t). For a child shared by all runs whose transformed values are finite
    where available, the unavailable places are set to ``neutral`` once instead, so ``combine`` alone gives 0 where
    the share is 0 (and NaN where the node has no weight at all, which the caller masks): the same numbers (up to
    the sign of a zero term), three fewer passes over (runs, unit-periods)."""
    t = transform(x)
    if np.ndim(t) == 1 and np.ndim(avail) == 1 and np.isfinite(t[avail]).all():
        return combine(share, np.where(avail, t, neutral))
    return np.where(share > 0, combine(share, t), 0.0)


def _aggregate_split(values: list, applicable: list, available: list, weights: list, nominal: list, method: str,
                     threshold: float, eps: float, patterns: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One node of the Monte Carlo: :func:`govlib.index.aggregate.aggregate_children` (``zero_rule="epsilon"``,
    coverage on the nominal weights) with the children as separate arrays — values, applicability and availability
    (applicable and not NaN) each ``(n,)`` (shared by all runs) or ``(R, n)`` — and one weight per run and child
    (``(R,)``). The same operations in the same order as ``aggregate_children``, so the same numbers.

    When every child's masks are shared by all runs, the weight side is computed once per distinct mask pattern
    (a handful among the unit-periods) and gathered (``patterns`` caches them by mask). Returns the node's scores
    and where it applies, ``(R, n)``."""
    R = len(weights[0])
    if all(np.ndim(a) == 1 for a in applicable) and all(np.ndim(a) == 1 for a in available):
        masks = np.column_stack(list(applicable) + list(available))
        key = (masks.shape, masks.tobytes())
        found = patterns.get(key) if patterns is not None else None
        if found is None:
            found = np.unique(masks, axis=0, return_inverse=True)
            if patterns is not None:
                patterns[key] = found
        pattern, inv = found
        inv, c = inv.ravel(), len(values)
        coverage, tot, share, node_app = _node_weights(list(pattern[:, :c].T), list(pattern[:, c:].T), weights,
                                                       nominal)
        coverage, tot, node_app = coverage[:, inv], tot[:, inv], np.broadcast_to(node_app, (R, len(pattern)))[:, inv]
        share = [q[:, inv] for q in share]
    else:
        coverage, tot, share, node_app = _node_weights(applicable, available, weights, nominal)
    with np.errstate(all="ignore"):
        if method == "arithmetic":
            s = _ordered_sum([_term(x, avail, qq, lambda v: v, np.multiply)
                              for x, avail, qq in zip(values, available, share)])
        elif method == "geometric":
            s = np.exp(_ordered_sum([_term(x, avail, qq, lambda v: np.log(np.where(v <= 0, eps, v)), np.multiply)
                                     for x, avail, qq in zip(values, available, share)]))
        elif method == "harmonic":
            s = 1.0 / _ordered_sum([_term(x, avail, qq, lambda v: np.where(v <= 0, eps, v), np.divide, 1.0)
                                    for x, avail, qq in zip(values, available, share)])
        else:  # mpi
            vz = [np.where(qq > 0, x, 0.0) for x, qq in zip(values, share)]
            m = _ordered_sum([qq * v for v, qq in zip(vz, share)])
            var = _ordered_sum([qq * (v - m) ** 2 for v, qq in zip(vz, share)])
            s = m - var / m
    s = np.where(tot > 0, s, np.nan)
    s = np.where(coverage + 1e-12 >= threshold, s, np.nan)
    return s, np.broadcast_to(node_app, s.shape)


def monte_carlo(index, *, replications: int = 1000, seed: int | None = 0,
                normalisations: tuple[str, ...] = ("minmax", "zscore", "percentile_rank"),
                aggregations: tuple[str, ...] = ("arithmetic", "geometric"),
                imputations: tuple[str, ...] | None = None, leave_one_out: bool = True,
                weight_noise: float = 0.25, epsilon: float | None = None, sampling: str = "sobol",
                chunk: int = 256, survey_error: bool = True, n_bootstrap: int = 200) -> UncertaintyResult:
    """Monte Carlo uncertainty and variance-based sensitivity of a :class:`govlib.index.composite.CompositeIndex`'s ranks.

    Parameters
    ----------
    index : the nominal index (its treated data, framework, weights and choices).
    replications : base sample size N of the Saltelli design (N (k + 2) index evaluations, k = 5 factors).
    seed : seed of the design (results are reproducible).
    normalisations, aggregations, imputations : the alternatives of each choice (equally likely).
    leave_one_out : include the "one indicator left out" factor.
    weight_noise : half-width of the multiplicative uniform weight perturbation (0 = weights fixed).
    epsilon : floor for geometric/harmonic means (default 1 % of the scale width).
    chunk : replications per tensor chunk (memory ~ chunk x unit-periods x indicators x 8 bytes x a few).
    survey_error : draw values that carry a sampling SE (``index.se``) from their sampling distribution in each
        run (the ``sampling`` factor); ignored when no value has an SE.
    n_bootstrap : bootstrap resamples for the confidence half-widths of the scalar output's indices.

    Examples
    --------
    >>> from govlib.index.composite import CompositeIndex
    >>> rng = np.random.default_rng(1)
    >>> fw = pd.DataFrame({"code": ["I", "a", "b", "c"], "parent": [None, "I", "I", "I"]})
    >>> obs = pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(6)], 3), "period": "2024",
    ...                     "indicator": ["a", "b", "c"] * 6, "value": rng.random(18)})
    >>> res = monte_carlo(CompositeIndex(obs, fw), replications=64, seed=1)
    >>> sorted(res.ranks.columns)[:4], res.runs.shape
    (['n_runs', 'period', 'rank_max', 'rank_mean'], (128, 6))
    """
    if not isinstance(replications, (int, np.integer)) or replications < 2:
        raise InputError(f"replications: expected an integer >= 2, got {replications!r}")
    bad = [m for m in normalisations if m not in METHODS or m in ("distance_to_reference", "rank")]
    if bad or not normalisations:
        raise InputError(f"normalisations: {bad or 'none given'}; expected some of minmax, zscore, goalposts, "
                         "distance_to_target, percentile_rank, fraction_of_max, ampi")
    bad = [a for a in aggregations if a not in AGGREGATION_METHODS or a == "generalised"]
    if bad or not aggregations:
        raise InputError(f"aggregations: {bad or 'none given'}; expected some of arithmetic, geometric, harmonic, mpi")
    if not 0 <= weight_noise < 1:
        raise InputError(f"weight_noise: expected a half-width in [0, 1), got {weight_noise}")
    c = index.choices
    if imputations is None:
        imputations = ("none", c["imputation"] if c["imputation"] != "none" else "mean")
    lo, hi = index.scale
    eps = float(epsilon) if epsilon is not None else 0.01 * (hi - lo)
    scored = list(index.scored)
    grid = index.stages["raw"].index
    units = grid.get_level_values("unit").unique().tolist()
    periods = list(index.periods)
    n_rows, k = len(grid), len(scored)
    # Normalised arrays once per (imputation, normalisation).
    fw = index.nodes.set_index("code").loc[scored].reset_index()
    fw["normalisation"] = ""
    groups = None if c["pooled"] else np.asarray(grid.get_level_values("period"))
    ampi_ref = np.asarray(grid.get_level_values("period") == str(c["base_period"] or periods[0]))
    stack = np.empty((len(imputations), len(normalisations), n_rows, k))
    norm_kw = dict(scale=index.scale, ddof=int(c["ddof"]), ties=c["ties"], percentile=c["percentile"],
                   groups=groups, ampi_reference_rows=ampi_ref)
    se_all = getattr(index, "se", None)
    se_all = se_all.reindex(grid)[scored].to_numpy(float) if se_all is not None else np.full((n_rows, k), np.nan)
    se_cols = np.flatnonzero(np.isfinite(se_all).any(axis=0)) if survey_error else np.array([], int)
    with_sampling = len(se_cols) > 0
    treated_se = np.empty((len(imputations), n_rows, len(se_cols)))
    for i, imp in enumerate(imputations):
        treated = index.treated_with(imp)
        treated = treated.reindex(grid)[scored]
        treated_se[i] = treated.to_numpy(float)[:, se_cols]
        for j, m in enumerate(normalisations):
            x = normalise(treated, fw, method=m, **norm_kw).to_numpy(float)
            stack[i, j] = 100 + 10 * x if m == "zscore" else x
    # Tree, weights, applicability.
    plan, root = _node_plan(index.nodes, scored)
    w_nom = index.nodes.set_index("code")["weight"].astype(float)
    weighted = [code for code in index.nodes["code"] if code != root and (code in scored or
                                                                          any(code == p for p, _ in plan))]
    app = index.applicable.reindex(grid)[scored].fillna(True).to_numpy(bool)
    ranked_units = index.units.set_index("code")["ranked"].reindex(units).fillna(True).to_numpy(bool)
    # Design: 4 discrete factors + one continuous column per weighted node (the "weights" group).
    n_w = len(weighted)
    levels = [len(normalisations), len(aggregations), len(imputations), (k + 1) if leave_one_out else 1] + [None] * n_w
    groups_cols = [[0], [1], [2], [3], list(range(4, 4 + n_w))]
    factor_names = FACTORS
    if with_sampling:
        # One discrete factor: which of `replications` independent realisations of the survey noise field.
        levels = levels + [int(replications)]
        noise = np.random.default_rng(None if seed is None else [int(seed), 16]).standard_normal(
            (int(replications), n_rows, len(se_cols)))
        se_use = np.nan_to_num(se_all[:, se_cols], nan=0.0)
        groups_cols = groups_cols + [[4 + n_w], list(range(4 + n_w))]
        factor_names = SAMPLING_FACTORS
    design = saltelli_sample(levels, int(replications), seed=seed, sampling=sampling)
    A, B = design.A, design.B
    AB = []
    for cols in groups_cols:
        m_ = A.copy()
        m_[:, cols] = B[:, cols]
        AB.append(m_)
    rows = np.concatenate([A, B] + AB, axis=0)

    w_nom_arr = w_nom.reindex(weighted).to_numpy(float)
    if (w_nom_arr < 0).any():
        raise InputError("weights: expected non-negative weights")
    wcol = {code: j for j, code in enumerate(weighted)}
    leaf_cols = [wcol[code] for code in scored]
    threshold = float(c["coverage_threshold"])

    patterns: dict = {}  # the availability patterns of each node's children, by mask

    def evaluate(r: np.ndarray, i: int, j: int, meth: str, redrawn: np.ndarray | None) -> np.ndarray:
        """Root scores (runs, unit-periods) for design rows ``r`` that share imputation ``i``, normalisation ``j``
        and aggregation ``meth``: the leaves without an SE are one (unit-periods,) column for all these runs;
        ``redrawn`` holds the runs' normalised survey draws (SE column, run, unit-period)."""
        factor = 1 - weight_noise + 2 * weight_noise * r[:, 4:4 + n_w] if n_w else np.ones((len(r), 0))
        nominal_w = np.repeat(w_nom_arr[None, :], len(r), axis=0)
        wts = nominal_w * factor
        li = r[:, 3].astype(int)
        drop = np.zeros((len(r), k), bool)
        has = li > 0
        drop[np.flatnonzero(has), li[has] - 1] = True
        wts[:, leaf_cols] = np.where(drop, 0.0, wts[:, leaf_cols])
        nominal_w[:, leaf_cols] = np.where(drop, 0.0, nominal_w[:, leaf_cols])
        node_vals = {code: stack[i, j, :, q] for q, code in enumerate(scored)}
        node_app = {code: app[:, q] for q, code in enumerate(scored)}
        node_avail = {code: app[:, q] & ~np.isnan(stack[i, j, :, q]) for q, code in enumerate(scored)}
        if with_sampling:
            for q, col in enumerate(se_cols):
                code = scored[col]
                node_vals[code] = redrawn[q]
                missing = np.isnan(redrawn[q])
                if not (missing == missing[:1]).all():  # (the draws keep the NaN of the treated values)
                    node_avail[code] = app[:, col] & ~missing
                elif not np.array_equal(missing[0], np.isnan(stack[i, j, :, col])):
                    node_avail[code] = app[:, col] & ~missing[0]
        for code, kids in plan:
            node_vals[code], node_app[code] = _aggregate_split(
                [node_vals[kk] for kk in kids], [node_app[kk] for kk in kids], [node_avail[kk] for kk in kids],
                [wts[:, wcol[kk]] for kk in kids], [nominal_w[:, wcol[kk]] for kk in kids],
                meth, threshold, eps, patterns)
            node_avail[code] = node_app[code] & ~np.isnan(node_vals[code])
        return node_vals[root]

    fw_se = fw.iloc[se_cols].reset_index(drop=True)
    se_direction = fw_se["direction"].to_numpy(float) if "direction" in fw_se else np.ones(len(se_cols))
    se_params = [{name: _col_values(fw_se, name, default) for name, default in NORMALISE_PARAMS.get(m, ())}
                 for m in normalisations]
    if with_sampling:
        noise_t = np.ascontiguousarray(noise.transpose(1, 0, 2))  # (n, replications, k_se): a run's draw by column

    def _redrawn(levels_: np.ndarray, m: int, i: int) -> np.ndarray:
        """Normalised values (SE column, run, unit-period) of the SE-carrying indicators with one noise
        realisation per run: the runs' columns side by side in one wide array, so that each run's
        min/max/mean/ranks come from its own draw."""
        k_se, R = len(se_cols), len(levels_)
        x = treated_se[i][:, None, :] + se_use[:, None, :] * noise_t[:, levels_]  # (n, R, k_se)
        y = normalise_array(x.reshape(n_rows, R * k_se), normalisations[m], np.tile(se_direction, R),
                            {name: np.tile(v, R) for name, v in se_params[m].items()}, **norm_kw)
        y = 100 + 10 * y if normalisations[m] == "zscore" else y
        return np.ascontiguousarray(y.reshape(n_rows, R, k_se).transpose(2, 1, 0))

    n_runs = len(rows)
    n_units, n_periods = len(units), len(periods)
    ranks = np.empty((n_runs, n_rows))
    # Runs grouped by (imputation, normalisation, aggregation): each run's scores depend on its own row only, so
    # the grouping changes no value; within a group the leaves' values are shared by all runs.
    # The survey draws are normalised once per distinct (draw, imputation, normalisation): the A_B matrices of the
    # other factors repeat A's (about a third of the runs are distinct).
    ni, ai, ii = rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2].astype(int)
    draw = rows[:, 4 + n_w].astype(int) if with_sampling else np.zeros(len(rows), int)
    order = np.lexsort((ai, ni, ii))
    ij = (ii * len(normalisations) + ni)[order]
    for grp_ij in np.split(order, np.flatnonzero(np.diff(ij)) + 1):
        i, j = int(ii[grp_ij[0]]), int(ni[grp_ij[0]])
        store, slot = None, np.zeros(len(rows), int)
        if with_sampling:
            distinct, inverse = np.unique(draw[grp_ij], return_inverse=True)
            store = np.concatenate([_redrawn(distinct[s:s + chunk], j, i) for s in range(0, len(distinct), chunk)],
                                   axis=1)  # (k_se, distinct draws, n)
            slot[grp_ij] = inverse.ravel()  # run -> its draw's place in the store
        a_of = ai[grp_ij]
        for grp in np.split(grp_ij, np.flatnonzero(np.diff(a_of)) + 1):
            meth = aggregations[int(ai[grp[0]])]
            for start in range(0, len(grp), chunk):
                part = grp[start:start + chunk]
                red = store[:, slot[part]] if with_sampling else None
                root_scores = evaluate(rows[part], i, j, meth, red).reshape(len(part), n_units, n_periods)
                ranks[part] = _ordinal_ranks(root_scores, ranked_units).reshape(len(part), n_rows)
    N = int(replications)
    base = ranks[:2 * N]
    # Summary of the rank distributions.
    nominal = index.root_scores().set_index(["unit", "period"])["rank"].reindex(grid).to_numpy()
    with np.errstate(all="ignore"), _quiet():
        q = np.nanpercentile(base, [5, 50, 95], axis=0)
        summary = pd.DataFrame({
            "unit": grid.get_level_values("unit"), "period": grid.get_level_values("period"),
            "rank_nominal": nominal, "rank_median": q[1], "rank_p05": q[0], "rank_p95": q[2],
            "rank_mean": np.nanmean(base, axis=0), "rank_min": np.nanmin(base, axis=0),
            "rank_max": np.nanmax(base, axis=0), "n_runs": (~np.isnan(base)).sum(axis=0)})
    summary = summary[np.repeat(ranked_units, n_periods)].reset_index(drop=True)
    # Sensitivity indices per period.
    sens = []
    nom = nominal.reshape(n_units, n_periods)
    r3 = ranks.reshape(n_runs, n_units, n_periods)
    unit_sampling = np.full((2, n_units, n_periods), np.nan)  # S1, ST of the sampling factor per unit's rank
    for pi, period in enumerate(periods):
        with np.errstate(all="ignore"), _quiet():
            shift = np.nanmean(np.abs(r3[:, :, pi] - nom[None, :, pi]), axis=1)
        if np.isfinite(shift).all():
            fA, fB, fAB = shift[:N], shift[N:2 * N], shift[2 * N:].reshape(len(groups_cols), N)
            res = sobol_indices(fA, fB, fAB, factor_names=factor_names, n_bootstrap=int(n_bootstrap),
                                seed=None if seed is None else int(seed))
            frame = {"period": period, "output": "mean_abs_rank_shift", "factor": factor_names,
                     "S1": res.S1[:, 0], "ST": res.ST[:, 0]}
            if res.S1_conf is not None:
                frame.update(S1_conf=res.S1_conf[:, 0], ST_conf=res.ST_conf[:, 0])
            sens.append(pd.DataFrame(frame))
        y = r3[:, :, pi]
        ok = np.isfinite(y).all(axis=0)
        if ok.any():
            y = y[:, ok]
            res = sobol_indices(y[:N], y[N:2 * N], y[2 * N:].reshape(len(groups_cols), N, -1),
                                factor_names=factor_names)
            with np.errstate(all="ignore"), _quiet():
                sens.append(pd.DataFrame({"period": period, "output": "unit_rank", "factor": factor_names,
                                          "S1": np.nanmean(res.S1, axis=1), "ST": np.nanmean(res.ST, axis=1)}))
            if with_sampling:
                unit_sampling[0, ok, pi] = res.S1[factor_names.index("sampling")]
                unit_sampling[1, ok, pi] = res.ST[factor_names.index("sampling")]
    if with_sampling:
        summary["sampling_S1"] = unit_sampling[0].ravel()[np.repeat(ranked_units, n_periods)]
        summary["sampling_ST"] = unit_sampling[1].ravel()[np.repeat(ranked_units, n_periods)]
    cols = ["period", "output", "factor", "S1", "ST", "S1_conf", "ST_conf"]
    indices = pd.concat(sens, ignore_index=True).reindex(columns=cols) if sens else pd.DataFrame(columns=cols)
    indices["evaluations"] = n_runs
    sensitivity = indices[["period", "output", "factor", "S1", "ST"]].copy()
    ab = np.concatenate([A, B])
    design_table = pd.DataFrame({
        "normalisation": np.asarray(normalisations, dtype=object)[ab[:, 0].astype(int)],
        "aggregation": np.asarray(aggregations, dtype=object)[ab[:, 1].astype(int)],
        "imputation": np.asarray(imputations, dtype=object)[ab[:, 2].astype(int)],
        "left_out": np.asarray([""] + scored, dtype=object)[ab[:, 3].astype(int)]})
    settings = {"replications": N, "seed": seed, "normalisations": list(normalisations),
                "aggregations": list(aggregations), "imputations": list(imputations), "leave_one_out": leave_one_out,
                "weight_noise": weight_noise, "epsilon": eps, "sampling": sampling, "evaluations": n_runs,
                "survey_error": bool(with_sampling), "indicators_with_se": [scored[j] for j in se_cols]}
    if with_sampling:
        design_table["sampling_draw"] = ab[:, 4 + n_w].astype(int)
    return UncertaintyResult(summary, sensitivity, base, design_table, settings, indices)


class _quiet:
    """Silence 'All-NaN slice' / 'Mean of empty slice' warnings for units never ranked in a period."""

    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)
