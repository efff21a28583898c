"""Display tables for the report notebooks, the workbook and the portal: processed tables in, tables out.

Every function is pure except :func:`load_report_tables`, the one that reads the processed store (the notebooks'
single read; everything after it works on the tables it returns).

The notebooks stay thin: they call these functions and show the result. Column headers follow the report
language (``lang='zh'`` or ``'en'``); numbers stay numeric here (formatting is the renderer's job) except where a
table *is* the printed text. Optional processed tables (uncertainty, trends, alerts, survey estimates) may be
missing in a build: the functions then return an empty table with the right columns.
"""
from __future__ import annotations

import math
import re
from typing import Mapping

import numpy as np
import pandas as pd

from .. import periods as _periods
from ..errors import InputError
from .narrative import LEVEL_NAMES, PEER_GROUP_NAMES, significant_trends, rank_intervals
from ..data.processed import index_root_node, has_table, load_processed, ranked_units, report_periods
from ..settings import Settings, load_settings
from .derived import derived

__all__ = ["REPORT_TABLES", "load_report_tables", "resolve_period", "check_unit", "root_node", "dimension_nodes",
           "node_label", "league_table", "dimension_table", "dimension_matrix", "trend_series", "trend_table",
           "alerts_table", "survey_table", "community_table", "source_table", "quality_table", "movers_table",
           "survey_overview", "ARROWS", "localise"]

#: Processed tables the reports read (the first four are required; the rest are shown when the build has them).
REPORT_TABLES = ("units", "framework", "index_scores", "observations", "uncertainty", "progress", "trends", "alerts",
                 "survey_estimates", "survey_sae", "survey_items", "weights_effective", "sensitivity",
                 "sensitivity_indices")
#: survey levels: the engine writes ``jiezhen`` for the 街镇 level (``subdistrict`` accepted too)
_JIEZHEN_LEVELS = ("jiezhen", "subdistrict")
_HIDDEN_FLAGS = ("suppress", "suppressed")
_REQUIRED = ("units", "framework", "index_scores")
ARROWS = {"up": "↑", "down": "↓", "none": "→"}
#: 街镇 kinds in English reports (Chinese reports show them as written)
KIND_NAMES = {"en": {"街道": "subdistrict", "镇": "town"}}
_CODE = re.compile(r"^\d{12}$")


#: Tables a one-period report needs only for the period's year (read with a Parquet filter).
YEAR_TABLES = ("observations", "survey_estimates", "survey_sae", "alerts")


def load_report_tables(settings: Settings | None = None, names=REPORT_TABLES,
                       period: str | None = None) -> dict[str, pd.DataFrame]:
    """The processed tables a report needs; optional ones that the build did not write are left out.

    With ``period`` (``latest`` allowed) the big event-derived tables (:data:`YEAR_TABLES`) hold only the rows of
    that period's year; scores, trends and uncertainty keep every period (trend charts need them).
    """
    settings = settings or load_settings()
    out = {}
    for name in _REQUIRED:
        out[name] = load_processed(name, settings)
    year = None
    if period is not None:
        year = resolve_period(period, out)[:4]
    for name in names:
        if name not in out and has_table(name, settings):
            out[name] = load_processed(name, settings, year=year if name in YEAR_TABLES else None)
    return out


def root_node(tables: Mapping[str, pd.DataFrame]) -> str:
    """The framework's root node code (the composite index)."""
    return index_root_node(tables["index_scores"], tables.get("framework"))


def dimension_nodes(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Codes of the root's children (the dimensions), in framework order."""
    fw = tables["framework"]
    return fw.loc[fw["parent"].astype(str) == root_node(tables), "code"].astype(str).tolist()


def node_label(tables: Mapping[str, pd.DataFrame], lang: str = "zh") -> dict[str, str]:
    """``node code -> display name`` in the report language."""
    fw = tables["framework"]
    col = "name_zh" if lang == "zh" else "name_en"
    names = fw[col] if col in fw.columns else fw["code"]
    return dict(zip(fw["code"].astype(str), names.fillna(fw["code"]).astype(str)))


def _unit_names(tables, lang):
    u = tables["units"]
    col = "name_zh" if lang == "zh" or "name_en" not in u.columns else "name_en"
    return dict(zip(u["code"].astype(str), u[col].fillna(u["name_zh"]).astype(str)))


def resolve_period(period: str, tables: Mapping[str, pd.DataFrame]) -> str:
    """``'latest'`` -> the newest complete period; any other value must be a complete period in the data.

    Raises
    ------
    InputError
        For a malformed period or one that is not (completely) in the processed scores.
    """
    complete = derived(tables, ("report_periods",),
                       lambda source: report_periods(source["index_scores"], source["units"], root_node(source)))
    if period in (None, "", "latest"):
        if not complete:
            raise InputError("no complete period in index_scores: every ranked 街镇 needs a root score")
        return complete[-1]
    if not _periods.is_valid_period(str(period)):
        raise InputError(f"period {period!r} is not a period: expected 2024, 2024Q3, 2024-07 or 'latest'")
    if period not in complete:
        raise InputError(f"period {period!r} has no complete index scores; complete periods: "
                         f"{', '.join(complete) or '(none)'}")
    return str(period)


def check_unit(unit: str, tables: Mapping[str, pd.DataFrame]) -> str:
    """``unit`` if it is the 12-digit code of a ranked 街镇 in the data; ``''`` -> the first one.

    Raises
    ------
    InputError
        Naming the value and what was expected (a 12-digit code string of one of the listed 街镇).
    """
    ranked = ranked_units(tables["units"])
    present = ranked[ranked["code"].isin(set(tables["index_scores"]["unit"]))]
    if unit in (None, ""):
        if present.empty:
            raise InputError("no ranked 街镇 in the processed scores")
        return str(present["code"].iloc[0])
    if not isinstance(unit, str) or not _CODE.match(unit):
        raise InputError(f"unit {unit!r} is not a 12-digit unit code (give it as text, e.g. '310115005000')")
    if unit not in set(present["code"]):
        known = ", ".join(f"{c} {n}" for c, n in zip(present["code"], present["name_zh"]))
        raise InputError(f"unit {unit!r} is not a ranked 街镇 in the processed data; expected one of: {known}")
    return unit


def league_table(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh",
                 with_codes: bool = True) -> pd.DataFrame:
    """The league table of the ranked 街镇: rank, name, kind, peer group, score, rank interval, rank change.

    Sorted by rank; ``rank_change`` is positive when the unit moved up against the previous period. Computed once
    per build and period in a warm kernel (:mod:`govlib.reports.derived`).
    """
    return derived(tables, ("league_table", period, lang, with_codes),
                   lambda source: _league_table(source, period, lang, with_codes))


def _league_table(tables: Mapping[str, pd.DataFrame], period: str, lang: str, with_codes: bool) -> pd.DataFrame:
    scores = tables["index_scores"]
    root = root_node(tables)
    ranked = ranked_units(tables["units"]).set_index("code")
    top = scores[(scores["node"] == root) & scores["unit"].isin(ranked.index)]
    now = top[top["period"] == period].copy()
    periods = [p for p in _periods.period_index(top["period"]) if _periods.frequency_of(p) ==
               _periods.frequency_of(period)]
    prev = periods[periods.index(period) - 1] if period in periods and periods.index(period) > 0 else None
    if prev is not None:
        before = top[top["period"] == prev].set_index("unit")["rank"]
        now["rank_change"] = now["unit"].map(before).astype(float) - now["rank"].astype(float)
    else:
        now["rank_change"] = np.nan
    u = rank_intervals(tables.get("uncertainty"), root)
    u = u[u["period"] == period].set_index("unit")
    now["rank_low"] = now["unit"].map(u["rank_low"]).astype(float)
    now["rank_high"] = now["unit"].map(u["rank_high"]).astype(float)
    now["rank_median"] = now["unit"].map(u["rank_median"]).astype(float)
    name_col = "name_zh" if lang == "zh" else "name_en"
    peer_names = PEER_GROUP_NAMES[lang]
    out = pd.DataFrame({
        "code": now["unit"].astype(str),
        "name": now["unit"].map(ranked[name_col].fillna(ranked["name_zh"])),
        "kind": now["unit"].map(ranked["kind"]).map(lambda k: KIND_NAMES.get(lang, {}).get(k, k)),
        "peer_group": now["unit"].map(ranked["peer_group"]).map(lambda g: peer_names.get(g, g)),
        "score": now["score"].astype(float), "rank": now["rank"].astype(float),
        "peer_rank": now["peer_rank"].astype(float) if "peer_rank" in now else np.nan,
        "rank_low": now["rank_low"], "rank_high": now["rank_high"], "rank_median": now["rank_median"],
        "rank_change": now["rank_change"],
    }).sort_values(["rank", "code"]).reset_index(drop=True)
    if not with_codes:
        out = out.drop(columns="code")
    return out


def dimension_table(facts: Mapping, lang: str = "zh") -> pd.DataFrame:
    """A 街镇's dimension scores against the district and peer medians (from :func:`narrative.street_facts`)."""
    zh = lang == "zh"
    rows = [{("维度" if zh else "Dimension"): d["name_zh"] if zh else d["name_en"],
             ("得分" if zh else "Score"): d["score"], ("排名" if zh else "Rank"): d["rank"],
             ("全区中位数" if zh else "District median"): d["district_median"],
             ("同类中位数" if zh else "Peer median"): d["peer_median"],
             ("与全区中位数之差" if zh else "Gap to district median"): d["gap"]} for d in facts["dimensions"]]
    return pd.DataFrame(rows)


def dimension_matrix(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh") -> pd.DataFrame:
    """街镇 (rows, in rank order) x dimension (columns) scores for the heat map."""
    league = league_table(tables, period, lang)
    dims = dimension_nodes(tables)
    labels = node_label(tables, lang)
    s = tables["index_scores"]
    s = s[(s["period"] == period) & s["node"].isin(dims) & s["unit"].isin(league["code"])]
    m = s.pivot_table(index="unit", columns="node", values="score").reindex(index=league["code"], columns=dims)
    m.index = league["name"].tolist()
    m.columns = [labels.get(c, c) for c in dims]
    return m


def trend_series(tables: Mapping[str, pd.DataFrame], unit: str, lang: str = "zh",
                 frequency: str | None = None) -> pd.DataFrame:
    """Tidy ``panel, period, score`` of a unit's root and dimension scores over time (for small multiples)."""
    nodes = [root_node(tables)] + dimension_nodes(tables)
    labels = node_label(tables, lang)
    s = tables["index_scores"]
    s = s[(s["unit"] == unit) & s["node"].isin(nodes)].copy()
    if frequency:
        s = s[s["period"].map(_periods.frequency_of) == frequency]
    s["panel"] = pd.Categorical(s["node"].map(labels), [labels.get(n, n) for n in nodes], ordered=True)
    s = s.sort_values(["panel", "period"])
    return pd.DataFrame({"panel": s["panel"].astype(str), "node": s["node"], "period": s["period"].astype(str),
                         "score": s["score"].astype(float)}).reset_index(drop=True)


def trend_table(tables: Mapping[str, pd.DataFrame], unit: str, lang: str = "zh", alpha: float = 0.05) -> pd.DataFrame:
    """Mann-Kendall/Sen results per node for one unit, with an arrow for significant trends."""
    zh = lang == "zh"
    cols = (["节点", "趋势", "Sen斜率（每年）", "斜率95%区间", "p值", "q值", "突变点"] if zh else
            ["Node", "Trend", "Sen slope (per year)", "Slope 95% CI", "p", "q", "Change point"])
    trends = tables.get("trends")
    if trends is None or not len(trends):
        return pd.DataFrame(columns=cols)
    nodes = [root_node(tables)] + dimension_nodes(tables)
    labels = node_label(tables, lang)
    t = trends[(trends["unit"] == unit) & trends["node"].astype(str).isin(nodes)].copy()
    t["_order"] = t["node"].map({n: i for i, n in enumerate(nodes)})
    t = t.sort_values("_order")
    sig = significant_trends(t, alpha).to_numpy()
    slope = t["sen_slope"].astype(float).to_numpy()
    arrow = np.where(~sig | (slope == 0), ARROWS["none"], np.where(slope > 0, ARROWS["up"], ARROWS["down"]))
    lo = t["sen_low"].astype(float) if "sen_low" in t else pd.Series(np.nan, index=t.index)
    hi = t["sen_high"].astype(float) if "sen_high" in t else pd.Series(np.nan, index=t.index)
    cp = t["change_point"] if "change_point" in t else pd.Series(None, index=t.index)
    return pd.DataFrame({
        cols[0]: t["node"].map(labels).to_numpy(), cols[1]: arrow, cols[2]: slope,
        cols[3]: [f"[{a:.2f}, {b:.2f}]" if math.isfinite(a) and math.isfinite(b) else "–" for a, b in zip(lo, hi)],
        cols[4]: t["p"].astype(float).to_numpy(),
        cols[5]: t["q"].astype(float).to_numpy() if "q" in t else np.nan,
        cols[6]: [("–" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)) for v in cp],
    })


def alerts_table(tables: Mapping[str, pd.DataFrame], period: str, unit: str | None = None,
                 lang: str = "zh") -> pd.DataFrame:
    """The period's alerts (for one unit or all), red first, with their reasons in the report language."""
    zh = lang == "zh"
    cols = ["级别", "街镇", "节点", "原因"] if zh else ["Level", "Unit", "Node", "Reason"]
    alerts = tables.get("alerts")
    if alerts is None or not len(alerts):
        return pd.DataFrame(columns=cols)
    a = alerts[alerts["period"].astype(str) == period]
    if unit is not None:
        a = a[a["unit"] == unit]
    order = {"red": 0, "amber": 1, "info": 2}
    a = a.assign(_o=a["level"].map(order).fillna(3)).sort_values(["_o", "unit", "node"])
    labels = node_label(tables, lang)
    names = _unit_names(tables, lang)
    msg = "message_zh" if zh else "message_en"
    return pd.DataFrame({cols[0]: a["level"].map(LEVEL_NAMES[lang]).fillna(a["level"]).to_numpy(),
                         cols[1]: a["unit"].map(names).fillna(a["unit"]).to_numpy(),
                         cols[2]: a["node"].astype(str).map(labels).fillna(a["node"]).to_numpy(),
                         cols[3]: a[msg].fillna("").to_numpy() if msg in a else ""})


def survey_rows(tables, period: str) -> pd.DataFrame:
    """Survey estimates of the report period: the period itself, else the latest wave within its year."""
    est = tables.get("survey_estimates")
    if est is None or not len(est):
        return pd.DataFrame()
    if "measure" in est.columns:  # the 0-100 score (not top-2 box or net shares)
        est = est[est["measure"].astype(str) == "score"]
    return _one_wave(est, period)


def item_labels_of(tables, lang):
    labels = node_label(tables, lang)
    items = tables.get("survey_items")
    out = {}
    if items is not None and len(items):
        col = "label_zh" if lang == "zh" else "label_en"
        for row in items.itertuples(index=False):
            text = getattr(row, col, None) if col in items.columns else None
            out[str(row.item)] = str(text) if text else labels.get(str(getattr(row, "indicator", "")), str(row.item))
    return out, labels


def survey_table(tables: Mapping[str, pd.DataFrame], unit: str, period: str, lang: str = "zh") -> pd.DataFrame:
    """Satisfaction per item for one 街镇 with 95% confidence intervals and the district estimate beside it."""
    rows = survey_rows(tables, period)
    cols = (["label", "item", "wave", "estimate", "se", "ci_low", "ci_high", "n", "district", "flag"])
    if rows.empty:
        return pd.DataFrame(columns=cols)
    item_labels, node_labels = item_labels_of(tables, lang)
    mine = rows[rows["unit"] == unit]
    if "level" in rows.columns:
        mine = mine[mine["level"].astype(str) != "community"]
        district = rows[rows["level"].astype(str) == "district"].set_index("item")["estimate"]
    else:
        district = pd.Series(dtype=float)
    out = pd.DataFrame({
        "label": mine["item"].astype(str).map(lambda i: item_labels.get(i, node_labels.get(i, VALUE_NAMES[lang].get(i, i)))),
        "item": mine["item"].astype(str), "wave": mine["period"].astype(str),
        "estimate": mine["estimate"].astype(float), "se": mine["se"].astype(float),
        "ci_low": mine["ci_low"].astype(float), "ci_high": mine["ci_high"].astype(float),
        "n": mine["n"] if "n" in mine else np.nan, "district": mine["item"].map(district).astype(float),
        "flag": value_text(mine["flag"].fillna("").astype(str), lang) if "flag" in mine else ""})
    return out.sort_values("item").reset_index(drop=True)


def community_table(tables: Mapping[str, pd.DataFrame], unit: str, period: str, item: str | None = None,
                    lang: str = "zh") -> pd.DataFrame:
    """Community-level (small-area) estimates under one 街镇 for one item, with their flags.

    Uses the small-area table (``survey_sae``: the EBLUP where recommended, else the direct estimate) when the
    build has it, else the community rows of ``survey_estimates``. Suppressed estimates are blanked (the flag says
    why): they are too uncertain to publish.
    """
    cols = ["code", "community", "item", "method", "estimate", "ci_low", "ci_high", "flag"]
    units = tables["units"]
    children = units.loc[units["parent"].astype(str) == unit, ["code", "name_zh", "name_en"]]
    name = dict(zip(children["code"], children["name_zh" if lang == "zh" else "name_en"].fillna(children["name_zh"])))
    sae = tables.get("survey_sae")
    if sae is not None and len(sae) and {"eblup", "direct"} <= set(sae.columns):
        c = _one_wave(sae[sae["unit"].isin(children["code"])], period)
        method = c["recommended"].fillna("eblup").astype(str) if "recommended" in c else pd.Series("eblup", index=c.index)
        use_eblup = method.eq("eblup").to_numpy()
        est = np.where(use_eblup, c["eblup"].astype(float), c["direct"].astype(float))
        se = np.where(use_eblup, c["eblup_se"].astype(float), c["direct_se"].astype(float))
        c = c.assign(estimate=est, ci_low=est - 1.959964 * se, ci_high=est + 1.959964 * se, method=method)
    else:
        rows = survey_rows(tables, period)
        if rows.empty or "level" not in rows.columns:
            return pd.DataFrame(columns=cols)
        c = rows[(rows["level"].astype(str) == "community") & rows["unit"].isin(children["code"])]
        c = c.assign(method="direct")
    if c.empty:
        return pd.DataFrame(columns=cols)
    if item is None:
        items = sorted(c["item"].astype(str).unique())
        item = items[-1]  # the last item of the questionnaire: overall satisfaction in the demo
    c = c[c["item"].astype(str) == str(item)]
    flag = c["flag"].fillna("").astype(str) if "flag" in c else pd.Series("", index=c.index)
    hide = flag.isin(_HIDDEN_FLAGS).to_numpy()
    out = pd.DataFrame({"code": c["unit"].astype(str), "community": c["unit"].map(name), "item": c["item"].astype(str),
                        "method": c["method"].astype(str),
                        "estimate": np.where(hide, np.nan, c["estimate"].astype(float)),
                        "ci_low": np.where(hide, np.nan, c["ci_low"].astype(float)),
                        "ci_high": np.where(hide, np.nan, c["ci_high"].astype(float)),
                        "flag": value_text(flag, lang)})
    out["method"] = value_text(out["method"], lang)
    return out.sort_values("code").reset_index(drop=True)


def _one_wave(frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """Rows of the report period, else of the latest wave within its year."""
    if frame.empty:
        return frame
    per = frame["period"].astype(str)
    if (per == period).any():
        return frame[per == period]
    same_year = per.str.slice(0, 4) == period[:4]
    if not same_year.any():
        return frame.iloc[0:0]
    return frame[per == _periods.period_index(per[same_year])[-1]]


def source_table(tables: Mapping[str, pd.DataFrame], unit: str, period: str, source: str,
                 lang: str = "zh") -> pd.DataFrame:
    """The indicators of one source (``hotline``, ``service``, ...) for a unit within the report period's year.

    Rows are indicators, columns are the periods of that year (months for monthly hotline data), values as
    published (with the indicator's unit in the label).
    """
    fw = tables["framework"]
    obs = tables.get("observations")
    if obs is None or "source" not in fw.columns:
        return pd.DataFrame()
    codes = fw.loc[fw["source"].astype(str) == source, "code"].astype(str).tolist()
    o = obs[(obs["unit"] == unit) & obs["indicator"].isin(codes) & (obs["period"].astype(str).str.slice(0, 4) ==
                                                                    period[:4])]
    if o.empty:
        return pd.DataFrame()
    labels = node_label(tables, lang)
    unit_of = dict(zip(fw["code"].astype(str), fw["unit"].fillna("").astype(str))) if "unit" in fw else {}
    zh = lang == "zh"
    table = o.pivot_table(index="indicator", columns="period", values="value", aggfunc="first")
    table = table.reindex(columns=list(_periods.period_index(table.columns)))
    # Values are shown as text so that a provisional (partial) period says so next to its number.
    flags = (o.pivot_table(index="indicator", columns="period", values="flag", aggfunc="first")
             .reindex(index=table.index, columns=table.columns) if "flag" in o.columns else None)
    mark = "（初步）" if zh else " (provisional)"
    shown = table.apply(lambda col: col.map(lambda v: "–" if pd.isna(v) else f"{v:.1f}"))
    if flags is not None:
        shown = shown.where(flags.astype(object).ne("provisional"), shown + mark)
    sub_annual = {i: _periods.frequency_of(str(table.columns[-1])) != "A" for i in table.index}
    freq_word = {"Q": ("按季年化", "annualised from the quarter"), "M": ("按月年化", "annualised from the month")}

    def label(code):
        unit = unit_of.get(code, "")
        text = unit_text(unit, lang)
        if unit.endswith("per year") and sub_annual.get(code):
            word = freq_word.get(_periods.frequency_of(str(table.columns[-1])), ("年化", "annualised"))
            text += "，" + word[0] if zh else ", " + word[1]
        return f"{labels.get(code, code)}（{text}）" if zh and text else \
            f"{labels.get(code, code)} ({text})" if text else labels.get(code, code)

    shown.index = [label(i) for i in table.index]
    shown.columns = [str(c) for c in shown.columns]
    shown.index.name = "指标" if zh else "Indicator"
    return shown


def quality_table(tables: Mapping[str, pd.DataFrame], unit: str, period: str, lang: str = "zh") -> pd.DataFrame:
    """Data-quality notes: the unit's values in the report year that are imputed, carried, provisional or suppressed."""
    zh = lang == "zh"
    cols = ["指标", "期间", "数值", "标记"] if zh else ["Indicator", "Period", "Value", "Flag"]
    obs = tables.get("observations")
    if obs is None or "flag" not in obs.columns:
        return pd.DataFrame(columns=cols)
    o = obs[(obs["unit"] == unit) & (obs["period"].astype(str).str.slice(0, 4) == period[:4])]
    o = o[o["flag"].fillna("").astype(str).isin(["imputed", "carried", "provisional", "suppressed"])]
    flag_names = {"imputed": "插补", "carried": "沿用上期", "provisional": "初步数", "suppressed": "不发布"} if zh else \
        {"imputed": "imputed", "carried": "carried forward", "provisional": "provisional", "suppressed": "suppressed"}
    labels = node_label(tables, lang)
    o = o.sort_values(["indicator", "period"])
    return pd.DataFrame({cols[0]: o["indicator"].map(labels).fillna(o["indicator"]).to_numpy(),
                         cols[1]: o["period"].astype(str).to_numpy(), cols[2]: o["value"].astype(float).to_numpy(),
                         cols[3]: o["flag"].map(flag_names).to_numpy()})


def movers_table(league: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The biggest rank changes (up and down) from a :func:`league_table`."""
    moved = league.dropna(subset=["rank_change"])
    moved = moved[moved["rank_change"] != 0]
    up = moved.sort_values(["rank_change", "rank"], ascending=[False, True]).head(n)
    down = moved.sort_values(["rank_change", "rank"], ascending=[True, True]).head(n)
    return pd.concat([up[up["rank_change"] > 0], down[down["rank_change"] < 0]], ignore_index=True)


def survey_overview(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh") -> pd.DataFrame:
    """District-level satisfaction per item with confidence intervals, and the range across 街镇."""
    rows = survey_rows(tables, period)
    if rows.empty or "level" not in rows.columns:
        return pd.DataFrame(columns=["label", "item", "estimate", "ci_low", "ci_high", "min_jiezhen", "max_jiezhen"])
    item_labels, node_labels = item_labels_of(tables, lang)
    d = rows[rows["level"].astype(str) == "district"].sort_values("item")
    sub = rows[rows["level"].astype(str).isin(_JIEZHEN_LEVELS)].groupby("item")["estimate"].agg(["min", "max"])
    return pd.DataFrame({"label": d["item"].astype(str).map(lambda i: item_labels.get(i, node_labels.get(i, VALUE_NAMES[lang].get(i, i)))),
                         "item": d["item"].astype(str), "estimate": d["estimate"].astype(float),
                         "ci_low": d["ci_low"].astype(float), "ci_high": d["ci_high"].astype(float),
                         "min_jiezhen": d["item"].map(sub["min"]).astype(float),
                         "max_jiezhen": d["item"].map(sub["max"]).astype(float)}).reset_index(drop=True)


_HEADERS = {
    "zh": {"label": "题目", "item": "题号", "wave": "调查期", "estimate": "估计值", "se": "标准误", "ci_low": "95%下限",
           "ci_high": "95%上限", "n": "样本量", "district": "全区", "flag": "标记", "code": "代码", "community": "居村",
           "method": "方法", "min_jiezhen": "街镇最低", "max_jiezhen": "街镇最高", "name": "街镇", "score": "得分",
           "rank": "排名", "rank_change": "排名变化", "rank_low": "区间下限", "rank_high": "区间上限",
           "rank_median": "蒙特卡洛中位排名"},
    "en": {"label": "Item", "item": "Code", "wave": "Wave", "estimate": "Estimate", "se": "SE", "ci_low": "95% low",
           "ci_high": "95% high", "n": "n", "district": "District", "flag": "Flag", "code": "Code",
           "community": "Community", "method": "Method", "min_jiezhen": "Lowest unit", "max_jiezhen": "Highest unit",
           "name": "Unit", "score": "Score", "rank": "Rank", "rank_change": "Rank change", "rank_low": "Interval low",
           "rank_high": "Interval high", "rank_median": "Median Monte Carlo rank"},
}


def localise(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The same table with display headers in the report language (unknown columns keep their names).

    Examples
    --------
    >>> list(localise(pd.DataFrame(columns=["estimate", "ci_low", "x"]), "zh").columns)
    ['估计值', '95%下限', 'x']
    """
    return df.rename(columns=_HEADERS.get(lang, {}))


# --- display helpers added for issue #17 (one language per report, integer ranks, change, alerts status) ---------

#: The framework's ``unit`` texts in the report language (unknown units are shown as written).
UNIT_NAMES = {"zh": {"score 0-100": "分（0-100）", "%": "%", "per 10k": "每万人", "per 1k": "每千人",
                     "per 10k per year": "每万人每年", "projects per year": "项/年", "accidents per year": "起/年",
                     "items": "项", "meetings per year": "次/年", "yuan": "元"},
              "en": {"score 0-100": "score 0-100"}}
#: Survey flags and estimation methods as words of the report language.
VALUE_NAMES = {"zh": {"release": "发布", "suppress": "不发布", "suppressed": "不发布", "caution": "慎用",
                      "eblup": "小区域估计", "direct": "直接估计", "composite": "综合满意度", "": ""},
               "en": {"release": "published", "suppress": "not published", "suppressed": "not published",
                      "caution": "use with care", "eblup": "small-area", "direct": "direct", "composite": "overall",
                      "": ""}}
#: Columns (by key or by their zh/en header) that hold ranks or counts: shown as integers.
RANK_COLUMNS = {"rank", "rank_low", "rank_high", "rank_change", "peer_rank", "rank_prev", "n", "count",
                "排名", "区间下限", "区间上限", "排名变化", "样本量", "条数", "Rank", "Interval low", "Interval high",
                "Rank change", "Rank in district", "Previous rank", "Median Monte Carlo rank", "蒙特卡洛中位排名",
                "rank_median"}


def unit_text(unit: str, lang: str = "zh") -> str:
    """An indicator's unit in the report language.

    Examples
    --------
    >>> unit_text("per 10k per year", "zh"), unit_text("per 10k per year", "en"), unit_text("吨", "zh")
    ('每万人每年', 'per 10k per year', '吨')
    """
    return UNIT_NAMES.get(lang, {}).get(str(unit), str(unit))


def value_text(values: pd.Series, lang: str = "zh") -> pd.Series:
    """Code words in a column (flags, methods) in the report language; other values unchanged.

    Examples
    --------
    >>> value_text(pd.Series(["release", "suppress", "x"]), "zh").tolist()
    ['发布', '不发布', 'x']
    """
    names = VALUE_NAMES.get(lang, {})
    s = values.astype(object)
    return s.map(lambda v: names.get(v, v) if isinstance(v, str) else v)


def integer_ranks(df: pd.DataFrame) -> pd.DataFrame:
    """Rank and count columns (see :data:`RANK_COLUMNS`) holding whole numbers as nullable integers.

    Examples
    --------
    >>> integer_ranks(pd.DataFrame({"rank": [1.0, None], "score": [1.5, 2.0]})).dtypes.astype(str).tolist()
    ['Int64', 'float64']
    """
    out = df.copy()
    for col in out.columns:
        if str(col) in RANK_COLUMNS and pd.api.types.is_float_dtype(out[col]):
            v = out[col].to_numpy(dtype=float)
            ok = np.isfinite(v)
            if np.all(np.round(v[ok]) == v[ok]):
                out[col] = out[col].round().astype("Int64")
    return out


def previous_period(tables: Mapping[str, pd.DataFrame], period: str) -> str | None:
    """The period before ``period`` of the same frequency in ``index_scores`` (None for the first)."""
    same = [p for p in _periods.period_index(tables["index_scores"]["period"].astype(str).unique())
            if _periods.frequency_of(p) == _periods.frequency_of(period)]
    return same[same.index(period) - 1] if period in same and same.index(period) > 0 else None


def decomposition(tables: Mapping[str, pd.DataFrame], period: str, default_method: str = "arithmetic") -> pd.DataFrame:
    """The change of every ranked 街镇's score since the previous period, decomposed over the tree
    (:func:`govlib.index.decompose.decompose_change`); empty without a previous period. Computed once per build
    in a warm kernel (:func:`govlib.reports.narrative.decomposition_of`)."""
    from .narrative import decomposition_of

    prev = previous_period(tables, period)
    if prev is None:
        return pd.DataFrame(columns=["unit", "node", "kind", "level", "contribution"])
    method = default_method if default_method in ("arithmetic", "geometric") else "arithmetic"
    return decomposition_of(tables, period, prev, method)


def change_table(decomp: pd.DataFrame, tables: Mapping[str, pd.DataFrame], unit: str, lang: str = "zh",
                 n: int = 8) -> pd.DataFrame:
    """One 街镇's score change as a waterfall table: the previous score, the dimension contributions, the ``n``
    largest indicator contributions (the rest summed), the score now. Columns ``label, kind, contribution,
    cumulative`` (kind: start, dimension, indicator, other, end)."""
    zh = lang == "zh"
    d = decomp[decomp["unit"] == unit]
    if d.empty:
        return pd.DataFrame(columns=["label", "kind", "contribution", "cumulative"])
    labels = node_label(tables, lang)

    def name(code):
        if code.endswith(":coverage"):
            base = labels.get(code.split(":")[0], code.split(":")[0])
            return f"{base}：指标覆盖变化" if zh else f"{base}: change of coverage"
        return labels.get(code, code)

    root = d[d["kind"] == "root"].iloc[0]
    rows = [(f"{root['period_prev']}{'年得分' if zh else ' score'}", "start", float(root["value_prev"]))]
    dims = d[d["level"] == 1]
    rows += [(name(r.node), "dimension", float(r.contribution)) for r in dims.itertuples(index=False)]
    rows.append((f"{root['period']}{'年得分' if zh else ' score'}", "end", float(root["value"])))
    out = pd.DataFrame(rows, columns=["label", "kind", "contribution"])
    out["cumulative"] = out["contribution"].where(out["kind"] != "end", 0).cumsum()
    out.loc[out["kind"] == "end", "cumulative"] = float(root["value"])
    return out


def indicator_contributions(decomp: pd.DataFrame, tables: Mapping[str, pd.DataFrame], unit: str | None = None,
                            lang: str = "zh", n: int = 10) -> pd.DataFrame:
    """The indicators that moved a 街镇's score most (``unit``) or, with ``unit=None``, the district's mean score
    most (the mean of the ranked 街镇's contributions): ``indicator, name, dimension, change, contribution``."""
    zh = lang == "zh"
    d = decomp[decomp["kind"].isin(["leaf", "coverage"])]
    if unit is not None:
        d = d[d["unit"] == unit]
    if d.empty:
        return pd.DataFrame(columns=["indicator", "name", "dimension", "change", "contribution"])
    g = d.groupby("node", sort=False).agg(parent=("parent", "first"), change=("change", "mean"),
                                          contribution=("contribution", "sum" if unit else "mean"))
    labels = node_label(tables, lang)
    g = g.reindex(g["contribution"].abs().sort_values(ascending=False, kind="stable").index).head(n)
    names = [labels.get(c, c) if not c.endswith(":coverage") else
             (f"{labels.get(c.split(':')[0], '')}：指标覆盖变化" if zh else
              f"{labels.get(c.split(':')[0], '')}: change of coverage") for c in g.index]
    return pd.DataFrame({"indicator": g.index.astype(str), "name": names,
                         "dimension": g["parent"].map(labels).fillna(g["parent"]).to_numpy(),
                         "change": g["change"].to_numpy(float), "contribution": g["contribution"].to_numpy(float)})


def trend_annotations(tables: Mapping[str, pd.DataFrame], unit: str | None = None, node: str | None = None,
                      lang: str = "zh", panel_names: Mapping[str, str] | None = None):
    """Notes (``Sen slope/yr, p``) and change points for small multiples, keyed by panel label: one unit's
    root and dimensions (``unit``), or one node across units (``node``; panels named by ``panel_names``)."""
    zh = lang == "zh"
    trends = tables.get("trends")
    notes, cps = {}, {}
    if trends is None or not len(trends):
        return notes, cps
    if unit is not None:
        nodes = [root_node(tables)] + dimension_nodes(tables)
        t = trends[(trends["unit"] == unit) & trends["node"].astype(str).isin(nodes)]
        labels = node_label(tables, lang)
        keys = t["node"].astype(str).map(labels)
    else:
        t = trends[trends["node"].astype(str) == str(node)]
        t = t[t["unit"].isin(set(panel_names or {}))]
        keys = t["unit"].map(panel_names or {})
    sig = significant_trends(t, 0.05).to_numpy()
    for key, row, s in zip(keys, t.itertuples(index=False), sig):
        slope = float(row.sen_slope)
        arrow = ARROWS["none"] if not s or slope == 0 else ARROWS["up"] if slope > 0 else ARROWS["down"]
        notes[key] = f"{arrow} {slope:+.2f}/{'年' if zh else 'yr'}, p={float(row.p):.3f}"
        cp = getattr(row, "change_point", None)
        cps[key] = None if cp is None or (isinstance(cp, float) and math.isnan(cp)) else str(cp)
    return notes, cps


def node_series(tables: Mapping[str, pd.DataFrame], node: str, units, names: Mapping[str, str],
                first: str = "", last: str = "") -> pd.DataFrame:
    """One node's values over time for some units (``unit, period, score, panel``): scores for index nodes,
    observations for indicators outside the scores."""
    scores = tables["index_scores"]
    if node in set(scores["node"]):
        d = scores[(scores["node"] == node) & scores["unit"].isin(units)][["unit", "period", "score"]]
    else:
        obs = tables.get("observations", pd.DataFrame(columns=["unit", "period", "indicator", "value"]))
        d = obs[(obs["indicator"] == node) & obs["unit"].isin(units)].rename(columns={"value": "score"})
        d = d[["unit", "period", "score"]]
    per = d["period"].astype(str)
    d = d[(per >= (first or "0")) & (per <= (last or "9999"))]
    return d.assign(panel=d["unit"].map(names)).sort_values(["unit", "period"]).reset_index(drop=True)


ALERT_STATUS = ("new", "continuing", "resolved")
STATUS_NAMES = {"zh": {"new": "新增", "continuing": "持续", "resolved": "已解除"},
                "en": {"new": "new", "continuing": "continuing", "resolved": "resolved"}}


def alerts_with_status(tables: Mapping[str, pd.DataFrame], period: str) -> pd.DataFrame:
    """The period's alerts with ``status`` (new / continuing) and ``first_seen``, new first, red first.

    Uses the alerts table's own ``status``/``first_seen`` columns when the build wrote them; otherwise an alert
    (same unit, node and level) is *continuing* when the previous period of the same frequency had it, else *new*.
    """
    alerts = tables.get("alerts")
    if alerts is None or not len(alerts):
        return pd.DataFrame(columns=["unit", "period", "node", "level", "status", "first_seen"])
    per = alerts["period"].astype(str)
    a = alerts[per == period].copy()
    if "status" not in a.columns:
        prev = None
        same = [p for p in _periods.period_index(per.unique()) if _periods.frequency_of(p) ==
                _periods.frequency_of(period)]
        if period in same and same.index(period) > 0:
            prev = same[same.index(period) - 1]
        before = alerts[per == prev] if prev else alerts.iloc[0:0]
        keys = set(zip(before["unit"], before["node"].astype(str), before["level"]))
        seen = [(u, str(n), lv) in keys for u, n, lv in zip(a["unit"], a["node"], a["level"])]
        a["status"] = np.where(seen, "continuing", "new")
    if "first_seen" not in a.columns:
        a["first_seen"] = np.where(a["status"] == "new", period, "")
    order = {"red": 0, "amber": 1, "info": 2}
    a = a[a["status"].astype(str) != "resolved"]
    a = a.assign(_s=a["status"].map({"new": 0, "continuing": 1}).fillna(2), _l=a["level"].map(order).fillna(3))
    return a.sort_values(["_s", "_l", "unit", "node"]).drop(columns=["_s", "_l"]).reset_index(drop=True)


def sensitivity_table(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh",
                      name: str = "sensitivity_indices") -> pd.DataFrame:
    """Sobol indices of the ranks (``sensitivity_indices``: period, output, factor, S1, ST) for the period, with
    the factor names in the report language; empty when the build did not write the table."""
    zh = lang == "zh"
    s = tables.get(name)
    if s is None or not len(s) or not {"output", "factor", "S1", "ST"} <= set(s.columns):
        return pd.DataFrame()
    if "period" in s.columns and (s["period"].astype(str) == period).any():
        s = s[s["period"].astype(str) == period]
    factors = {"weights": "权重", "normalisation": "标准化方法", "aggregation": "汇总方法", "imputation": "插补方法",
               "survey_sampling": "调查抽样误差", "survey": "调查抽样误差", "leave_one_out": "剔除单项指标"}
    outputs = {"mean_abs_rank_shift": "平均排名变动（位）", "rank": "排名"}
    out = pd.DataFrame({
        ("输出" if zh else "Output"): s["output"].astype(str).map(lambda v: outputs.get(v, v) if zh else
                                                               v.replace("_", " ")).to_numpy(),
        ("因素" if zh else "Factor"): s["factor"].astype(str).map(lambda v: factors.get(v, v) if zh else
                                                               v.replace("_", " ")).to_numpy(),
        ("一阶指数 S1" if zh else "First-order S1"): s["S1"].astype(float).to_numpy(),
        ("总效应指数 ST" if zh else "Total-order ST"): s["ST"].astype(float).to_numpy()})
    return out.sort_values(out.columns[3], ascending=False).reset_index(drop=True)


def report_name(unit: str, period: str, lang: str) -> str:
    """The file name of a 街镇 profile (as the runner names it: ``street_<unit>_<period>_<lang>.html``).

    Examples
    --------
    >>> report_name("310115005000", "2025", "zh")
    'street_310115005000_2025_zh.html'
    """
    return f"street_{unit}_{period}_{lang}.html"


def alerts_status_table(tables: Mapping[str, pd.DataFrame], period: str, lang: str = "zh",
                        unit: str | None = None) -> pd.DataFrame:
    """The period's alerts for display, new ones first: status, level, 街镇, node, reason, first seen (and the
    unit code in ``code`` for links)."""
    zh = lang == "zh"
    cols = ["状态", "级别", "街镇", "节点", "原因", "首次出现"] if zh else \
        ["Status", "Level", "Unit", "Node", "Reason", "First seen"]
    a = alerts_with_status(tables, period)
    if unit is not None:
        a = a[a["unit"] == unit]
    if a.empty:
        return pd.DataFrame(columns=cols + ["code"])
    labels = node_label(tables, lang)
    names = _unit_names(tables, lang)
    msg = "message_zh" if zh else "message_en"
    return pd.DataFrame({cols[0]: a["status"].map(STATUS_NAMES[lang]).fillna(a["status"]).to_numpy(),
                         cols[1]: a["level"].map(LEVEL_NAMES[lang]).fillna(a["level"]).to_numpy(),
                         cols[2]: a["unit"].map(names).fillna(a["unit"]).to_numpy(),
                         cols[3]: a["node"].astype(str).map(labels).fillna(a["node"]).to_numpy(),
                         cols[4]: a[msg].fillna("").to_numpy() if msg in a else "",
                         cols[5]: a["first_seen"].fillna("").astype(str).to_numpy(),
                         "code": a["unit"].astype(str).to_numpy()})


#: Column headers of the processed tables the audit and district reports show (beyond :data:`_HEADERS`).
TABLE_HEADERS = {
    "zh": {"code": "代码", "parent": "上级", "name_zh": "名称", "unit": "单位", "direction": "方向", "type": "类型",
           "scope": "适用范围", "frequency": "频率", "source": "来源", "weight": "权重", "normalisation": "标准化方法",
           "aggregation": "汇总方法", "node": "节点", "period": "期间", "dimension": "维度", "indicator": "指标",
           "n_indicators": "指标数", "n_obs": "观测数", "alpha": "克朗巴赫α", "alpha_standardized": "标准化α",
           "indicator_a": "指标甲", "indicator_b": "指标乙", "dimension_a": "维度甲", "dimension_b": "维度乙",
           "same_dimension": "同一维度", "method": "方法", "r": "相关系数r", "kind": "类别", "other": "另一指标",
           "value": "数值", "threshold": "阈值", "eigenvalue_1": "第一特征值", "explained_1": "第一主成分解释比例",
           "n_eigen_above_1": "特征值大于1的个数", "loading": "载荷", "rank_nominal": "名义排名",
           "rank_p05": "排名5%分位", "rank_p95": "排名95%分位", "rank_mean": "平均排名", "rank_min": "最好排名",
           "rank_max": "最差排名", "n_runs": "模拟次数", "nominal": "名义有效权重", "main_effect": "主效应",
           "share": "份额", "score_prev": "上期得分", "change_prev": "较上期变化", "score_base": "基期得分",
           "change_base": "较基期变化", "progress_rank": "进步排名", "base_period": "基期", "pooled": "合并标准化",
           "unit_code": "街镇代码"},
    "en": {"code": "Code", "parent": "Parent", "name_en": "Name", "unit": "Unit", "direction": "Direction",
           "type": "Type", "scope": "Scope", "frequency": "Frequency", "source": "Source", "weight": "Weight",
           "normalisation": "Normalisation", "aggregation": "Aggregation", "node": "Node", "period": "Period",
           "dimension": "Dimension", "indicator": "Indicator", "n_indicators": "Indicators", "n_obs": "Observations",
           "alpha": "Cronbach's alpha", "alpha_standardized": "Standardised alpha", "indicator_a": "Indicator A",
           "indicator_b": "Indicator B", "dimension_a": "Dimension A", "dimension_b": "Dimension B",
           "same_dimension": "Same dimension", "method": "Method", "kind": "Kind", "other": "Other indicator",
           "value": "Value", "threshold": "Threshold", "message": "Note", "eigenvalue_1": "First eigenvalue",
           "explained_1": "Explained by the first component", "n_eigen_above_1": "Eigenvalues above 1",
           "loading": "Loading", "rank_nominal": "Nominal rank", "rank_p05": "Rank 5%", "rank_p95": "Rank 95%",
           "rank_mean": "Mean rank", "rank_min": "Best rank", "rank_max": "Worst rank", "n_runs": "Runs",
           "nominal": "Nominal effective weight", "main_effect": "Main effect", "share": "Share",
           "score_prev": "Previous score", "change_prev": "Change since previous", "score_base": "Base-year score",
           "change_base": "Change since base year", "progress_rank": "Progress rank", "base_period": "Base period",
           "pooled": "Pooled normalisation", "unit_code": "Unit code"},
}
#: Code words in the cells of those tables.
CELL_NAMES = {
    "zh": {"objective": "客观", "subjective": "主观", "all": "全部", "admin": "行政数据", "survey": "调查",
           "hotline": "热线", "service": "家门口服务", "pearson": "皮尔逊", "spearman": "斯皮尔曼",
           "negative_correlation": "负相关", "redundant": "冗余（高度相关）", "redundant_pair": "冗余（高度相关）",
           "low_alpha": "内部一致性低", "weak_loading": "载荷低", "arithmetic": "算术平均", "geometric": "几何平均",
           "minmax": "最小-最大", "zscore": "标准分数", "goalposts": "固定阈值", "A": "年", "Q": "季", "M": "月"},
    "en": {"街道": "subdistrict", "镇": "town", "全部": "all"},
}


def display_table(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A processed table for a reader: headers and code words in the report language, the other language's name
    column and English-only engine notes (``message``) left out of Chinese reports, units translated, booleans as
    是/否 or yes/no.

    Examples
    --------
    >>> d = pd.DataFrame({"code": ["D1"], "name_zh": ["党建引领"], "name_en": ["Party"], "type": ["objective"],
    ...                   "same_dimension": [True], "message": ["D1 and D2 correlate"]})
    >>> display_table(d, "zh").to_dict("records")
    [{'代码': 'D1', '名称': '党建引领', '类型': '客观', '同一维度': '是'}]
    >>> list(display_table(d, "en").columns)
    ['Code', 'Name', 'Type', 'Same dimension', 'Note']
    """
    zh = lang == "zh"
    out = df.drop(columns=[c for c in (("name_en", "message") if zh else ("name_zh",)) if c in df.columns])
    cells = {**VALUE_NAMES.get(lang, {}), **CELL_NAMES.get(lang, {})}
    yes_no = ("是", "否") if zh else ("yes", "no")
    for col in out.columns:
        if col == "unit":
            out[col] = out[col].map(lambda v: unit_text(v, lang) if isinstance(v, str) else v)
        elif pd.api.types.is_bool_dtype(out[col]):
            out[col] = np.where(out[col], *yes_no)
        elif out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: cells.get(v, v) if isinstance(v, str) else v)
    return localise(out.rename(columns=TABLE_HEADERS.get(lang, {})), lang)
