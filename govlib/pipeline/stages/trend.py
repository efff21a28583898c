"""Build stage: trends, alerts and progress to target for every unit x node / indicator series.

Inputs (``tables``)
-------------------
- ``index_scores``: unit, period, node, score (+ rank, peer_rank, coverage) — optional.
- ``observations``: unit, period, indicator, value (+ se, flag, source); mixed frequencies — optional.
- ``survey_estimates``: level, unit (or ``domain``), period, indicator (or ``item``), estimate, se (+ measure,
  flag) — optional. Rows with ``level == "district"`` are the district reference of the ``survey_below`` rule;
  ``level == "community"`` rows also become series of their own (source ``survey``).
- ``framework``: code, name_zh, name_en, direction, target (+ frequency, ...) — direction 1 higher is better,
  -1 lower is better, 0 context (no status, no alerts).
- ``units``: code, name_zh, name_en — optional (codes are shown when missing).

Each series is one (source, unit, node, frequency): ``source`` is ``index`` (node scores), ``indicator``
(observations) or ``survey`` (community survey estimates); it runs at its own frequency (``A``, ``Q``, ``M``) on
decimal years, so slopes are per year. Quarterly and monthly series use the seasonal test and slope; their change
points and control charts run on values minus the season's median.

Outputs
-------
- ``trends``: unit, node, source, frequency, n, s, var_s, z, p, q (BH), tau_b, tau_a, sen_slope, sen_low,
  sen_high, pettitt_u, pettitt_p, change_point, trend, status (direction-aware), direction, p_method, test,
  first_period, last_period, n_changes, last_change, last_change_shift, fdr (the false-alarm budget used).
- ``alerts``: unit, period, node, level, status, first_seen, rule, rules, observed, expected_or_limit, statistic,
  p_value, source_department, evidence, message_zh, message_en (see :mod:`govlib.trend.alerts`).
- ``change_points``: unit, node, source, frequency, period (first period after the change), last_before,
  mean_before, mean_after, shift, shift_sd, effect (improvement / deterioration / context).
- ``progress_to_target``: unit, node, source, frequency, method (``target``/``trend``), base_period, base_value,
  latest_period, latest_value, target, target_period, actual_cagr, required_cagr, ratio, status.

Settings
--------
Section ``trend`` (all optional; an unknown key is an error):

=============================== ========== ========================================================================
key                             default    meaning
=============================== ========== ========================================================================
``alpha``                       0.05       level of each series' own ``trend`` word (unadjusted p)
``fdr``                         0.05       **false-alarm budget**: Benjamini–Hochberg FDR across all series of one
                                           report (this build); ``status`` and the ``trend_down`` rule use
                                           q < fdr. Written to the ``fdr`` column of ``trends``.
``conf_level``                  0.95       Sen slope CI
``min_n``                       4          fewer observations: no test (``test = "too_short"``)
``exact_max_n``                 10         exact p of S for n <= this without ties
``seasonal``                    true       seasonal Mann–Kendall + seasonal Sen for Q and M series
``seasonal_covariance``         "none"     "none" (Hirsch–Slack–Smith 1982, as R smk.test) or
                                           "hirsch_slack_1984" (covariance between seasons)
``changepoint_penalty``         "bic"      "bic" (``changepoint_bic_factor`` x log(n) x sigma^2) or a number
``changepoint_bic_factor``      3.0        2 is the textbook BIC; 3 halves false changes in 8-point series
``changepoint_min_size``        2          minimum segment length
``control_baseline_years``      2.0        baseline = the first years of each series (median; scale = the
                                           diff-based robust noise SD pooled over the units of the node)
``control_baseline``            4          ... but at least this many observations
``cusum_k``, ``cusum_h``        0.5, 5.0   two-sided tabular CUSUM (only the worsening side raises alerts;
                                           one-sided in-control ARL about 930 observations)
``ewma_lambda``, ``ewma_L``     0.2, 3.0   EWMA; ``ewma_limits`` "fixed" (asymptotic, as R spc) or "exact"
``control_sources``             [index, indicator] series that get control charts (community survey
                                           estimates are too noisy: their change points are used instead)
``index_nodes``                 "aggregate" index scores followed: "aggregate" (the root and the dimensions:
                                           nodes with children; leaves are followed as observations) or "all"
``survey_series``               true       community survey estimates as series of their own
``survey_measure``              "score"    the ``measure`` of survey_estimates to use
``survey_include_suppressed``   false      use suppressed (too few respondents) estimates in the survey rule
``base_period``                 periods.base_period  base of the CAGR for progress to target
``target_period``               "2030"     when framework targets should be reached
=============================== ========== ========================================================================

Section ``alerts``: ``rules`` (list; default :data:`govlib.trend.alerts.DEFAULT_RULES`; see :mod:`govlib.trend.alerts`
and docs/alerts.md) and the detectors' settings (:data:`ALERT_DEFAULTS`; an unknown key is an error):

- ``surge``: ``node`` (D4.1: the node the 12345 surges are reported on), ``levels`` (hotline_monthly levels
  followed: ``subdistrict``; add ``community`` where counts allow), ``b`` 3, ``w`` 1, ``n_periods`` 4,
  ``past_excluded`` 1, ``threshold_method`` nbPlugin, ``limit54`` [5, 4] — :func:`govlib.trend.outbreak.
  farrington_flexible` on every unit x category x month series at once, at the ``count_surge`` rule's alpha;
- ``deterioration``: ``windows`` [1, 2, 3], ``min_history`` 2 (sub-annual series: at least a year),
  ``sources`` [index, indicator],
  ``skip_observation_sources`` [survey] (survey indicators are tested by the survey rules, with their design-based
  SEs) —
  ``homogeneity_alpha`` 0.05, ``period_effect`` none (``trimmed_mean``: a two-way panel, ``period_trim`` 0.2,
  ``period_min_units`` 6, ``period_min_share`` 0.25) — :func:`govlib.trend.deterioration.step_test`, sigma =
  the node's pooled noise SD where :func:`govlib.trend.deterioration.noise_homogeneity` finds no unequal noise
  across its units, else max(pooled, the series' own);
- ``survey_decline``: ``levels`` [jiezhen, subdistrict] (community estimates, ~30 respondents a wave, are too
  noisy for wave-to-wave tests).
- ``usage_drop``: ``node`` (D5), ``windows`` [1, 2, 3], ``baseline`` 12, ``min_expected`` 10 —
  :func:`govlib.trend.deterioration.count_drop_test` on every station's (community's) services per month
  (``doorstep_usage_monthly`` of the doorstep stage), at the ``usage_drop`` rule's ``far``.

The ``survey_below`` rule looks at each unit x indicator's latest released wave only (a persistent gap would
otherwise repeat every wave); ``trend_down`` at each series' latest period. Bottom lines: indicator values worse
than the framework's ``floor``, and stations that lost bottom-line items (``doorstep_gaps``: more items missing
than at any earlier period end). Rank falls: ``uncertainty`` (rank_p05/p95 of the Monte Carlo ranks).

The ``alerts`` output has :data:`govlib.trend.alerts.ALERT_COLUMNS`: with ``status`` (new / continuing /
resolved) and ``first_seen`` from :func:`govlib.trend.alerts.alert_lifecycle`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...trend.alerts import ALERT_COLUMNS, alert_lifecycle, evaluate_rules, validate_rules
from ...trend.deterioration import (count_drop_test, noise_homogeneity, noise_sd, period_effects, season_scale,
                                    step_test)
from ...trend.outbreak import farrington_flexible
from ...trend.changepoint import change_points, robust_sigma
from ...trend.control import cusum, ewma, robust_standardise
from ...errors import InputError, ValidationError
from ...periods import decimal_time
from ...settings import SettingProblem, read_section, section_defaults
from ...trend.progress import progress_to_target, trend_status
from ...trend.mannkendall import benjamini_hochberg, make_panel, panel_trends

__all__ = ["run", "TREND_DEFAULTS", "read_settings"]

#: The ``trend`` section's defaults (declared in :data:`govlib.settings.SCHEMA`).
TREND_DEFAULTS = section_defaults("trend")

_KEYS = ["source", "unit", "node", "frequency"]

#: Settings of the alert detectors (section ``alerts``, beside ``rules``); see the module docstring.
ALERT_DEFAULTS = {name: section_defaults("alerts")[name] for name in ("surge", "deterioration", "survey_decline",
                                                                     "usage_drop")}
_PER_YEAR = {"A": 1, "Q": 4, "M": 12}
_CATEGORY_ZH = {"consultation": "咨询", "help": "求助", "complaint": "投诉", "suggestion": "建议", "other": "其他"}


def read_settings(settings) -> tuple[dict, list[dict], dict]:
    """The ``trend`` section merged over :data:`TREND_DEFAULTS`, the checked ``alerts`` rules and the alert
    detectors' settings (``alerts_surge``, ``alerts_deterioration``, ``alerts_survey_decline``)
    (:func:`govlib.settings.read_section`; the rules by :func:`govlib.trend.alerts.validate_rules`).

    Examples
    --------
    >>> cfg, rules, detectors = read_settings(None)
    >>> cfg["fdr"], rules[0]["kind"], detectors["alerts_surge"]["threshold_method"]
    (0.05, 'floor_breach', 'nbPlugin')
    """
    cfg = read_section(settings, "trend")
    if cfg["base_period"] is None:
        cfg["base_period"] = (settings.data.get("periods", {}).get("base_period", "2018") if settings is not None
                              else "2018")
    cfg["base_period"], cfg["target_period"] = str(cfg["base_period"]), str(cfg["target_period"])
    alerts_cfg = read_section(settings, "alerts")  # the detectors' sub-sections are declared in SCHEMA
    file = settings.source.name if settings is not None and settings.source is not None else "govlib.yaml"
    detectors = {f"alerts_{section}": alerts_cfg[section] for section in ALERT_DEFAULTS}
    windows = detectors["alerts_deterioration"]["windows"]
    usage_windows = detectors["alerts_usage_drop"]["windows"]
    limit = detectors["alerts_surge"]["limit54"]
    problems = []
    if not (usage_windows and all(isinstance(w, int) and w >= 1 for w in usage_windows)):
        problems.append(SettingProblem(file, None, "alerts.usage_drop.windows", usage_windows,
                                       "a list of positive whole numbers"))
    if not (windows and all(isinstance(w, int) and w >= 1 for w in windows)):
        problems.append(SettingProblem(file, None, "alerts.deterioration.windows", windows,
                                       "a list of positive whole numbers"))
    if not (len(limit) == 2 and all(isinstance(x, int) and x >= 0 for x in limit)):
        problems.append(SettingProblem(file, None, "alerts.surge.limit54", limit, "[cases, months]: two whole numbers"))
    try:
        rules = validate_rules(alerts_cfg["rules"])
    except InputError as exc:  # one error type for every settings mistake, naming the file
        problems.append(SettingProblem(file, None, None, None, str(exc)))
    if problems:
        raise ValidationError(problems)
    return cfg, rules, detectors


def _frequency(periods: pd.Series) -> np.ndarray:
    s = periods.astype(str)
    return np.where(s.str.contains("Q", regex=False), "Q", np.where(s.str.contains("-", regex=False), "M", "A"))


def _survey_scores(est: pd.DataFrame | None, cfg: dict) -> pd.DataFrame | None:
    """Survey estimates of the configured measure with unit/node columns (``domain``/``item`` accepted)."""
    if est is None or not len(est):
        return None
    unit_col = "unit" if "unit" in est.columns else "domain"
    node_col = "indicator" if "indicator" in est.columns else "item"
    for col in (unit_col, node_col, "period", "estimate", "se"):
        if col not in est.columns:
            raise InputError(f"survey_estimates: column '{col}' is missing")
    if "measure" in est.columns:  # (each distinct measure's text compared once; the rows kept copied once)
        e = est[_text_equals(est["measure"], str(cfg["survey_measure"]))].copy()
    else:
        e = est.copy()
    e["unit"] = e[unit_col].astype(str)
    e["node"] = e[node_col].astype(str)
    e["period"] = e["period"].astype(str)
    e["level"] = e["level"].astype(str) if "level" in e.columns else ""
    return e


def _text_equals(col: pd.Series, text: str) -> np.ndarray:
    """``col.astype(str) == text`` with each distinct value converted once."""
    codes, distinct = pd.factorize(col, use_na_sentinel=False)
    return (pd.Series(distinct).astype(str) == text).to_numpy()[codes]


def _decimal_time(periods: pd.Series) -> np.ndarray:
    """:func:`govlib.periods.decimal_time` of each distinct period once, gathered."""
    codes, distinct = pd.factorize(periods, use_na_sentinel=False)
    return decimal_time(pd.Series(distinct))[codes]


def _series_long(tables, cfg, aggregate_nodes: set[str], survey: pd.DataFrame | None = None) -> pd.DataFrame:
    parts = []
    scores = tables.get("index_scores")
    if scores is not None and len(scores) and cfg["index_nodes"] == "aggregate":
        # leaves' normalised scores repeat their observations (already series of their own) on a relative scale
        # where some unit is always 0: only the root and the dimensions are followed as index scores
        scores = scores[scores["node"].astype(str).isin(aggregate_nodes)]
    if scores is not None and len(scores):
        parts.append(pd.DataFrame({"source": "index", "unit": scores["unit"].astype(str),
                                   "node": scores["node"].astype(str), "period": scores["period"].astype(str),
                                   "value": pd.to_numeric(scores["score"], errors="coerce")}))
    obs = tables.get("observations")
    if obs is not None and len(obs):
        parts.append(pd.DataFrame({"source": "indicator", "unit": obs["unit"].astype(str),
                                   "node": obs["indicator"].astype(str), "period": obs["period"].astype(str),
                                   "value": pd.to_numeric(obs["value"], errors="coerce")}))
    if cfg["survey_series"] and survey is not None:
        # community survey estimates as series of their own (街镇 values are already D6 observations)
        comm = survey[survey["level"] == "community"]
        parts.append(pd.DataFrame({"source": "survey", "unit": comm["unit"], "node": comm["node"],
                                   "period": comm["period"], "value": pd.to_numeric(comm["estimate"],
                                                                                    errors="coerce")}))
    if not parts:
        raise InputError("trend stage: neither index_scores nor observations were given")
    long = pd.concat(parts, ignore_index=True)
    codes, distinct = pd.factorize(long["period"])  # frequency and season of each distinct period, gathered
    distinct = pd.Series(np.asarray(distinct, dtype=object))
    freq = _frequency(distinct)
    long["frequency"] = freq[codes]
    long["season"] = np.where(freq == "A", "", distinct.str.slice(4)).astype(object)[codes]
    return long


def _names(tables):
    fw = tables.get("framework")
    if fw is None or "code" not in fw.columns:
        raise InputError("trend stage: the framework table (code, name_zh, name_en, direction, target) is needed")
    fw = fw.copy()
    fw["code"] = fw["code"].astype(str)
    for col, default in [("name_zh", None), ("name_en", None), ("direction", 1), ("target", np.nan),
                         ("floor", np.nan), ("department", "")]:
        if col not in fw.columns:
            fw[col] = fw["code"] if default is None else default
    fw["direction"] = pd.to_numeric(fw["direction"], errors="coerce").fillna(1)
    fw["target"] = pd.to_numeric(fw["target"], errors="coerce")
    fw["floor"] = pd.to_numeric(fw["floor"], errors="coerce")
    units = tables.get("units")
    if units is not None and "code" in units.columns:
        u = units.copy()
        u["code"] = u["code"].astype(str)
        for col in ("name_zh", "name_en"):
            if col not in u.columns:
                u[col] = u["code"]
    else:
        u = pd.DataFrame(columns=["code", "name_zh", "name_en"])
    return fw.set_index("code"), u.set_index("code")


def _trend_rows(long: pd.DataFrame, cfg: dict):
    """Panels (annual / seasonal) and their trend tables; returns list of (panel, table)."""
    out = []
    annual = long["frequency"] == "A" if cfg["seasonal"] else np.ones(len(long), dtype=bool)
    for mask, season in ((annual, None), (~annual, "season")):
        sub = long[mask]
        if not len(sub):
            continue
        panel = make_panel(sub, "period", "value", by=_KEYS, season=season)
        table = panel_trends(panel, alpha=cfg["alpha"], conf_level=cfg["conf_level"], min_n=int(cfg["min_n"]),
                             exact_max_n=int(cfg["exact_max_n"]), seasonal_covariance=cfg["seasonal_covariance"])
        out.append((panel, table))
    return out


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Trends, alerts and progress to target (pure; see the module docstring for tables and settings).

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> scores = pd.DataFrame({"unit": "u1", "node": "D6", "period": [str(y) for y in range(2016, 2026)],
    ...                        "score": [80, 81, 79, 80, 82, 81, 80, 70, 69, 68.0]})
    >>> fw = pd.DataFrame({"code": ["D6"], "name_zh": ["居民满意度"], "name_en": ["Satisfaction"], "direction": [1]})
    >>> out = run({"index_scores": scores, "framework": fw}, load_settings())
    >>> out["trends"][["unit", "node", "n", "change_point"]].values.tolist()
    [['u1', 'D6', 10, '2022']]
    >>> out["alerts"]["period"].tolist()[:1], "sharp_drop" in out["alerts"]["rules"].iloc[0]
    (['2023'], True)
    """
    cfg, rules, detectors = read_settings(settings)
    cfg = {**cfg, **detectors}
    fw, units = _names(tables)
    parents = set(tables["framework"]["parent"].dropna().astype(str)) if "parent" in tables["framework"].columns \
        else set(fw.index)
    survey = _survey_scores(tables.get("survey_estimates"), cfg)  # (once: the alert facts read it too)
    long = _series_long(tables, cfg, parents, survey)
    obs = tables.get("observations")
    skip = list(cfg["alerts_deterioration"]["skip_observation_sources"])
    skip_nodes = set(obs.loc[obs["source"].astype(str).isin(skip), "indicator"].astype(str)) \
        if obs is not None and "source" in obs.columns and skip else set()
    pieces = _trend_rows(long, cfg)
    node_homogeneity = _node_homogeneity(pieces)
    facts, trend_tables, progress_rows, cp_rows = [], [], [], []
    for panel, table in pieces:
        keys = panel.keys
        direction = keys["node"].map(fw["direction"]).fillna(1).to_numpy(dtype=float)
        table["direction"] = direction
        table["first_period"] = panel.labels[:, 0]
        last_idx = np.maximum(panel.n - 1, 0)
        rows = np.arange(len(keys))
        table["last_period"] = np.where(panel.n > 0, panel.labels[rows, last_idx], None)
        # sub-annual series: change points and control charts run on values minus their season's median
        work = _deseasonalise(panel) if panel.seasons is not None else panel.values
        # noise SD: diff-based robust SD pooled (median) over the units of the same node and frequency — steadier
        # than one short series' own estimate (units of one indicator share its measurement noise)
        own_sigma = robust_sigma(work)
        sigma = pd.Series(own_sigma).groupby([keys["source"], keys["node"], keys["frequency"]]) \
            .transform("median").to_numpy()
        sigma = np.where(sigma > 0, sigma, own_sigma)
        # ---- multiple change points
        if cfg["changepoint_penalty"] == "bic":
            penalty = float(cfg["changepoint_bic_factor"]) * np.log(np.maximum(panel.n, 2)) * sigma ** 2
        else:
            penalty = cfg["changepoint_penalty"]
        cps = change_points(work, penalty=penalty, min_size=int(cfg["changepoint_min_size"]))
        table["n_changes"] = np.bincount(cps["series"], minlength=len(keys)) if len(cps) else 0
        table["last_change"] = None
        table["last_change_shift"] = np.nan
        if len(cps):
            last = cps.groupby("series").tail(1)
            table.loc[last["series"].to_numpy(), "last_change"] = panel.labels[last["series"], last["k"] - 1]
            table.loc[last["series"].to_numpy(), "last_change_shift"] = last["shift"].to_numpy()
            r = cps["series"].to_numpy()
            with np.errstate(all="ignore"):
                good_shift_sd = direction[r] * cps["shift"].to_numpy() / np.where(sigma[r] > 0, sigma[r], np.nan)
            after = panel.labels[r, cps["k"].to_numpy()]  # first period after the change
            facts.append(pd.DataFrame({
                "unit": keys["unit"].to_numpy()[r], "node": keys["node"].to_numpy()[r],
                "period": after, "cp_shift": cps["shift"].to_numpy(), "cp_shift_sd": good_shift_sd}))
            cp_rows.append(pd.DataFrame({
                **{k: keys[k].to_numpy()[r] for k in _KEYS}, "period": after,
                "last_before": panel.labels[r, cps["k"].to_numpy() - 1],
                "mean_before": cps["mean_before"].to_numpy(), "mean_after": cps["mean_after"].to_numpy(),
                "shift": cps["shift"].to_numpy(),
                "shift_sd": cps["shift"].to_numpy() / np.where(sigma[r] > 0, sigma[r], np.nan),
                "effect": np.select([direction[r] == 0, good_shift_sd > 0, good_shift_sd < 0],
                                    ["context", "improvement", "deterioration"], "none")}))
        # ---- control charts on robustly standardised series
        # baseline: the first control_baseline_years of each series (at least control_baseline observations);
        # scale: the diff-based robust noise SD pooled (median) over the units of the same node and frequency
        t0 = panel.times[:, :1]
        in_years = ((panel.times < t0 + float(cfg["control_baseline_years"])) & ~np.isnan(panel.values)).sum(axis=1)
        base_n = np.maximum(in_years, int(cfg["control_baseline"]))
        z, _ = robust_standardise(work, baseline=base_n, scale=sigma)
        zg = z * direction[:, None]  # orient: negative = worse
        cs = cusum(zg, k=float(cfg["cusum_k"]), h=float(cfg["cusum_h"]))
        ew = ewma(zg, lam=float(cfg["ewma_lambda"]), L=float(cfg["ewma_L"]), limits=cfg["ewma_limits"])
        for name, sig in (("cusum_down", cs["signal_down"]), ("ewma_down", ew["signal_down"])):
            onset = sig & ~np.concatenate([np.zeros((len(keys), 1), bool), sig[:, :-1]], axis=1)
            onset &= ((direction != 0) & keys["source"].isin(list(cfg["control_sources"])).to_numpy())[:, None]
            r, c = np.nonzero(onset)
            facts.append(pd.DataFrame({"unit": keys["unit"].to_numpy()[r], "node": keys["node"].to_numpy()[r],
                                       "period": panel.labels[r, c], name: True}))
        # ---- deterioration against the unit's own history (step test on the latest periods)
        det_src = keys["source"].isin(list(cfg["alerts_deterioration"]["sources"])).to_numpy() & (direction != 0)
        det_src &= ~((keys["source"] == "indicator") & keys["node"].isin(skip_nodes)).to_numpy()
        if det_src.any():
            # the larger of the pooled and the series' own noise SD (deterioration.noise_sd): a small unit's
            # noisier series must not borrow the steadier noise of the large ones (false alarms)
            groups = (keys["source"] + "|" + keys["node"] + "|" + keys["frequency"]).to_numpy()
            det_work = _full_coverage(work, panel, keys, tables.get("index_scores"))
            # two-way panel: the unit against its own history after the district's common movement (period
            # effect); the noise SD below is then re-estimated on those residuals
            dcfg = cfg["alerts_deterioration"]

            def noise(base):  # sub-annual: noise by season (a count's busy season varies more), test in those units
                scale = season_scale(base, panel.seasons, groups) if panel.seasons is not None else None
                return scale, noise_sd(base if scale is None else base / scale, groups=groups)
            scale, ns = noise(work)
            common = None
            if dcfg["period_effect"] == "trimmed_mean":
                common = period_effects(det_work, panel.labels, groups, trim=float(dcfg["period_trim"]),
                                        min_units=int(dcfg["period_min_units"]))
                p_scale, p_ns = noise(det_work - common)
                # only where the district's movement is a material share of the noise (else its estimate only
                # adds noise): the pooled noise variance of the residuals at most (1 - period_min_share) of the own
                use_pe = p_ns["pooled"] ** 2 <= (1 - float(dcfg["period_min_share"])) * ns["pooled"] ** 2
                common = np.where(use_pe[:, None], common, 0.0)
                ns = {k: np.where(use_pe, p_ns[k], ns[k]) for k in ns}
                scale = None if scale is None else np.where(use_pe[:, None], p_scale, scale)
            # where the units' noise is not shown to differ (Brown-Forsythe p >= homogeneity_alpha), the pooled SD
            # is every unit's; else the series' own can raise it
            homogeneous = (keys["source"] + "|" + keys["node"]).map(node_homogeneity).to_numpy(dtype=float) \
                >= float(dcfg["homogeneity_alpha"])
            det_sigma = np.where(homogeneous, ns["pooled"], np.fmax(ns["pooled"], ns["own"]))
            facts.append(_deterioration_facts(det_work, panel, keys, direction, det_sigma, det_src, dcfg,
                                              raw=panel.values, scale=scale, common=common))
        # ---- level and change of index scores
        is_index = (keys["source"] == "index").to_numpy()
        if is_index.any():
            r, c = np.nonzero(is_index[:, None] & ~np.isnan(panel.values))
            prev = np.where(c > 0, panel.values[r, np.maximum(c - 1, 0)], np.nan)
            facts.append(pd.DataFrame({"unit": keys["unit"].to_numpy()[r], "node": keys["node"].to_numpy()[r],
                                       "period": panel.labels[r, c], "score": panel.values[r, c],
                                       "change": panel.values[r, c] - prev, "latest": c == panel.n[r] - 1}))
        # ---- progress to target (value at/after the base period vs the latest)
        t = panel.times
        base_t = float(decimal_time(pd.Series([cfg["base_period"]]))[0])
        after = (t >= base_t) & ~np.isnan(panel.values)
        has_base = after.any(axis=1)
        b_idx = np.argmax(after, axis=1)
        target = keys["node"].map(fw["target"]).to_numpy(dtype=float)
        target_t = float(decimal_time(pd.Series([str(cfg["target_period"])]))[0])
        latest_val = np.where(panel.n > 0, panel.values[rows, last_idx], np.nan)
        base_val = np.where(has_base, panel.values[rows, b_idx], np.nan)
        prog = progress_to_target(base_val, np.where(has_base, t[rows, b_idx], np.nan), latest_val,
                                  np.where(panel.n > 0, t[rows, last_idx], np.nan), target, target_t, direction)
        progress_rows.append(pd.DataFrame({
            **{k: keys[k].to_numpy() for k in _KEYS},
            "base_period": np.where(has_base, panel.labels[rows, b_idx], None), "base_value": base_val,
            "latest_period": table["last_period"].to_numpy(), "latest_value": latest_val,
            "target": target, "target_period": str(cfg["target_period"]),
            "actual_cagr": prog["actual_cagr"].to_numpy(), "required_cagr": prog["required_cagr"].to_numpy(),
            "ratio": prog["ratio"].to_numpy(), "status": prog["status"].to_numpy()}))
        trend_tables.append(table)
    trends = pd.concat(trend_tables, ignore_index=True)
    trends["q"] = benjamini_hochberg(trends["p"].to_numpy(dtype=float))
    trends["status"] = trend_status(trends["z"].to_numpy(dtype=float), trends["q"].to_numpy(dtype=float),
                                    trends["direction"].to_numpy(dtype=float), fdr=float(cfg["fdr"]))
    trends["fdr"] = float(cfg["fdr"])
    tested = trends["q"].notna()
    facts.append(pd.DataFrame({"unit": trends.loc[tested, "unit"], "node": trends.loc[tested, "node"],
                               "period": trends.loc[tested, "last_period"], "trend_q": trends.loc[tested, "q"],
                               "trend_p": trends.loc[tested, "p"], "trend_z": trends.loc[tested, "z"]}))
    facts.append(_survey_facts(survey, cfg))
    timelines = [long[["unit", "node", "period"]]]
    for extra in (_survey_decline_facts(survey, cfg), _floor_facts(long, fw), _rank_facts(tables, fw),
                  _bottom_line_facts(tables), _surge_facts(tables, cfg, rules), _usage_drop_facts(tables, cfg, rules)):
        if extra is None or not len(extra):
            continue
        timelines.append(extra[["unit", "node", "period"]])
        if "_timeline" in extra:  # rows that only mark a period as observed (for the alert lifecycle)
            extra = extra[~extra["_timeline"].astype("boolean").fillna(False).astype(bool)].drop(columns="_timeline")
        facts.append(extra)
    progress = pd.concat(progress_rows, ignore_index=True)
    no_target = progress["target"].isna()
    progress["method"] = np.where(no_target, "trend", "target")
    status_by_series = trends.set_index(_KEYS)["status"]
    idx = pd.MultiIndex.from_frame(progress.loc[no_target, _KEYS])
    progress.loc[no_target, "status"] = status_by_series.reindex(idx).to_numpy()
    alerts = _alerts(facts, fw, units, rules, pd.concat(timelines, ignore_index=True), tables.get("conformity_alerts"))
    order = ["unit", "node", "source", "frequency", "n", "s", "var_s", "z", "p", "q", "tau_b", "tau_a", "sen_slope",
             "sen_low", "sen_high", "pettitt_u", "pettitt_p", "change_point", "trend", "status", "direction",
             "p_method", "test", "first_period", "last_period", "n_changes", "last_change", "last_change_shift",
             "fdr"]
    prog_cols = _KEYS[1:3] + ["source", "frequency", "method", "base_period", "base_value", "latest_period",
                              "latest_value", "target", "target_period", "actual_cagr", "required_cagr", "ratio",
                              "status"]
    cp_cols = ["unit", "node", "source", "frequency", "period", "last_before", "mean_before", "mean_after", "shift",
               "shift_sd", "effect"]
    cp_table = pd.concat(cp_rows, ignore_index=True)[cp_cols] if cp_rows else pd.DataFrame(columns=cp_cols)
    return {"change_points": cp_table.sort_values(["source", "unit", "node", "period"]).reset_index(drop=True),
            "trends": trends[order].sort_values(["source", "unit", "node", "frequency"]).reset_index(drop=True),
            "alerts": alerts,
            "progress_to_target": progress[prog_cols].sort_values(["source", "unit", "node"]).reset_index(drop=True)}


def _deseasonalise(panel) -> np.ndarray:
    """Values minus the median of their (series, season) — vectorised with a groupby on the flat arrays."""
    r, c = np.nonzero(~np.isnan(panel.values))
    flat = pd.DataFrame({"r": r, "s": panel.seasons[r, c], "v": panel.values[r, c]})
    med = flat.groupby(["r", "s"])["v"].transform("median").to_numpy()
    out = np.full(panel.values.shape, np.nan)
    out[r, c] = flat["v"].to_numpy() - med
    return out


def _survey_facts(e: pd.DataFrame | None, cfg: dict) -> pd.DataFrame:
    if e is None or not len(e):
        return pd.DataFrame(columns=["unit", "node", "period"])
    district = e[e["level"] == "district"].groupby(["period", "node"])["estimate"].first()
    local = e[e["level"] != "district"].copy()
    if "flag" in local.columns and not cfg["survey_include_suppressed"]:
        codes, flags = pd.factorize(local["flag"], use_na_sentinel=False)
        local = local[~pd.Series(flags).astype(str).str.startswith("suppress").to_numpy()[codes]]
    # the current state: each unit x indicator's latest wave (a level below the district persists; repeating it
    # for every past wave would only bury the news)
    local["_t"] = _decimal_time(local["period"])
    local = local[local["_t"] == local.groupby(["unit", "node"])["_t"].transform("max")]
    local["district_estimate"] = district.reindex(pd.MultiIndex.from_frame(local[["period", "node"]])).to_numpy()
    with np.errstate(all="ignore"):
        local["survey_z"] = (local["estimate"] - local["district_estimate"]) / local["se"].where(local["se"] > 0)
    local = local.rename(columns={"estimate": "survey_estimate"})
    return local[["unit", "node", "period", "survey_estimate", "district_estimate", "survey_z"]]


def _full_coverage(work, panel, keys, scores) -> np.ndarray:
    """``work`` with the index scores that rest on fewer indicators than the node has (``coverage`` < 1) left out:
    a missing indicator moves a node's score, which is no change in the unit (the step test's false alarms)."""
    if scores is None or "coverage" not in scores.columns or not (keys["source"] == "index").any():
        return work
    low = scores[pd.to_numeric(scores["coverage"], errors="coerce") < 1]
    if not len(low):
        return work
    r, c = np.nonzero((keys["source"] == "index").to_numpy()[:, None] & ~np.isnan(work))
    cells = pd.MultiIndex.from_arrays([keys["unit"].to_numpy()[r].astype(str), keys["node"].to_numpy()[r].astype(str),
                                       panel.labels[r, c].astype(str)])
    partial = cells.isin(pd.MultiIndex.from_arrays([low["unit"].astype(str), low["node"].astype(str),
                                                    low["period"].astype(str)]))
    out = work.copy()
    out[r[partial], c[partial]] = np.nan
    return out


def _node_homogeneity(pieces) -> pd.Series:
    """Brown-Forsythe p of equal noise across units (:func:`govlib.trend.deterioration.noise_homogeneity`) per
    source|node: the smallest over the node's frequencies (an annual rate of tickets is as unequal across units
    as its months, where 100 differences a unit show it; 5 annual ones cannot)."""
    parts = []
    for panel, _ in pieces:
        keys = panel.keys
        work = _deseasonalise(panel) if panel.seasons is not None else panel.values
        node = (keys["source"] + "|" + keys["node"]).to_numpy()
        p = noise_homogeneity(work, (keys["source"] + "|" + keys["node"] + "|" + keys["frequency"]).to_numpy())
        parts.append(pd.Series(p, index=node))
    return pd.concat(parts).groupby(level=0).min() if parts else pd.Series(dtype=float)


def _deterioration_facts(work, panel, keys, direction, sigma, use, dcfg, raw=None, scale=None,
                         common=None) -> pd.DataFrame:
    """Step-test facts (:func:`govlib.trend.deterioration.step_test`) of the series in ``use``; rows with p >= 0.05
    are dropped (they cannot fire at any sensible rate); ``common``: the district's movement (a two-way panel)."""
    # sub-annual series: at least a year of history (every season seen once) before the first test
    ppy = keys["frequency"].map(_PER_YEAR).fillna(1).to_numpy(dtype=int)
    min_history = np.where(ppy > 1, np.maximum(int(dcfg["min_history"]), ppy), int(dcfg["min_history"]))
    res = step_test(work, direction, sigma, windows=dcfg["windows"], min_history=min_history, raw=raw, scale=scale,
                    common=common)
    r, c = np.nonzero((res["p"] < 0.05) & use[:, None])
    freq = keys["frequency"].to_numpy()[r]
    tests = len(dcfg["windows"]) * pd.Series(freq).map(_PER_YEAR).fillna(1).to_numpy()
    return pd.DataFrame({"unit": keys["unit"].to_numpy()[r], "node": keys["node"].to_numpy()[r],
                         "period": panel.labels[r, c], "det_z": res["z"][r, c], "det_p": res["p"][r, c],
                         "det_tests": tests, "det_observed": res["recent"][r, c],
                         "det_expected": res["history"][r, c]})


def _survey_decline_facts(e: pd.DataFrame | None, cfg: dict) -> pd.DataFrame | None:
    """Each released survey estimate against the same unit's previous wave (independent samples)."""
    if e is None or not len(e):
        return None
    local = e[e["level"].isin(list(cfg["alerts_survey_decline"]["levels"]))].copy()
    if "flag" in local.columns and not cfg["survey_include_suppressed"]:
        local = local[~local["flag"].astype(str).str.startswith("suppress")]
    if not len(local):
        return None
    local["_t"] = decimal_time(local["period"])
    local = local.sort_values(["unit", "node", "_t"])
    g = local.groupby(["unit", "node"])
    prev, prev_se = g["estimate"].shift(1), g["se"].shift(1)
    with np.errstate(all="ignore"):
        z = (local["estimate"] - prev) / np.sqrt(local["se"] ** 2 + prev_se ** 2)
    return pd.DataFrame({"unit": local["unit"], "node": local["node"], "period": local["period"],
                         "decline_z": z.where(np.isfinite(z)), "decline_estimate": local["estimate"],
                         "decline_previous": prev})


def _floor_facts(long: pd.DataFrame, fw: pd.DataFrame) -> pd.DataFrame | None:
    """Indicator values worse than the framework's bottom line (``floor``), direction-aware."""
    codes, nodes = pd.factorize(long["node"])  # the framework's floor and direction per distinct node, gathered
    floor = pd.Series(fw["floor"].reindex(nodes).to_numpy()[codes], index=long.index)
    d = pd.Series(fw["direction"].reindex(nodes).to_numpy()[codes], index=long.index).fillna(1)
    sub = long[(long["source"] == "indicator") & floor.notna()]
    if not len(sub):
        return None
    breach = (d[sub.index] * (sub["value"] - floor[sub.index]) < 0) & sub["value"].notna()
    sub = sub[breach]
    return pd.DataFrame({"unit": sub["unit"], "node": sub["node"], "period": sub["period"], "floor_breach": True,
                         "floor_observed": sub["value"], "floor_limit": floor[sub.index], "floor_what": "value"})


def _bottom_line_facts(tables) -> pd.DataFrame | None:
    """Stations that lost bottom-line (底线民生) items: more missing than at any earlier period end (a lost item,
    not one never ordered). Node: D5.2 (service items available); unit: the community."""
    gaps, cat = tables.get("doorstep_gaps"), tables.get("doorstep_catalogue")
    if gaps is None or cat is None or not len(gaps):
        return None
    n_bl = int((cat["tier"].astype(str) == "bottom_line").sum())
    periods = sorted(gaps["period"].astype(str).unique(), key=lambda p: float(decimal_time(pd.Series([p]))[0]))
    missing = gaps.groupby(["community", "period"]).size().unstack("period").reindex(columns=periods).fillna(0)
    arr = missing.to_numpy()
    earlier_min = np.minimum.accumulate(np.concatenate([np.full((len(arr), 1), np.inf), arr[:, :-1]], axis=1),
                                        axis=1)
    lost = arr > earlier_min
    r, c = np.nonzero(np.ones_like(arr, dtype=bool))
    out = pd.DataFrame({"unit": missing.index.to_numpy()[r].astype(str), "node": "D5.2",
                        "period": np.array(periods, dtype=object)[c], "floor_breach": lost[r, c],
                        "floor_observed": n_bl - arr[r, c], "floor_limit": float(n_bl), "floor_what": "items"})
    out["_timeline"] = ~out["floor_breach"]
    return out


def _rank_facts(tables, fw) -> pd.DataFrame | None:
    """Rank falls beyond the Monte Carlo rank uncertainty: this period's 90% interval wholly worse than the last."""
    unc = tables.get("uncertainty")
    if unc is None or not len(unc) or not {"rank_p05", "rank_p95", "rank_nominal"} <= set(unc.columns):
        return None
    parents = tables["framework"]["parent"] if "parent" in tables["framework"] else pd.Series(dtype=object)
    roots = tables["framework"].loc[parents.isna(), "code"].astype(str)
    if not len(roots):
        return None
    u = unc.assign(unit=unc["unit"].astype(str), period=unc["period"].astype(str))
    u = u.assign(_t=decimal_time(u["period"])).sort_values(["unit", "_t"])
    g = u.groupby("unit")
    before, before_hi = g["rank_nominal"].shift(1), g["rank_p95"].shift(1)
    fall = (u["rank_nominal"] > before) & (u["rank_p05"] > before_hi)
    return pd.DataFrame({"unit": u["unit"], "node": roots.iloc[0], "period": u["period"], "rank_fall": fall,
                         "rank": u["rank_nominal"], "rank_before": before})


def _surge_facts(tables, cfg, rules) -> pd.DataFrame | None:
    """12345 count surges per unit x category x month (improved Farrington, all series at once)."""
    monthly = tables.get("hotline_monthly")
    rule = next((r for r in rules if r["kind"] == "count_surge"), None)
    if monthly is None or rule is None or not len(monthly):
        return None
    sc = cfg["alerts_surge"]
    m = monthly[monthly["level"].astype(str).isin(list(sc["levels"]))
                & monthly["period"].astype(str).str.contains("-", regex=False)]
    cats = [c for c in _CATEGORY_ZH if f"n_{c}" in m.columns]
    if not len(m) or not cats:
        return None
    long = m.melt(id_vars=["unit", "period"], value_vars=[f"n_{c}" for c in cats], var_name="category",
                  value_name="count")
    long["period"] = long["period"].astype(str)
    months = pd.period_range(long["period"].min(), long["period"].max(), freq="M").strftime("%Y-%m")
    wide = long.pivot_table(index=["unit", "category"], columns="period", values="count", aggfunc="sum")
    wide = wide.reindex(columns=months)
    b, w = int(sc["b"]), int(sc["w"])
    if len(months) <= 12 * b + w:
        return None
    res = farrington_flexible(wide.to_numpy(dtype=float), freq=12, b=b, w=w, n_periods=int(sc["n_periods"]),
                              past_excluded=int(sc["past_excluded"]), threshold_method=sc["threshold_method"],
                              alpha=rule["alpha"], limit54=tuple(sc["limit54"]))
    r, c = np.nonzero(res["alarm"])
    cat = wide.index.get_level_values("category").to_numpy()[r]
    cat = np.array([x[2:] for x in cat], dtype=object)
    hits = pd.DataFrame({"unit": wide.index.get_level_values("unit").to_numpy()[r].astype(str),
                         "period": np.asarray(months)[c], "surge_alarm": True,
                         "surge_observed": wide.to_numpy()[r, c], "surge_expected": res["expected"][r, c],
                         "surge_upper": res["upperbound"][r, c], "surge_p": res["pvalue"][r, c],
                         "surge_what": [_CATEGORY_ZH[x] for x in cat], "surge_what_en": cat})
    hits = hits[(hits["surge_observed"] - hits["surge_expected"] >= rule["min_excess"])
                & (hits["surge_observed"] >= rule["min_ratio"] * hits["surge_expected"])]
    hits = hits.sort_values(["unit", "period", "surge_p"])
    names = hits.groupby(["unit", "period"]).agg(surge_what=("surge_what", "、".join),
                                                  surge_what_en=("surge_what_en", ", ".join))
    top = hits.groupby(["unit", "period"]).first().drop(columns=["surge_what", "surge_what_en"]).join(names)
    top = top.reset_index().assign(node=str(sc["node"]))
    evaluated = np.nonzero(~np.isnan(res["upperbound"]).all(axis=0))[0]
    timeline = pd.DataFrame({"unit": np.repeat(wide.index.get_level_values("unit").unique().astype(str),
                                               len(evaluated)), "node": str(sc["node"])})
    timeline["period"] = np.tile(np.asarray(months)[evaluated], len(timeline) // max(len(evaluated), 1))
    timeline["_timeline"] = True
    return pd.concat([top, timeline], ignore_index=True)


def _usage_drop_facts(tables, cfg, rules) -> pd.DataFrame | None:
    """Drops in the services delivered at each station (community x month), all stations at once
    (:func:`govlib.trend.deterioration.count_drop_test`); a month without records between a station's first month
    and the last month of the data counts 0."""
    monthly = tables.get("doorstep_usage_monthly")
    if monthly is None or not len(monthly) or not any(r["kind"] == "usage_drop" for r in rules):
        return None
    uc = cfg["alerts_usage_drop"]
    m = monthly.assign(unit=monthly["unit"].astype(str), period=monthly["period"].astype(str))
    months = pd.period_range(m["period"].min(), m["period"].max(), freq="M").strftime("%Y-%m")
    wide = m.pivot_table(index="unit", columns="period", values="services", aggfunc="sum").reindex(columns=months)
    arr = wide.to_numpy(dtype=float)
    started = np.cumsum(~np.isnan(arr), axis=1) > 0
    arr = np.where(started & np.isnan(arr), 0.0, arr)
    windows = tuple(int(w) for w in uc["windows"])
    res = count_drop_test(arr, windows=windows, baseline=int(uc["baseline"]), min_expected=float(uc["min_expected"]))
    node = str(uc["node"])
    r, c = np.nonzero(res["p"] < 0.01)
    units = wide.index.to_numpy().astype(str)
    hits = pd.DataFrame({"unit": units[r], "node": node, "period": np.asarray(months)[c], "usage_p": res["p"][r, c],
                         "usage_z": res["z"][r, c], "usage_tests": 12.0 * len(windows),
                         "usage_observed": res["observed"][r, c], "usage_expected": res["expected"][r, c]})
    tr, tc = np.nonzero(~np.isnan(res["p"]))
    timeline = pd.DataFrame({"unit": units[tr], "node": node, "period": np.asarray(months)[tc], "_timeline": True})
    return pd.concat([hits, timeline], ignore_index=True)


def _alerts(facts, fw, units, rules, timelines, conformity: pd.DataFrame | None = None) -> pd.DataFrame:
    frames = [f for f in facts if len(f)]
    if not frames:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    allf = pd.concat(frames, ignore_index=True)
    allf["period"] = allf["period"].astype(str)
    merged = allf.groupby(["unit", "node", "period"], sort=True).first().reset_index()
    for col in ("cusum_down", "ewma_down", "floor_breach", "surge_alarm", "rank_fall"):
        if col in merged.columns:
            merged[col] = merged[col].astype("boolean").fillna(False).astype(bool)
    merged["direction"] = merged["node"].map(fw["direction"]).fillna(1).to_numpy(dtype=float)
    for col in ("survey_z", "decline_z"):
        if col in merged.columns:
            merged[col] = merged[col] * merged["direction"]
    # context nodes (direction 0) raise no alerts, except a count surge (more tickets is worse by definition)
    surge = merged["surge_alarm"].to_numpy() if "surge_alarm" in merged.columns else False
    merged = merged[(merged["direction"] != 0) | surge]
    merged["department"] = merged["node"].map(fw["department"]).fillna("")
    merged["node_zh"] = merged["node"].map(fw["name_zh"]).fillna(merged["node"])
    merged["node_en"] = merged["node"].map(fw["name_en"]).fillna(merged["node"])
    merged["unit_zh"] = merged["unit"].map(units["name_zh"]).fillna(merged["unit"]) if len(units) else merged["unit"]
    merged["unit_en"] = merged["unit"].map(units["name_en"]).fillna(merged["unit"]) if len(units) else merged["unit"]
    alerts = evaluate_rules(merged, rules)
    if conformity is not None and len(conformity):
        # the 家门口 standard's red alerts (an overdue bottom-line non-conformity) join the same list and lifecycle
        alerts = pd.concat([alerts, conformity.assign(rules=conformity["rule"])], ignore_index=True)
    alerts = alert_lifecycle(alerts, timelines)
    return alerts.sort_values(["unit", "node", "period"], kind="stable").reset_index(drop=True)
