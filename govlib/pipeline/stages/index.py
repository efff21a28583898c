"""Build stage ``index``: indicator observations -> index scores, ranks, progress, audit and uncertainty.

Inputs (``tables``): ``observations`` (unit, period, indicator, value, se, ...), ``framework`` (the node DataFrame;
its ``attrs["scale"]`` is used when present), ``units`` (code, level, kind, peer_group), ``population``
(code, year, residents, ... for denominators).

Outputs:

==========================  =====================================================================================
``index_scores``            unit, period, node, score, rank, peer_rank, coverage
``progress``                unit, period, node, score, score_prev, change_prev, score_base, change_base,
                            progress_rank, base_period, pooled
``indicators_normalised``   unit, period, indicator, raw, denominated, imputed, treated, normalised
``index_log``               stage, choice, value, detail (the choices that made the index)
``index_treatment_log``     unit, period, indicator, stage, method, old_value, new_value (imputed/treated points)
``weights_effective``       every node: code, parent, level, is_leaf, weight, weight_in_parent, effective (product
                            of normalised weights up to the root); scored leaves also nominal (= effective), r,
                            main_effect, share (empirical: corr(indicator, index)^2)
``strengths_weaknesses``    unit, period, kind, position, indicator, score, district_mean, gap
``audit_*``                 from :func:`govlib.index.audit.audit` on the normalised scored indicators
``uncertainty``             unit, period, rank_nominal, rank_median, rank_p05, rank_p95, rank_mean, rank_min,
                            rank_max, n_runs
``sensitivity``             period, output, factor, S1, ST
``sensitivity_indices``     period, output, factor, S1, ST, S1_conf, ST_conf, evaluations: with the factor
                            ``sampling`` (survey SEs of the observations drawn in every run) and the group
                            ``methodology`` (all other factors) when observations carry ``se``; ``uncertainty``
                            then also has each unit's ``sampling_S1`` and ``sampling_ST``
==========================  =====================================================================================

Settings, section ``index`` (every key optional; defaults in brackets):

- ``normalisation`` [minmax]: minmax, zscore, goalposts, distance_to_target, distance_to_reference, rank,
  percentile_rank, fraction_of_max, ampi (a framework ``normalisation`` value overrides per indicator).
- ``scale`` [the framework's ``attrs["scale"]``, else [0, 100]].
- ``ddof`` [1] z-score SD; ``ties`` [average] tie rule of rank normalisations; ``rank_ties`` [min] of result ranks.
- ``pooled`` [true]: normalise over all periods at once (scores comparable across years) or per period.
- ``reference_unit`` [null]: for distance_to_reference.
- ``aggregation`` [arithmetic], ``p`` [1], ``zero_rule`` [error], ``epsilon`` [0.001].
- ``imputation`` [none], ``imputation_by_group`` [false], ``max_carry`` [1].
- ``screening_threshold`` [0.0], ``outliers`` [none | winsorise], ``max_winsorised`` [5].
- ``coverage_threshold`` [0.5]; ``weights`` [null: the framework's] mapping node -> weight; ``weight_set``
  [framework]; ``indicators`` [all | common]; ``exclude`` [[]]; ``n_strengths`` [3].
- ``base_period`` [null: ``periods.base_period`` if the data have it, else the first period].
- ``audit``: ``enabled`` [true], ``method`` [pearson], ``level`` [null = immediate parent], ``by`` [null].
- ``uncertainty``: ``enabled`` [true], ``replications`` [1000], ``seed`` [0], ``normalisations``
  [minmax, zscore, percentile_rank], ``aggregations`` [arithmetic, geometric], ``imputations`` [null = none and
  the index's method or mean], ``leave_one_out`` [true], ``weight_noise`` [0.25], ``survey_error`` [true]: draw
  values with an ``se`` from their sampling distribution in each run, ``n_bootstrap`` [200].
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError
from ...index.composite import CompositeIndex
from ...settings import read_section, section_defaults

__all__ = ["run", "DEFAULTS", "read_settings"]

#: The ``index`` section's defaults (declared in :data:`govlib.settings.SCHEMA`).
DEFAULTS: dict[str, Any] = section_defaults("index")


def read_settings(settings) -> dict[str, Any]:
    """The ``index`` section merged over its defaults and checked (:func:`govlib.settings.read_section`).

    Examples
    --------
    >>> read_settings(None)["audit"]["method"]
    'pearson'
    """
    cfg = read_section(settings, "index")
    if cfg["base_period"] is not None:
        cfg["base_period"] = str(cfg["base_period"])  # YAML reads an unquoted 2018 as a number
    return cfg


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Compute the index stage's tables (pure: nothing is read or written).

    Examples
    --------
    >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
    >>> obs = pd.DataFrame({"unit": ["u1", "u2", "u3"] * 2, "period": "2024",
    ...                     "indicator": ["a"] * 3 + ["b"] * 3, "value": [1.0, 2, 3, 3, 1, 2]})
    >>> out = run({"observations": obs, "framework": fw}, None)
    >>> out["index_scores"].query("node == 'I'")["rank"].tolist()
    [2.0, 3.0, 1.0]
    """
    for name in ("observations", "framework"):
        if tables.get(name) is None:
            raise InputError(f"index stage: table '{name}' is missing")
    cfg = read_settings(settings)
    audit_cfg, unc_cfg = cfg.pop("audit"), cfg.pop("uncertainty")
    framework = tables["framework"]
    if cfg["scale"] is None:
        cfg["scale"] = framework.attrs.get("scale") if hasattr(framework, "attrs") else None
    periods_present = set(pd.Series(tables["observations"]["period"]).astype(str).str.slice(0, 4))
    if cfg["base_period"] is None and settings is not None:
        base = str(settings.section("periods").get("base_period", ""))
        cfg["base_period"] = base if base in periods_present else None
    ci = CompositeIndex(tables["observations"], framework, units=tables.get("units"),
                        population=tables.get("population"), **cfg)
    out: dict[str, pd.DataFrame] = {
        "index_scores": ci.scores,
        "progress": ci.progress,
        "strengths_weaknesses": ci.strengths_weaknesses,
        "indicators_normalised": _stages_long(ci),
        "index_log": ci.log_table.astype({"value": str}),
        "index_treatment_log": ci.point_log.reset_index(drop=True),
        "weights_effective": _weights_effective(ci),
    }
    if audit_cfg["enabled"]:
        from ...index import audit as audit

        data = ci.stages["normalised"][ci.scored]
        out.update(audit.audit(data, ci.nodes, method=audit_cfg["method"], level=audit_cfg["level"],
                               by=audit_cfg["by"]))
    if unc_cfg["enabled"]:
        from ...index.uncertainty import monte_carlo

        res = monte_carlo(ci, replications=int(unc_cfg["replications"]), seed=unc_cfg["seed"],
                          normalisations=tuple(unc_cfg["normalisations"]),
                          aggregations=tuple(unc_cfg["aggregations"]),
                          imputations=tuple(unc_cfg["imputations"]) if unc_cfg["imputations"] else None,
                          leave_one_out=bool(unc_cfg["leave_one_out"]), weight_noise=float(unc_cfg["weight_noise"]),
                          survey_error=bool(unc_cfg["survey_error"]), n_bootstrap=int(unc_cfg["n_bootstrap"]))
        out["uncertainty"] = res.ranks
        out["sensitivity"] = res.sensitivity
        out["sensitivity_indices"] = res.indices
    return out


def _stages_long(ci: CompositeIndex) -> pd.DataFrame:
    names = ["raw", "denominated", "imputed", "treated", "normalised"]
    grid = ci.stages["raw"].index
    frames = {n: ci.stages[n].reindex(index=grid, columns=ci.leaves) for n in names}
    long = pd.DataFrame({n: f.to_numpy(float).ravel() for n, f in frames.items()})
    long.insert(0, "indicator", np.tile(ci.leaves, len(grid)))
    long.insert(0, "period", np.repeat(grid.get_level_values("period"), len(ci.leaves)))
    long.insert(0, "unit", np.repeat(grid.get_level_values("unit"), len(ci.leaves)))
    return long[long[names].notna().any(axis=1)].reset_index(drop=True)


def _weights_effective(ci: CompositeIndex) -> pd.DataFrame:
    from ...index.weights import effective_weights, empirical_effective_weights

    nodes = ci.nodes[ci.nodes["code"].isin(ci.scored) | ~ci.nodes["is_leaf"]]
    nominal = effective_weights(nodes).rename("nominal")
    root = ci.stages["aggregated"][ci.root]
    norm = ci.stages["normalised"][ci.scored]
    ok = root.notna().to_numpy()
    emp = empirical_effective_weights(norm[ok], root[ok].to_numpy())
    out = pd.concat([nominal, emp], axis=1)
    out.index.name = "code"
    every = ci.effective_weights().set_index("code")
    return every.join(out, how="left").reset_index()
