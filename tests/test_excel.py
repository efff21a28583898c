"""The period workbook: sheets, Chinese headers, frozen panes, number formats, codes as text, no formulas ever."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from govlib.data.sample_store import build_fake_store
from govlib.reports.excel import write_workbook
from govlib.settings import load_settings
from govlib.data.store import write_table

EVIL = {"310115016000": "=HYPERLINK(\"http://x\",\"点我\")", "310115013000": "+1+2", "310115014000": "-3*4",
        "310115015000": "@SUM(A1:A9)"}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = build_fake_store(tmp_path_factory.mktemp("excel"))
    path = root / "data" / "processed" / "units.parquet"
    units = pd.read_parquet(path)
    for code, name in EVIL.items():  # names that a spreadsheet would run as formulas
        units.loc[units["code"] == code, "name_zh"] = name
    write_table(units, path)
    settings = load_settings(root=root)
    target = write_workbook("latest", settings)
    return target, openpyxl.load_workbook(target)


def test_file_name_and_sheets(book):
    target, wb = book
    assert target.name == "SGI_2025.xlsx" and target.parent.name == "excel"
    assert wb.sheetnames == ["指数得分与排名", "维度得分", "指标与标记", "满意度估计", "预警", "方法说明", "指标体系"]


def test_no_cell_is_a_formula_and_risky_text_is_quote_prefixed(book):
    _, wb = book
    seen = set()
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    assert cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
                    seen.add(cell.value)
    assert set(EVIL.values()) <= seen  # written verbatim, as text


def test_headers_panes_formats_and_codes(book):
    _, wb = book
    ws = wb["指数得分与排名"]
    headers = [c.value for c in ws[1]]
    assert headers[:6] == ["街镇代码", "街镇", "类型", "同类组", "指数得分", "全区排名"]
    assert ws.freeze_panes == "C2"
    assert ws.max_row == 37  # header + 36 街镇
    for row in ws.iter_rows(min_row=2):
        code, score, rank = row[0], row[4], row[5]
        assert code.data_type == "s" and len(code.value) == 12 and code.value.isdigit()
        assert score.number_format == "0.0" and isinstance(score.value, float)
        assert rank.number_format == "0"
    ranks = [r[5].value for r in ws.iter_rows(min_row=2)]
    assert ranks == sorted(ranks) and ranks[0] == 1
    survey = wb["满意度估计"]
    heads = [c.value for c in survey[1]]
    i, lo, hi = heads.index("估计值"), heads.index("95%置信区间下限"), heads.index("95%置信区间上限")
    for row in survey.iter_rows(min_row=2, max_row=50):
        assert row[lo].value <= row[i].value <= row[hi].value
        assert row[i].number_format == "0.0"


def test_methodology_sheet_carries_provenance_and_synthetic_notice(book):
    _, wb = book
    text = " ".join(str(c.value) for row in wb["方法说明"].iter_rows() for c in row if c.value is not None)
    assert "合成" in text and "SYNTHETIC" in text
    assert "govlib" in text and "数据版本" in text


def test_indicator_sheet_flags_in_chinese(book):
    _, wb = book
    ws = wb["指标与标记"]
    heads = [c.value for c in ws[1]]
    flags = {r[heads.index("标记")].value for r in ws.iter_rows(min_row=2)}
    assert {"插补", "初步数", "沿用上期"} <= flags
