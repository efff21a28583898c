"""Write example files that look like a district office's real ones, from the (synthetic) raw data of a project.

    python examples/import/make_exports.py DATA_RAW OUT_FOLDER

writes into OUT_FOLDER, from the tables in DATA_RAW (e.g. ``data/raw`` after ``make demo``):

- ``wenjuanxing_<wave>.xlsx`` — the latest survey wave as a 问卷星 export: 序号, 提交答卷时间, 所用时间, 来源, 来自IP,
  the analyst's design columns, one column per question with option text ("A. 非常满意", "F. 不清楚", "(跳过)"),
  and a multi-select question spread over several columns;
- ``hotline_<year>.csv`` — the latest year of 12345 tickets as a GBK CSV with Chinese headers and names;
- ``yearbook.xlsx`` — annual indicators as yearbook sheets, one per year: title, merged two-row bilingual headers
  broken over lines, 街镇 names padded with full-width spaces in a first column without a header, a 全区合计 row, a
  footnote mark, notes under the table, a hidden stale column and a hidden stale sheet;
- ``department_<indicator>.xlsx`` — one indicator as a department keeps it: 街镇 short names, 年份 as "2019年".

Everything in these files is synthetic (it comes from the demo data) and says so in the file. The mapping files
beside this script (``survey.yaml``, ``hotline.yaml``, ``yearbook.yaml``, ``department.yaml``) import them back;
``docs/import.md`` walks through it. The test suite uses the same functions (tests/test_import.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ANSWERS = {5: "A. 非常满意", 4: "B. 满意", 3: "C. 一般", 2: "D. 不满意", 1: "E. 非常不满意", 9: "F. 不清楚"}
CATEGORY_ZH = {"consultation": "咨询", "help": "求助", "complaint": "投诉", "suggestion": "建议", "other": "其他"}
SATISFACTION_ZH = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}
AGE_ZH = {"18-34": "18-34岁", "35-49": "35-49岁", "50-64": "50-64岁", "65+": "65岁及以上"}
NOTICE = "本文件为合成示例数据（govlib 演示数据生成），不是真实数据 / SYNTHETIC example data"


def _read(raw: Path, name: str) -> pd.DataFrame:
    for ext, reader in ((".parquet", pd.read_parquet), (".csv", lambda p: pd.read_csv(p, dtype=str))):
        if (raw / f"{name}{ext}").exists():
            return reader(raw / f"{name}{ext}")
    folder = raw / name
    return pd.concat([pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype=str)
                      for p in sorted(folder.iterdir()) if p.suffix in (".parquet", ".csv")], ignore_index=True)


def _names(raw: Path) -> dict[str, str]:
    units = pd.read_csv(raw / "units.csv", dtype=str)
    return dict(zip(units["code"], units["name_zh"]))


def wenjuanxing_export(raw: Path, out: Path, wave: str | None = None) -> Path:
    """The survey wave ``wave`` (default: the latest) as a 问卷星 XLSX export; returns its path."""
    responses = _read(raw, "survey_responses")
    items = pd.read_csv(raw / "survey_items.csv", dtype=str)
    wave = wave or sorted(responses["wave"].astype(str).unique())[-1]
    rows = responses[responses["wave"].astype(str) == wave].reset_index(drop=True)
    names = _names(raw)
    rng = np.random.default_rng(7)
    year, quarter = int(wave[:4]), int(wave[-1])
    start = pd.Timestamp(year=year, month=3 * quarter - 2, day=1)
    submitted = start + pd.to_timedelta(rng.integers(0, 80 * 86400, len(rows)), unit="s")
    sheet = pd.DataFrame({
        "序号": rows["respondent_id"].astype(str),
        "提交答卷时间": submitted.strftime("%Y/%m/%d %H:%M:%S"),
        "所用时间": [f"{s}秒" for s in rng.integers(60, 600, len(rows))],
        "来源": rng.choice(["手机提交", "微信", "链接"], len(rows)),
        "来自IP": [f"116.228.{a}.{b}(上海-上海)" for a, b in rng.integers(1, 255, (len(rows), 2))],
        "所在街镇": [names[c] for c in rows["stratum"].astype(str)],
        "所在居委": [names[c] for c in rows["unit"].astype(str)],
        "权重": rows["weight"].astype(float),
        "抽样框居委数": rows["fpc1"].astype(float),
        "居委成年人口": rows["fpc2"].astype(float),
        "性别": rows["sex"].astype(str).map({"M": "男", "F": "女"}),
        "年龄段": rows["age_group"].astype(str).map(AGE_ZH),
    })
    for number, item in enumerate(items.itertuples(index=False), start=1):
        values = pd.to_numeric(rows[item.item], errors="coerce").astype(float).to_numpy()
        sheet[f"{number}. {item.label_zh}"] = [ANSWERS[int(v)] if not np.isnan(v) else "(跳过)" for v in values]
    for option in ("微信群", "公告栏", "居委干部"):
        sheet[f"9. 您获取社区信息的渠道(多选):{option}"] = rng.integers(0, 2, len(rows))
    path = out / f"wenjuanxing_{wave}.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        sheet.to_excel(writer, index=False, sheet_name="Sheet1")
        pd.DataFrame({"说明": [NOTICE]}).to_excel(writer, index=False, sheet_name="说明")
    return path


def hotline_export(raw: Path, out: Path, year: str | None = None) -> Path:
    """One year of tickets (default: the latest file of ``hotline_tickets/``) as a GBK CSV export."""
    files = sorted((raw / "hotline_tickets").glob("*.parquet"))
    chosen = [f for f in files if f.stem == year] if year else files[-1:]
    tickets = pd.read_parquet(chosen[0])
    names = _names(raw)
    units = pd.read_csv(raw / "units.csv", dtype=str).set_index("code")["parent"]

    def fmt(s: pd.Series) -> pd.Series:
        return pd.to_datetime(s).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")

    on_time = (pd.to_datetime(tickets["closed_at"]) <= pd.to_datetime(tickets["due_at"]))
    sheet = pd.DataFrame({
        "工单编号": tickets["ticket_id"].astype(str),
        "受理时间": fmt(tickets["created_at"]),
        "诉求类别": tickets["category"].astype(str).map(CATEGORY_ZH),
        "所属街镇": [names[units[c]] for c in tickets["unit"].astype(str)],
        "所属居村": [names[c] for c in tickets["unit"].astype(str)],
        "办理时限": fmt(tickets["due_at"]),
        "办结时间": fmt(tickets["closed_at"]),
        "是否按时办结": np.where(tickets["closed_at"].isna(), "", np.where(on_time, "是", "否")),
        "满意度": [SATISFACTION_ZH.get(int(v), "") if pd.notna(v) else "未评价" for v in tickets["satisfaction"]],
        "是否重复": np.where(tickets["repeat"].astype(bool), "是", "否"),
        "诉求内容": "（合成示例）居民反映相关问题",
    })
    path = out / f"hotline_{chosen[0].stem}.csv"
    sheet.to_csv(path, index=False, encoding="gb18030")
    return path


def _annual_clean(raw: Path, indicators: list[str]) -> pd.DataFrame:
    obs = pd.read_csv(raw / "observations.csv", dtype=str)
    annual = obs[(obs["period"].str.fullmatch(r"\d{4}")) & obs["indicator"].isin(indicators)]
    # rows with a flag, an SE or no value stay in the hand-made table: a yearbook cell carries none of these
    return annual[annual["flag"].isna() & annual["se"].isna() & annual["value"].notna()]


def yearbook(raw: Path, out: Path, indicators: list[str]) -> Path:
    """Annual ``indicators`` as a yearbook workbook, one sheet per year (see the module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    import yaml

    framework = yaml.safe_load((raw / "framework.yaml").read_text(encoding="utf-8"))
    nodes = {n["code"]: n for n in framework["nodes"]}
    clean = _annual_clean(raw, indicators)
    names = _names(raw)
    wb = Workbook()
    wb.remove(wb.active)
    stale = wb.create_sheet("2017(旧口径)")
    stale.append(["旧口径数据，勿用"])
    stale.sheet_state = "hidden"
    for year in sorted(clean["period"].unique()):
        ws = wb.create_sheet(f"{year}年")
        ws.append([f"表 2-3  各街镇社会事业主要指标（{year}年）  {NOTICE}"])
        ws.append([])
        groups = ["", "民生服务 Public services"] + [""] * (len(indicators) - 1) + ["旧列"]
        ws.append(groups)
        ws.merge_cells(start_row=3, start_column=2, end_row=3, end_column=1 + len(indicators))
        heads = [None] + [f"{nodes[c]['name_zh']}\n{nodes[c].get('name_en', '')}\n({nodes[c].get('unit', '')})"
                          for c in indicators] + ["旧口径"]
        ws.append(heads)
        for cell in ws[4]:
            cell.alignment = Alignment(wrap_text=True)
        ws.append(["全区合计"] + [1.0] * len(indicators) + [0])
        table = clean[clean["period"] == year].pivot(index="unit", columns="indicator", values="value")
        footnote_done = False
        for code in table.index:
            row = ["\u3000" + names[code] + (" " if len(names[code]) < 4 else "")]
            for ind in indicators:
                v = table.loc[code].get(ind)
                if v is None or pd.isna(v):
                    row.append("—")
                elif not footnote_done:
                    row.append(f"{v}①")
                    footnote_done = True
                else:
                    row.append(float(v))
            ws.append(row + [123])
        ws.append([])
        ws.append(["注：①为初步统计数。资料来源：区统计局（合成示例）。"])
        ws.column_dimensions[chr(ord("A") + 1 + len(indicators))].hidden = True
    path = out / "yearbook.xlsx"
    wb.save(path)
    return path


def department_sheet(raw: Path, out: Path, indicator: str) -> Path:
    """One annual indicator as a department keeps it: short 街镇 names, "2019年", one row per 街镇 and year."""
    clean = _annual_clean(raw, [indicator])
    names = _names(raw)
    short = {c: n.removesuffix("街道").removesuffix("镇") if n.endswith(("街道", "镇")) and len(n) > 3 else n
             for c, n in names.items()}
    sheet = pd.DataFrame({"街镇": [short[c] for c in clean["unit"]], "年份": [f"{p}年" for p in clean["period"]],
                          "数值": clean["value"].astype(float).to_numpy()})
    path = out / f"department_{indicator.replace('.', '_')}.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        sheet.to_excel(writer, index=False, sheet_name="数据")
    return path


#: the annual indicators the example yearbook carries, and the one the department sheet holds
YEARBOOK_INDICATORS = ["D1.1", "D1.2", "D1.3", "D1.4", "D2.1", "D2.2"]
DEPARTMENT_INDICATOR = "D3.4"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    raw, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for path in (wenjuanxing_export(raw, out), hotline_export(raw, out), yearbook(raw, out, YEARBOOK_INDICATORS),
                 department_sheet(raw, out, DEPARTMENT_INDICATOR)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
