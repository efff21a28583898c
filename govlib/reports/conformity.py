"""Display tables of 家门口 standard conformity for the street report, the workbook and the portal.

The notebooks call :func:`street_section` (one call, a dict of titled tables); the Excel writer calls
:func:`workbook_sheets`; the portal calls :func:`portal_section`. Tables come from the processed store (the
``conformity`` build stage; see ``docs/conformity.md``); a build without conformity data gives empty results, not
errors. Headers follow the report language. The street section also carries the doorstep menu tables of
:func:`govlib.services.doorstep.street_doorstep_section` (coverage by category and tier, lagging communities).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..services import conformity as cf
from ..services.doorstep import CATEGORIES, street_doorstep_section
from ..errors import InputError
from ..settings import Settings, load_settings

__all__ = ["CONFORMITY_TABLES", "load_conformity_tables", "pick_period", "stations_ranked", "issues_table",
           "visits_table", "distribution_table", "chains_table", "relation_table", "street_section",
           "workbook_sheets", "portal_section"]

#: Processed tables this module reads (each optional).
CONFORMITY_TABLES = ("units", "conformity_standard", "conformity_stations", "conformity_jiezhen", "conformity_issues",
                     "conformity_chain_completeness", "conformity_relation", "conformity_visits",
                     "doorstep_coverage", "doorstep_gaps", "doorstep_equity")

_H = {
    "zh": {"community": "站点代码", "name": "站点（居村）", "parent": "街镇", "score": "符合度得分", "rank": "街镇内排名",
           "n_not_met": "不符合项", "bottom_line_not_met": "底线要求不符合", "open": "未整改", "overdue": "逾期未整改",
           "coverage": "评定覆盖率", "completeness_pct": "三会完整率(%)", "requirement": "要求", "req_name": "要求名称",
           "tier": "层级", "result": "结果", "inspection_date": "检查日期", "rectification_deadline": "整改期限",
           "days_to_deadline": "距期限天数", "reason": "原因", "period": "期间", "n_stations": "站点数",
           "mean": "平均", "p10": "10%分位", "p25": "25%分位", "median": "中位数", "p75": "75%分位", "p90": "90%分位",
           "min": "最低", "max": "最高", "share_below": "低于门槛的站点(%)", "unit": "单位", "n_projects": "项目数",
           "n_assessed": "已评定项目", "n_complete": "三会完整", "n_broken": "三会不完整", "n": "配对站点数",
           "r": "相关系数", "ci_low": "95%下限", "ci_high": "95%上限", "p": "p值", "method": "方法"},
    "en": {"community": "Station code", "name": "Station (community)", "parent": "Unit", "score": "Conformity score",
           "rank": "Rank in unit", "n_not_met": "Not met", "bottom_line_not_met": "Bottom-line not met",
           "open": "Open", "overdue": "Overdue", "coverage": "Assessed share", "completeness_pct": "Chains complete (%)",
           "requirement": "Requirement", "req_name": "Requirement name", "tier": "Tier", "result": "Result",
           "inspection_date": "Inspected", "rectification_deadline": "Deadline", "days_to_deadline": "Days to deadline",
           "reason": "Reason", "period": "Period", "n_stations": "Stations", "mean": "Mean", "p10": "P10",
           "p25": "P25", "median": "Median", "p75": "P75", "p90": "P90", "min": "Min", "max": "Max",
           "share_below": "Stations below threshold (%)", "unit": "Unit", "n_projects": "Projects",
           "n_assessed": "Assessed", "n_complete": "Complete", "n_broken": "Broken", "n": "Stations paired",
           "r": "Correlation", "ci_low": "95% low", "ci_high": "95% high", "p": "p", "method": "Method"},
}
_VALUES = {"zh": {"met": "符合", "partly": "部分符合", "not_met": "不符合", "bottom_line": "底线", "basic": "基本",
                  "quality": "质量", "overdue": "逾期未整改", "low_score": "得分偏低", "overdue;low_score": "逾期且得分偏低",
                  "pearson": "Pearson", "spearman": "Spearman"},
           "en": {"overdue;low_score": "overdue and low score", "low_score": "low score", "not_met": "not met",
                  "bottom_line": "bottom-line"}}


#: Doorstep tables with a row per community and period: a report reads only its period's year of them.
_YEAR_TABLES = ("doorstep_coverage", "doorstep_gaps", "doorstep_equity")


def load_conformity_tables(settings: Settings | None = None, names=CONFORMITY_TABLES,
                           period: str | None = None) -> dict[str, pd.DataFrame]:
    """The processed tables of :data:`CONFORMITY_TABLES` that the build wrote.

    With ``period`` (a resolved period such as ``2025``) the per-community doorstep tables hold only that year's
    rows (a Parquet filter: coverage has a row per community, period, tier and category).
    """
    from ..data.processed import has_table, load_processed

    settings = settings or load_settings()
    year = str(period)[:4] if period else None
    return {n: load_processed(n, settings, year=year if n in _YEAR_TABLES else None)
            for n in names if has_table(n, settings)}


def pick_period(available, period: str) -> str | None:
    """``period`` itself, else the latest available period in its year, else the latest before it.

    Examples
    --------
    >>> pick_period(["2024Q3", "2024Q4", "2025Q1"], "2024"), pick_period(["2023"], "2025")
    ('2024Q4', '2023')
    """
    avail = sorted(set(map(str, available)))
    period = str(period)
    if period in avail:
        return period
    same = [p for p in avail if p[:4] == period[:4]]
    before = [p for p in avail if p[:4] <= period[:4]]
    return (same or before or [None])[-1]


def _names(tables: Mapping[str, pd.DataFrame], lang: str) -> pd.Series:
    u = tables.get("units")
    if u is None:
        return pd.Series(dtype=object)
    col = "name_zh" if lang == "zh" or "name_en" not in u else "name_en"
    return pd.Series(u[col].fillna(u["name_zh"]).astype(str).to_numpy(), index=u["code"].astype(str).to_numpy())


def _show(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    out = df.copy()
    for c in ("result", "tier", "reason", "method"):
        if c in out:
            out[c] = out[c].astype(str).map(lambda v: _VALUES.get(lang, {}).get(v, v))
    for c in ("inspection_date", "rectification_deadline"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).dt.strftime("%Y-%m-%d")
    return out.rename(columns=_H[lang])


def stations_ranked(tables: Mapping[str, pd.DataFrame], unit: str, period: str, lang: str = "zh") -> pd.DataFrame:
    """The 街镇's stations ranked by conformity score in the period (lowest last), with open and overdue issues and
    the share of complete three-meeting chains. Empty when the build has no conformity scores.

    Examples
    --------
    >>> t = {"conformity_stations": pd.DataFrame({"community": ["C1", "C2"], "parent": ["S", "S"],
    ...      "period": ["2024"] * 2, "score": [70.0, 90.0], "n_not_met": [2, 0], "bottom_line_not_met": [1, 0],
    ...      "coverage": [1.0, 1.0]})}
    >>> stations_ranked(t, "S", "2024", "en")[["Rank in unit", "Station code", "Conformity score"]].values.tolist()
    [[1, 'C2', 90.0], [2, 'C1', 70.0]]
    """
    sc = tables.get("conformity_stations")
    if sc is None or sc.empty:
        return pd.DataFrame()
    p = pick_period(sc["period"], period)
    s = sc[(sc["parent"].astype(str) == str(unit)) & (sc["period"].astype(str) == p)].copy()
    iss = tables.get("conformity_issues")
    if iss is not None and len(iss):
        s["open"] = s["community"].map(iss.groupby("community").size()).fillna(0).astype(int)
        s["overdue"] = s["community"].map(iss[iss["overdue"].astype(bool)].groupby("community").size()) \
            .fillna(0).astype(int)
    cc = tables.get("conformity_chain_completeness")
    if cc is not None and len(cc):
        c = cc[(cc["level"] == "community") & (cc["period"].astype(str) == p)].set_index("unit")["completeness_pct"]
        s["completeness_pct"] = s["community"].map(c)
    s["rank"] = s["score"].rank(ascending=False, method="min").astype("Int64")
    s.insert(1, "name", s["community"].map(_names(tables, lang)))
    s["coverage"] = 100 * s["coverage"]
    cols = [c for c in ("rank", "community", "name", "score", "n_not_met", "bottom_line_not_met", "open", "overdue",
                        "completeness_pct", "coverage", "period") if c in s]
    return _show(s.sort_values(["score", "community"], ascending=[False, True])[cols].reset_index(drop=True), lang)


def issues_table(tables: Mapping[str, pd.DataFrame], unit: str | None = None, lang: str = "zh") -> pd.DataFrame:
    """Open non-conformities at the end of the data (one 街镇's, or all), overdue first, with their deadlines.

    Examples
    --------
    >>> iss = pd.DataFrame({"community": ["C1"], "parent": ["S"], "requirement": ["FA-02"], "tier": ["bottom_line"],
    ...     "result": ["not_met"], "inspection_date": pd.to_datetime(["2024-03-01"]),
    ...     "rectification_deadline": pd.to_datetime(["2024-04-01"]), "days_to_deadline": [-30], "overdue": [True]})
    >>> issues_table({"conformity_issues": iss}, "S").iloc[0][["层级", "结果", "整改期限", "逾期未整改"]].tolist()
    ['底线', '不符合', '2024-04-01', '是']
    """
    iss = tables.get("conformity_issues")
    if iss is None or iss.empty:
        return pd.DataFrame()
    i = iss if unit is None else iss[iss["parent"].astype(str) == str(unit)]
    i = i.assign(name=i["community"].map(_names(tables, lang)))
    std = tables.get("conformity_standard")
    if std is not None and len(std):
        col = "name_zh" if lang == "zh" or "name_en" not in std else "name_en"
        i["req_name"] = i["requirement"].map(pd.Series(std[col].astype(str).to_numpy(),
                                                        index=std["requirement"].astype(str).to_numpy()))
    cols = [c for c in ("community", "name", "requirement", "req_name", "tier", "result", "inspection_date",
                        "rectification_deadline", "days_to_deadline", "overdue") if c in i]
    out = i[cols].reset_index(drop=True)
    out["overdue"] = out["overdue"].map({True: "是" if lang == "zh" else "yes", False: ""})
    return _show(out, lang)


def visits_table(tables: Mapping[str, pd.DataFrame], period: str, unit: str | None = None, lang: str = "zh",
                 n: int = 10, threshold: float = 80.0) -> pd.DataFrame:
    """Stations to visit next quarter: all with overdue rectifications, then the lowest scores below ``threshold``
    (:func:`govlib.services.conformity.visit_list`), for one 街镇 or the district."""
    sc, iss = tables.get("conformity_stations"), tables.get("conformity_issues")
    if sc is None or sc.empty:
        return pd.DataFrame()
    iss = iss if iss is not None else pd.DataFrame(columns=["community", "parent", "overdue"])
    v = cf.visit_list(sc, iss, pick_period(sc["period"], period), n=n, threshold=threshold, unit=unit)
    names = _names(tables, lang)
    v.insert(1, "name", v["community"].map(names))
    v["parent"] = [names.get(u, u) for u in v["parent"].astype(str)]  # a short list: a few dozen stations
    return _show(v, lang)


def distribution_table(tables: Mapping[str, pd.DataFrame], period: str, unit: str | None = None,
                       lang: str = "zh") -> pd.DataFrame:
    """Station scores' distribution per 街镇 (or one 街镇) and the district: quantiles, mean, share below."""
    j = tables.get("conformity_jiezhen")
    if j is None or j.empty:
        return pd.DataFrame()
    p = pick_period(j["period"], period)
    j = j[j["period"].astype(str) == p]
    if unit is not None:
        j = j[(j["unit"].astype(str) == str(unit)) | (j["level"] == "district")]
    j = j.assign(unit=j["unit"].astype(str).map(_names(tables, lang)).fillna(j["unit"]))
    cols = ["unit", "n_stations", "min", "p10", "p25", "median", "p75", "p90", "max", "mean", "share_below",
            "bottom_line_not_met", "period"]
    return _show(j[cols].reset_index(drop=True), lang)


def chains_table(tables: Mapping[str, pd.DataFrame], period: str, unit: str, lang: str = "zh") -> pd.DataFrame:
    """The 街镇's three-meeting chains by period: projects, complete, broken and the count per broken rule."""
    cc = tables.get("conformity_chain_completeness")
    if cc is None or cc.empty:
        return pd.DataFrame()
    c = cc[(cc["level"] == "subdistrict") & (cc["unit"].astype(str) == str(unit))
           & (cc["period"].astype(str).str.slice(0, 4) <= str(period)[:4])]
    rules = {f"n_{r}": r for r in cf.CHAIN_RULES}
    zh_rules = {"missing_hearing": "缺听证会", "missing_coordination": "缺协调会", "missing_evaluation": "缺评议会",
                "out_of_order": "顺序错误", "evaluation_late": "评议逾期", "low_attendance": "参会人数不足"}
    out = c[["period", "n_projects", "n_assessed", "n_complete", "n_broken", "completeness_pct", *rules]]
    out = out.rename(columns={k: (zh_rules[v] if lang == "zh" else v) for k, v in rules.items()})
    return _show(out.reset_index(drop=True), lang)


def relation_table(tables: Mapping[str, pd.DataFrame], lang: str = "zh") -> pd.DataFrame:
    """Correlation of station conformity with residents' evaluation ratings per period, with its interval."""
    r = tables.get("conformity_relation")
    if r is None or r.empty:
        return pd.DataFrame()
    return _show(r[["period", "method", "n", "r", "ci_low", "ci_high", "p"]].reset_index(drop=True), lang)


def street_section(tables: Mapping[str, pd.DataFrame], unit: str, period: str,
                   lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The 家门口 section of a street report: ``{title: table}`` in the report language (empty tables left out).

    Doorstep menus (:func:`govlib.services.doorstep.street_doorstep_section`: coverage by category and tier,
    lagging communities), then conformity: stations ranked, open issues with deadlines, stations to visit next
    quarter, the score distribution, the three-meeting chains and the relation with residents' ratings.

    Examples
    --------
    >>> t = {"conformity_stations": pd.DataFrame({"community": ["C1"], "parent": ["S"], "period": ["2024"],
    ...      "score": [70.0], "n_not_met": [2], "bottom_line_not_met": [1], "coverage": [1.0]})}
    >>> list(street_section(t, "S", "2024", "en"))
    ['Standard conformity: stations ranked', 'Stations to visit next quarter']
    """
    zh = lang == "zh"
    out: dict[str, pd.DataFrame] = {}
    if "doorstep_coverage" in tables:
        try:
            door = street_doorstep_section(dict(tables), unit, period)
        except InputError:  # the 街镇 has no doorstep coverage rows
            door = {}
        if "coverage" in door:
            cats = {k: v[0 if zh else 1] for k, v in CATEGORIES.items()}
            cov = door["coverage"].assign(category=lambda d: d["category"].astype(str).map(
                                              lambda v: cats.get(v, "合计" if zh and v == "all" else v)),
                                          tier=lambda d: d["tier"].map(lambda v: _VALUES.get(lang, {}).get(v, v)))
            out["家门口服务事项覆盖（按类别和层级）" if zh else "Doorstep items available (by category and tier)"] = cov
        if len(door.get("lagging", ())):
            out["服务事项覆盖落后的居村" if zh else "Communities lagging in items available"] = door["lagging"]
    parts = [("家门口规范符合度：站点排名" if zh else "Standard conformity: stations ranked",
              stations_ranked(tables, unit, period, lang)),
             ("未整改的不符合项及整改期限" if zh else "Open non-conformities and their deadlines",
              issues_table(tables, unit, lang)),
             ("下季度建议走访的站点" if zh else "Stations to visit next quarter",
              visits_table(tables, period, unit, lang)),
             ("站点符合度分布（与全区比较）" if zh else "Distribution of station scores (with the district)",
              distribution_table(tables, period, unit, lang)),
             ("项目\"三会\"完整性" if zh else "Project meeting chains (hearing, coordination, evaluation)",
              chains_table(tables, period, unit, lang)),
             ("符合度与居民评议得分的相关（全区，非因果）" if zh
              else "Conformity and residents' ratings: correlation (district; not causal)", relation_table(tables, lang))]
    out.update({title: df for title, df in parts if len(df)})
    return out


def workbook_sheets(period: str, settings: Settings | None = None,
                    tables: Mapping[str, pd.DataFrame] | None = None) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Sheets for the period's workbook (Chinese headers): every station's conformity, and the visit list.

    Tables missing from ``tables`` are read from the processed store; a build without conformity data gives none.
    """
    t = dict(tables or {})
    missing = [n for n in CONFORMITY_TABLES if n not in t]
    if missing:
        t.update(load_conformity_tables(settings, missing))
    sc = t.get("conformity_stations")
    if sc is None or sc.empty:
        return {}
    p = pick_period(sc["period"], period)
    names = _names(t, "zh")
    s = sc[sc["period"].astype(str) == p]
    iss = t.get("conformity_issues")
    open_n = iss.groupby("community").size() if iss is not None and len(iss) else pd.Series(dtype=int)
    overdue_n = iss[iss["overdue"].astype(bool)].groupby("community").size() if iss is not None and len(iss) \
        else pd.Series(dtype=int)
    sheet = pd.DataFrame({"街镇代码": s["parent"].astype(str), "街镇": s["parent"].astype(str).map(names),
                          "站点代码": s["community"].astype(str), "站点（居村）": s["community"].map(names),
                          "期间": s["period"].astype(str), "符合度得分": s["score"].astype(float),
                          "评定要求数": s["n_assessed"].astype(float), "不符合项": s["n_not_met"].astype(float),
                          "部分符合项": s["n_partly"].astype(float),
                          "底线要求不符合": s["bottom_line_not_met"].astype(float),
                          "未整改": s["community"].map(open_n).fillna(0).astype(float),
                          "逾期未整改": s["community"].map(overdue_n).fillna(0).astype(float)})
    sheet = sheet.sort_values(["街镇代码", "符合度得分"], ascending=[True, False]).reset_index(drop=True)
    fmt = {"符合度得分": "score", **{c: "int" for c in ("评定要求数", "不符合项", "部分符合项", "底线要求不符合",
                                                  "未整改", "逾期未整改")}}
    out = {"家门口规范符合度": (sheet, fmt)}
    visits = visits_table(t, period, None, "zh")
    if len(visits):
        out["下季度走访站点"] = (visits, {"符合度得分": "score", "逾期未整改": "int", "未整改": "int"})
    return out


def portal_section(period: str, settings: Settings | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                   lang: str = "zh") -> str:
    """The portal's conformity block (HTML): each 街镇's score distribution and the count of stations to visit."""
    from .html import escape

    t = dict(tables or {})
    missing = [n for n in CONFORMITY_TABLES if n not in t]
    if missing:
        t.update(load_conformity_tables(settings, missing))
    dist = distribution_table(t, period, None, lang)
    if dist.empty:
        return ""
    zh = lang == "zh"
    visits = visits_table(t, period, None, lang)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in dist.columns)
    rows = "".join("<tr>" + "".join(
        f'<td class="num">{v:.1f}</td>' if isinstance(v, float) else f"<td>{escape(str(v))}</td>" for v in r)
        + "</tr>" for r in dist.itertuples(index=False))
    note = (f"下季度建议走访站点 {len(visits)} 个（逾期未整改或得分最低）。" if zh else
            f"{len(visits)} station(s) to visit next quarter (overdue rectifications or lowest scores).")
    title = "家门口规范符合度（站点得分分布）" if zh else "Doorstep standard conformity (distribution of station scores)"
    return (f'<h2>{escape(title)}</h2><table id="conformity"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
            f"</table><p>{escape(note)}</p>")
