"""Loaders and validation: every bad input gets a message naming file, row, column and value; nothing is written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govlib.errors import ValidationError
from govlib.data.schema import SPECS, load_raw, parse_numbers, read_table, validate_table

UNITS = """code,name_zh,name_en,level,parent,kind,peer_group
310115000000,浦东新区,Pudong,district,,区,
310115016000,花木街道,Huamu Subdistrict,subdistrict,310115000000,街道,urban
310115103000,川沙新镇,Chuansha New Town,subdistrict,310115000000,镇,urbanising
310115016001,示例居委一,Community 1,community,310115016000,居委,
310115103201,示例村委一,Village 1,community,310115103000,村委,
"""
POPULATION = """code,year,residents,aged_60_plus,households,area_km2,basis
310115016000,2024,"250,000",60000,100000,20.93,residence
310115103000,2024,296000,50000,120000,140,residence
"""
FRAMEWORK = """name_zh: 测试指数
name_en: Test index
version: t1
scale: [0, 100]
nodes:
  - {code: SGI, parent: null, name_zh: 指数, name_en: Index}
  - {code: D1, parent: SGI, name_zh: 维度一, name_en: Dimension 1}
  - {code: D1.1, parent: D1, name_zh: 比例, unit: "%", frequency: A, source: admin, goalpost_low: 0, goalpost_high: 100}
  - {code: D1.2, parent: D1, name_zh: 人数, unit: per 10k, frequency: A, source: admin, direction: -1}
"""
OBSERVATIONS = """unit,period,indicator,value,se,flag,source
310115016000,2024,D1.1,85%,,,admin
310115103000,2024,D1.1,72.5,,provisional,admin
310115016000,2024,D1.2,"1,234",,,admin
310115103000,2024,D1.2,８５,,,admin
"""


def write_raw(folder: Path, **override: str | bytes) -> Path:
    files = {"units.csv": UNITS, "population.csv": POPULATION, "framework.yaml": FRAMEWORK,
             "observations.csv": OBSERVATIONS}
    files.update({k.replace("__", "."): v for k, v in override.items()})
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def problems_of(folder: Path) -> list:
    from conftest import count

    count("adversarial inputs tried")
    with pytest.raises(ValidationError) as info:
        load_raw(folder)
    return info.value.problems


def one(problems, **match):
    found = [p for p in problems if all(getattr(p, k) == v for k, v in match.items())]
    assert found, f"no problem matching {match} in:\n" + "\n".join(map(str, problems))
    return found[0]


def test_valid_raw_folder_loads_and_parses_friendly_numbers(tmp_path):
    ds = load_raw(write_raw(tmp_path))
    obs = ds.tables["observations"].set_index(["unit", "indicator"])["value"]
    assert obs[("310115016000", "D1.1")] == 85.0  # "85%" in a % indicator
    assert obs[("310115016000", "D1.2")] == 1234.0  # thousands separator
    assert obs[("310115103000", "D1.2")] == 85.0  # full-width digits
    assert ds.tables["population"]["residents"].iloc[0] == 250000.0
    assert ds.tables["units"]["code"].map(type).eq(str).all()


def test_missing_required_column(tmp_path):
    bad = OBSERVATIONS.replace("indicator,", "indikator,")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="indicator")
    assert p.file == "observations.csv" and "missing" in p.expected


def test_wrong_type_names_row_and_value(tmp_path):
    bad = OBSERVATIONS.replace("72.5", "seventy")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="value", row=3)
    assert p.value == "seventy" and "number" in p.expected


def test_duplicate_key(tmp_path):
    bad = OBSERVATIONS + "310115016000,2024,D1.1,90,,,admin\n"
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), row=6)
    assert "duplicate" in p.expected and "row 2" in p.expected


def test_unknown_unit_code(tmp_path):
    bad = OBSERVATIONS.replace("310115103000,2024,D1.1", "310115999000,2024,D1.1")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="unit", row=3)
    assert p.value == "310115999000" and "unknown unit" in p.expected


def test_code_that_lost_leading_digits(tmp_path):
    bad = OBSERVATIONS.replace("310115103000,2024,D1.1", "10115103000,2024,D1.1")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="unit", row=3)
    assert "11 digits" in p.expected


def test_code_that_became_a_float(tmp_path):
    bad = OBSERVATIONS.replace("310115103000,2024,D1.1", "3.10115103e+11,2024,D1.1")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="unit", row=3)
    assert "became a number" in p.expected


def test_code_with_trailing_space_is_accepted(tmp_path):
    ds = load_raw(write_raw(tmp_path, observations__csv=OBSERVATIONS.replace("310115103000,2024,D1.1",
                                                                               "310115103000 ,2024,D1.1")))
    assert "310115103000" in set(ds.tables["observations"]["unit"])


def test_malformed_period(tmp_path):
    bad = OBSERVATIONS.replace("310115103000,2024,D1.1", "310115103000,2024Q5,D1.1")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="period", row=3)
    assert p.value == "2024Q5" and "2024Q3" in p.expected


def test_percent_in_a_non_percent_indicator_is_an_error(tmp_path):
    bad = OBSERVATIONS.replace('"1,234"', "12%")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="value", row=4)
    assert "per 10k" in p.expected


def test_ambiguous_thousands_separator_is_an_error(tmp_path):
    bad = OBSERVATIONS.replace('"1,234"', '"1,23"')
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="value", row=4)
    assert p.value == "1,23"


def test_negative_population(tmp_path):
    bad = POPULATION.replace("296000", "-5")
    p = one(problems_of(write_raw(tmp_path, population__csv=bad)), column="residents", row=3)
    assert "at least 0" in p.expected


def test_empty_file(tmp_path):
    p = one(problems_of(write_raw(tmp_path, observations__csv="")), file="observations.csv")
    assert "empty" in p.expected


def test_header_only_file(tmp_path):
    p = one(problems_of(write_raw(tmp_path, observations__csv="unit,period,indicator,value\n")),
            file="observations.csv")
    assert "no rows" in p.expected


def test_gbk_encoded_file_is_read_correctly(tmp_path):
    folder = write_raw(tmp_path, units__csv=UNITS.encode("gbk"))
    ds = load_raw(folder)
    assert "花木街道" in set(ds.tables["units"]["name_zh"])


def test_utf8_bom_file_is_read_correctly(tmp_path):
    folder = write_raw(tmp_path, units__csv=b"\xef\xbb\xbf" + UNITS.encode("utf-8"))
    assert "code" in load_raw(folder).tables["units"].columns


def test_undecodable_file(tmp_path):
    folder = write_raw(tmp_path, units__csv=b"code,name\n\xff\xfe\xfa\xfb\x81\n")
    p = one(problems_of(folder), file="units.csv")
    assert "decode" in p.expected


def test_xlsx_reads_codes_stored_as_numbers_exactly_and_reports_short_ones(tmp_path):
    folder = write_raw(tmp_path)
    obs = pd.read_csv(folder / "observations.csv", dtype=object)
    obs.loc[1, "unit"] = 310115103000  # Excel stored the code as a number: still 12 exact digits
    obs.loc[2, "unit"] = 10115016000  # a code whose leading digit was lost
    (folder / "observations.csv").unlink()
    obs.to_excel(folder / "observations.xlsx", index=False)
    problems = problems_of(folder)
    assert not [p for p in problems if p.row == 3]
    p = one(problems, file="observations.xlsx", column="unit", row=4)
    assert "11 digits" in p.expected


def test_blank_rows_from_excel_are_ignored_and_rows_keep_their_numbers(tmp_path):
    bad = OBSERVATIONS.replace("310115103000,2024,D1.1,72.5", ",,,,,,\n310115103000,2024,D1.1,bad")
    p = one(problems_of(write_raw(tmp_path, observations__csv=bad)), column="value")
    assert p.row == 4  # the blank line is row 3 in the spreadsheet


def test_all_problems_reported_at_once(tmp_path):
    bad = OBSERVATIONS.replace("72.5", "x").replace("2024,D1.2,８５", "2024-13,D1.2,８５")
    problems = problems_of(write_raw(tmp_path, observations__csv=bad))
    assert {p.column for p in problems} >= {"value", "period"}


def test_parse_numbers_examples():
    values, bad, pct = parse_numbers(pd.Series(["85%", "1,234.5", "１２３", "NaN", "inf", "—", "1.2.3", " 7 "]),
                                     percent_ok=True)
    np.testing.assert_array_equal(bad, [False, False, False, False, True, False, True, False])
    assert values[0] == 85 and values[1] == 1234.5 and values[2] == 123 and values[7] == 7
    assert np.isnan(values[3]) and np.isnan(values[5])
    assert pct.tolist()[0] is True


def test_validate_table_row_numbers_for_parquet_start_at_one():
    df = pd.DataFrame({"code": ["310115016000", "bad"], "year": ["2024", "2024"], "residents": [1.0, 2.0]})
    df.attrs.update(file="population.parquet", row_offset=1)
    _, problems = validate_table(df, SPECS["population"])
    assert problems[0].row == 2 and problems[0].column == "code"


def test_folder_table_is_concatenated(tmp_path):
    folder = write_raw(tmp_path)
    (folder / "observations.csv").unlink()
    (folder / "observations").mkdir()
    lines = OBSERVATIONS.strip().split("\n")
    (folder / "observations" / "a.csv").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    (folder / "observations" / "b.csv").write_text("\n".join([lines[0]] + lines[3:]) + "\n", encoding="utf-8")
    table, problems = read_table(folder, "observations")
    assert not problems and len(table) == 4


def test_cli_validate_exits_2_without_traceback(tmp_path):
    folder = write_raw(tmp_path / "raw", observations__csv=OBSERVATIONS.replace("72.5", "seventy"))
    proc = subprocess.run([sys.executable, "-m", "govlib.cli", "validate", "--raw", str(folder)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "observations.csv, row 3, column 'value'" in proc.stderr and "seventy" in proc.stderr


def test_long_text_columns_parse_as_row_by_row():
    """Long columns are parsed once per distinct text (readers._distinct_text): the result is the row-by-row one."""
    from govlib.data.readers import is_missing_text, parse_numbers

    pool = ["1", "2.5", "85%", "1,234", "８５", "—", "", "NA", "abc", " 3 ", "1,23", "inf", "nan", "１，２３４", None]
    rng = np.random.default_rng(7)
    long = pd.Series(rng.choice(np.array(pool, dtype=object), 24_000), dtype=object)
    for s in (long, long.astype("string")):
        chunks = [s.iloc[i:i + 8_000] for i in range(0, len(s), 8_000)]  # under 10,000 rows: parsed row by row
        for pct in (False, True):
            whole = parse_numbers(s, percent_ok=pct)
            parts = [parse_numbers(c, percent_ok=pct) for c in chunks]
            for k in range(3):
                assert np.array_equal(whole[k], np.concatenate([p[k] for p in parts]), equal_nan=True)
        assert np.array_equal(is_missing_text(s), np.concatenate([is_missing_text(c) for c in chunks]))
