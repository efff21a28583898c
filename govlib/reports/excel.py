"""The period's Excel workbook, ``outputs/excel/SGI_<period>.xlsx``, for officials who work in Excel.

Sheets (Chinese headers, the header row and the name columns frozen, number formats per column, an autofilter):
指数得分与排名 (index scores and ranks with rank intervals and changes), 维度得分 (街镇 x dimension scores),
指标与标记 (indicator values of the period's year with their data-quality flags), 满意度估计 (survey estimates with
standard errors and 95% confidence intervals), 预警 (alerts with their reasons), 方法说明 (framework, methods and
provenance, and the synthetic-data notice when it applies).

Safety: every text cell is written as a string, never as a formula; text beginning with ``=``, ``+``, ``-`` or ``@``
also gets Excel's quote prefix, so editing the cell in Excel cannot turn it into a formula (CSV/formula injection
from names in the source data). Unit codes stay text (Excel would print ``3.10115E+11``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ..settings import Settings, load_settings

__all__ = ["write_workbook", "workbook_sheets", "FORMULA_PREFIXES"]

FORMULA_PREFIXES = ("=", "+", "-", "@")
_FORMATS = {"score": "0.0", "rank": "0", "int": "0", "ci": "0.0", "p": "0.000", "value": "#,##0.00",
            "se": "0.00", "weight": "0.0000"}


def workbook_sheets(period: str, settings: Settings | None = None, tables: Mapping[str, pd.DataFrame] | None = None,
                    lang: str = "zh") -> dict[str, tuple[pd.DataFrame, dict[str, str]]]:
    """The workbook's sheets as ``{sheet name: (table with display headers, {header: number format key})}``."""
    from . import views as views
    from ..data.processed import provenance

    settings = settings or load_settings()
    tables = tables if tables is not None else views.load_report_tables(settings)
    period = views.resolve_period(period, tables)
    sheets: dict[str, tuple[pd.DataFrame, dict[str, str]]] = {}

    league = views.league_table(tables, period, lang)
    scores = league.rename(columns={"code": "街镇代码", "name": "街镇", "kind": "类型", "peer_group": "同类组",
                                    "score": "指数得分", "rank": "全区排名", "peer_rank": "同类排名",
                                    "rank_low": "排名区间下限(5%)", "rank_high": "排名区间上限(95%)",
                                    "rank_median": "蒙特卡洛中位排名",
                                    "rank_change": "排名变化(正数为上升)"})
    sheets["指数得分与排名"] = (scores, {"指数得分": "score", "全区排名": "rank", "同类排名": "rank",
                                   "排名区间下限(5%)": "rank", "排名区间上限(95%)": "rank", "排名变化(正数为上升)": "rank",
                                   "蒙特卡洛中位排名": "score"})

    matrix = views.dimension_matrix(tables, period, lang)
    dims = matrix.reset_index(drop=True)
    dims.insert(0, "街镇", matrix.index)
    dims.insert(0, "街镇代码", league["code"].to_numpy())
    sheets["维度得分"] = (dims, {c: "score" for c in matrix.columns})

    obs = tables.get("observations")
    labels = views.node_label(tables, "zh")
    fw = tables["framework"]
    unit_of = dict(zip(fw["code"].astype(str), fw["unit"].fillna("").astype(str))) if "unit" in fw else {}
    names = dict(zip(tables["units"]["code"], tables["units"]["name_zh"]))
    if obs is not None and len(obs):
        o = obs[obs["period"].astype(str).str.slice(0, 4) == period[:4]]
        o = o[o["unit"].isin(league["code"])].sort_values(["unit", "indicator", "period"])
        flag_zh = {"imputed": "插补", "carried": "沿用上期", "provisional": "初步数", "suppressed": "不发布", "": ""}
        ind = pd.DataFrame({"街镇代码": o["unit"].astype(str), "街镇": o["unit"].map(names),
                            "指标代码": o["indicator"].astype(str), "指标": o["indicator"].map(labels),
                            "单位": o["indicator"].map(unit_of).fillna(""), "期间": o["period"].astype(str),
                            "数值": o["value"].astype(float),
                            "标准误": o["se"].astype(float) if "se" in o else np.nan,
                            "标记": o["flag"].fillna("").map(lambda f: flag_zh.get(f, f)) if "flag" in o else "",
                            "来源": o["source"].fillna("").astype(str) if "source" in o else ""})
        sheets["指标与标记"] = (ind, {"数值": "value", "标准误": "se"})

    est = views.survey_rows(tables, period)
    if len(est):
        items, node_labels = views.item_labels_of(tables, "zh")
        all_names = dict(zip(tables["units"]["code"], tables["units"]["name_zh"]))
        level_zh = {"district": "全区", "subdistrict": "街镇", "community": "居村"}
        e = est.sort_values([c for c in ("level", "unit", "item") if c in est.columns])
        survey = pd.DataFrame({
            "层级": e["level"].map(level_zh).fillna(e["level"]) if "level" in e else "",
            "单位代码": e["unit"].astype(str), "单位": e["unit"].map(all_names),
            "调查期": e["period"].astype(str), "题目": e["item"].astype(str).map(lambda i: items.get(i, node_labels.get(i, i))),
            "估计值": e["estimate"].astype(float), "标准误": e["se"].astype(float),
            "95%置信区间下限": e["ci_low"].astype(float), "95%置信区间上限": e["ci_high"].astype(float),
            "样本量": e["n"].astype(float) if "n" in e else np.nan,
            "有效样本量": e["n_eff"].astype(float) if "n_eff" in e else np.nan,
            "标记": e["flag"].fillna("").astype(str) if "flag" in e else ""})
        sheets["满意度估计"] = (survey, {"估计值": "ci", "标准误": "se", "95%置信区间下限": "ci",
                                    "95%置信区间上限": "ci", "样本量": "int", "有效样本量": "score"})

    alerts = views.alerts_table(tables, period, None, "zh")
    sheets["预警"] = (alerts, {})

    from .conformity import workbook_sheets as conformity_sheets  # 家门口 standard conformity (#18)
    sheets.update(conformity_sheets(period, settings, tables))

    prov = provenance(settings)
    notes = [("报告期", period), ("数据性质", "合成演示数据（虚构），不代表真实街镇" if prov["synthetic"] else "正式数据"),
             ("得分", "按指标体系逐级加权汇总，0-100分"), ("排名", "全区36个街镇排名；并列取最小名次"),
             ("排名区间", "蒙特卡洛不确定性分析的5%–95%区间"),
             ("满意度", "设计加权估计，95%置信区间；标记suppressed的估计不确定性过大，不予发布"),
             ("数据版本（manifest）", prov["manifest_hash"]), ("指标体系版本", prov["framework_version"]),
             ("设置哈希", prov["settings_hash"]), ("govlib版本", prov["govlib_version"]), ("构建时间", prov["built_at"])]
    method = pd.DataFrame(notes, columns=["项目", "说明"])
    fw_cols = [c for c in ("code", "parent", "name_zh", "unit", "direction", "type", "scope", "frequency", "source",
                           "weight") if c in fw.columns]
    fw_zh = {"code": "代码", "parent": "上级", "name_zh": "名称", "unit": "单位", "direction": "方向", "type": "类型",
             "scope": "适用范围", "frequency": "频率", "source": "来源", "weight": "权重"}
    framework = fw[fw_cols].rename(columns=fw_zh)
    sheets["方法说明"] = (method, {})
    sheets["指标体系"] = (framework, {"权重": "weight"})
    return sheets


def _safe_text(value) -> tuple[str, bool]:
    text = str(value)
    return text, text.startswith(FORMULA_PREFIXES)


def write_workbook(period: str, settings: Settings | None = None, target: str | Path | None = None,
                   tables: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``outputs/excel/SGI_<period>.xlsx`` atomically and return its path.

    ``period`` may be ``latest``. See the module docstring for the sheets and the formula-injection guard.
    """
    import xlsxwriter

    from . import views as views
    from ..data.store import atomic_path

    settings = settings or load_settings()
    tables = tables if tables is not None else views.load_report_tables(settings)
    period = views.resolve_period(period, tables)
    sheets = workbook_sheets(period, settings, tables)
    target = Path(target) if target else settings.outputs_dir / "excel" / f"SGI_{period}.xlsx"
    with atomic_path(target, suffix=".xlsx") as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False,
                                            "strings_to_urls": False, "nan_inf_to_errors": False})
        wb.set_properties({"title": f"浦东新区社会治理指数 {period}", "comments": "govlib"})
        base = {"font_name": "Microsoft YaHei", "font_size": 10}
        header = wb.add_format({**base, "bold": True, "bg_color": "#DCE6F1", "border": 1, "text_wrap": True,
                                "valign": "top"})
        text = wb.add_format(base)
        quoted = wb.add_format({**base, "quote_prefix": True})
        numbers = {k: wb.add_format({**base, "num_format": v}) for k, v in _FORMATS.items()}
        banner = wb.add_format({**base, "bold": True, "font_color": "#9C5700", "bg_color": "#FFEB9C"})
        for sheet_name, (df, formats) in sheets.items():
            ws = wb.add_worksheet(sheet_name)
            for j, col in enumerate(df.columns):
                ws.write_string(0, j, str(col), header)
                values = df[col].tolist()
                kind = formats.get(col)
                width = max([len(str(col)) * 2] + [len(str(v)) * (2 if isinstance(v, str) else 1) + 2
                                                   for v in values[:200]])
                ws.set_column(j, j, min(max(width, 8), 60))
                for i, v in enumerate(values, start=1):
                    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                        continue
                    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                        ws.write_number(i, j, float(v), numbers.get(kind or "value", numbers["value"]))
                    else:
                        s, risky = _safe_text(v)
                        ws.write_string(i, j, s, quoted if risky else text)
            text_cols = sum(1 for c in df.columns[:2] if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]))
            ws.freeze_panes(1, text_cols)
            if len(df):
                ws.autofilter(0, 0, len(df), max(len(df.columns) - 1, 0))
        if sheets.get("方法说明") is not None:
            from ..data.processed import provenance

            if provenance(settings)["synthetic"]:
                ws = wb.get_worksheet_by_name("方法说明")
                ws.write_string(len(sheets["方法说明"][0]) + 2, 0, "合成演示数据 SYNTHETIC DEMO DATA", banner)
        wb.close()
    return target
