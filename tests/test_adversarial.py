"""Adversarial input for the loaders: every value either parses to the right number/code or is reported with its
file, row, column and value. Hypothesis generates the spellings people and spreadsheets produce."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import ValidationError
from govlib.data.schema import SPECS, load_raw, parse_numbers, validate_table
from conftest import count
from test_io import OBSERVATIONS, write_raw

FULLWIDTH = str.maketrans("0123456789.,%-", "０１２３４５６７８９．，％－")


def with_thousands(x: int) -> str:
    return f"{x:,}"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12), st.sampled_from(["plain", "thousands", "fullwidth",
                                                                          "fullwidth_thousands", "spaces"]))
def test_integers_in_any_common_spelling_parse_exactly(x, style):
    count("adversarial inputs tried")
    text = {"plain": str(x), "thousands": with_thousands(x), "fullwidth": str(x).translate(FULLWIDTH),
            "fullwidth_thousands": with_thousands(x).translate(FULLWIDTH), "spaces": f"  {x}\t"}[style]
    values, bad, _ = parse_numbers(pd.Series([text]))
    assert not bad[0] and values[0] == x


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_floats_round_trip_through_text(x):
    count("adversarial inputs tried")
    values, bad, _ = parse_numbers(pd.Series([repr(x)]))
    assert not bad[0] and values[0] == x


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 2)))
def test_percent_spelling_reads_as_percent_points_only_where_allowed(x):
    count("adversarial inputs tried")
    values, bad, pct = parse_numbers(pd.Series([f"{x}%"]), percent_ok=True)
    assert not bad[0] and values[0] == pytest.approx(x) and pct[0]
    _, bad_strict, _ = parse_numbers(pd.Series([f"{x}%"]), percent_ok=False)
    assert bad_strict[0]


@pytest.mark.parametrize("text", ["", "NA", "n/a", "-", "—", "－", "NaN", "null", "  "])
def test_missing_markers_are_missing_not_errors(text):
    count("adversarial inputs tried")
    values, bad, _ = parse_numbers(pd.Series([text]))
    assert np.isnan(values[0]) and not bad[0]


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "1e400", "12abc", "1,2,3", "1,23", "1.2.3", "十二",
                                  "0x1F", "1_000"])
def test_unreadable_or_ambiguous_numbers_are_reported(text):
    count("adversarial inputs tried")
    values, bad, _ = parse_numbers(pd.Series([text]))
    assert bad[0] and np.isnan(values[0])


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_codes_survive_only_as_12_digit_text(n):
    count("adversarial inputs tried")
    code = f"{n:012d}"
    frame = pd.DataFrame({"code": [code, f" {code} ", str(n) if n < 10**11 else code, f"{float(n):.6e}"],
                          "year": ["2024"] * 4, "residents": ["1"] * 4})
    frame.attrs.update(file="population.csv", row_offset=2)
    typed, problems = validate_table(frame, SPECS["population"])
    assert typed["code"].iloc[0] == code and typed["code"].iloc[1] == code
    rows_with_problems = {p.row for p in problems if p.column == "code"}
    assert 5 in rows_with_problems  # scientific notation: the code became a float
    assert (4 in rows_with_problems) == (n < 10**11)  # leading zeros lost


@pytest.mark.parametrize("date_text", ["2024-07-01", "2024/07/01", "2024.07.01", "2024年7月1日", "2024-07-01 09:30"])
def test_dates_in_several_formats(date_text):
    count("adversarial inputs tried")
    frame = pd.DataFrame({"community": ["310115016001"], "project_id": ["p1"], "meeting": ["hearing"],
                          "date": [date_text]})
    typed, problems = validate_table(frame, SPECS["doorstep_evaluations"])
    assert not problems
    assert typed["date"].iloc[0].date() == pd.Timestamp("2024-07-01").date()


def test_duplicated_headers_are_reported(tmp_path):
    count("adversarial inputs tried")
    bad = OBSERVATIONS.replace("unit,period,indicator,value,se", "unit,period,indicator,value,value")
    folder = write_raw(tmp_path, observations__csv=bad)
    with pytest.raises(ValidationError) as info:
        load_raw(folder)
    assert any(p.column and p.column.startswith("value") and p.file == "observations.csv"
               for p in info.value.problems)


def test_excel_formula_text_is_data_not_code(tmp_path):
    count("adversarial inputs tried")
    bad = OBSERVATIONS.replace("72.5", "=SUM(A1:A3)")
    folder = write_raw(tmp_path, observations__csv=bad)
    with pytest.raises(ValidationError) as info:
        load_raw(folder)
    p = next(p for p in info.value.problems if p.column == "value")
    assert p.value == "=SUM(A1:A3)" and p.row == 3


def test_huge_and_tiny_values_are_kept_exactly():
    count("adversarial inputs tried")
    values, bad, _ = parse_numbers(pd.Series(["1e300", "1e-300", "-0", "0.000001"]))
    assert not bad.any() and values[0] == 1e300 and values[1] == 1e-300 and values[3] == 1e-6


def test_merged_title_row_above_the_header_gets_a_hint(tmp_path):
    count("adversarial inputs tried")
    from openpyxl import Workbook

    folder = write_raw(tmp_path)
    (folder / "population.csv").unlink()
    wb = Workbook()
    ws = wb.active
    ws.append(["浦东新区人口统计表 (2024)"])
    ws.merge_cells("A1:D1")
    ws.append(["code", "year", "residents", "basis"])
    ws.append(["310115016000", "2024", "250000", "residence"])
    wb.save(folder / "population.xlsx")
    with pytest.raises(ValidationError) as info:
        load_raw(folder)
    p = next(p for p in info.value.problems if p.file == "population.xlsx" and p.column == "code")
    assert "first row" in p.expected
