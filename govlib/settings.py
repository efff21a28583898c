"""Project settings from ``govlib.yaml``: declared, loaded and validated in one place.

Paths in the file are relative to the project root (see :mod:`govlib.paths`), so notebooks that run in
``notebooks/`` and workers that run anywhere read the same files. Every key of every section is declared once, in
:data:`SCHEMA` (its default, the values it allows and one line of meaning): a missing key means "the documented
default", an unknown key is an error (a typo must not silently fall back to a default), and every value is checked
when ``govlib.yaml`` is loaded, before any data is read, with one error type (:class:`~govlib.errors.ValidationError`
naming ``govlib.yaml``, the line, the key path, the value and what was expected). Build stages read their section
through :func:`read_section`. ``docs/settings.md`` is generated from :data:`SCHEMA` (:func:`settings_reference`).

To add a key: add one ``Key`` line to its section in :data:`SCHEMA` (default, allowed values, meaning) and run
``python -m govlib.settings > docs/settings.md``; nothing else reads a default.
"""
from __future__ import annotations

import copy
import datetime as _dt
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, ValidationError, expected_one_of, format_value
from .paths import project_root
from .periods import is_valid_period

__all__ = ["Settings", "load_settings", "DEFAULTS", "SCHEMA", "Key", "read_section", "section_defaults",
           "check_section", "read_yaml", "settings_reference", "SettingProblem"]


@dataclass(frozen=True)
class Key:
    """One settings key: its default, the kinds of value it accepts, their limits, and one line of meaning.

    ``kinds`` (any of which may match): ``text``, ``path``, ``integer``, ``number``, ``flag`` (true/false),
    ``choice`` (one of ``choices``), ``choices`` (a list of ``choices``), ``list`` (a list of texts), ``mapping``
    (a mapping; with ``choices``, its values are methods from ``choices``, ``method:parameter`` allowed),
    ``weights`` (a mapping of numbers >= 0), ``period`` (2024, 2024Q3, 2024-07), ``date``, ``pair`` ([low, high],
    low < high), ``rules`` (a list of mappings, checked by the stage that uses them). ``low``/``high`` bound numbers (``open_low``/``open_high``:
    the bound itself is excluded); ``nullable`` allows ``null``.
    """

    default: Any
    doc: str
    kinds: tuple[str, ...] = ("text",)
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    nullable: bool = False

    def expected(self) -> str:
        """What the key accepts, in words (the "expected ..." of an error and the docs' "allowed" column)."""
        words = []
        for kind in self.kinds:
            if kind == "choice":
                words.append(expected_one_of(self.choices).removeprefix("expected ") if len(self.choices) > 1
                             else str(self.choices[0]))
            elif kind == "mapping" and self.choices:
                words.append("a mapping code: method, methods " + expected_one_of(self.choices).removeprefix(
                    "expected "))
            elif kind == "choices":
                words.append("a list of " + ", ".join(map(str, self.choices)))
            elif kind in ("integer", "number"):
                word = "a whole number" if kind == "integer" else "a number"
                if self.low is not None and self.high is not None:
                    lo, hi = ("(" if self.open_low else "["), (")" if self.open_high else "]")
                    word += f" in {lo}{_num(self.low)}, {_num(self.high)}{hi}"
                elif self.low is not None:
                    word += f" {'>' if self.open_low else '>='} {_num(self.low)}"
                elif self.high is not None:
                    word += f" {'<' if self.open_high else '<='} {_num(self.high)}"
                words.append(word)
            else:
                words.append(_KIND_WORDS[kind])
        if self.nullable:
            words.append("null")
        return " or ".join(words)

    def problem(self, value: Any) -> str | None:
        """``None`` if ``value`` is allowed, else the "expected ..." text."""
        if value is None and self.nullable:
            return None
        for kind in self.kinds:
            if _CHECKS[kind](self, value):
                return None
        return "expected " + self.expected()


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _in_range(key: Key, v: Any) -> bool:
    if key.low is not None and (v <= key.low if key.open_low else v < key.low):
        return False
    return not (key.high is not None and (v >= key.high if key.open_high else v > key.high))


def _is_method(key: Key, v: Any) -> bool:
    return isinstance(v, str) and v.split(":")[0] in key.choices


def _is_date(v: Any) -> bool:
    if isinstance(v, _dt.date):
        return True
    if not isinstance(v, str):
        return False
    try:
        _dt.datetime.fromisoformat(v.strip())
    except ValueError:
        return False
    return True


_KIND_WORDS = {"text": "text", "path": 'a path as text (quote a name made of digits: "2024")', "flag": "true or false",
               "list": "a list of texts", "mapping": "a mapping (key: value)",
               "period": "a period such as 2024, 2024Q3 or 2024-07", "date": "a date such as 2026-01-01",
               "pair": "[low, high] with low < high", "rules": "a list of mappings",
               "weights": "a mapping code: weight (numbers >= 0)"}
_CHECKS = {
    "text": lambda k, v: isinstance(v, str),
    "path": lambda k, v: isinstance(v, str) and v.strip() != "",
    "integer": lambda k, v: isinstance(v, int) and not isinstance(v, bool) and _in_range(k, v),
    "number": lambda k, v: _is_number(v) and _in_range(k, v),
    "flag": lambda k, v: isinstance(v, bool),
    "choice": lambda k, v: isinstance(v, (str, int, float)) and not isinstance(v, bool) and v in k.choices,
    "choices": lambda k, v: isinstance(v, list) and all(_is_method(k, x) for x in v),
    "list": lambda k, v: isinstance(v, list) and all(isinstance(x, (str, int)) and not isinstance(x, bool)
                                                     for x in v),
    "mapping": lambda k, v: isinstance(v, dict) and (not k.choices or all(_is_method(k, x) for x in v.values())),
    "weights": lambda k, v: isinstance(v, dict) and all(_is_number(x) and x >= 0 for x in v.values()),
    "period": lambda k, v: isinstance(v, (str, int)) and not isinstance(v, bool) and is_valid_period(str(v)),
    "date": lambda k, v: _is_date(v),
    "pair": lambda k, v: (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and v[0] < v[1]),
    "rules": lambda k, v: isinstance(v, list) and len(v) > 0 and all(isinstance(x, dict) for x in v),
}

# The allowed methods. They repeat the engines' constants (engines sit on a higher floor); tests/test_settings.py
# checks that they agree, so a new engine method that is not added here fails a test.
NORMALISATIONS = ("minmax", "zscore", "goalposts", "distance_to_target", "distance_to_reference", "rank",
                  "percentile_rank", "fraction_of_max", "ampi", "ratio_to_mean", "ratio_to_median")
AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "generalised", "mpi")
IMPUTATIONS = ("none", "mean", "median", "locf", "linear")
TIE_RULES = ("average", "min", "max", "dense")
PERCENTILE_CONVENTIONS = ("(rank-1)/(n-1)", "rank/n")
FREQUENCIES = ("A", "Q", "M")
MEASURES = ("score", "top2", "net")

_T, _P, _I, _N, _F, _C = ("text",), ("path",), ("integer",), ("number",), ("flag",), ("choice",)
_SHARE = {"kinds": _N, "low": 0, "high": 1}
_RATE = {"kinds": _N, "low": 0, "high": 1, "open_low": True, "open_high": True}

#: Every section and key of ``govlib.yaml``: default, allowed values, meaning. A section is a dict of keys (or of
#: sub-sections); ``framework`` is a single key.
SCHEMA: dict[str, Any] = {
    "project": {
        "name_zh": Key("浦东新区社会治理指数", "project name in Chinese reports", _T),
        "name_en": Key("Pudong Social Governance Index", "project name in English reports", _T),
    },
    "paths": {
        "raw": Key("data/raw", "raw inputs (never edited by govlib)", _P),
        "processed": Key("data/processed", "processed store (builds/<id>/ and the current link)", _P),
        "outputs": Key("outputs", "rendered reports, workbooks and the portal", _P),
        "notebooks": Key("notebooks", "the report notebooks", _P),
    },
    "framework": Key("data/raw/framework.yaml", "the framework file (YAML, or CSV/XLSX with one row per node)", _P),
    "periods": {
        "index_frequency": Key("A", "period of the index", _C, FREQUENCIES),
        "base_period": Key("2018", "base of the progress index", ("period",)),
        "report_frequency": Key("A", "period of the reports", _C, FREQUENCIES),
    },
    "index": {
        "normalisation": Key("minmax", "default normalisation (a framework `normalisation` value overrides it per "
                                       "indicator)", _C, NORMALISATIONS),
        "scale": Key(None, "score scale; null: the framework's `scale`, else [0, 100]", ("pair",), nullable=True),
        "ddof": Key(1, "z-score SD: 1 = sample SD (OECD/JRC Handbook), 0 = population SD", _C, (0, 1)),
        "ties": Key("average", "tie rule of the rank normalisations", _C, TIE_RULES),
        "percentile": Key("(rank-1)/(n-1)", "percentile-rank convention: (rank-1)/(n-1) (COINr) or rank/n (OECD/JRC "
                                            "Handbook)", _C, PERCENTILE_CONVENTIONS),
        "pooled": Key(True, "normalise over all periods at once (scores comparable across years) or per period", _F),
        "reference_unit": Key(None, "unit code for distance_to_reference", _T, nullable=True),
        "aggregation": Key("arithmetic", "default aggregation (the framework `aggregation` column overrides it)", _C,
                           AGGREGATIONS),
        "node_aggregation": Key(None, "node code -> aggregation method, overriding the framework", ("mapping",),
                                AGGREGATIONS, nullable=True),
        "indicator_normalisation": Key(None, "indicator code -> normalisation, overriding the framework",
                                       ("mapping",), NORMALISATIONS, nullable=True),
        "p": Key(1.0, "order of the generalised mean", _N),
        "zero_rule": Key("error", "geometric/harmonic means over values <= 0", _C, ("error", "epsilon")),
        "epsilon": Key(0.001, "replacement value for zero_rule: epsilon", _N, low=0, open_low=True),
        "imputation": Key("none", "imputation of missing values", _C, IMPUTATIONS),
        "imputation_by_group": Key(False, "mean/median imputation within the unit's peer group", _F),
        "max_carry": Key(1, "locf: carry a value at most this many periods", _I, low=0),
        "screening_threshold": Key(0.0, "drop unit-periods with a smaller share of scored indicators", **_SHARE),
        "outliers": Key("none", "outlier treatment", _C, ("none", "winsorise")),
        "max_winsorised": Key(5, "at most this many points winsorised per indicator", _I, low=0),
        "skew_limit": Key(2.0, "an indicator is treated if |skewness| >= this and kurtosis >= kurtosis_limit", _N,
                          low=0),
        "kurtosis_limit": Key(3.5, "see skew_limit", _N, low=0),
        "outlier_fallback": Key("log", "still failing after max_winsorised: log transform (COINr log_CT) or none", _C,
                                ("log", "none")),
        "denominators": Key(None, "indicator -> population column (or [column, scale]) overriding the framework",
                            ("mapping",), nullable=True),
        "coverage_threshold": Key(0.5, "minimum available share of a node's weight for a score", **_SHARE),
        "weights": Key(None, "node -> weight (null: the framework's weights)", ("weights",), nullable=True),
        "weight_set": Key("framework", "name of the weight set (logged)", _T),
        "indicators": Key("all", "all indicators, or only the common ones (scope all)", _C, ("all", "common")),
        "exclude": Key([], "indicator codes left out", ("list",)),
        "rank_ties": Key("min", "tie rule of result ranks", _C, TIE_RULES),
        "base_period": Key(None, "base of the progress index; null: periods.base_period if the data have it, "
                                 "else the first period", ("period",), nullable=True),
        "n_strengths": Key(3, "strengths and weaknesses listed per unit-period", _I, low=0),
        "audit": {
            "enabled": Key(True, "compute the statistical audit tables", _F),
            "method": Key("pearson", "correlation method", _C, ("pearson", "spearman")),
            "level": Key(None, "framework level audited (null: each node's immediate parent)", _I, low=0,
                         nullable=True),
            "by": Key(None, "column to audit within (e.g. period)", _T, nullable=True),
        },
        "uncertainty": {
            "enabled": Key(True, "Monte Carlo rank intervals", _F),
            "replications": Key(1000, "Monte Carlo replications", _I, low=1),
            "seed": Key(0, "random seed", _I, low=0),
            "normalisations": Key(["minmax", "zscore", "percentile_rank"], "normalisations drawn from",
                                  ("choices",), NORMALISATIONS),
            "aggregations": Key(["arithmetic", "geometric"], "aggregations drawn from", ("choices",), AGGREGATIONS),
            "imputations": Key(None, "imputations drawn from (null: none and the index's method or mean)",
                               ("choices",), IMPUTATIONS, nullable=True),
            "leave_one_out": Key(True, "also drop each indicator in turn", _F),
            "weight_noise": Key(0.25, "relative noise on the weights", _N, low=0),
            "survey_error": Key(True, "draw indicators with a standard error (survey estimates) from their sampling "
                                      "distribution in every replication", _F),
            "n_bootstrap": Key(200, "bootstrap samples of the Sobol indices' intervals", _I, low=0),
        },
    },
    "survey": {
        "strata": Key("stratum", "stratum column (crossed with wave)", _T),
        "psu": Key("psu", "first-stage cluster column (crossed with wave)", _T),
        "ssu": Key("respondent_id", "second-stage unit (used when fpc has two columns)", _T),
        "weight": Key("weight", "sampling weight column", _T),
        "fpc": Key(["fpc1", "fpc2"], "fpc columns per stage ([] for none)", ("list",)),
        "fpc_kind": Key("population", "what the fpc columns hold", _C, ("population", "fraction")),
        "lonely_psu": Key("fail", "rule for strata with one PSU", _C,
                          ("fail", "remove", "certainty", "adjust", "average")),
        "calibration": Key("rake", "weight calibration (poststratify: 街镇 x age x sex)", _C,
                           ("rake", "poststratify", "none")),
        "trim_lower": Key(None, "lower weight bound after calibration", _N, low=0, nullable=True),
        "trim_upper": Key(None, "upper weight bound after calibration", _N, low=0, open_low=True, nullable=True),
        "confidence_level": Key(0.95, "CI level", **_RATE),
        "ci": Key("t", "CI kind: t (design df) or normal", _C, ("t", "normal")),
        "cv_release": Key(0.165, "CV up to which an estimate is released (Statistics Canada)", _N, low=0,
                          open_low=True),
        "cv_suppress": Key(0.333, "CV above which an estimate is suppressed", _N, low=0, open_low=True),
        "min_n": Key(30, "minimum respondents", _I, low=0),
        "min_n_eff": Key(30, "minimum effective sample size", _N, low=0),
        "measures": Key(["score", "top2", "net"], "measures in survey_estimates", ("choices",), MEASURES),
        "composite_weights": Key({}, "item -> weight for the composite (empty: equal weights)", ("weights",)),
        "community_level": Key(True, "community x wave estimates and the SAE table", _F),
        "sae": Key(True, "Fay-Herriot small-area estimates for communities", _F),
    },
    "hotline": {
        "as_of": Key(None, "extract time YYYY-MM-DD[ HH:MM] (null: the latest time stamp in the data)", ("date",),
                     nullable=True),
        "satisfied_min": Key(4, "lowest rating (of 5) counted as satisfied", _I, low=1, high=5),
        "repeat_base": Key("complaint", "D3.3 denominator", _C, ("complaint", "all")),
        "min_denominator": Key(30, "shares on fewer tickets are flagged provisional", _I, low=0),
        "periods": Key("both", "observation periods", _C, ("month", "year", "both")),
        "chunk_rows": Key(2_000_000, "tickets reduced per chunk (bounds memory; the result does not change)", _I,
                          low=1),
    },
    "doorstep": {
        "coverage_frequency": Key("Q", "periods of doorstep_coverage", _C, FREQUENCIES),
        "gaps_frequency": Key("A", "periods at whose end missing bottom-line items are listed", _C, FREQUENCIES),
        "usage_frequency": Key("Q", "periods of doorstep_usage", _C, FREQUENCIES),
        "require_station": Key(True, "no station that year -> no items available", _F),
        "coverage_floor_items": Key(100.0, "coverage floor (items) for the equity table and the lagging list", _N,
                                    low=0),
        "usage_floor_fraction": Key(0.5, "usage floor = this fraction of the district median per period", _N,
                                    low=0),
        "population_weights": Key(True, "weight usage inequality by residents", _F),
        "conf_level": Key(0.95, "t interval of evaluation ratings", **_RATE),
        "evaluation_grace_months": Key(12, "unevaluated projects older than this are overdue", _I, low=0),
        "floor_share": Key("ratio_of_sums", "D5.3 estimator", _C, ("ratio_of_sums", "mean_of_ratios")),
        "categories": Key(None, "allowed catalogue categories (null: the 7 of the standard)", ("list",),
                          nullable=True),
        "check_records": Key(True, "check every record against the menus", _F),
        "usage_trends": Key(True, "compute doorstep_usage_trends", _F),
    },
    "trend": {
        "alpha": Key(0.05, "level of each series' own trend word (unadjusted p)", **_RATE),
        "fdr": Key(0.05, "false-alarm budget: Benjamini-Hochberg FDR across all series of a build", **_RATE),
        "conf_level": Key(0.95, "Sen slope CI level", **_RATE),
        "min_n": Key(4, "fewer observations: no test", _I, low=2),
        "exact_max_n": Key(10, "exact p of S for n up to this without ties", _I, low=0),
        "seasonal": Key(True, "seasonal Mann-Kendall and Sen for Q and M series", _F),
        "changepoint_penalty": Key("bic", "change-point penalty: bic or a number", ("choice", "number"), ("bic",),
                                   low=0),
        "changepoint_bic_factor": Key(3.0, "BIC factor (2 is the textbook BIC)", _N, low=0, open_low=True),
        "changepoint_min_size": Key(2, "minimum segment length", _I, low=1),
        "control_baseline": Key(4, "control-chart baseline: at least this many observations", _I, low=1),
        "control_baseline_years": Key(2.0, "control-chart baseline: the first years of each series", _N, low=0,
                                      open_low=True),
        "cusum_k": Key(0.5, "CUSUM reference value", _N, low=0),
        "cusum_h": Key(5.0, "CUSUM decision interval", _N, low=0, open_low=True),
        "ewma_lambda": Key(0.2, "EWMA smoothing", _N, low=0, high=1, open_low=True),
        "ewma_L": Key(3.0, "EWMA limit width", _N, low=0, open_low=True),
        "ewma_limits": Key("fixed", "EWMA limits: fixed (asymptotic, as R spc) or exact", _C, ("fixed", "exact")),
        "base_period": Key(None, "base of the CAGR for progress to target (null: periods.base_period)",
                           ("period",), nullable=True),
        "target_period": Key("2030", "when framework targets should be reached", ("period",)),
        "survey_series": Key(True, "community survey estimates as series of their own", _F),
        "survey_measure": Key("score", "the measure of survey_estimates used", _C, MEASURES),
        "survey_include_suppressed": Key(False, "use suppressed estimates in the survey rule", _F),
        "control_sources": Key(["index", "indicator"], "series that get control charts", ("choices",),
                               ("index", "indicator", "survey")),
        "index_nodes": Key("aggregate", "index scores followed: aggregate (root and dimensions) or all", _C,
                           ("aggregate", "all")),
        "seasonal_covariance": Key("none", "seasonal Mann-Kendall variance", _C, ("none", "hirsch_slack_1984")),
    },
    "alerts": {  # docs/alerts.md
        "rules": Key(None, "the alert rules (null: govlib.trend.alerts.DEFAULT_RULES; see that module)",
                     ("rules",), nullable=True),
        "surge": {  # 12345 count surges (improved Farrington, govlib.trend.outbreak)
            "node": Key("D4.1", "the hotline indicator the surge alerts are filed under", _T),
            "levels": Key(["subdistrict"], "unit levels whose ticket series are watched", ("list",)),
            "b": Key(3, "years back of reference values", _I, low=1),
            "w": Key(1, "half-window of reference months around the current one", _I, low=0),
            "n_periods": Key(4, "seasonal periods of the noPeriods factor", _I, low=1),
            "past_excluded": Key(1, "most recent months left out of the reference", _I, low=0),
            "threshold_method": Key("nbPlugin", "upper bound: negative-binomial plug-in, muan or delta", _C,
                                    ("nbPlugin", "muan", "delta")),
            "limit54": Key([5, 4], "low-count rule: fewer than [cases, in months] -> no alarm", ("list",)),
        },
        "deterioration": {  # a change beyond the unit's own noise (govlib.trend.deterioration)
            "windows": Key([1, 2, 3], "latest periods tested as a step against the history before them", ("list",)),
            "min_history": Key(2, "fewest earlier periods before a test (sub-annual series: at least a year)", _I,
                               low=1),
            "sources": Key(["index", "indicator"], "series tested", ("choices",), ("index", "indicator")),
            "skip_observation_sources": Key(["survey"], "observations of these sources are left to the survey rules "
                                            "(design-based SEs, one BH budget)", ("list",)),
            "homogeneity_alpha": Key(0.05, "noise SD: the units' pooled SD alone where a Brown-Forsythe test does not "
                                     "find their noise unequal at this level, else the larger of pooled and own "
                                     "(1: always the larger)", **_SHARE),
            "period_effect": Key("none", "two-way panel: each unit tested after the district's common "
                                 "movement (trimmed mean of the units' centred values per period), or none", _C,
                                 ("trimmed_mean", "none")),
            "period_trim": Key(0.2, "share trimmed at each end of the period effect's mean", _N, low=0, high=0.49),
            "period_min_units": Key(6, "fewest units in a period for a period effect (fewer: no effect)", _I,
                                    low=2),
            "period_min_share": Key(0.25, "the period effect is removed where it explains at least this share of "
                                    "the pooled noise variance", **_SHARE),
        },
        "survey_decline": {
            "levels": Key(["jiezhen", "subdistrict"], "unit levels whose satisfaction waves are compared",
                          ("list",)),
        },
        "usage_drop": {  # services delivered at a station (govlib.trend.deterioration.count_drop_test)
            "node": Key("D5", "the node the station usage-drop alerts are filed under", _T),
            "windows": Key([1, 2, 3], "latest months tested against the baseline before them", ("list",)),
            "baseline": Key(12, "months before the window whose mean is the expected level", _I, low=2),
            "min_expected": Key(10.0, "fewest expected services in the window for a test", _N, low=0),
        },
    },
    "conformity": {  # 家门口 standard conformity (govlib.pipeline.stages.conformity)
        "frequency": Key("A", "periods of the conformity tables", _C, FREQUENCIES),
        "grace_days": Key(90, "days after completion within which a project's evaluation meeting is due", _N, low=0),
        "min_attendance": Key(10, "fewest residents at a meeting for it to count", _N, low=0),
        "partial_points": Key(0.5, "credit of a requirement 'partly met' (met = 1, not met = 0)", **_SHARE),
        "visit_threshold": Key(80.0, "stations scoring below this are on the visit list", _N, low=0),
        "visit_n": Key(10, "longest visit list per 街镇", _N, low=0),
        "conf_level": Key(0.95, "interval of the conformity-evaluation correlation", **_RATE),
        "correlation": Key("pearson", "correlation of conformity with residents' ratings", _C,
                           ("pearson", "spearman")),
        "indicators": Key({}, "framework leaves fed by conformity: {score: D5.x, chains: D5.y} (empty: none)",
                          ("mapping",)),
    },
    "reports": {
        "lang": Key("zh", "default report language", _C, ("zh", "en")),
        "workers": Key(2, "reports rendered at once", _I, low=1),
        "timeout_seconds": Key(900, "per-report timeout (fractions allowed)", _N, low=0, open_low=True),
        "kernel": Key("govlib", "Jupyter kernel name", _T),
        "executor": Key("local", "where reports render: local warm workers, dask, inline", _C,
                        ("local", "dask", "inline")),
    },
}


def section_defaults(name: str) -> Any:
    """The defaults of one section (a fresh dict; nested sections included), or of the single key ``framework``.

    Examples
    --------
    >>> section_defaults("hotline")["repeat_base"]
    'complaint'
    """
    return _defaults(SCHEMA[name])


def _defaults(node: Any) -> Any:
    if isinstance(node, Key):
        return copy.deepcopy(node.default)
    return {k: _defaults(v) for k, v in node.items()}


#: The defaults of the settings the whole package shares; topic sections are filled from :data:`SCHEMA` by
#: :func:`read_section` (the merged ``Settings.data`` keeps them as the user wrote them, so the settings hash of a
#: project does not change when a default is documented).
SHARED_SECTIONS = ("project", "paths", "framework", "periods", "reports")
DEFAULTS: dict[str, Any] = {name: section_defaults(name) if name in SHARED_SECTIONS else {} for name in SCHEMA}


def check_section(name: str, values: Any, file: str = "govlib.yaml",
                  lines: dict[str, int] | None = None) -> list[Problem]:
    """Every problem of one section's values against :data:`SCHEMA` (unknown keys, types, ranges, choices).

    Examples
    --------
    >>> [p.expected for p in check_section("reports", {"workers": "two", "lang": "fr"})]
    ['expected a whole number >= 1', 'expected one of zh, en']
    """
    return _check(SCHEMA[name], values, name, file, lines or {})


def _check(node: Any, value: Any, path: str, file: str, lines: dict[str, int]) -> list[Problem]:
    row = lines.get(path)
    if isinstance(node, Key):
        expected = node.problem(value)
        if expected is None:
            return []
        if value is None:  # an empty value in YAML: say so, and that leaving the key out gives the default
            expected += f" (the key is empty; leave it out for the default {format_value(node.default)})"
        return [SettingProblem(file, row, path, value, expected)]
    if not isinstance(value, dict):
        return [SettingProblem(file, row, path, value, "expected a mapping of keys (key: value) under "
                        f"{path}:; {expected_one_of(node)}")]
    problems = []
    for key, inner in value.items():
        where = f"{path}.{key}"
        if key not in node:
            problems.append(SettingProblem(file, lines.get(where), where, None, _unknown("key", key, node)))
        else:
            problems += _check(node[key], inner, where, file, lines)
    return problems


def _unknown(what: str, key: Any, known: Any) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown {what}; {hint}{expected_one_of(known)}"


@dataclass(frozen=True)
class SettingProblem(Problem):
    """A :class:`~govlib.errors.Problem` in a settings or framework file: ``row`` is the line, ``column`` the key
    path (``reports.workers``)."""

    def __str__(self) -> str:
        where = self.file + (f", line {self.row}" if self.row is not None else "")
        where += f", key {self.column}" if self.column is not None else ""
        if self.value is None:
            return f"{where}: {self.expected}"
        return f"{where}: value {format_value(self.value)}: {self.expected}"


@dataclass(frozen=True)
class Settings:
    """Validated settings. ``data`` is the merged dictionary; ``root`` the project root; ``source`` the file."""

    data: dict[str, Any]
    root: Path
    source: Path | None = None
    _hash: str = field(default="", repr=False)

    def path(self, key: str) -> Path:
        """An absolute path from the ``paths`` section (``raw``, ``processed``, ``outputs``, ``notebooks``)."""
        return (self.root / Path(self.data["paths"][key]).expanduser()).resolve()

    @property
    def raw_dir(self) -> Path:
        return self.path("raw")

    @property
    def processed_dir(self) -> Path:
        return self.path("processed")

    @property
    def outputs_dir(self) -> Path:
        return self.path("outputs")

    @property
    def framework_path(self) -> Path:
        return (self.root / Path(self.data["framework"]).expanduser()).resolve()

    def with_raw_dir(self, raw: str | Path) -> "Settings":
        """A copy that reads raw data (and ``framework.yaml``) from another folder (``govlib validate --raw``)."""
        data = copy.deepcopy(self.data)
        raw = Path(raw).resolve()
        data["paths"]["raw"] = str(raw)
        data["framework"] = str(raw / "framework.yaml")
        return Settings(data=data, root=self.root, source=self.source)

    def section(self, name: str) -> dict[str, Any]:
        """A copy of one section (``index``, ``survey``, ``trend``, ``alerts``, ...)."""
        return copy.deepcopy(self.data.get(name, {}))

    @property
    def hash(self) -> str:
        """SHA-256 of the merged settings (paths excluded), recorded in the manifest and the reports."""
        return self._hash

    def with_overrides(self, **sections: dict[str, Any]) -> "Settings":
        """A copy with some sections replaced or updated (used by tests and notebooks); the stages check the
        values when they read them (:func:`read_section`)."""
        data = copy.deepcopy(self.data)
        for name, values in sections.items():
            if isinstance(data.get(name), dict) and isinstance(values, dict):
                data[name] = _merge(data[name], values)
            else:
                data[name] = values
        return _make(data, self.root, self.source)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _make(data: dict, root: Path, source: Path | None) -> Settings:
    hashed = {k: v for k, v in data.items() if k != "paths"}
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    return Settings(data=data, root=root, source=source, _hash=digest)


def load_settings(path: str | Path | None = None, root: str | Path | None = None) -> Settings:
    """Read and check ``govlib.yaml`` (default: the one at the project root; defaults if there is none).

    Every section and key is checked against :data:`SCHEMA` here, before any data is read; all problems are
    raised at once as one :class:`~govlib.errors.ValidationError`.

    Parameters
    ----------
    path : path to a settings file; relative paths inside it resolve against ``root``.
    root : project root; default :func:`govlib.paths.project_root`.

    Examples
    --------
    >>> s = load_settings()
    >>> s.data["periods"]["index_frequency"]
    'A'
    """
    root = Path(root).resolve() if root is not None else project_root()
    source = Path(path) if path is not None else root / "govlib.yaml"
    if not source.is_absolute():
        source = (root / source).resolve()
    user: Any = {}
    lines: dict[str, int] = {}
    name = source.name
    if source.exists():
        user, lines = read_yaml(source)
        user = {} if user is None else user
        if not isinstance(user, dict):
            raise ValidationError([SettingProblem(name, None, None, None, "expected a mapping of sections at the "
                                                  f"top level ({expected_one_of(SCHEMA)})")])
    elif path is not None:
        raise ValidationError([SettingProblem(str(source), None, None, None, "settings file not found")])
    problems: list[Problem] = []
    for key, value in user.items():
        if key not in SCHEMA:
            problems.append(SettingProblem(name, lines.get(str(key)), str(key), None,
                                           _unknown("section", key, SCHEMA)))
        elif not (value is None and isinstance(SCHEMA[key], dict)):  # an empty section: all defaults
            problems += _check(SCHEMA[key], value, key, name, lines)
    if problems:
        raise ValidationError(problems)
    user = {k: {} if v is None else v for k, v in user.items()}
    return _make(_merge(DEFAULTS, user), root, source if source.exists() else None)


def read_section(settings: Settings | None, name: str) -> dict[str, Any]:
    """One section merged over its defaults (nested sections too), checked against :data:`SCHEMA`: the one way
    build stages read their settings (``settings=None``: the defaults).

    Examples
    --------
    >>> read_section(None, "index")["uncertainty"]["replications"]
    1000
    >>> read_section(load_settings().with_overrides(index={"audit": {"method": "spearman"}}), "index")["audit"]
    {'enabled': True, 'method': 'spearman', 'level': None, 'by': None}
    """
    values = (settings.section(name) if settings is not None else None) or {}
    file = settings.source.name if settings is not None and settings.source is not None else "govlib.yaml"
    problems = check_section(name, values, file)
    if problems:
        raise ValidationError(problems)
    return _merge(section_defaults(name), values)


# ------------------------------------------------------------------------------------------------------ YAML files
class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (plain YAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the safe loader's own error follows
                continue
            if first is not None:
                raise _DuplicateKey(None, None, f"key {key!r} appears twice (first on line {first}); YAML would "
                                    "silently keep only the second: merge them into one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path, file: str | None = None) -> tuple[Any, dict[str, int]]:
    """Read a YAML file safely: UTF-8 (a BOM is fine), no duplicate keys, no Python tags.

    Returns the document and the line of every mapping key by its dotted path (``reports.workers``), so that
    messages can name the line. Raises :class:`~govlib.errors.ValidationError` naming the file and the line for a
    file that cannot be read, is not UTF-8 (e.g. saved as GBK), is not valid YAML or repeats a key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
    >>> _ = f.write_text("a:\\n  b: 1\\n")
    >>> read_yaml(f)
    ({'a': {'b': 1}}, {'a': 1, 'a.b': 2})
    """
    path = Path(path)
    name = file or path.name
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ValidationError([SettingProblem(name, None, None, None, f"{path} is a folder; expected a YAML file")])
    except OSError as exc:
        raise ValidationError([SettingProblem(name, None, None, None,
                                              f"cannot be read ({exc.strerror or exc}): {path}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ValidationError([SettingProblem(name, line, None, None,
                                              "the file is not UTF-8 text (saved as GBK/GB2312 or another legacy "
                                              "encoding?); open it in an editor and save it as UTF-8")]) from None
    loader = None
    try:
        loader = _StrictLoader(text)  # checks the characters first (a control character is a ReaderError)
        node = loader.get_single_node()
        try:
            size = _expanded_size(node, {}, set()) if node is not None else 0
        except (ValueError, RecursionError) as exc:
            raise ValidationError([SettingProblem(name, None, None, None, f"not valid here: {exc}")]) from None
        if size > MAX_YAML_VALUES:
            raise ValidationError([SettingProblem(name, None, None, None, f"the aliases (*name) expand to {size:,} "
                                                  f"values, more than {MAX_YAML_VALUES:,}; write the values out")])
        try:
            doc = loader.construct_document(node) if node is not None else None
        except (ValueError, OverflowError) as exc:  # e.g. a date 2026-13-45: YAML's own constructor fails
            row = _unreadable_scalar_line(node)
            raise ValidationError([SettingProblem(name, row, None, None, f"a value cannot be read ({exc}); write "
                                                  "dates as 2026-01-31, or quote the value")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        if isinstance(exc, yaml.reader.ReaderError):  # a control character: say where, in the words of a person
            row = text.count("\n", 0, exc.position) + 1
        what = (f"the control character U+{exc.character:04X} is not allowed"
                if isinstance(exc, yaml.reader.ReaderError) else getattr(exc, "problem", None) or str(exc))
        message = what if isinstance(exc, _DuplicateKey) else f"not valid YAML ({what})"
        raise ValidationError([SettingProblem(name, row, None, None, message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[str, int] = {}
    _key_lines(node, "", lines)
    return doc, lines


#: A settings or framework file holds a few thousand values at most; aliases (``*name``) nested inside each other
#: can expand a small file into billions ("billion laughs"), which the settings hash would then serialise.
MAX_YAML_VALUES = 1_000_000


def _expanded_size(node: Any, memo: dict[int, int], active: set[int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    if key in active:
        raise ValueError("an alias refers to itself")
    active.add(key)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo, active) + _expanded_size(v, memo, active) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo, active) for v in node.value)
    else:
        size = 1
    active.discard(key)
    memo[key] = size
    return size


def _unreadable_scalar_line(node: Any) -> int | None:
    """The line of the first scalar the safe loader cannot construct (the constructor's error has no position)."""
    if isinstance(node, yaml.ScalarNode):
        try:
            yaml.SafeLoader("").construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError):
            return node.start_mark.line + 1
        return None
    children = node.value if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) else []
    for child in children:
        for part in (child if isinstance(child, tuple) else (child,)):
            row = _unreadable_scalar_line(part)
            if row is not None:
                return row
    return None


def _key_lines(node: Any, prefix: str, out: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            path = prefix + key_node.value
            out.setdefault(path, key_node.start_mark.line + 1)
            _key_lines(value_node, path + ".", out)


# ------------------------------------------------------------------------------------------------- the reference
def _shown_default(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_shown_default(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown_default(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str) and is_valid_period(value):
        return f'"{value}"'
    return str(value)


def _rows(node: Any, path: str) -> list[tuple[str, Key]]:
    if isinstance(node, Key):
        return [(path, node)]
    return [row for key, inner in node.items() for row in _rows(inner, f"{path}.{key}" if path else key)]


def settings_reference() -> str:
    """``docs/settings.md``: every section and key with its default, allowed values and meaning, from
    :data:`SCHEMA` (``python -m govlib.settings > docs/settings.md``; a test checks the file agrees)."""
    out = [_REFERENCE_HEAD]
    for section, node in SCHEMA.items():
        out += [f"## `{section}`", ""]
        if section in _SECTION_NOTES:
            out += [_SECTION_NOTES[section], ""]
        out += ["| key | default | allowed | meaning |", "|---|---|---|---|"]
        for path, key in _rows(node, section):
            out.append(f"| `{path}` | `{_shown_default(key.default)}` | {key.expected()} | {key.doc} |")
        out.append("")
    return "\n".join(out + [_REFERENCE_TAIL])


_REFERENCE_HEAD = """# Settings (`govlib.yaml`)

<!-- Generated from govlib/settings.py (SCHEMA) by `python -m govlib.settings > docs/settings.md`; do not edit by
hand: tests/test_settings.py checks that this file and the code agree. -->

`govlib.yaml` at the project root holds every choice a build or a report makes. It is read in one place
(`govlib.settings`) with a safe YAML loader that refuses a key given twice and a file not saved as UTF-8; paths
resolve from the project root (or `$GOVLIB_ROOT`), never from the working directory. Every key is optional and takes
the default below; an **unknown key is an error**, so a typo never falls back silently. Every value is checked when
the file is loaded, before any data is read, so `govlib validate` and `govlib build` report a wrong value at once
(file, line, key, value and what is allowed; exit status 2). The hash of the settings (paths excluded) is recorded
in `data/processed/current/manifest.json` and printed in every report's provenance footer, so a number can always be
traced to the choices that made it.

An empty section (`index:` with nothing under it) means all defaults. A key with an empty value (`raw:`) is an
error: leave the key out to get its default. Periods may be written with or without quotes (`2018` or `"2018"`).
"""

_SECTION_NOTES = {
    "framework": "A single key (not a section): the framework file, relative to the project root.",
    "index": "Example: rank with z-scores (sample SD) per period and a geometric mean for the root, with outlier "
             "treatment:\n\n```yaml\nindex:\n  normalisation: zscore\n  ddof: 1\n  pooled: false\n"
             "  outliers: winsorise\n  node_aggregation: {SGI: geometric}\n```\n\n"
             "Methods may carry a parameter after a colon where the method takes one (`generalised:0.5`).",
    "alerts": "Each rule has a `name`, a `kind` (level_below, drop, trend_down, change_point_down, cusum_down, "
              "ewma_down, survey_below), a `level` (red, amber, info) and the thresholds of its kind; see "
              "`govlib.trend.alerts`. The rules are checked when the settings are read, before any data.",
}

_REFERENCE_TAIL = """## Adding a key

Add one `Key(default, meaning, kinds, choices, low=..., high=...)` line to its section in `SCHEMA`
(`govlib/settings.py`), read it in the stage with `read_section(settings, "<section>")["<key>"]`, and regenerate
this file with `python -m govlib.settings > docs/settings.md`.
"""


if __name__ == "__main__":  # pragma: no cover
    print(settings_reference(), end="")
