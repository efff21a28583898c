"""Importers: district files -> raw tables. Hand-made cases for every rule, and the whole route: the example exports
imported into a project give the same processed tables as the hand-made raw tables they were made from."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from govlib.cli import main
from govlib.data.importers import check_mapping, import_file
from govlib.data.importers.names import NameMatcher
from govlib.data.importers.sheets import Sheet, read_sheets, table_from_sheet
from govlib.data.units import district_row, jiezhen_table, statistical_units_table
from govlib.errors import ValidationError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "import"
DATA = Path(__file__).resolve().parent / "data" / "import"


def _load_exports():
    spec = importlib.util.spec_from_file_location("make_exports", EXAMPLES / "make_exports.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def registry():
    return pd.concat([district_row(), jiezhen_table(), statistical_units_table()], ignore_index=True)


def _problems(exc_info) -> list:
    return exc_info.value.problems


# ------------------------------------------------------------------------------------------------------- names
def test_names_exact_alias_normalised_and_kind_aware(registry):
    m = NameMatcher(registry)
    got = {n: (r.code, r.how) for n, r in zip(
        ["陆家嘴街道", "\u3000陆家嘴街道 ", "浦东新区陆家嘴街道", "陆家嘴", "潍坊新村", "川沙镇", "芦潮港镇", "芦潮港农场",
         "申港街道", "不存在街道"],
        m.match_values(["陆家嘴街道", "\u3000陆家嘴街道 ", "浦东新区陆家嘴街道", "陆家嘴", "潍坊新村", "川沙镇", "芦潮港镇",
                        "芦潮港农场", "申港街道", "不存在街道"]))}
    assert got["陆家嘴街道"] == ("310115005000", "exact")
    assert got["\u3000陆家嘴街道 "] == ("310115005000", "exact")  # full-width padding is not a difference
    assert got["浦东新区陆家嘴街道"] == ("310115005000", "normalised")
    assert got["陆家嘴"] == ("310115005000", "normalised")
    assert got["潍坊新村"] == ("310115004000", "normalised")  # "村" here is part of the name, not a suffix
    assert got["川沙镇"] == ("310115103000", "alias")  # merged into 川沙新镇
    assert got["芦潮港镇"] == ("310115145000", "alias")  # a town merged into 南汇新城镇, never the farm
    assert got["芦潮港农场"] == ("310115401000", "exact")
    assert got["申港街道"] == ("310115145000", "alias")
    assert got["不存在街道"] == (None, None)


def test_an_ambiguous_name_is_not_guessed():
    units = pd.DataFrame({"code": ["310115004001", "310115005001"], "name_zh": ["东方居委会", "东方居委"],
                          "level": "community", "kind": "居委"})
    m = NameMatcher(units, use_shipped_aliases=False)
    hit = m.match_one("东方")
    assert hit.code is None and set(hit.candidates) == {"310115004001", "310115005001"}
    # restricted to one 街镇's communities the same name is unique
    assert m.match_one("东方", within={"310115005001"}).code == "310115005001"


# ------------------------------------------------------------------------------------------------------- sheets
def test_old_xls_saved_with_an_xlsx_name_is_read_as_xls(registry):
    sheets = read_sheets(DATA / "old_xls_saved_as.xlsx")
    assert [s.name for s in sheets] == ["2023年"]
    table = table_from_sheet(sheets[0], numeric_body=True)
    assert table.rows[0] == 4  # the first data row as a person sees it (title, blank, header above)
    mapping = check_mapping({"indicators": {"每千人全科医生数": "D2.2"}, "footnotes": "error"}, "wide")
    with pytest.raises(ValidationError) as exc:
        import_file("wide", DATA / "old_xls_saved_as.xlsx", mapping, registry)
    (p,) = [p for p in _problems(exc) if p.value == "2.9①"]
    assert (p.file, p.row) == ("old_xls_saved_as.xlsx [2023年]", 6) and "footnote" in p.expected
    mapping["footnotes"] = "strip"
    result = import_file("wide", DATA / "old_xls_saved_as.xlsx", mapping, registry)
    obs = result.tables["observations"].set_index("unit")["value"]
    assert obs.to_dict() == {"310115005000": 3.1, "310115016000": 2.9, "310115103000": 2.5}  # 周家渡 "—": none
    how = set(result.log["how"])
    assert {"footnote mark removed", "total or note row not read as a unit", "unit name (alias)"} <= how
    assert "column not imported (not in the mapping)" in how  # 备注


def test_html_saved_as_a_spreadsheet_is_refused_with_advice(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<html><table><tr><td>1</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(ValidationError, match="web page saved with a spreadsheet name"):
        read_sheets(path)


def _sheet(rows: list[list], name="s.csv") -> Sheet:
    return Sheet(name, "s", pd.DataFrame(rows, dtype=object))


def test_two_header_rows_with_a_merged_group_and_bilingual_cells(registry):
    sheet = _sheet([["表 1 合成示例", None, None], [None, None, None],
                    [None, "人口 Population", "人口 Population"],
                    [None, "迁 入\nPopulation\nMoved-in", "迁 出\nMoved-out"],
                    ["　陆家嘴街道", 120, 80], ["合计", 120, 80], ["注：合成数据", None, None]])
    table = table_from_sheet(sheet, numeric_body=True)
    assert table.rows.tolist() == [5, 6, 7] and len(table.parts[1]) == 2
    mapping = check_mapping({"indicators": {"迁入": "X.1", "迁出": "X.2"}, "period": "2024"}, "wide")
    obs = import_file_from_sheets(mapping, [sheet], registry)
    assert sorted(obs[["indicator", "value"]].itertuples(index=False)) == [("X.1", 120.0), ("X.2", 80.0)]


def import_file_from_sheets(mapping, sheets, registry):
    from govlib.data.importers.wide import import_wide

    return import_wide(sheets, mapping, registry).tables["observations"]


def test_yearbook_cells_with_units_or_text_are_problems_with_their_place(registry):
    sheet = _sheet([[None, "每千人全科医生数（人）"], ["陆家嘴街道", "12.3万"], ["花木街道", "待定"], ["周家渡街道", "…"]])
    mapping = check_mapping({"indicators": {"每千人全科医生数": "D2.2"}, "period": "2024"}, "wide")
    with pytest.raises(ValidationError) as exc:
        import_file_from_sheets(mapping, [sheet], registry)
    found = {(p.row, p.value): p.expected for p in _problems(exc)}
    assert "unit belongs in the header" in found[(2, "12.3万")]
    assert found[(3, "待定")] == "a number"
    assert not any(p.value == "…" for p in _problems(exc))  # "…" is the yearbook's "not available"


# ------------------------------------------------------------------------------------------------------- survey
@pytest.fixture(scope="module")
def small_registry():
    root = Path(os.environ["GOVLIB_ROOT"]) / "data" / "raw"
    return pd.read_csv(root / "units.csv", dtype=str), pd.read_csv(root / "survey_items.csv", dtype=str)


def test_survey_unknown_answer_and_unknown_community_are_reported_with_their_place(small_registry):
    units, items = small_registry
    street = units[units["level"] == "subdistrict"].iloc[0]
    community = units[(units["parent"] == street["code"])].iloc[0]
    sheet = _sheet([["序号", "所在街镇", "所在居委", "权重", "1. 您对日常生活便利程度的满意度"],
                    [1, street["name_zh"], community["name_zh"], 10, "A. 非常满意"],
                    [2, street["name_zh"], "没有这个居委", 10, "G. 还行吧"],
                    [3, street["name_zh"], community["name_zh"], 10, "F. 不清楚"]], name="wjx.csv")
    mapping = check_mapping({"columns": {"respondent_id": "序号", "unit_parent": "所在街镇", "unit": "所在居委",
                                         "weight": "权重"}, "wave": "2024Q3",
                             "questions": {"1. 您对日常生活便利程度的满意度": "q1"},
                             "options": {"default": {"非常满意": 5, "不清楚": "missing"}}}, "survey")
    from govlib.data.importers.survey import import_survey

    with pytest.raises(ValidationError) as exc:
        import_survey(sheet, mapping, units, items)
    found = {(p.row, p.column, p.value) for p in _problems(exc)}
    assert (3, "所在居委", "没有这个居委") in found
    assert (3, "1. 您对日常生活便利程度的满意度", "还行吧") in found
    ok = sheet.cells.drop(index=2).reset_index(drop=True)
    out = import_survey(Sheet("wjx.csv", "s", ok), mapping, units, items).tables["survey_responses"]
    assert out["q1"].tolist() == [5, 9]  # "不清楚" -> the item's missing code
    assert out["stratum"].tolist() == [street["code"]] * 2 and out["psu"].tolist() == [community["code"]] * 2


def test_mapping_mistakes_are_listed_together():
    with pytest.raises(ValidationError) as exc:
        check_mapping({"kind": "survey", "colums": {}, "names": {"某街道": 123}}, "survey")
    columns = {p.column for p in _problems(exc)}
    assert {"colums", "columns", "names.某街道", "questions", "wave"} <= columns


# ------------------------------------------------------------------------------------------------------- CLI
def test_cli_refuses_to_overwrite_or_to_split_a_table(tmp_path, small_registry):
    units, _ = small_registry
    raw = tmp_path / "raw"
    raw.mkdir()
    units.to_csv(raw / "units.csv", index=False)
    (raw / "observations.csv").write_text("unit,period,indicator,value\n", encoding="utf-8")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("kind: wide\nlayout: long\nindicator: D3.4\ncolumns: {unit: 街镇, period: 年份, value: 数值}\n",
                       encoding="utf-8")
    source = tmp_path / "dept.csv"
    name = units[units["level"] == "subdistrict"]["name_zh"].iloc[0]
    source.write_text(f"街镇,年份,数值\n{name},2024年,3\n", encoding="gbk")
    assert main(["import", "wide", str(source), "--mapping", str(mapping), "--out", str(raw)]) == 2
    assert (raw / "observations.csv").exists()  # never moved or deleted by govlib
    (raw / "observations.csv").unlink()
    assert main(["import", "wide", str(source), "--mapping", str(mapping), "--out", str(raw)]) == 0
    written = pd.read_csv(raw / "observations" / "dept.csv", dtype=str)
    assert written[["period", "indicator", "value"]].values.tolist() == [["2024", "D3.4", "3.0"]]
    assert main(["import", "wide", str(source), "--mapping", str(mapping), "--out", str(raw)]) == 2
    assert main(["import", "wide", str(source), "--mapping", str(mapping), "--out", str(raw), "--force"]) == 0
    assert main(["import", "wide", str(tmp_path / "missing.xlsx"), "--mapping", str(mapping),
                 "--out", str(raw), "--force"]) == 2


def test_suggest_drafts_a_mapping_with_every_guess_marked(tmp_path):
    raw = Path(os.environ["GOVLIB_ROOT"]) / "data" / "raw"
    export = _load_exports().wenjuanxing_export(raw, tmp_path)
    draft = tmp_path / "draft.yaml"
    assert main(["import", "survey", str(export), "--mapping", str(draft), "--out", str(raw), "--suggest"]) == 0
    text = draft.read_text(encoding="utf-8")
    for n in range(1, 9):
        assert f": q{n}   # GUESS" in text
    assert "unit: \"所在居委\"   # GUESS" in text and "weight: \"权重\"   # GUESS" in text
    assert "wave: {from: \"提交答卷时间\", frequency: Q}" in text
    assert "\"不清楚\": missing   # GUESS" in text
    assert main(["import", "survey", str(export), "--mapping", str(draft), "--out", str(raw), "--suggest"]) == 2


# ------------------------------------------------------------------------------------- the whole route, tested
def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    try:
        return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df
    except TypeError:
        return df.astype({k: str for k in keys}).sort_values(keys, kind="stable").reset_index(drop=True)


@pytest.mark.slow
def test_imported_exports_build_the_same_processed_tables_as_the_hand_made_raw_tables(tmp_path, monkeypatch, capsys):
    a_root = Path(os.environ["GOVLIB_ROOT"])
    a_raw = a_root / "data" / "raw"
    b_root = tmp_path / "b"
    b_raw = b_root / "data" / "raw"
    shutil.copytree(a_raw, b_raw)
    shutil.copy(a_root / "govlib.yaml", b_root / "govlib.yaml")
    exports = tmp_path / "exports"
    exports.mkdir()
    make = _load_exports()
    # survey: the latest wave comes from a 问卷星 export, the earlier waves stay as they were
    responses = pd.read_parquet(b_raw / "survey_responses.parquet")
    latest = sorted(responses["wave"].astype(str).unique())[-1]
    survey_file = make.wenjuanxing_export(a_raw, exports, latest)
    (b_raw / "survey_responses.parquet").unlink()
    (b_raw / "survey_responses").mkdir()
    responses[responses["wave"].astype(str) != latest].to_parquet(b_raw / "survey_responses" / "a_base.parquet")
    # hotline: the latest year from a GBK CSV export
    hotline_file = make.hotline_export(a_raw, exports)
    (b_raw / "hotline_tickets" / f"{hotline_file.stem.split('_')[1]}.parquet").unlink()
    # observations: yearbook sheets and a department sheet, the rest as they were
    yearbook_file = make.yearbook(a_raw, exports, make.YEARBOOK_INDICATORS)
    department_file = make.department_sheet(a_raw, exports, make.DEPARTMENT_INDICATOR)
    obs = pd.read_csv(b_raw / "observations.csv", dtype=str)
    imported = make._annual_clean(a_raw, make.YEARBOOK_INDICATORS + [make.DEPARTMENT_INDICATOR])
    (b_raw / "observations.csv").unlink()
    (b_raw / "observations").mkdir()
    obs.drop(index=imported.index).to_csv(b_raw / "observations" / "a_base.csv", index=False)
    monkeypatch.setenv("GOVLIB_ROOT", str(b_root))

    def govlib(*args: str) -> subprocess.CompletedProcess:
        """The command as a user runs it, in this process (a new interpreter per command costs seconds)."""
        code = main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(["govlib", *args], code, out.out, out.err)

    for kind, source, mapping in (("survey", survey_file, "survey.yaml"), ("hotline", hotline_file, "hotline.yaml"),
                                  ("wide", yearbook_file, "yearbook.yaml"), ("wide", department_file,
                                                                              "department.yaml")):
        done = govlib("import", kind, str(source), "--mapping", str(EXAMPLES / mapping))
        assert done.returncode == 0, done.stderr
    log = pd.read_csv(b_raw / "import_logs" / "wide_department_D3_4.csv")
    assert log["how"].str.startswith("unit name (normalised)").sum() >= 1  # short names matched, listed for review
    assert "footnote mark removed" in set(pd.read_csv(b_raw / "import_logs" / "wide_yearbook.csv")["how"])
    done = govlib("validate")
    assert done.returncode == 0, done.stderr
    done = govlib("build", "--quiet")
    assert done.returncode == 0, done.stderr
    a_tables = sorted(p.name for p in (a_root / "data" / "processed" / "current").glob("*.parquet"))
    b_tables = sorted(p.name for p in (b_root / "data" / "processed" / "current").glob("*.parquet"))
    assert a_tables == b_tables and len(a_tables) > 20
    for name in a_tables:
        a = _sorted(pd.read_parquet(a_root / "data" / "processed" / "current" / name))
        b = _sorted(pd.read_parquet(b_root / "data" / "processed" / "current" / name))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-12, check_dtype=False,
                                      check_categorical=False, obj=name)
