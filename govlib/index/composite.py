"""The composite index as one object: every stage kept, the choices logged, variants replayed and compared.

Style model: COINr's "coin" (DESIGN.md §3). A :class:`CompositeIndex` is built from indicator observations and a
framework and keeps each stage's wide table without overwriting:

``raw`` (annual values) -> ``denominated`` -> ``imputed`` -> ``screened`` -> ``treated`` (outliers) ->
``normalised`` -> ``aggregated`` (every node's score).

Wide tables are indexed by ``(unit, period)`` with one column per node code. ``log`` records every choice and
``point_log`` every imputed or treated value. :meth:`CompositeIndex.replay` builds a variant with some choices
changed (pooled normalisation included: the variant recomputes everything from the raw data) and
:func:`compare` shows the score and rank shifts between two variants.

Results
-------
* ``scores``: ``unit, period, node, score, rank, peer_rank, coverage`` for every node (leaves: the normalised
  score). Scores are on the framework's scale (default 0-100) for the bounded normalisations (min-max,
  goalposts, distance to target, percentile rank, fraction of max); z-scores, ranks, distance to reference and
  AMPI keep their own scale.
* Ranks: 1 = best, among *ranked* units only: external benchmark units (``units.level == "benchmark"``) and
  farms / development zones (``kind`` 农场 / 开发区) take part in normalisation and appear with their scores but
  never get a rank. Tie rule ``rank_ties`` (default ``"min"``: competition ranking 1, 2, 2, 4). ``peer_rank``
  ranks within ``units.peer_group`` (or ``kind`` when there is no peer group).
* ``progress``: change of every node's score against the previous period and the base period. With pooled
  normalisation (the default) all years share one scale (one min/max or fixed goalposts over all periods), so a
  change is a real change of the underlying values, not a reshuffle of relative positions; with
  ``pooled=False`` the log says that progress is only relative.
* ``strengths_weaknesses``: per unit and period, the indicators with the largest gap above (strengths) and below
  (weaknesses) the mean of the ranked units in that period.

Rules for awkward data (documented and tested):

* An indicator with no data in a period is missing for every unit in that period; its parent is aggregated over
  the available children with weights renormalised, if the available share of weight (``coverage``) is at least
  ``coverage_threshold``, else the parent is missing. The log lists such indicator-periods.
* Individual indicators (``scope`` 街道 or 镇) apply only to units of that ``kind``; values reported for other
  units are ignored (logged). Each unit's parent score is the weighted mean over the indicators that apply to it,
  with weights renormalised over them, and normalisation of a scope indicator uses only the units it applies to.
  Comparability across peer groups therefore rests on the common indicators plus the shared scale; for a strictly
  like-for-like ranking use ``indicators="common"`` (only scope ``all`` indicators) and compare the two with
  :func:`compare`.
* Context indicators (direction 0) are kept in the raw to treated stages and never scored.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .aggregate import AGGREGATION_METHODS, aggregate_tree
from ..errors import InputError, one_of
from .normalise import METHODS, PERCENTILE_CONVENTIONS, TIE_RULES, normalise
from ..periods import period_index
from .treat import annualise, denominate, impute, screen_units, treat_outliers, IMPUTATION_METHODS

__all__ = ["CompositeIndex", "DEFAULT_CHOICES", "compare", "nodes_table", "UNRANKED_KINDS"]

#: Units of these kinds appear in results but are never ranked.
UNRANKED_KINDS = ("农场", "开发区", "benchmark")

#: Every choice of the index and its default.
DEFAULT_CHOICES: dict[str, Any] = {
    "normalisation": "minmax",        # default method; a framework `normalisation` value overrides per indicator
    "scale": None,                    # (low, high); None = the framework's scale, else (0, 100)
    "ddof": 1,                        # z-score SD: 1 = sample SD (OECD/JRC Handbook)
    "ties": "average",                # tie rule of rank-based normalisations
    "percentile": "(rank-1)/(n-1)",   # percentile-rank convention: "(rank-1)/(n-1)" (COINr) or "rank/n" (Handbook)
    "pooled": True,                   # normalise over all periods at once (True) or within each period (False)
    "reference_unit": None,           # unit code for distance_to_reference
    "aggregation": "arithmetic",      # default per-node method; the framework `aggregation` column overrides
    "node_aggregation": None,         # {node code: method} overriding the framework's aggregation column
    "indicator_normalisation": None,  # {indicator code: method} overriding the framework's normalisation column
    "p": 1.0,                         # order of the generalised mean
    "zero_rule": "error",             # geometric/harmonic over values <= 0: "error" or "epsilon"
    "epsilon": 1e-3,                  # the replacement value for zero_rule="epsilon"
    "imputation": "none",             # none, mean, median, locf, linear
    "imputation_by_group": False,     # mean/median within the unit's peer group
    "max_carry": 1,                   # locf: at most this many periods
    "screening_threshold": 0.0,       # drop unit-periods with a smaller share of scored indicators available
    "outliers": "none",               # none or winsorise (COINr's default; see docs/index.md for why not here)
    "max_winsorised": 5,              # at most this many points winsorised per indicator (COINr winmax)
    "skew_limit": 2.0,                # an indicator fails if |skewness| >= skew_limit and kurtosis >= kurtosis_limit
    "kurtosis_limit": 3.5,
    "outlier_fallback": "log",        # still failing after max_winsorised: "log" (COINr log_CT) or "none"
    "denominators": None,             # {indicator: population column or [column, scale]} overriding the framework
    "coverage_threshold": 0.5,        # minimum available share of a node's weight
    "weights": None,                  # {node: weight} or a govlib.index.weights.WeightSet; renormalised per parent
    "weight_set": "framework",        # the name of the weight set (logged)
    "indicators": "all",              # all, or common (scope == "all" only)
    "exclude": (),                    # indicator codes left out
    "rank_ties": "min",               # tie rule of result ranks
    "base_period": None,              # base of the progress index; None = the first period
    "n_strengths": 3,                 # strengths and weaknesses listed per unit-period
}


def nodes_table(framework: Any) -> pd.DataFrame:
    """The node DataFrame of a :class:`govlib.data.framework.Framework` or a plain node table, with ``level`` and
    ``is_leaf`` added when absent and every framework column defaulted.

    Examples
    --------
    >>> t = nodes_table(pd.DataFrame({"code": ["I", "a"], "parent": [None, "I"]}))
    >>> t[["code", "level", "is_leaf", "direction", "weight"]].to_dict("records")[1]
    {'code': 'a', 'level': 1, 'is_leaf': True, 'direction': 1, 'weight': 1.0}
    """
    table = getattr(framework, "nodes", framework)
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"framework: expected a Framework or a node DataFrame, got {type(framework).__name__}")
    for col in ("code", "parent"):
        if col not in table.columns:
            raise InputError(f"framework: required column '{col}' is missing (have {list(table.columns)})")
    t = table.copy()
    t["code"] = t["code"].astype(str)
    t["parent"] = pd.Series([None if (p is None or pd.isna(p) or str(p).strip() == "") else str(p)
                             for p in t["parent"]], index=t.index, dtype=object)
    defaults = {"direction": 1, "weight": 1.0, "goalpost_low": np.nan, "goalpost_high": np.nan, "target": np.nan,
                "transform": "none", "denominator": "", "denominator_scale": 1.0, "temporal_aggregation": "mean",
                "normalisation": "", "aggregation": "", "scope": "all"}
    for col, d in defaults.items():
        if col not in t.columns:
            t[col] = d
        elif isinstance(d, str):
            t[col] = t[col].where(t[col].notna(), d).astype(str).replace({"nan": d, "None": d})
        else:
            t[col] = pd.to_numeric(t[col], errors="coerce").fillna(d) if col in ("weight", "denominator_scale",
                                                                                   "direction") else \
                pd.to_numeric(t[col], errors="coerce")
    t["direction"] = t["direction"].astype(int)
    t["weight"] = t["weight"].astype(float)
    roots = t.loc[t["parent"].isna(), "code"].tolist()
    if len(roots) != 1:
        raise InputError(f"framework: expected exactly one root (a node with no parent), found {roots}")
    if t["code"].duplicated().any():
        raise InputError(f"framework: duplicated codes {sorted(set(t.loc[t['code'].duplicated(), 'code']))}")
    orphans = sorted(set(t["parent"].dropna()) - set(t["code"]))
    if orphans:
        raise InputError(f"framework: parent code(s) {orphans} are not nodes")
    if "is_leaf" not in t.columns:
        t["is_leaf"] = ~t["code"].isin(set(t["parent"].dropna()))
    if "level" not in t.columns:
        parent_of = dict(zip(t["code"], t["parent"]))
        lv = {}
        for c in t["code"]:
            d, cur, seen = 0, c, set()
            while parent_of.get(cur) is not None and not pd.isna(parent_of.get(cur)):
                if cur in seen:
                    raise InputError(f"framework: cycle through node {c}")
                seen.add(cur)
                cur, d = parent_of[cur], d + 1
            lv[c] = d
        t["level"] = t["code"].map(lv)
    t["is_leaf"] = t["is_leaf"].astype(bool)
    t["level"] = t["level"].astype(int)
    return t.reset_index(drop=True)


class CompositeIndex:
    """A composite index with every stage kept (COINr-style), replayable with changed choices.

    Parameters
    ----------
    observations : long table ``unit, period, indicator, value`` (+ ``se``); sub-annual periods are made annual
        per the framework's ``temporal_aggregation``.
    framework : :class:`govlib.data.framework.Framework` or its node DataFrame (``code, parent, direction, weight, ...``).
    units : optional ``code, level, kind, peer_group``: benchmarks, unranked kinds and peer groups.
    population : optional ``code, year, <denominator columns>`` for denomination.
    **choices : any of :data:`DEFAULT_CHOICES`.

    Examples
    --------
    >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"], "direction": [1, 1, -1]})
    >>> obs = pd.DataFrame({"unit": ["u1", "u2", "u3"] * 2, "period": "2024",
    ...                     "indicator": ["a"] * 3 + ["b"] * 3, "value": [1, 2, 3, 30, 20, 10]})
    >>> ci = CompositeIndex(obs, fw)
    >>> ci.scores.query("node == 'I'")[["unit", "score", "rank"]].to_dict("records")
    [{'unit': 'u1', 'score': 0.0, 'rank': 3.0}, {'unit': 'u2', 'score': 50.0, 'rank': 2.0}, {'unit': 'u3', 'score': 100.0, 'rank': 1.0}]
    >>> ci.replay(aggregation="geometric", zero_rule="epsilon").choices["aggregation"]
    'geometric'
    """

    def __init__(self, observations: pd.DataFrame, framework: Any, units: pd.DataFrame | None = None,
                 population: pd.DataFrame | None = None, **choices: Any):
        unknown = sorted(set(choices) - set(DEFAULT_CHOICES))
        if unknown:
            raise InputError(f"CompositeIndex: unknown choice(s) {unknown}; expected some of "
                             f"{', '.join(DEFAULT_CHOICES)}")
        self._inputs = {"observations": observations, "framework": framework, "units": units,
                        "population": population}
        self.choices: dict[str, Any] = {**copy.deepcopy(DEFAULT_CHOICES), **choices}
        self.log: list[dict[str, Any]] = []
        self.stages: dict[str, pd.DataFrame] = {}
        self._build()

    # ------------------------------------------------------------------------------------------------ building
    def _note(self, stage: str, choice: str, value: Any, detail: str = "") -> None:
        self.log.append({"stage": stage, "choice": choice, "value": value, "detail": detail})

    def _check_choices(self) -> None:
        c = self.choices
        for name, allowed in (("normalisation", METHODS), ("aggregation", AGGREGATION_METHODS),
                              ("imputation", IMPUTATION_METHODS), ("outliers", ("none", "winsorise")),
                              ("outlier_fallback", ("log", "none")), ("percentile", PERCENTILE_CONVENTIONS),
                              ("ties", TIE_RULES), ("rank_ties", TIE_RULES), ("indicators", ("all", "common"))):
            one_of(c[name], allowed, name)
        for key in ("ddof", "max_winsorised", "max_carry", "n_strengths", "coverage_threshold", "screening_threshold",
                    "p", "epsilon", "skew_limit", "kurtosis_limit"):
            whole = key in ("ddof", "max_winsorised", "max_carry", "n_strengths")
            try:
                ok = not isinstance(c[key], bool) and np.isfinite(float(c[key])) and \
                    (not whole or (float(c[key]).is_integer() and float(c[key]) >= 0))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise InputError(f"{key}: expected {'a whole number >= 0' if whole else 'a number'}, got {c[key]!r}")
        if not 0 <= float(c["coverage_threshold"]) <= 1:
            raise InputError(f"coverage_threshold: expected a share in [0, 1], got {c['coverage_threshold']}")
        if not isinstance(c["pooled"], (bool, np.bool_)):
            raise InputError(f"pooled: expected True (pooled over periods) or False (per period), got {c['pooled']!r}")

    def _build(self) -> None:
        self._check_choices()
        c = self.choices
        nodes = self._apply_overrides(nodes_table(self._inputs["framework"]))
        fw_scale = getattr(self._inputs["framework"], "scale", None)
        scale = tuple(c["scale"]) if c["scale"] is not None else (tuple(fw_scale) if fw_scale else (0.0, 100.0))
        if not (len(scale) == 2 and float(scale[0]) < float(scale[1])):
            raise InputError(f"scale: expected (low, high) with low < high, got {scale}")
        self.scale = (float(scale[0]), float(scale[1]))
        self._note("setup", "scale", self.scale)
        # Indicator selection: common only, exclusions.
        excl = set(map(str, c["exclude"] or ()))
        bad = sorted(excl - set(nodes.loc[nodes["is_leaf"], "code"]))
        if bad:
            raise InputError(f"exclude: {bad} are not indicators of the framework")
        drop = set(excl)
        if c["indicators"] == "common":
            drop |= set(nodes.loc[nodes["is_leaf"] & (nodes["scope"] != "all"), "code"])
        if drop:
            nodes = nodes[~nodes["code"].isin(drop)]
            self._note("setup", "indicators_left_out", sorted(drop))
        nodes = _prune(nodes)
        nodes = self._apply_weights(nodes)
        self.nodes = nodes
        leaves = nodes.loc[nodes["is_leaf"], "code"].tolist()
        scored = nodes.loc[nodes["is_leaf"] & (nodes["direction"] != 0), "code"].tolist()
        if not scored:
            raise InputError("framework: no scored indicator (every leaf has direction 0 or was left out)")
        self.leaves, self.scored = leaves, scored
        # Raw: annual values on the full unit x period grid.
        obs = self._inputs["observations"]
        annual = annualise(obs, nodes.set_index("code")["temporal_aggregation"])
        if annual.attrs.get("sub_annual_ignored"):
            self._note("raw", "sub_annual_ignored", annual.attrs["sub_annual_ignored"],
                       "sub-annual values of unit-years that also have an annual value (the annual value wins)")
        extra = sorted(set(annual["indicator"]) - set(nodes["code"]) - drop)
        if extra:
            self._note("raw", "ignored_indicators", extra, "observations of codes that are not framework leaves")
        annual = annual[annual["indicator"].isin(leaves)]
        if annual.empty:
            raise InputError(f"observations: no values for any indicator of the framework (expected codes such as "
                             f"{leaves[:5]})")
        self.annual = annual
        units_tab = self._units_table(annual["unit"].unique())
        self.units = units_tab
        unit_codes = units_tab["code"].tolist()
        periods = list(period_index(annual["period"]))
        self.periods = periods
        grid = pd.MultiIndex.from_product([unit_codes, periods], names=["unit", "period"])
        raw = annual.pivot_table(index=["unit", "period"], columns="indicator", values="value", aggfunc="first")
        raw = raw.reindex(index=grid, columns=leaves)
        raw.columns.name = None
        self.stages["raw"] = raw
        empty = raw[scored].isna().groupby(level="period").all()
        gaps = [(p, i) for p in empty.index for i in scored if empty.loc[p, i]]
        if gaps:
            self._note("raw", "no_data", [f"{i}@{p}" for p, i in gaps],
                       "indicator-periods without data: missing for every unit; parents use the other children")
        # Denomination.
        den = {r.code: (r.denominator, float(r.denominator_scale)) for r in nodes.itertuples()
               if r.is_leaf and isinstance(r.denominator, str) and r.denominator not in ("", "none")}
        den = self._denominator_overrides(den, leaves)
        self.stages["denominated"] = denominate(raw, den, self._inputs["population"])
        if den:
            self._note("denominated", "denominators", {k: v[0] for k, v in den.items()})
        # Scope: values of individual indicators for units they do not apply to are ignored.
        applicable = self._applicability(grid)
        self.applicable = applicable
        dn = self.stages["denominated"]
        outside = dn.notna() & ~applicable
        if outside.to_numpy().any():
            self._note("denominated", "out_of_scope_values_ignored", int(outside.to_numpy().sum()))
            dn = dn.where(applicable)
            self.stages["denominated"] = dn
        imputed, ilog, kept, dropped, treated, tlog, summary = self._treat(dn, c["imputation"])
        self.stages["imputed"] = imputed
        self._note("imputed", "imputation", c["imputation"], f"{len(ilog)} points imputed")
        self.screened_out = dropped
        self.stages["screened"] = kept
        self._note("screened", "screening_threshold", c["screening_threshold"], f"{len(dropped)} unit-periods dropped")
        self.outlier_summary = summary
        self.stages["treated"] = treated
        self._note("treated", "outliers", c["outliers"], f"{len(tlog)} points changed")
        self.se = self._sampling_se(raw.index, den, dn, treated, summary)
        self.point_log = pd.concat([x for x in (ilog, tlog) if len(x)], ignore_index=True) if len(ilog) or len(tlog) \
            else ilog
        # Normalisation and aggregation.
        normalised = self.normalise_table(treated, c["normalisation"])
        self.stages["normalised"] = normalised
        self._note("normalised", "normalisation", c["normalisation"],
                   ("pooled over all periods" if c["pooled"] else "within each period")
                   + f"; scale {self.scale}; ddof={c['ddof']}; ties={c['ties']}")
        if not c["pooled"]:
            self._note("normalised", "pooled", False, "per-period normalisation: progress shows relative change only")
        agg, cov = aggregate_tree(normalised[scored], nodes, method=c["aggregation"], p=float(c["p"]),
                                  applicable=applicable.loc[treated.index, scored],
                                  coverage_threshold=float(c["coverage_threshold"]), zero_rule=c["zero_rule"],
                                  epsilon=float(c["epsilon"]))
        self.stages["aggregated"] = agg
        self.coverage = cov
        self._note("aggregated", "aggregation", c["aggregation"],
                   f"per-node overrides: {dict((r.code, r.aggregation) for r in nodes.itertuples() if r.aggregation)}")
        self._note("aggregated", "coverage_threshold", c["coverage_threshold"])
        self._results()

    def _treat(self, denominated: pd.DataFrame, imputation: str):
        """Imputation (only where the indicator applies), screening by availability and outlier treatment of the
        denominated table: ``(imputed, imputation log, screened, dropped, treated, treatment log, summary)``."""
        c, scored, applicable = self.choices, self.scored, self.applicable
        peer = self._row_attr(denominated.index, "peer_group")
        imputed, ilog = impute(denominated, imputation, peer_group=peer, by_group=bool(c["imputation_by_group"]),
                               max_carry=int(c["max_carry"]))
        imputed = imputed.where(applicable)
        if len(ilog):  # log only points where the indicator applies
            app_long = applicable.stack()
            keys = pd.MultiIndex.from_arrays([ilog["unit"], ilog["period"], ilog["indicator"]])
            ilog = ilog[app_long.reindex(keys).fillna(False).to_numpy(bool)].reset_index(drop=True)
        kept, dropped = screen_units(imputed, float(c["screening_threshold"]), columns=scored)
        if c["outliers"] == "winsorise":
            treated, tlog, summary = treat_outliers(kept, max_winsorised=int(c["max_winsorised"]), columns=scored,
                                                    skew_limit=float(c["skew_limit"]),
                                                    kurtosis_limit=float(c["kurtosis_limit"]),
                                                    log_if_failing=c["outlier_fallback"] == "log")
        else:
            treated, tlog, summary = kept.copy(), ilog.iloc[0:0], pd.DataFrame()
        return imputed, ilog, kept, dropped, treated, tlog, summary

    def treated_with(self, imputation: str) -> pd.DataFrame:
        """The ``treated`` stage as :meth:`replay` with another ``imputation`` would give it (the same table),
        without recomputing the stages before imputation or anything after treatment (the Monte Carlo's
        imputation factor).

        Examples
        --------
        >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
        >>> obs = pd.DataFrame({"unit": ["u1", "u2", "u3", "u1", "u2"], "period": "2024",
        ...                     "indicator": ["a", "a", "a", "b", "b"], "value": [1.0, 2.0, 3.0, 4.0, 3.0]})
        >>> ci = CompositeIndex(obs, fw)
        >>> ci.treated_with("mean").equals(ci.replay(imputation="mean").stages["treated"])
        True
        """
        one_of(imputation, IMPUTATION_METHODS, "imputation")
        if imputation == self.choices["imputation"]:
            return self.stages["treated"]
        return self._treat(self.stages["denominated"], imputation)[4]

    def _sampling_se(self, grid, den, denominated, treated, summary) -> pd.DataFrame:
        """Sampling SEs of the treated values (wide, like ``treated``; NaN where a value has none).

        The observations' ``se`` (e.g. the design-based SEs of survey indicators) go through the same linear
        denomination as the values; an imputed point has no SE; for an indicator that outlier treatment
        log-transformed, the SE is carried by the delta method (the derivative of ``ln(x - min + 1)`` is
        ``exp(-treated)``). Winsorised points keep their SE.
        """
        annual = self.annual
        if "se" not in annual.columns or not (pd.to_numeric(annual["se"], errors="coerce") > 0).any():
            return pd.DataFrame(np.nan, index=treated.index, columns=self.scored)
        se = annual.pivot_table(index=["unit", "period"], columns="indicator", values="se", aggfunc="first")
        se = se.reindex(index=grid, columns=self.leaves)
        se.columns.name = None
        se = denominate(se, den, self._inputs["population"]).abs()
        se = se.where(denominated.notna()).reindex(treated.index)[self.scored]
        logged = [c for c in self.scored if len(summary) and c in summary.index and summary.loc[c, "log_transformed"]]
        for c in logged:
            se[c] = se[c] * np.exp(-treated[c].abs())
        n = int(se.notna().to_numpy().sum())
        self._note("treated", "sampling_se", n, f"values with a sampling SE, in {se.notna().any().sum()} indicators")
        return se.where(se > 0)

    def _denominator_overrides(self, den: dict, leaves: list[str]) -> dict:
        given = self.choices["denominators"]
        if not given:
            return den
        out = dict(den)
        for code, spec in dict(given).items():
            code = str(code)
            if code not in leaves:
                raise InputError(f"denominators: {code!r} is not an indicator of the framework")
            col, scale = (spec, 1.0) if isinstance(spec, str) or spec is None else (spec[0], spec[1])
            if col in (None, "", "none"):
                out.pop(code, None)
            else:
                out[code] = (str(col), float(scale))
        self._note("setup", "denominators", {k: v[0] for k, v in out.items()}, "overrides of the framework's")
        return out

    def _apply_overrides(self, nodes: pd.DataFrame) -> pd.DataFrame:
        for choice, column, allowed, where in (
                ("node_aggregation", "aggregation", AGGREGATION_METHODS, ~nodes["is_leaf"]),
                ("indicator_normalisation", "normalisation", METHODS, nodes["is_leaf"])):
            given = self.choices[choice]
            if not given:
                continue
            given = {str(k): str(v) for k, v in dict(given).items()}
            unknown = sorted(set(given) - set(nodes.loc[where, "code"]))
            if unknown:
                kind = "aggregated nodes" if column == "aggregation" else "indicators"
                raise InputError(f"{choice}: {unknown} are not {kind} of the framework")
            bad = {k: v for k, v in given.items() if v.split(":")[0] not in allowed}
            if bad:
                raise InputError(f"{choice}: unknown method(s) {bad}; expected one of {', '.join(allowed)}")
            nodes = nodes.copy()
            nodes[column] = [given.get(c, m) for c, m in zip(nodes["code"], nodes[column])]
            self._note("setup", choice, given)
        return nodes

    def _apply_weights(self, nodes: pd.DataFrame) -> pd.DataFrame:
        w = self.choices["weights"]
        if w is None:
            return nodes
        name = self.choices["weight_set"]
        if hasattr(w, "weights") and hasattr(w, "name"):  # a govlib.index.weights.WeightSet
            name = f"{w.name} ({getattr(w, 'method', '')})" if name == "framework" else name
            w = w.weights
        given = pd.Series(dict(w) if isinstance(w, Mapping) else w, dtype=float)
        given.index = given.index.astype(str)
        unknown = sorted(set(given.index) - set(nodes.loc[nodes["parent"].notna(), "code"]))
        if unknown:
            raise InputError(f"weights: {unknown} are not children of any node of the framework "
                             f"(expected codes such as {nodes.loc[nodes['parent'].notna(), 'code'].tolist()[:6]})")
        if (given < 0).any() or given.isna().any():
            raise InputError(f"weights: expected non-negative numbers, got {given[(given < 0) | given.isna()].to_dict()}")
        nodes = nodes.copy()
        nodes.loc[nodes["code"].isin(given.index), "weight"] = nodes.loc[
            nodes["code"].isin(given.index), "code"].map(given).to_numpy()
        scored = nodes[~(nodes["is_leaf"] & (nodes["direction"] == 0))]
        sums = scored.groupby("parent")["weight"].sum()
        zero = sorted(sums.index[sums <= 0])
        if zero:
            raise InputError(f"weights: every child of {zero} has weight 0; at least one must be positive")
        self._note("setup", "weights", name, f"{len(given)} node weights set")
        return nodes

    def _units_table(self, observed) -> pd.DataFrame:
        u = self._inputs["units"]
        observed = sorted(map(str, observed))
        if u is None:
            t = pd.DataFrame({"code": observed, "level": "unit", "kind": "", "peer_group": ""})
        else:
            u = u.copy()
            u["code"] = u["code"].astype(str)
            for col, d in (("level", ""), ("kind", ""), ("peer_group", "")):
                if col not in u.columns:
                    u[col] = d
                u[col] = u[col].fillna(d).astype(str)
            u["peer_group"] = np.where(u["peer_group"] == "", u["kind"], u["peer_group"])
            missing = sorted(set(observed) - set(u["code"]))
            if missing:
                raise InputError(f"observations.unit: {len(missing)} unit(s) are not in the units table "
                                 f"(e.g. {missing[:5]})")
            t = u[u["code"].isin(observed) & ~u["level"].isin(["community", "district"])]
            skipped = sorted(set(observed) - set(t["code"]))
            if skipped:
                self._note("raw", "units_not_indexed", skipped, "community- or district-level units")
            t = t[["code", "level", "kind", "peer_group"]].sort_values("code").reset_index(drop=True)
        t["ranked"] = ~(t["level"].eq("benchmark") | t["kind"].isin(UNRANKED_KINDS))
        return t

    def _row_attr(self, index: pd.MultiIndex, col: str) -> np.ndarray:
        m = self.units.set_index("code")[col]
        return m.reindex(index.get_level_values(0)).to_numpy()

    def _applicability(self, index: pd.MultiIndex) -> pd.DataFrame:
        kinds = self._row_attr(index, "kind")
        scope = self.nodes.set_index("code").loc[self.leaves, "scope"].to_numpy()
        known = np.isin(kinds, ["街道", "镇"])
        app = (scope[None, :] == "all") | (scope[None, :] == kinds[:, None]) | ~known[:, None]
        return pd.DataFrame(app, index=index, columns=self.leaves)

    def normalise_table(self, treated: pd.DataFrame, method: str, **override) -> pd.DataFrame:
        """Normalise a treated wide table with this index's settings (``method`` the default method)."""
        c = {**self.choices, **override}
        fw = self.nodes.set_index("code").loc[self.leaves]
        periods = treated.index.get_level_values("period")
        groups = None if c["pooled"] else np.asarray(periods)
        ref = ampi_ref = None
        if method == "distance_to_reference" or (fw["normalisation"] == "distance_to_reference").any():
            if c["reference_unit"] is None:
                raise InputError("reference_unit: distance_to_reference needs the code of the reference unit")
            ref = np.asarray(treated.index.get_level_values("unit") == str(c["reference_unit"]))
            if not ref.any():
                raise InputError(f"reference_unit: {c['reference_unit']!r} has no rows in the data")
        if method == "ampi" or (fw["normalisation"] == "ampi").any():
            base = c["base_period"] or self.periods[0]
            ampi_ref = np.asarray(periods == str(base))
        return normalise(treated[self.leaves], fw.reset_index(), method=method, scale=self.scale, ddof=int(c["ddof"]),
                         ties=c["ties"], percentile=c["percentile"], groups=groups, reference_rows=ref,
                         reference_groups=np.asarray(periods), ampi_reference_rows=ampi_ref)

    # ------------------------------------------------------------------------------------------------- results
    def _results(self) -> None:
        c = self.choices
        agg, cov = self.stages["aggregated"], self.coverage
        long = agg.stack(future_stack=True).rename("score").reset_index()
        long.columns = ["unit", "period", "node", "score"]
        long["coverage"] = cov.stack(future_stack=True).to_numpy()
        ranked = self.units.set_index("code")["ranked"]
        peer = self.units.set_index("code")["peer_group"]
        long["ranked"] = long["unit"].map(ranked).fillna(True).astype(bool)
        long["peer_group"] = long["unit"].map(peer).fillna("")
        s = long["score"].where(long["ranked"])
        long["rank"] = s.groupby([long["period"], long["node"]]).rank(method=c["rank_ties"], ascending=False)
        long["peer_rank"] = s.groupby([long["period"], long["node"], long["peer_group"]]).rank(
            method=c["rank_ties"], ascending=False)
        order = {code: i for i, code in enumerate(self.nodes["code"])}
        long = long.sort_values(["period", "unit", "node"], key=lambda x: x.map(order) if x.name == "node" else x,
                                kind="stable")
        self.scores = long[["unit", "period", "node", "score", "rank", "peer_rank", "coverage"]].reset_index(drop=True)
        self.progress = self._progress()
        self.strengths_weaknesses = self._strengths()

    def _progress(self) -> pd.DataFrame:
        c = self.choices
        base = str(c["base_period"]) if c["base_period"] is not None else self.periods[0]
        if base not in self.periods:
            raise InputError(f"base_period: {base!r} is not a period of the data (have {self.periods})")
        s = self.scores.pivot_table(index=["unit", "node"], columns="period", values="score", dropna=False)
        s = s.reindex(columns=self.periods)
        prev = s.shift(1, axis=1)
        out = pd.DataFrame({
            "score": s.stack(future_stack=True),
            "score_prev": prev.stack(future_stack=True),
            "score_base": pd.DataFrame(np.repeat(s[[base]].to_numpy(), len(self.periods), axis=1), index=s.index,
                                       columns=self.periods).stack(future_stack=True),
        }).reset_index()
        out.columns = ["unit", "node", "period", "score", "score_prev", "score_base"]
        out["change_prev"] = out["score"] - out["score_prev"]
        out["change_base"] = out["score"] - out["score_base"]
        ranked = out["unit"].map(self.units.set_index("code")["ranked"]).fillna(True).astype(bool)
        out["progress_rank"] = out["change_prev"].where(ranked).groupby([out["period"], out["node"]]).rank(
            method=c["rank_ties"], ascending=False)
        out["base_period"] = base
        out["pooled"] = bool(c["pooled"])
        return out[["unit", "period", "node", "score", "score_prev", "change_prev", "score_base", "change_base",
                    "progress_rank", "base_period", "pooled"]].sort_values(["period", "unit"], kind="stable") \
            .reset_index(drop=True)

    def _strengths(self) -> pd.DataFrame:
        n = int(self.choices["n_strengths"])
        norm = self.stages["normalised"][self.scored]
        ranked = self.units.set_index("code")["ranked"].reindex(norm.index.get_level_values("unit")).fillna(True)
        mean = norm[ranked.to_numpy()].groupby(level="period").mean()
        district = mean.reindex(norm.index.get_level_values("period")).to_numpy()
        gap = norm.to_numpy() - district
        long = pd.DataFrame({"unit": np.repeat(norm.index.get_level_values("unit"), norm.shape[1]),
                             "period": np.repeat(norm.index.get_level_values("period"), norm.shape[1]),
                             "indicator": np.tile(self.scored, len(norm)), "score": norm.to_numpy().ravel(),
                             "district_mean": district.ravel(), "gap": gap.ravel()}).dropna(subset=["gap"])
        long = long.sort_values(["unit", "period", "gap"], ascending=[True, True, False], kind="stable")
        pos = long[long["gap"] > 0]
        neg = long[long["gap"] < 0].iloc[::-1]  # most negative first
        top = pos[pos.groupby(["unit", "period"], sort=False).cumcount() < n].assign(kind="strength")
        bottom = neg[neg.groupby(["unit", "period"], sort=False).cumcount() < n].assign(kind="weakness")
        out = pd.concat([top, bottom], ignore_index=True)
        out["position"] = out.groupby(["unit", "period", "kind"], sort=False).cumcount() + 1
        return out[["unit", "period", "kind", "position", "indicator", "score", "district_mean", "gap"]] \
            .sort_values(["unit", "period", "kind", "position"], kind="stable").reset_index(drop=True)

    # --------------------------------------------------------------------------------------------- public API
    def replay(self, **changed: Any) -> "CompositeIndex":
        """A new index from the same inputs with some choices changed (everything downstream recomputed).

        Examples
        --------
        >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
        >>> obs = pd.DataFrame({"unit": ["u1", "u2"] * 2, "period": "2024", "indicator": ["a", "a", "b", "b"],
        ...                     "value": [1.0, 2.0, 4.0, 3.0]})
        >>> ci = CompositeIndex(obs, fw)
        >>> ci.replay().scores.equals(ci.scores)
        True
        """
        unknown = sorted(set(changed) - set(DEFAULT_CHOICES))
        if unknown:
            raise InputError(f"replay: unknown choice(s) {unknown}; expected some of {', '.join(DEFAULT_CHOICES)}")
        return CompositeIndex(**self._inputs, **{**self.choices, **changed})

    def table(self, stage: str, long: bool = False) -> pd.DataFrame:
        """The wide table of one stage (``raw`` ... ``aggregated``), or its long form ``unit, period, code, value``."""
        one_of(stage, tuple(self.stages), "stage")
        t = self.stages[stage]
        if not long:
            return t.copy()
        out = t.stack(future_stack=True).rename("value").reset_index()
        out.columns = ["unit", "period", "code", "value"]
        return out

    def recipe(self, **inputs: Any) -> dict[str, Any]:
        """Every choice of this index as a recipe mapping (see :mod:`govlib.index.recipe`); ``inputs`` names the
        files (framework, data, units, population, weights) for ``govlib index --recipe``."""
        from .recipe import recipe_document

        return recipe_document(self.choices, inputs)

    def to_recipe(self, **inputs: Any) -> str:
        """The recipe as YAML text: save it and ``govlib index --recipe FILE`` replays this run.

        Examples
        --------
        >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
        >>> obs = pd.DataFrame({"unit": ["u1", "u2"] * 2, "period": "2024", "indicator": ["a", "a", "b", "b"],
        ...                     "value": [1.0, 2.0, 4.0, 3.0]})
        >>> text = CompositeIndex(obs, fw, outliers="winsorise").to_recipe(data="obs.csv")
        >>> "outliers: winsorise" in text and "data: obs.csv" in text
        True
        """
        from .recipe import recipe_to_yaml

        return recipe_to_yaml(self.choices, inputs)

    def effective_weights(self) -> pd.DataFrame:
        """The weight of every node: given, within its parent, and effective in the index.

        Returns ``code, parent, level, is_leaf, weight`` (as given, after ``weights``), ``weight_in_parent``
        (renormalised among the scored siblings) and ``effective`` (the product of ``weight_in_parent`` from the
        node up to the root: the node's real share in the index; 1 for the root, the leaves sum to 1, and each
        node's effective weight is the sum of its children's). Context indicators have weight 0.

        Examples
        --------
        >>> fw = pd.DataFrame({"code": ["I", "D", "a", "b", "c"], "parent": [None, "I", "D", "D", "I"],
        ...                    "weight": [1, 3, 1, 1, 1]})
        >>> obs = pd.DataFrame({"unit": ["u1", "u2"] * 3, "period": "2024",
        ...                     "indicator": ["a", "a", "b", "b", "c", "c"], "value": [1.0, 2, 4, 3, 5, 1]})
        >>> CompositeIndex(obs, fw).effective_weights().set_index("code")["effective"].tolist()
        [1.0, 0.75, 0.375, 0.375, 0.25]
        """
        n = self.nodes[["code", "parent", "level", "is_leaf", "weight", "direction"]].copy()
        w = n["weight"].where(~(n["is_leaf"] & (n["direction"] == 0)), 0.0)
        sums = w.groupby(n["parent"]).transform("sum")
        local = (w / sums).where(n["parent"].notna(), 1.0).fillna(0.0)
        local_of = dict(zip(n["code"], local))
        parent_of = dict(zip(n["code"], n["parent"]))
        eff = {}
        for code in n.sort_values("level", kind="stable")["code"]:  # parents before children (depth is small)
            p = parent_of[code]
            eff[code] = local_of[code] * (eff[p] if p is not None else 1.0)
        out = n.drop(columns="direction").assign(weight_in_parent=local.to_numpy(), effective=n["code"].map(eff))
        return out.reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The tidy result: ``unit, period, node, score, rank, peer_rank, coverage`` (the same as ``scores``)."""
        return self.scores.copy()

    @property
    def log_table(self) -> pd.DataFrame:
        """The choices that made this index, in order (stage, choice, value, detail)."""
        return pd.DataFrame(self.log, columns=["stage", "choice", "value", "detail"])

    def root_scores(self) -> pd.DataFrame:
        """``unit, period, score, rank, peer_rank, coverage`` of the root (the index itself)."""
        root = self.nodes.loc[self.nodes["parent"].isna(), "code"].iloc[0]
        return self.scores[self.scores["node"] == root].drop(columns="node").reset_index(drop=True)

    @property
    def root(self) -> str:
        return str(self.nodes.loc[self.nodes["parent"].isna(), "code"].iloc[0])


def _prune(nodes: pd.DataFrame) -> pd.DataFrame:
    """Drop internal nodes left without leaves (after excluding indicators)."""
    while True:
        parents = set(nodes["parent"].dropna())
        empty = ~nodes["is_leaf"] & ~nodes["code"].isin(parents)
        if not empty.any():
            return nodes
        nodes = nodes[~empty]


def compare(a: CompositeIndex, b: CompositeIndex, node: str | None = None) -> pd.DataFrame:
    """Score and rank shifts from variant ``a`` to variant ``b``.

    Returns ``unit, period, node, score_a, score_b, score_change, rank_a, rank_b, rank_shift`` (positive
    ``rank_shift`` = moved up), sorted by the absolute rank shift, largest first.

    Examples
    --------
    >>> fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
    >>> obs = pd.DataFrame({"unit": ["u1", "u2", "u3"] * 2, "period": "2024",
    ...                     "indicator": ["a"] * 3 + ["b"] * 3, "value": [1.0, 2, 3, 9, 1, 2]})
    >>> ci = CompositeIndex(obs, fw)
    >>> shifts = compare(ci, ci.replay(weights={"a": 3, "b": 1}))
    >>> shifts[["unit", "rank_a", "rank_b", "rank_shift"]].iloc[0].astype(str).tolist()
    ['u1', '2.0', '3.0', '-1.0']
    """
    key = ["unit", "period", "node"]
    sa = a.scores[key + ["score", "rank"]]
    sb = b.scores[key + ["score", "rank"]]
    m = sa.merge(sb, on=key, how="outer", suffixes=("_a", "_b"))
    if node is not None:
        m = m[m["node"] == node]
    m["score_change"] = m["score_b"] - m["score_a"]
    m["rank_shift"] = m["rank_a"] - m["rank_b"]
    m = m.sort_values("rank_shift", key=lambda s: -s.abs(), kind="stable", na_position="last")
    return m[key + ["score_a", "score_b", "score_change", "rank_a", "rank_b", "rank_shift"]].reset_index(drop=True)
