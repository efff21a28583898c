"""Alert rules: one alert per unit x node x period, with every reason, its evidence and bilingual messages.

The rules are declared in the ``alerts`` section of ``govlib.yaml`` (``rules:`` list); each has a ``name``, a
``kind``, a ``level`` (``red``, ``amber``, ``info``) and the thresholds of its kind. Missing section: the
defaults in :data:`DEFAULT_RULES`.

| kind | fires when (all "down" moves are direction-aware: for a lower-is-better node, up is down) | keys |
|---|---|---|
| ``level_below`` | index score < ``threshold``: when it falls below (or the series starts below), and again at the series' latest period (``latest``) while it stays below — not every year in between | threshold |
| ``drop`` | index score fell by more than ``threshold`` points against the previous period | threshold |
| ``trend_down`` | Mann–Kendall trend worsens with BH q < ``fdr`` (latest period of the series) | fdr |
| ``change_point_down`` | a change point (optimal partitioning) just before this period worsens the mean by at least ``min_shift_sd`` robust SDs | min_shift_sd |
| ``cusum_down`` / ``ewma_down`` | the CUSUM / EWMA chart starts signalling a worsening at this period | — |
| ``floor_breach`` | a bottom line (底线) is breached: an indicator value worse than the framework's ``floor`` (direction-aware), or a station stops offering bottom-line (底线民生) items it offered before | — |
| ``deterioration`` | the mean of the latest 1 or 2 periods is worse than the unit's own in-control history (all earlier periods) by more than its noise allows: one-sided z = (recent - history) / (sigma sqrt(1/m + 1/n)), sigma the node's pooled robust noise SD; fires when p < ``far`` / (tests per series-year), so that the false-alarm rate per series-year is at most ``far`` (Bonferroni; checked by simulation in ``tests/test_alerts.py``) | far |
| ``count_surge`` | a 12345 ticket count (街镇 x category x month) above the improved-Farrington upper bound (:func:`govlib.trend.outbreak.farrington_flexible`, one-sided ``alpha``, low-count rule (5, 4)), at least ``min_excess`` tickets and ``min_ratio`` times the expected count (a significant +8% in a large series is not news) | alpha, min_excess, min_ratio |
| ``survey_decline`` | a survey estimate significantly below the same unit's previous wave: z = (now - before) / sqrt(se_now^2 + se_before^2) (independent waves), one-sided p = Φ(z), BH q < ``fdr`` (the survey comparisons' budget) over all decline comparisons of the build — or, with ``shared_family: 1``, in one family with the ``survey_below`` comparisons (whose nulls are mostly false: communities do differ from the district, which makes BH lenient for declines) — and a drop of at least ``min_drop`` points | fdr, min_drop, shared_family |
| ``usage_drop`` | services delivered at a station (community) fell: the latest 1-3 months against the mean of the 12 before, quasi-Poisson (:func:`govlib.trend.deterioration.count_drop_test`); fires when p < ``far`` / (tests per station-year) and the count is at most (1 - ``min_drop``) of the expected | far, min_drop |
| ``rank_fall`` | the rank fell by at least ``min_fall`` places and the current rank's Monte Carlo 90% interval lies wholly below (worse than) the previous period's (the intervals can be one place wide: a fall of one place is not news) | min_fall |
| ``survey_below`` | survey estimate below the district by more than ``z`` of its SE, and still significant after the Benjamini–Hochberg correction across all survey comparisons of the report (one-sided p = Φ(z), q < ``fdr``) — without it, ~1,300 communities x 8 items at z = 1.96 give hundreds of false alarms a wave | z, fdr |

:func:`evaluate_rules` works on a *facts* table (one row per unit x node x period, built by
:mod:`govlib.pipeline.stages.trend`) and is pure. :func:`score_detection` scores trend calls and alerts against planted
events (the demo ground truth).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..errors import InputError
from .mannkendall import benjamini_hochberg

__all__ = ["DEFAULT_RULES", "LEVELS", "ALERT_COLUMNS", "validate_rules", "evaluate_rules", "alert_lifecycle",
           "score_detection", "period_words", "series_years_from_trends"]

LEVELS = {"info": 1, "amber": 2, "red": 3}

#: Default rules (used when ``alerts.rules`` is absent). Red is a breached bottom line; amber is a worsening whose
#: false-alarm rate is controlled (per series-year, by BH-FDR, or by the surge detector's alpha). A low score on the
#: 0-100 scale only says where a unit stands among its peers (with min-max scores about half the units are "below
#: 50" every year): relative position and hindsight signals (change points, the classic charts) are ``info`` — a
#: watch list, never amber or red.
DEFAULT_RULES: list[dict] = [
    {"name": "bottom_line_breached", "kind": "floor_breach", "level": "red"},
    {"name": "worse_than_own_history", "kind": "deterioration", "far": 0.0001, "level": "amber"},
    {"name": "hotline_surge", "kind": "count_surge", "alpha": 0.0005, "min_excess": 20.0, "min_ratio": 1.3,
     "level": "amber"},
    {"name": "station_usage_drop", "kind": "usage_drop", "far": 0.0001, "min_drop": 0.4, "level": "amber"},
    {"name": "survey_decline", "kind": "survey_decline", "fdr": 0.05, "min_drop": 2.0, "level": "amber"},
    {"name": "rank_fall", "kind": "rank_fall", "min_fall": 3.0, "level": "amber"},
    {"name": "significant_decline", "kind": "trend_down", "fdr": 0.01, "level": "amber"},
    {"name": "very_low_level", "kind": "level_below", "threshold": 50.0, "level": "info"},
    {"name": "sharp_drop", "kind": "drop", "threshold": 5.0, "level": "info"},
    {"name": "downward_shift", "kind": "change_point_down", "min_shift_sd": 1.0, "level": "info"},
    {"name": "cusum_signal", "kind": "cusum_down", "level": "info"},
    {"name": "survey_below_district", "kind": "survey_below", "z": 1.96, "fdr": 0.05, "level": "info"},
]

_KIND_KEYS = {"level_below": {"threshold"}, "drop": {"threshold"}, "trend_down": {"fdr"},
              "change_point_down": {"min_shift_sd"}, "cusum_down": set(), "ewma_down": set(),
              "survey_below": {"z", "fdr"}, "floor_breach": set(), "deterioration": {"far"},
              "count_surge": {"alpha", "min_excess", "min_ratio"}, "survey_decline": {"fdr", "min_drop", "shared_family"},
              "rank_fall": {"min_fall"},
              "usage_drop": {"far", "min_drop"}}
_KIND_DEFAULTS = {"level_below": {"threshold": 60.0}, "drop": {"threshold": 5.0}, "trend_down": {"fdr": 0.05},
                  "change_point_down": {"min_shift_sd": 1.0}, "survey_below": {"z": 1.96, "fdr": 0.05},
                  "deterioration": {"far": 0.0001}, "count_surge": {"alpha": 0.0005, "min_excess": 20.0, "min_ratio": 1.3},
                  "survey_decline": {"fdr": 0.05, "min_drop": 2.0, "shared_family": 0.0},
                  "usage_drop": {"far": 0.0001, "min_drop": 0.4}, "rank_fall": {"min_fall": 3.0}}
#: Alert columns: identity, level, the lifecycle (``status`` new / continuing / resolved, ``first_seen``) and the
#: evidence of the leading rule (the most severe that fired; the first of them in rule order).
ALERT_COLUMNS = ["unit", "period", "node", "level", "status", "first_seen", "rule", "rules", "observed",
                 "expected_or_limit", "statistic", "p_value", "source_department", "evidence", "message_zh",
                 "message_en"]


def validate_rules(rules) -> list[dict]:
    """Check a rules list (names unique, kinds and levels known, numeric thresholds); fill kind defaults.

    Examples
    --------
    >>> validate_rules([{"name": "low", "kind": "level_below", "level": "red"}])[0]["threshold"]
    60.0
    """
    if rules is None:
        rules = DEFAULT_RULES
    if not isinstance(rules, list) or not rules:
        raise InputError(f"alerts.rules: expected a non-empty list of rules, got {rules!r}")
    out, seen = [], set()
    for i, rule in enumerate(rules):
        where = f"alerts.rules[{i}]"
        if not isinstance(rule, dict):
            raise InputError(f"{where}: expected a mapping with name, kind, level; got {rule!r}")
        name, kind, level = rule.get("name"), rule.get("kind"), rule.get("level")
        if not name or not isinstance(name, str):
            raise InputError(f"{where}: 'name' is missing")
        if name in seen:
            raise InputError(f"{where}: duplicate rule name {name!r}")
        seen.add(name)
        if kind not in _KIND_KEYS:
            raise InputError(f"{where} ({name}): unknown kind {kind!r}; expected one of {', '.join(_KIND_KEYS)}")
        if level not in LEVELS:
            raise InputError(f"{where} ({name}): unknown level {level!r}; expected red, amber or info")
        extra = set(rule) - {"name", "kind", "level"} - _KIND_KEYS[kind]
        if extra:
            raise InputError(f"{where} ({name}): unknown keys {sorted(extra)} for kind {kind}; expected "
                             f"{sorted(_KIND_KEYS[kind]) or 'none'}")
        full = {**_KIND_DEFAULTS.get(kind, {}), **rule}
        for key in _KIND_KEYS[kind]:
            try:
                full[key] = float(full[key])
            except (TypeError, ValueError):
                raise InputError(f"{where} ({name}): {key} must be a number, got {full[key]!r}") from None
            if key in ("far", "alpha", "fdr") and not 0 < full[key] < 1:
                raise InputError(f"{where} ({name}): {key} must be a rate between 0 and 1, got {full[key]!r}")
        out.append(full)
    return out


def period_words(periods: pd.Series, lang: str) -> pd.Series:
    """Period strings as words: 2025 -> "2025 年" / "2025"; 2025Q3 -> "2025 年第 3 季度" / "2025 Q3"; 2025-07 ->
    "2025 年 7 月" / "July 2025".

    Examples
    --------
    >>> period_words(pd.Series(["2025", "2025Q3", "2025-07"]), "zh").tolist()
    ['2025 年', '2025 年第 3 季度', '2025 年 7 月']
    """
    s = periods.astype(str)
    year = s.str.slice(0, 4)
    q = s.str.contains("Q", regex=False)
    m = s.str.contains("-", regex=False)
    if lang == "zh":
        out = year + " 年"
        out[q] = year[q] + " 年第 " + s[q].str.slice(5, 6) + " 季度"
        out[m] = year[m] + " 年 " + s[m].str.slice(5, 7).str.lstrip("0") + " 月"
    else:
        out = year.copy()
        out[q] = year[q] + " " + s[q].str.slice(4, 6)
        months = pd.to_datetime(s[m] + "-01", errors="coerce").dt.strftime("%B")
        out[m] = months + " " + year[m]
    return out


def _fmt(x, digits=1) -> pd.Series:
    return pd.Series(x).map(lambda v: "" if pd.isna(v) else f"{v:.{digits}f}")


def _fmt_p(x) -> pd.Series:
    return pd.Series(x).map(lambda v: "" if pd.isna(v) else (f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"))


def _survey_q(f: pd.DataFrame, m: int, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    """BH q of the survey comparisons (below the district, decline from the previous wave): one family
    (``shared``) or one per kind."""
    below = norm.cdf(f["survey_z"].to_numpy(dtype=float)) if "survey_z" in f else np.full(m, np.nan)
    decline = norm.cdf(f["decline_z"].to_numpy(dtype=float)) if "decline_z" in f else np.full(m, np.nan)
    if shared:
        q = benjamini_hochberg(np.concatenate([below, decline]))  # one-sided: worse
        return q[:m], q[m:]
    return benjamini_hochberg(below), benjamini_hochberg(decline)


def evaluate_rules(facts: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Apply the alert rules to a facts table; one alert per unit x node x period where any rule fires.

    Parameters
    ----------
    facts : DataFrame with ``unit, node, period, unit_zh, unit_en, node_zh, node_en, direction`` (+ ``department``)
        and the evidence columns the rules read (missing columns mean "no evidence": the rule does not fire):
        ``score``, ``change`` and ``latest`` (level_below, drop); ``trend_q``, ``trend_p``, ``trend_z``
        (trend_down); ``cp_shift_sd``, ``cp_shift`` (change_point_down); ``cusum_down``, ``ewma_down``;
        ``survey_z``, ``survey_estimate``, ``district_estimate`` (survey_below; negative z is worse);
        ``floor_breach`` (bool), ``floor_observed``, ``floor_limit``, ``floor_what`` ("value" or "items": bottom-line
        items offered) (floor_breach); ``det_z``, ``det_p``, ``det_tests``, ``det_observed``, ``det_expected``
        (deterioration: one-sided p and the number of tests per series-year); ``surge_p``, ``surge_observed``,
        ``surge_expected``, ``surge_upper``, ``surge_what`` (count_surge: the p-value is the detector's upper-tail
        probability; the alarm needs the count above the bound computed at the rule's alpha, ``surge_alarm``);
        ``decline_z``, ``decline_estimate``, ``decline_previous`` (survey_decline, z signed so negative is worse);
        ``rank_fall`` (bool), ``rank``, ``rank_before`` (rank_fall); ``usage_p``, ``usage_z``, ``usage_tests``,
        ``usage_observed``, ``usage_expected`` (services per month: recent and baseline) (usage_drop).
    rules : a rules list (see the module docstring); None: :data:`DEFAULT_RULES`.

    Returns
    -------
    DataFrame with :data:`ALERT_COLUMNS` except the lifecycle (``status`` and ``first_seen`` are filled by
    :func:`alert_lifecycle`; here ``status`` is "new" and ``first_seen`` the period).

    Examples
    --------
    >>> facts = pd.DataFrame({"unit": ["310115004000"], "node": ["D6"], "period": ["2025"], "unit_zh": ["花木街道"],
    ...     "unit_en": ["Huamu Subdistrict"], "node_zh": ["居民满意度"], "node_en": ["Resident satisfaction"],
    ...     "direction": [1], "score": [61.2], "change": [-8.4], "det_z": [-3.9], "det_p": [4.8e-5],
    ...     "det_tests": [2], "det_observed": [61.2], "det_expected": [69.6]})
    >>> a = evaluate_rules(facts)
    >>> a["level"].tolist(), a["rules"].tolist(), a["rule"].tolist()
    (['amber'], ['worse_than_own_history;sharp_drop'], ['worse_than_own_history'])
    >>> print(a["message_zh"].iloc[0])
    花木街道 D6 居民满意度 2025 年得分 61.2，较上期下降 8.4 分；近期均值 61.2 劣于本单位历史水平 69.6，超出其正常波动 (z=-3.90, p=4.8e-05)。
    >>> print(a["message_en"].iloc[0])
    Huamu Subdistrict D6 Resident satisfaction: score 61.2 in 2025, down 8.4 points from the previous period; the recent mean 61.2 is worse than the unit's own history (69.6) beyond its usual variation (z=-3.90, p=4.8e-05).
    """
    rules = validate_rules(rules)
    f = facts.reset_index(drop=True)
    m = len(f)

    def col(name, default=np.nan):
        return f[name].to_numpy() if name in f.columns else np.full(m, default)

    def num(name):
        return pd.to_numeric(pd.Series(col(name)), errors="coerce").to_numpy(dtype=float)

    direction = col("direction", 1).astype(float)
    score, change = num("score"), num("change")
    fired = np.zeros((m, len(rules)), dtype=bool)
    nan = np.full(m, np.nan)
    parts = {k: [np.full(m, "", dtype=object) for _ in rules] for k in ("zh", "en", "ev")}
    numbers = {k: [nan for _ in rules] for k in ("observed", "limit", "stat", "p")}
    score_txt, change_txt = _fmt(score).to_numpy(), _fmt(np.abs(change)).to_numpy()
    shared = any(r["kind"] == "survey_decline" and r["shared_family"] for r in rules)
    q_below, q_decline = _survey_q(f, m, shared)
    for r, rule in enumerate(rules):
        kind = rule["kind"]
        obs_v, lim_v, stat_v, p_v = nan, nan, nan, nan
        with np.errstate(invalid="ignore"):
            if kind == "level_below":
                # news, not a yearly repeat: the crossing (previous score at/above, or none) and the latest period
                previous = score - change
                latest = col("latest", True).astype(bool)
                hit = (score < rule["threshold"]) & (~(previous < rule["threshold"]) | latest)
                zh = "低于关注线 " + _fmt([rule["threshold"]] * m).to_numpy() + "（相对位置，仅供关注）"
                en = "below the watch line of " + _fmt([rule["threshold"]] * m).to_numpy() \
                    + " (relative position, for context only)"
                ev = "score=" + score_txt
                obs_v, lim_v = score, np.full(m, rule["threshold"])
            elif kind == "drop":
                worse = direction * change
                hit = -worse > rule["threshold"]
                zh = np.where(change < 0, "较上期下降 ", "较上期上升 ") + change_txt + " 分"
                en = np.where(change < 0, "down ", "up ") + change_txt + " points from the previous period"
                ev = "change=" + _fmt(change).to_numpy()
                obs_v, lim_v, stat_v = score, score - change, change
            elif kind == "trend_down":
                q, z = num("trend_q"), num("trend_z")
                hit = (q < rule["fdr"]) & (direction * z < 0)
                qt, pt = _fmt_p(q).to_numpy(), _fmt_p(num("trend_p")).to_numpy()
                stats = "(p=" + pt + ", FDR q=" + qt + ")"
                zh = "Mann–Kendall 检验显示显著" + np.where(z < 0, "下降", "上升") + "趋势 " + stats
                en = "the Mann–Kendall test shows a significant " + np.where(z < 0, "downward", "upward") \
                    + " trend " + stats
                ev = "trend_p=" + pt + ", trend_q=" + qt + ", trend_z=" + _fmt(z, 2).to_numpy()
                stat_v, p_v = z, num("trend_p")
            elif kind == "change_point_down":
                sd, shift = num("cp_shift_sd"), num("cp_shift")
                hit = sd <= -rule["min_shift_sd"]
                size, sds = _fmt(np.abs(shift), 1).to_numpy(), _fmt(np.abs(sd), 1).to_numpy()
                zh = "此前出现不利突变，均值" + np.where(shift < 0, "下降 ", "上升 ") + size + " (" + sds + " 个标准差)"
                en = "the mean shifted for the worse just before, " + np.where(shift < 0, "down ", "up ") + size \
                    + " (" + sds + " SD)"
                ev = "cp_shift=" + _fmt(shift, 2).to_numpy() + ", cp_shift_sd=" + _fmt(sd, 2).to_numpy()
                stat_v = sd
            elif kind in ("cusum_down", "ewma_down"):
                hit = pd.Series(col(kind, False)).fillna(False).astype(bool).to_numpy()
                chart = "CUSUM" if kind == "cusum_down" else "EWMA"
                zh = np.full(m, f"{chart} 控制图发出恶化信号", dtype=object)
                en = np.full(m, f"the {chart} control chart signals a worsening", dtype=object)
                ev = np.full(m, f"{kind}=1", dtype=object)
            elif kind == "survey_below":
                z = num("survey_z")
                hit = (z < -rule["z"]) & (q_below < rule["fdr"])
                est, dist = _fmt(num("survey_estimate")).to_numpy(), _fmt(num("district_estimate")).to_numpy()
                zh = "调查估计 " + est + " 显著低于全区 " + dist + " (z=" + _fmt(z, 2).to_numpy() + ")"
                en = "the survey estimate " + est + " is significantly below the district's " + dist \
                    + " (z=" + _fmt(z, 2).to_numpy() + ")"
                ev = "survey_z=" + _fmt(z, 2).to_numpy()
                obs_v, lim_v, stat_v, p_v = num("survey_estimate"), num("district_estimate"), z, norm.cdf(z)
            elif kind == "floor_breach":
                hit = pd.Series(col("floor_breach", False)).fillna(False).astype(bool).to_numpy()
                obs_v, lim_v = num("floor_observed"), num("floor_limit")
                items = col("floor_what", "value").astype(object) == "items"
                o_txt, l_txt = _fmt(obs_v, 1).to_numpy(), _fmt(lim_v, 1).to_numpy()
                o_int, l_int = _fmt(obs_v, 0).to_numpy(), _fmt(lim_v, 0).to_numpy()
                zh = np.where(items, "底线民生服务缺失：站点提供 " + o_int + " 项，应提供 " + l_int + " 项",
                              "突破底线：实际值 " + o_txt + "，底线 " + l_txt)
                en = np.where(items, "bottom-line (底线民生) services missing: " + o_int + " of " + l_int
                              + " offered at the station", "bottom line breached: value " + o_txt + ", floor "
                              + l_txt)
                ev = "observed=" + o_txt + ", floor=" + l_txt
            elif kind == "deterioration":
                z, p = num("det_z"), num("det_p")
                tests = np.maximum(num("det_tests"), 1)
                hit = (p < rule["far"] / tests) & (z < 0)
                obs_v, lim_v, stat_v, p_v = num("det_observed"), num("det_expected"), z, p
                stats = "(z=" + _fmt(z, 2).to_numpy() + ", p=" + _fmt_p(p).to_numpy() + ")"
                zh = "近期均值 " + _fmt(obs_v).to_numpy() + " 劣于本单位历史水平 " + _fmt(lim_v).to_numpy() \
                    + "，超出其正常波动 " + stats
                en = "the recent mean " + _fmt(obs_v).to_numpy() + " is worse than the unit's own history (" \
                    + _fmt(lim_v).to_numpy() + ") beyond its usual variation " + stats
                ev = "recent=" + _fmt(obs_v, 2).to_numpy() + ", history=" + _fmt(lim_v, 2).to_numpy() + ", z=" \
                    + _fmt(z, 2).to_numpy()
            elif kind == "count_surge":
                obs_v, exp_v, lim_v = num("surge_observed"), num("surge_expected"), num("surge_upper")
                p_v = num("surge_p")
                hit = pd.Series(col("surge_alarm", False)).fillna(False).astype(bool).to_numpy() \
                    & (obs_v - exp_v >= rule["min_excess"]) & (obs_v >= rule["min_ratio"] * exp_v)
                stat_v = obs_v / exp_v
                what = pd.Series(col("surge_what", "")).fillna("").astype(str).to_numpy(dtype=object)
                what_en = pd.Series(col("surge_what_en", "")).fillna("").astype(str).to_numpy(dtype=object)
                what_en = np.where(what_en != "", what_en, what)
                zh = "12345 工单激增（" + what + "）：" + _fmt(obs_v, 0).to_numpy() + " 件，预期 " \
                    + _fmt(exp_v, 0).to_numpy() + " 件，上限 " + _fmt(lim_v, 0).to_numpy() + " 件 (p=" \
                    + _fmt_p(p_v).to_numpy() + ")"
                en = "12345 tickets surged (" + what_en + "): " + _fmt(obs_v, 0).to_numpy() + ", expected " \
                    + _fmt(exp_v, 0).to_numpy() + ", upper bound " + _fmt(lim_v, 0).to_numpy() + " (p=" \
                    + _fmt_p(p_v).to_numpy() + ")"
                ev = "observed=" + _fmt(obs_v, 0).to_numpy() + ", expected=" + _fmt(exp_v, 1).to_numpy() \
                    + ", upper=" + _fmt(lim_v, 1).to_numpy()
            elif kind == "survey_decline":
                z = num("decline_z")
                now, before = num("decline_estimate"), num("decline_previous")
                drop = direction * (now - before)
                hit = (z < 0) & (q_decline < rule["fdr"]) & (-drop >= rule["min_drop"])
                obs_v, lim_v, stat_v, p_v = now, before, z, norm.cdf(z)
                zh = "调查估计 " + _fmt(now).to_numpy() + " 较上一轮 " + _fmt(before).to_numpy() + " 显著下降 (z=" \
                    + _fmt(z, 2).to_numpy() + ")"
                en = "the survey estimate fell significantly from " + _fmt(before).to_numpy() + " to " \
                    + _fmt(now).to_numpy() + " since the previous wave (z=" + _fmt(z, 2).to_numpy() + ")"
                ev = "decline_z=" + _fmt(z, 2).to_numpy()
            elif kind == "usage_drop":
                z, p = num("usage_z"), num("usage_p")
                obs_v, lim_v = num("usage_observed"), num("usage_expected")
                tests = np.maximum(num("usage_tests"), 1)
                hit = (p < rule["far"] / tests) & (obs_v <= (1 - rule["min_drop"]) * lim_v)
                stat_v, p_v = z, p
                pct = _fmt(100 * (1 - obs_v / lim_v), 0).to_numpy()
                stats = " (z=" + _fmt(z, 2).to_numpy() + ", p=" + _fmt_p(p).to_numpy() + ")"
                zh = "站点服务量下降 " + pct + "%：月均 " + _fmt(obs_v, 0).to_numpy() + " 次，此前基线月均 " \
                    + _fmt(lim_v, 0).to_numpy() + " 次" + stats
                en = "services delivered at the station fell by " + pct + "%: " + _fmt(obs_v, 0).to_numpy() \
                    + " a month against " + _fmt(lim_v, 0).to_numpy() + " a month in the months before" + stats
                ev = "observed=" + _fmt(obs_v, 1).to_numpy() + ", expected=" + _fmt(lim_v, 1).to_numpy() + ", z=" \
                    + _fmt(z, 2).to_numpy()
            else:  # rank_fall
                obs_v, lim_v = num("rank"), num("rank_before")
                hit = pd.Series(col("rank_fall", False)).fillna(False).astype(bool).to_numpy() \
                    & (obs_v - lim_v >= rule["min_fall"])
                zh = "排名由第 " + _fmt(lim_v, 0).to_numpy() + " 位降至第 " + _fmt(obs_v, 0).to_numpy() \
                    + " 位，超出排名的不确定范围"
                en = "rank fell from " + _fmt(lim_v, 0).to_numpy() + " to " + _fmt(obs_v, 0).to_numpy() \
                    + ", beyond the rank's uncertainty"
                ev = "rank=" + _fmt(obs_v, 0).to_numpy() + ", before=" + _fmt(lim_v, 0).to_numpy()
        hit = np.asarray(hit, dtype=bool)
        fired[:, r] = hit
        parts["zh"][r] = np.where(hit, zh, "")
        parts["en"][r] = np.where(hit, en, "")
        parts["ev"][r] = np.where(hit, rule["name"] + ": " + np.asarray(ev, dtype=object), "")
        for key, v in (("observed", obs_v), ("limit", lim_v), ("stat", stat_v), ("p", p_v)):
            numbers[key][r] = np.broadcast_to(np.asarray(v, dtype=float), (m,))
    zh_parts, en_parts, ev_parts = parts["zh"], parts["en"], parts["ev"]
    any_fired = fired.any(axis=1)
    if not any_fired.any():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    rows = np.nonzero(any_fired)[0]
    sub = f.iloc[rows].reset_index(drop=True)
    names = np.array([r["name"] for r in rules], dtype=object)
    sev = np.array([LEVELS[r["level"]] for r in rules])
    sev_rows = np.where(fired[rows], sev[None, :], 0)
    level_num = sev_rows.max(axis=1)
    lead = np.argmax(sev_rows == level_num[:, None], axis=1)  # the first rule of the highest level
    inv = {v: k for k, v in LEVELS.items()}

    def join(parts, sep):
        cols = np.stack([p[rows] for p in parts], axis=1)
        return np.array([sep.join(x for x in row if x) for row in cols], dtype=object)

    def pick(key):
        stacked = np.stack(numbers[key], axis=1)[rows]
        return stacked[np.arange(len(rows)), lead]

    # the order of reasons: the most severe first (then rule order), so a message leads with what matters
    order = np.argsort(-sev, kind="stable")
    ordered = [int(i) for i in order]
    # a drop rule's wording also serves as the score sentence; level wording follows the score
    drop_idx = [i for i, r in enumerate(rules) if r["kind"] == "drop"]
    lead_zh = sub["unit_zh"].astype(str) + " " + sub["node"].astype(str) + " " + sub["node_zh"].astype(str) + " " \
        + period_words(sub["period"], "zh")
    lead_en = sub["unit_en"].astype(str) + " " + sub["node"].astype(str) + " " + sub["node_en"].astype(str)
    has_score = ~np.isnan(score[rows])
    zh_score = np.where(has_score, "得分 " + score_txt[rows], "")
    en_score = np.where(has_score, ": score " + score_txt[rows] + " in " + period_words(sub["period"], "en"),
                        ", " + period_words(sub["period"], "en"))
    drop_zh = np.full(len(rows), "", dtype=object)
    drop_en = np.full(len(rows), "", dtype=object)
    for i in drop_idx:
        drop_zh = np.where(zh_parts[i][rows] != "", zh_parts[i][rows], drop_zh)
        drop_en = np.where(en_parts[i][rows] != "", en_parts[i][rows], drop_en)
    rest = [i for i in ordered if i not in drop_idx]
    rest_zh = join([zh_parts[i] for i in rest], "；") if rest else np.full(len(rows), "", dtype=object)
    rest_en = join([en_parts[i] for i in rest], "; ") if rest else np.full(len(rows), "", dtype=object)
    head_zh = zh_score + np.where(drop_zh != "", np.where(has_score, "，", "") + drop_zh, "")
    head_en = en_score + np.where(drop_en != "", ", " + drop_en, "")
    message_zh = lead_zh + np.where(head_zh != "", head_zh, "：") \
        + np.where((rest_zh != "") & (head_zh != ""), "；", "") + rest_zh + "。"
    message_en = lead_en + head_en + np.where(rest_en != "", np.where(has_score, "; ", ": ") + rest_en, "") + "."
    dept = sub["department"].fillna("").astype(str).to_numpy() if "department" in sub else np.full(len(rows), "")
    out = pd.DataFrame({
        "unit": sub["unit"].to_numpy(), "period": sub["period"].astype(str).to_numpy(),
        "node": sub["node"].to_numpy(), "level": [inv[v] for v in level_num],
        "status": "new", "first_seen": sub["period"].astype(str).to_numpy(),
        "rule": names[lead], "rules": [";".join(names[ordered][fired[r][ordered]]) for r in rows],
        "observed": pick("observed"), "expected_or_limit": pick("limit"), "statistic": pick("stat"),
        "p_value": pick("p"), "source_department": dept,
        "evidence": join([ev_parts[i] for i in ordered], "; "),
        "message_zh": np.asarray(message_zh, dtype=object), "message_en": np.asarray(message_en, dtype=object),
    })
    return out[ALERT_COLUMNS]


def alert_lifecycle(alerts: pd.DataFrame, series_periods: pd.DataFrame) -> pd.DataFrame:
    """Mark each alert new or continuing, add resolved rows, and set ``first_seen`` (pure).

    An alert (unit x node) is *continuing* when the same unit x node had an alert of the same class in the
    series' previous period, else *new*; the classes are *warnings* (amber, red) and the *watch list* (info), so a
    watch item that turns amber is a new warning. ``first_seen`` is the first period of its run. When a run ends, a
    row with status *resolved*, level ``info`` and the period after its last alert is added (if the series has such
    a period).

    Parameters
    ----------
    alerts : output of :func:`evaluate_rules`.
    series_periods : ``unit, node, period``: every period in which each series was observed (its timeline).

    Examples
    --------
    >>> al = pd.DataFrame({"unit": "u", "node": "D4", "period": ["2022", "2023"], "level": "amber",
    ...                    "message_zh": "x", "message_en": "x"})
    >>> sp = pd.DataFrame({"unit": "u", "node": "D4", "period": ["2021", "2022", "2023", "2024"]})
    >>> alert_lifecycle(al, sp)[["period", "status", "first_seen", "level"]].values.tolist()
    [['2022', 'new', '2022', 'amber'], ['2023', 'continuing', '2022', 'amber'], ['2024', 'resolved', '2022', 'info']]
    """
    if not len(alerts):
        return alerts.reindex(columns=list(alerts.columns) + [c for c in ("status", "first_seen")
                                                               if c not in alerts.columns])
    sp = series_periods[["unit", "node", "period"]].astype(str).drop_duplicates()
    sp = sp.assign(_t=_period_number(sp["period"])).sort_values(["unit", "node", "_t"])
    sp["_next"] = sp.groupby(["unit", "node"])["period"].shift(-1)
    sp["_prev"] = sp.groupby(["unit", "node"])["period"].shift(1)
    a = alerts.copy()
    a["period"] = a["period"].astype(str)
    a = a.merge(sp[["unit", "node", "period", "_t", "_next", "_prev"]], on=["unit", "node", "period"], how="left")
    a["_t"] = a["_t"].fillna(pd.Series(_period_number(a["period"]), index=a.index))
    a["_class"] = np.where(a["level"].isin(["amber", "red"]), "warning", "watch")
    a = a.sort_values(["unit", "node", "_class", "_t"]).reset_index(drop=True)
    by = ["unit", "node", "_class"]
    prev_alert = a.groupby(by)["period"].shift(1)
    cont = prev_alert.notna() & (prev_alert == a["_prev"])
    a["status"] = np.where(cont, "continuing", "new")
    run_id = (~cont).cumsum()
    a["first_seen"] = a.groupby(run_id)["period"].transform("first")
    # a run ends at its last alert when the series has a next period that is not itself an alert of the class
    nxt_alert = a.groupby(by)["period"].shift(-1)
    ends = a["_next"].notna() & (nxt_alert != a["_next"])
    resolved = a[ends].copy()
    resolved["period"] = resolved["_next"]
    # one row per unit x node x period: when the next period has an alert of the other class, that alert is the news
    live = pd.MultiIndex.from_frame(a[["unit", "node", "period"]])
    resolved = resolved[~pd.MultiIndex.from_frame(resolved[["unit", "node", "period"]]).isin(live)]
    resolved["status"] = "resolved"
    resolved["level"] = "info"
    for c in ("message_zh", "message_en"):
        if c in resolved:
            resolved[c] = resolved[c].astype(str).str.rstrip("。.") \
                + np.where(c == "message_zh", "（预警已解除）", " (resolved).")
    for c in ("observed", "expected_or_limit", "statistic", "p_value"):
        if c in resolved:
            resolved[c] = np.nan
    out = pd.concat([a, resolved], ignore_index=True).drop(columns=["_t", "_next", "_prev", "_class"])
    out = out.assign(_t=_period_number(out["period"])).sort_values(["unit", "node", "_t"]).drop(columns="_t")
    cols = [c for c in ALERT_COLUMNS if c in out.columns] + [c for c in out.columns if c not in ALERT_COLUMNS]
    return out[cols].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- scoring
def _period_number(periods: pd.Series) -> np.ndarray:
    from ..periods import decimal_time
    return decimal_time(periods.astype(str))


def series_years_from_trends(trends: pd.DataFrame) -> pd.DataFrame:
    """Monitored (unit, node, year) rows implied by a trends table's ``first_period`` .. ``last_period``.

    The denominator of the false-alert rate (series x years).

    Examples
    --------
    >>> t = pd.DataFrame({"unit": ["u"], "node": ["D1"], "first_period": ["2020Q3"], "last_period": ["2022Q1"]})
    >>> series_years_from_trends(t)["period"].tolist()
    ['2020', '2021', '2022']
    """
    t = trends.dropna(subset=["first_period", "last_period"])
    first = t["first_period"].astype(str).str.slice(0, 4).astype(int).to_numpy()
    last = t["last_period"].astype(str).str.slice(0, 4).astype(int).to_numpy()
    counts = np.maximum(last - first + 1, 0)
    idx = np.repeat(np.arange(len(t)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame({"unit": t["unit"].astype(str).to_numpy()[idx], "node": t["node"].astype(str).to_numpy()[idx],
                         "period": (first[idx] + offset).astype(str)})


def score_detection(alerts: pd.DataFrame, trends: pd.DataFrame, ground_truth: pd.DataFrame, *,
                    change_points: pd.DataFrame | None = None, step_kinds=("step",),
                    min_magnitude_sd: float = 1.5, series_periods: pd.DataFrame | None = None,
                    max_delay_years: float = 3.0, early_tolerance_years: float = 1.0, fdr: float = 0.05,
                    district_code: str | None = "310115000000") -> dict:
    """Precision, recall and detection delay of alerts, change points and trend calls against planted events (pure).

    Events (``ground_truth``: ``event_id, kind, unit, indicator, start_period, magnitude_sd``) whose unit is
    ``district_code`` (district-wide movements) are expanded to every unit that has a series of that node in
    ``trends``. An event is *detected* when, on the same unit and node (``node`` = the event's indicator), an alert
    or a change point in the event's direction (sign of ``magnitude_sd``/``magnitude``) falls in
    ``[start - early_tolerance_years, start + max_delay_years]``; the delay is the years from the start to the first
    such signal (negative when the change point is dated before the planted start; alerts mark worsening only, so
    improvements are found by change points). A ``trend`` event is detected by a trend call with q < ``fdr`` in its
    direction.

    Precision: share of alerts that fall in some event window on their unit x node. False red rate: red alerts in
    no event window, counted once per unit x node x year, over the monitored series-years (``series_periods``:
    unit, node, period of every monitored series, e.g. :func:`series_years_from_trends`).

    Returns
    -------
    dict with ``step`` (n_events — unit x node series, a district-wide event counting once per unit —,
    n_planted event ids, recall, median and mean delay in years, for kinds ``step_kinds`` with
    |magnitude_sd| >= ``min_magnitude_sd``), ``trend`` (n_events, recall), ``by_kind`` (n_events and recall by
    kind), ``alerts`` (n, precision, precision_by_level), ``false_red_rate`` and ``per_event`` (DataFrame).

    Examples
    --------
    >>> gt = pd.DataFrame({"event_id": [1], "kind": ["step"], "unit": ["u1"], "indicator": ["D6"],
    ...                    "start_period": ["2022"], "end_period": ["2025"], "magnitude_sd": [-2.0]})
    >>> al = pd.DataFrame({"unit": ["u1", "u2"], "node": ["D6", "D6"], "period": ["2023", "2022"],
    ...                    "level": ["red", "red"]})
    >>> r = score_detection(al, pd.DataFrame(columns=["unit", "node", "q", "z"]), gt)
    >>> r["step"]["recall"], r["step"]["mean_delay_years"], r["alerts"]["precision"]
    (1.0, 1.0, 0.5)
    """
    need = {"event_id", "kind", "unit", "indicator", "start_period"}
    missing = need - set(ground_truth.columns)
    if missing:
        raise InputError(f"ground_truth: missing columns {sorted(missing)}")
    gt = ground_truth.copy()
    gt["unit"] = gt["unit"].astype(str)
    gt["node"] = gt["indicator"].fillna("").astype(str)
    gt = gt[gt["node"] != ""]
    tr = trends.copy()
    tr["unit"] = tr["unit"].astype(str) if len(tr) else tr.get("unit")
    tr["node"] = tr["node"].astype(str) if len(tr) else tr.get("node")
    if district_code is not None and len(tr):
        district = gt["unit"] == district_code
        if district.any():
            series = tr[["unit", "node"]].drop_duplicates()
            expanded = gt[district].drop(columns="unit").merge(series, on="node")
            gt = pd.concat([gt[~district], expanded], ignore_index=True)
    gt["t0"] = _period_number(gt["start_period"]) if len(gt) else np.array([], float)
    mag_sd = pd.to_numeric(gt["magnitude_sd"], errors="coerce") if "magnitude_sd" in gt else \
        pd.Series(np.nan, index=gt.index)
    mag = pd.to_numeric(gt["magnitude"], errors="coerce") if "magnitude" in gt else pd.Series(np.nan, index=gt.index)
    gt["sign"] = np.sign(mag_sd.fillna(mag)).fillna(0).to_numpy()
    gt["_event"] = np.arange(len(gt))
    al = alerts.copy()
    al["unit"] = al["unit"].astype(str)
    al["node"] = al["node"].astype(str)
    al["t"] = _period_number(al["period"]) if len(al) else np.array([], float)
    lo, hi = gt["t0"] - early_tolerance_years, gt["t0"] + max_delay_years + 1e-9
    windows = gt[["_event", "unit", "node", "t0", "sign"]].assign(lo=lo, hi=hi)
    pairs = al.reset_index().merge(windows, on=["unit", "node"])
    pairs = pairs[(pairs["t"] >= pairs["lo"]) & (pairs["t"] <= pairs["hi"])]
    signals = [pairs[["_event", "t"]]]
    if change_points is not None and len(change_points):
        cp = change_points.copy()
        cp["unit"], cp["node"] = cp["unit"].astype(str), cp["node"].astype(str)
        cp["t"] = _period_number(cp["period"])
        cpp = cp.merge(windows, on=["unit", "node"])
        cpp = cpp[(cpp["t"] >= cpp["lo"]) & (cpp["t"] <= cpp["hi"])
                  & ((np.sign(cpp["shift"]) == cpp["sign"]) | (cpp["sign"] == 0))]
        signals.append(cpp[["_event", "t"]])
    first = pd.concat(signals).groupby("_event")["t"].min()
    first_alert = pairs.groupby("_event")["t"].min()
    gt["detected"] = gt["_event"].map(first).notna()
    gt["detected_by_alert"] = gt["_event"].map(first_alert).notna()
    gt["delay_years"] = gt["_event"].map(first) - gt["t0"]
    gt["alert_delay_years"] = gt["_event"].map(first_alert) - gt["t0"]
    if len(tr) and "q" in tr.columns:
        q = pd.to_numeric(tr["q"], errors="coerce")
        z = pd.to_numeric(tr["z"], errors="coerce") if "z" in tr.columns else pd.Series(np.nan, index=tr.index)
        called = tr.loc[q < fdr, ["unit", "node"]].assign(zsign=np.sign(z[q < fdr]))
        hit = gt.merge(called, on=["unit", "node"], how="left")
        hit = hit[(hit["zsign"] == hit["sign"]) | ((hit["sign"] == 0) & hit["zsign"].notna())]
        gt["detected_by_trend"] = gt["_event"].isin(hit["_event"])
    else:
        gt["detected_by_trend"] = False
    steps = gt[gt["kind"].isin(step_kinds) & (mag_sd.abs() >= min_magnitude_sd)]
    trends_gt = gt[gt["kind"] == "trend"]
    al["matched"] = al.index.isin(set(pairs["index"]))
    precision_by_level = al.groupby("level")["matched"].mean().to_dict() if len(al) else {}
    false_red = al[(al["level"] == "red") & ~al["matched"]]
    rate = np.nan
    if series_periods is not None and len(series_periods):
        sp = series_periods.assign(year=series_periods["period"].astype(str).str.slice(0, 4))
        n_series_years = sp[["unit", "node", "year"]].drop_duplicates().shape[0]
        fr = false_red.assign(year=false_red["period"].astype(str).str.slice(0, 4))
        rate = fr[["unit", "node", "year"]].drop_duplicates().shape[0] / max(n_series_years, 1)
    by_kind = {k: {"n_events": int(len(g)), "recall": float(g["detected"].mean()),
                   "recall_alerts": float(g["detected_by_alert"].mean()),
                   "recall_trend_test": float(g["detected_by_trend"].mean())} for k, g in gt.groupby("kind")}

    def _f(x):
        return float(x) if len(steps) else float("nan")

    return {
        "step": {"n_events": int(len(steps)), "n_planted": int(steps["event_id"].nunique()),
                 "recall": _f(steps["detected"].mean()),
                 "median_delay_years": _f(steps["delay_years"].median()),
                 "mean_delay_years": _f(steps["delay_years"].mean()),
                 # alerts are the early warning (control charts run forward in time); change points are dated
                 # in hindsight over the whole series, so their delay is optimistic
                 "recall_alerts": _f(steps["detected_by_alert"].mean()),
                 "median_alert_delay_years": _f(steps["alert_delay_years"].median())},
        "trend": {"n_events": int(len(trends_gt)),
                  "recall": float(trends_gt["detected_by_trend"].mean()) if len(trends_gt) else float("nan")},
        "by_kind": by_kind,
        "alerts": {"n": int(len(al)), "precision": float(al["matched"].mean()) if len(al) else float("nan"),
                   "precision_by_level": {k: float(v) for k, v in precision_by_level.items()}},
        "false_red_rate": float(rate),
        "per_event": gt.drop(columns=["t0", "_event"]),
    }
