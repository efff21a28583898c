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

__all__ = ["DEFAULT_RULES", "LEVELS", "validate_rules", "evaluate_rules", "score_detection", "period_words",
           "series_years_from_trends"]

LEVELS = {"info": 1, "amber": 2, "red": 3}

#: Default rules (used when ``alerts.rules`` is absent). Thresholds are for 0-100 index scores. Red is kept for
#: evidence whose false-alarm rate is controlled (the BH-FDR trend test); a level rule is a policy line, and a
#: unit that sits below it for years is not news each year, so level rules are amber/info by default.
DEFAULT_RULES: list[dict] = [
    {"name": "very_low_level", "kind": "level_below", "threshold": 50.0, "level": "amber"},
    {"name": "low_level", "kind": "level_below", "threshold": 60.0, "level": "info"},
    {"name": "sharp_drop", "kind": "drop", "threshold": 5.0, "level": "amber"},
    {"name": "significant_decline", "kind": "trend_down", "fdr": 0.05, "level": "red"},
    {"name": "downward_shift", "kind": "change_point_down", "min_shift_sd": 1.0, "level": "amber"},
    {"name": "cusum_signal", "kind": "cusum_down", "level": "amber"},
    {"name": "ewma_signal", "kind": "ewma_down", "level": "info"},
    {"name": "survey_below_district", "kind": "survey_below", "z": 1.96, "fdr": 0.05, "level": "amber"},
]

_KIND_KEYS = {"level_below": {"threshold"}, "drop": {"threshold"}, "trend_down": {"fdr"},
              "change_point_down": {"min_shift_sd"}, "cusum_down": set(), "ewma_down": set(),
              "survey_below": {"z", "fdr"}}
_KIND_DEFAULTS = {"level_below": {"threshold": 60.0}, "drop": {"threshold": 5.0}, "trend_down": {"fdr": 0.05},
                  "change_point_down": {"min_shift_sd": 1.0}, "survey_below": {"z": 1.96, "fdr": 0.05}}


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


def evaluate_rules(facts: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Apply the alert rules to a facts table; one alert per unit x node x period where any rule fires.

    Parameters
    ----------
    facts : DataFrame with ``unit, node, period, unit_zh, unit_en, node_zh, node_en, direction`` and the evidence
        columns the rules read (missing columns mean "no evidence": the rule does not fire):
        ``score``, ``change`` (index score and its change from the previous period) and ``latest`` (True on a
        series' latest period; missing: True) for level_below and drop;
        ``trend_q``, ``trend_p``, ``trend_z`` (trend_down; set on the series' latest period only);
        ``cp_shift_sd``, ``cp_shift`` (change_point_down: robust-SD and raw shift of the mean after a change just
        before this period, signed so that negative is worse); ``cusum_down``, ``ewma_down`` (bool onsets);
        ``survey_z``, ``survey_estimate``, ``district_estimate`` (survey_below; negative z is worse).
    rules : a rules list (see the module docstring); None: :data:`DEFAULT_RULES`.

    Returns
    -------
    DataFrame ``unit, period, node, level, rules, evidence, message_zh, message_en`` (rules separated by ``;``).

    Examples
    --------
    >>> facts = pd.DataFrame({"unit": ["310115004000"], "node": ["D6"], "period": ["2025"], "unit_zh": ["花木街道"],
    ...     "unit_en": ["Huamu Subdistrict"], "node_zh": ["居民满意度"], "node_en": ["Resident satisfaction"],
    ...     "direction": [1], "score": [61.2], "change": [-8.4], "trend_q": [0.003], "trend_p": [0.003],
    ...     "trend_z": [-3.0]})
    >>> a = evaluate_rules(facts)
    >>> a["level"].tolist(), a["rules"].tolist()
    (['red'], ['sharp_drop;significant_decline'])
    >>> print(a["message_zh"].iloc[0])
    花木街道 D6 居民满意度 2025 年得分 61.2，较上期下降 8.4 分；Mann–Kendall 检验显示显著下降趋势 (p=0.003, FDR q=0.003)。
    >>> print(a["message_en"].iloc[0])
    Huamu Subdistrict D6 Resident satisfaction: score 61.2 in 2025, down 8.4 points from the previous period; the Mann–Kendall test shows a significant downward trend (p=0.003, FDR q=0.003).
    """
    rules = validate_rules(rules)
    f = facts.reset_index(drop=True)
    m = len(f)

    def col(name, default=np.nan):
        return f[name].to_numpy() if name in f.columns else np.full(m, default)

    direction = col("direction", 1).astype(float)
    score, change = col("score").astype(float), col("change").astype(float)
    fired = np.zeros((m, len(rules)), dtype=bool)
    zh_parts = [np.full(m, "", dtype=object) for _ in rules]
    en_parts = [np.full(m, "", dtype=object) for _ in rules]
    ev_parts = [np.full(m, "", dtype=object) for _ in rules]
    score_txt, change_txt = _fmt(score).to_numpy(), _fmt(np.abs(change)).to_numpy()
    for r, rule in enumerate(rules):
        kind = rule["kind"]
        with np.errstate(invalid="ignore"):
            if kind == "level_below":
                # news, not a yearly repeat: the crossing (previous score at/above, or none) and the latest period
                previous = score - change
                latest = col("latest", True).astype(bool)
                hit = (score < rule["threshold"]) & (~(previous < rule["threshold"]) | latest)
                zh = "低于阈值 " + _fmt([rule["threshold"]] * m).to_numpy()
                en = "below the threshold of " + _fmt([rule["threshold"]] * m).to_numpy()
                ev = "score=" + score_txt
            elif kind == "drop":
                worse = direction * change
                hit = -worse > rule["threshold"]
                zh = np.where(change < 0, "较上期下降 ", "较上期上升 ") + change_txt + " 分"
                en = np.where(change < 0, "down ", "up ") + change_txt + " points from the previous period"
                ev = "change=" + _fmt(change).to_numpy()
            elif kind == "trend_down":
                q, z = col("trend_q").astype(float), col("trend_z").astype(float)
                hit = (q < rule["fdr"]) & (direction * z < 0)
                qt, pt = _fmt_p(q).to_numpy(), _fmt_p(col("trend_p").astype(float)).to_numpy()
                stats = "(p=" + pt + ", FDR q=" + qt + ")"
                zh = "Mann–Kendall 检验显示显著" + np.where(z < 0, "下降", "上升") + "趋势 " + stats
                en = "the Mann–Kendall test shows a significant " + np.where(z < 0, "downward", "upward") \
                    + " trend " + stats
                ev = "trend_p=" + pt + ", trend_q=" + qt + ", trend_z=" + _fmt(z, 2).to_numpy()
            elif kind == "change_point_down":
                sd, shift = col("cp_shift_sd").astype(float), col("cp_shift").astype(float)
                hit = sd <= -rule["min_shift_sd"]
                size, sds = _fmt(np.abs(shift), 1).to_numpy(), _fmt(np.abs(sd), 1).to_numpy()
                zh = "此前出现不利突变，均值" + np.where(shift < 0, "下降 ", "上升 ") + size + " (" + sds + " 个标准差)"
                en = "the mean shifted for the worse just before, " + np.where(shift < 0, "down ", "up ") + size \
                    + " (" + sds + " SD)"
                ev = "cp_shift=" + _fmt(shift, 2).to_numpy() + ", cp_shift_sd=" + _fmt(sd, 2).to_numpy()
            elif kind in ("cusum_down", "ewma_down"):
                hit = col(kind, False).astype(bool)
                chart = "CUSUM" if kind == "cusum_down" else "EWMA"
                zh = np.full(m, f"{chart} 控制图发出恶化信号", dtype=object)
                en = np.full(m, f"the {chart} control chart signals a worsening", dtype=object)
                ev = np.full(m, f"{kind}=1", dtype=object)
            else:  # survey_below
                z = col("survey_z").astype(float)
                q_survey = benjamini_hochberg(norm.cdf(z))  # one-sided: below the district
                hit = (z < -rule["z"]) & (q_survey < rule["fdr"])
                est, dist = _fmt(col("survey_estimate").astype(float)).to_numpy(), \
                    _fmt(col("district_estimate").astype(float)).to_numpy()
                zh = "调查估计 " + est + " 显著低于全区 " + dist + " (z=" + _fmt(z, 2).to_numpy() + ")"
                en = "the survey estimate " + est + " is significantly below the district's " + dist \
                    + " (z=" + _fmt(z, 2).to_numpy() + ")"
                ev = "survey_z=" + _fmt(z, 2).to_numpy()
        hit = np.asarray(hit, dtype=bool)
        fired[:, r] = hit
        zh_parts[r] = np.where(hit, zh, "")
        en_parts[r] = np.where(hit, en, "")
        ev_parts[r] = np.where(hit, rule["name"] + ": " + np.asarray(ev, dtype=object), "")
    any_fired = fired.any(axis=1)
    if not any_fired.any():
        return pd.DataFrame(columns=["unit", "period", "node", "level", "rules", "evidence", "message_zh",
                                     "message_en"])
    rows = np.nonzero(any_fired)[0]
    sub = f.iloc[rows].reset_index(drop=True)
    names = np.array([r["name"] for r in rules], dtype=object)
    sev = np.array([LEVELS[r["level"]] for r in rules])
    level_num = np.where(fired[rows], sev[None, :], 0).max(axis=1)
    inv = {v: k for k, v in LEVELS.items()}

    def join(parts, sep):
        cols = np.stack([p[rows] for p in parts], axis=1)
        return np.array([sep.join(x for x in row if x) for row in cols], dtype=object)

    # a drop rule's wording also serves as the score sentence; level wording follows the score
    drop_idx = [i for i, r in enumerate(rules) if r["kind"] == "drop"]
    lead_zh = sub["unit_zh"].astype(str) + " " + sub["node"].astype(str) + " " + sub["node_zh"].astype(str) + " " \
        + period_words(sub["period"], "zh")
    lead_en = sub["unit_en"].astype(str) + " " + sub["node"].astype(str) + " " + sub["node_en"].astype(str)
    has_score = ~np.isnan(score[rows])
    zh_score = np.where(has_score, "得分 " + score_txt[rows], "")
    en_score = np.where(has_score, ": score " + score_txt[rows] + " in " + period_words(sub["period"], "en"),
                        ", " + period_words(sub["period"], "en"))
    # the score sentence carries the change when a drop rule fired, so that reasons read as one sentence
    drop_zh = np.full(len(rows), "", dtype=object)
    drop_en = np.full(len(rows), "", dtype=object)
    for i in drop_idx:
        drop_zh = np.where(zh_parts[i][rows] != "", zh_parts[i][rows], drop_zh)
        drop_en = np.where(en_parts[i][rows] != "", en_parts[i][rows], drop_en)
    rest = [i for i in range(len(rules)) if i not in drop_idx]
    rest_zh = join([zh_parts[i] for i in rest], "；") if rest else np.full(len(rows), "", dtype=object)
    rest_en = join([en_parts[i] for i in rest], "; ") if rest else np.full(len(rows), "", dtype=object)
    head_zh = zh_score + np.where(drop_zh != "", np.where(has_score, "，", "") + drop_zh, "")
    head_en = en_score + np.where(drop_en != "", ", " + drop_en, "")
    message_zh = lead_zh + np.where(head_zh != "", head_zh, "：") \
        + np.where((rest_zh != "") & (head_zh != ""), "；", "") + rest_zh + "。"
    message_en = lead_en + head_en + np.where(rest_en != "", np.where(has_score, "; ", ": ") + rest_en, "") + "."
    out = pd.DataFrame({
        "unit": sub["unit"].to_numpy(), "period": sub["period"].to_numpy(), "node": sub["node"].to_numpy(),
        "level": [inv[v] for v in level_num],
        "rules": [";".join(names[fired[r]]) for r in rows],
        "evidence": join(ev_parts, "; "),
        "message_zh": message_zh.to_numpy() if hasattr(message_zh, "to_numpy") else message_zh,
        "message_en": message_en.to_numpy() if hasattr(message_en, "to_numpy") else message_en,
    })
    return out


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
