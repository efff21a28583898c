"""Yearbook tables and department spreadsheets -> ``observations``.

A statistical yearbook sheet has 街镇 as rows and indicators as columns, a title and notes around the table,
headers merged across cells and broken over lines ("迁 入⏎Population⏎Moved-in"), units in the header, a first column
without a header holding names padded with ordinary or full-width spaces, a 合计 row, and one sheet per year
(``layout: wide``). A department spreadsheet holds one indicator with the 街镇 name and the year in columns
(``layout: long``). Both become ``observations`` rows (unit, period, indicator, value, source).

Cells: ``—``, ``…``, ``-`` and empty are missing (no observation); a footnote mark (``12.3①``, ``12.3*``) is a
problem unless the mapping says ``footnotes: strip`` (then the number is read and the cell listed in the log); any
other text, or a number with a unit inside the cell (``12.3万``), is a problem naming sheet, row and column.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...errors import Problem, ValidationError
from ...periods import is_valid_period
from ..readers import parse_numbers
from .common import ImportLog, ImportResult, capped, find_columns, resolve_units
from .names import NameMatcher, clean_text
from .sheets import Sheet, cell_str, header_key, table_from_sheet

__all__ = ["import_wide", "FOOTNOTE_MARKS", "YEARBOOK_MISSING"]

FOOTNOTE_MARKS = re.compile(r"[\u2460-\u2473\u2776-\u277f*＊#＃▲△†‡]+$")
YEARBOOK_MISSING = {"", "—", "——", "–", "-", "…", "……", "...", "/", "x", "X", "×"}


def _period_of_sheet(sheet: Sheet, problems: list[Problem]) -> str | None:
    found = re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", sheet.name)
    if len(found) == 1:
        return found[0]
    problems.append(Problem(sheet.file, None, None, sheet.name,
                            "a sheet name holding one year (e.g. 2019 or 2019年), or period: in the mapping"))
    return None


def _values(table, series: pd.Series, column: str, footnotes: str, log: ImportLog,
            problems: list[Problem]) -> np.ndarray:
    # footnote marks first: NFKC (in clean_text) would turn "①" into "1" and 12.3① into 12.31
    raw = series.map(lambda v: repr(v) if isinstance(v, float) and not np.isnan(v) else cell_str(v))
    raw = raw.str.replace(r"[\s\u3000]+", "", regex=True)
    marks = raw.str.contains(FOOTNOTE_MARKS, regex=True).to_numpy().copy()
    text = raw.map(clean_text)
    stripped = raw.str.replace(FOOTNOTE_MARKS, "", regex=True).map(clean_text)
    missing = text.isin(YEARBOOK_MISSING).to_numpy()
    marks &= ~missing
    values, bad, _ = parse_numbers(stripped.where(~missing, ""))
    for i in np.flatnonzero(marks & ~bad):
        if footnotes == "strip":
            log.add(table.sheet.file, int(table.rows[i]), column, raw.iloc[i], stripped.iloc[i],
                    "footnote mark removed")
        else:
            problems.append(Problem(table.sheet.file, int(table.rows[i]), column, raw.iloc[i],
                                    "a number without a footnote mark (or footnotes: strip in the mapping)"))
    for i in np.flatnonzero(bad & ~missing):
        hint = " — the unit belongs in the header (or scale: in the mapping)" if re.search(
            r"\d", text.iloc[i]) else ""
        problems.append(Problem(table.sheet.file, int(table.rows[i]), column, series.iloc[i], "a number" + hint))
    values = values.copy()
    values[missing] = np.nan
    return values


def import_wide(sheets: list[Sheet], mapping: dict, units: pd.DataFrame) -> ImportResult:
    """Turn yearbook or department sheets into ``observations`` rows (all problems of all sheets at once).

    Sheets: the mapping's ``sheets`` (names or 1-based numbers); default every visible sheet. Hidden sheets and
    hidden columns are never read, and the import log says so.
    """
    problems: list[Problem] = []
    log = ImportLog()
    wanted = mapping.get("sheets", mapping.get("sheet"))
    chosen = []
    for pos, sheet in enumerate(sheets, start=1):
        named = wanted in (None, "all") or (str(sheet.name) in [str(w) for w in np.atleast_1d(wanted)]) or \
            (pos in [w for w in np.atleast_1d(wanted) if isinstance(w, (int, np.integer))])
        if sheet.hidden:
            log.add(sheet.file, None, None, None, None, "hidden sheet not imported")
        elif named:
            chosen.append(sheet)
    if not chosen:
        raise ValidationError([Problem(sheets[0].file if sheets else "file", None, None, wanted,
                                       "a visible sheet to import (sheets: in the mapping names none)")])
    matcher = NameMatcher(units, mapping["names"])
    skip_words = {clean_text(w) for w in mapping["skip_rows"]}
    district = set(units.loc[units.get("level", pd.Series(dtype=str)) == "district", "name_zh"].map(clean_text)) \
        if "level" in units else set()
    frames = []
    long = mapping["layout"] == "long"
    for sheet in chosen:
        table = table_from_sheet(sheet, mapping.get("header_rows"), mapping.get("header_row"), numeric_body=True)
        for label in table.dropped_hidden:
            log.add(sheet.file, None, label, None, None, "hidden column not imported")
        columns = dict(mapping["columns"])
        if not long:
            unit_col = mapping.get("unit_column", 1)
            if isinstance(unit_col, int):
                columns["unit"] = None
                cols = {"unit": unit_col - 1}
            else:
                cols = find_columns(table, {"unit": unit_col}, log, problems)
            ind_cols = find_columns(table, {h: h for h in mapping["indicators"]}, log, problems, what="indicators")
        else:
            cols = find_columns(table, columns, log, problems)
            ind_cols = {}
        if "unit" not in cols:
            continue
        names = table.data[cols["unit"]]
        cleaned = names.map(clean_text)
        skip = (cleaned.isin(skip_words) | cleaned.isin(district) | cleaned.str.startswith(("注", "资料来源", "说明"))
                | (cleaned == "")).to_numpy()
        for i in np.flatnonzero(skip & (cleaned != "").to_numpy()):
            log.add(sheet.file, int(table.rows[i]), table.labels[cols["unit"]] or "first column", names.iloc[i], None,
                    "total or note row not read as a unit")
        unit = resolve_units(table, names, matcher, log, problems,
                             table.labels[cols["unit"]] or "first column", "subdistrict", skip=skip)
        if long:
            periods = table.data[cols["period"]].map(lambda v: clean_text(v).removesuffix("年").removesuffix(".0"))
            for i in np.flatnonzero(~periods.map(is_valid_period).to_numpy() & ~skip):
                problems.append(Problem(sheet.file, int(table.rows[i]), columns["period"],
                                        table.data[cols["period"]].iloc[i], "a year such as 2024 (or 2024Q3, 2024-07)"))
            series = {str(mapping["indicator"]): _values(table, table.data[cols["value"]], columns["value"],
                                                         mapping["footnotes"], log, problems)}
        else:
            period = str(mapping["period"]) if mapping["period"] != "sheet_name" else _period_of_sheet(sheet, problems)
            periods = pd.Series([period] * len(table.data))
            series = {str(code): _values(table, table.data[ind_cols[header]], table.labels[ind_cols[header]],
                                         mapping["footnotes"], log, problems)
                      for header, code in mapping["indicators"].items() if header in ind_cols}
            used = {cols["unit"], *ind_cols.values()}
            for pos, label in enumerate(table.labels):
                if pos not in used and header_key(label):
                    log.add(sheet.file, None, label, None, None, "column not imported (not in the mapping)")
        for code, values in series.items():
            scale = float(mapping["scale"].get(code, 1))
            keep = ~skip & ~np.isnan(values)
            frames.append(pd.DataFrame({"unit": unit[keep], "period": periods.to_numpy()[keep], "indicator": code,
                                        "value": values[keep] * scale, "se": np.nan, "flag": None,
                                        "source": mapping["source"],
                                        "_row": table.rows[keep], "_file": sheet.file}))
    if problems:
        raise ValidationError(capped(problems))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["unit", "period", "indicator", "value", "se", "flag", "source"])
    dup = out.duplicated(["unit", "period", "indicator"], keep=False) if len(out) else pd.Series([], dtype=bool)
    for _, row in out[dup.to_numpy()].iterrows():
        problems.append(Problem(row["_file"], int(row["_row"]), row["indicator"], row["unit"],
                                "one value per unit, period and indicator (this one is given twice)"))
    if problems:
        raise ValidationError(capped(problems))
    return ImportResult({"observations": out.drop(columns=["_row", "_file"], errors="ignore")}, log.frame())
