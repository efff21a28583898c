"""Source files as grids of cells: CSV (UTF-8 or GBK), XLSX, real XLS (also when saved with an .xlsx name).

Exports and yearbooks are laid out for people: titles and notes around the table, merged header cells, headers
over two rows, bilingual headers broken over lines inside one cell, hidden sheets and columns. Here a file becomes
:class:`Sheet` s of raw cells (nothing dropped, merged cells filled from their top-left cell), and
:func:`table_from_sheet` finds the header rows and returns the table beneath them with each column's label and the
row number a person sees in the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import Problem, ValidationError
from ..readers import decode_csv_text
from .names import clean_text

__all__ = ["Sheet", "read_sheets", "table_from_sheet", "header_key", "SheetTable", "cell_str", "text_column"]

#: rows looked at cell by cell to find the header (titles and header rows are at the top)
_HEADER_SCAN = 200
_CJK = re.compile(r"[\u3400-\u9fff]")
_UNIT_TAIL = re.compile(r"[（(][^（）()]*[)）]$")


@dataclass
class Sheet:
    """One sheet of a source file: ``cells`` as text/numbers (header=None), and what was hidden."""

    file: str  # display name: "survey.xlsx" or "yearbook.xlsx [2019]"
    name: str
    cells: pd.DataFrame
    hidden_columns: list[int] = field(default_factory=list)
    hidden: bool = False


@dataclass
class SheetTable:
    """A table found in a sheet: ``data`` with one column per source column, labels, and file row numbers."""

    sheet: Sheet
    labels: list[str]  # full header text per column ("upper / lower" for two header rows)
    data: pd.DataFrame  # columns are positions 0..k-1 (labels may repeat); cells as read
    rows: np.ndarray  # the 1-based row number in the file of each data row
    dropped_hidden: list[str] = field(default_factory=list)
    parts: list[list[str]] = field(default_factory=list)  # the header rows' texts of each column, top to bottom


def _kind(path: Path) -> str:
    head = path.read_bytes()[:8] if path.stat().st_size else b""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.lstrip()[:1] == b"<":
        return "html"
    return "csv"


def _fill_merged(cells: list[list], ranges) -> None:
    for r0, r1, c0, c1 in ranges:  # 0-based, inclusive
        value = cells[r0][c0]
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                cells[r][c] = value


def _xlsx_sheets(path: Path) -> list[Sheet]:
    import openpyxl
    from openpyxl.utils import column_index_from_string

    wb = openpyxl.load_workbook(path, data_only=True)
    out = []
    for ws in wb.worksheets:
        cells = [list(row) for row in ws.iter_rows(values_only=True)]
        width = max((len(r) for r in cells), default=0)
        cells = [r + [None] * (width - len(r)) for r in cells]
        _fill_merged(cells, [(m.min_row - 1, m.max_row - 1, m.min_col - 1, m.max_col - 1)
                             for m in ws.merged_cells.ranges if m.max_row <= len(cells)])
        hidden = set()
        for key, dim in ws.column_dimensions.items():
            if dim.hidden:
                lo = dim.min or column_index_from_string(key)
                hi = dim.max or lo
                hidden.update(range(lo - 1, hi))
        out.append(Sheet(f"{path.name} [{ws.title}]", ws.title, pd.DataFrame(cells, dtype=object),
                         sorted(c for c in hidden if c < width), ws.sheet_state != "visible"))
    return out


def _xls_sheets(path: Path) -> list[Sheet]:
    import xlrd

    book = xlrd.open_workbook(str(path), formatting_info=True)
    out = []
    for sh in book.sheets():
        cells = [[sh.cell_value(r, c) if sh.cell_type(r, c) not in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else None
                  for c in range(sh.ncols)] for r in range(sh.nrows)]
        _fill_merged(cells, [(r0, r1 - 1, c0, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells])
        hidden = [c for c, info in sh.colinfo_map.items() if info.hidden and c < sh.ncols]
        out.append(Sheet(f"{path.name} [{sh.name}]", sh.name, pd.DataFrame(cells, dtype=object), sorted(hidden),
                         bool(sh.visibility)))
    return out


def read_sheets(path: str | Path) -> list[Sheet]:
    """Every sheet of a source file as raw cells (a CSV file is one sheet).

    The format is told by the file's first bytes, not its name: an old binary .xls saved with an ``.xlsx`` name is
    read as .xls; an HTML page with a spreadsheet name is refused with advice.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
    >>> _ = open(p, "w", encoding="gb18030").write("街镇,人口\\n陆家嘴街道,100\\n")
    >>> s = read_sheets(p)[0]
    >>> s.cells.iloc[1, 0], s.cells.iloc[1, 1]
    ('陆家嘴街道', '100')
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError([Problem(str(path), None, None, None, "a file to import (not found)")])
    kind = _kind(path)
    if kind == "xlsx":
        return _xlsx_sheets(path)
    if kind == "xls":
        return _xls_sheets(path)
    if kind == "html":
        raise ValidationError([Problem(path.name, None, None, None,
                                       "a spreadsheet or CSV file; this is a web page saved with a spreadsheet name "
                                       "(open it in Excel or WPS and save it as .xlsx)")])
    for encoding in ("utf-8-sig", "gb18030"):  # what Excel writes; read straight from the file (exports are large)
        try:
            cells = pd.read_csv(path, header=None, dtype=object, keep_default_na=False, na_filter=False,
                                skip_blank_lines=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        decode_csv_text(path)  # raises the message that says where the text is neither UTF-8 nor GBK
        raise ValidationError([Problem(path.name, None, None, None, "text in UTF-8 or GBK")])
    return [Sheet(path.name, path.stem, cells)]


def header_key(label) -> str:
    """The part of a header that identifies a column: its Chinese lines, without spaces or a trailing (unit).

    Examples
    --------
    >>> header_key("迁 入\\nPopulation\\nMoved-in")
    '迁入'
    >>> header_key("每千人全科医生数（人）")
    '每千人全科医生数'
    >>> header_key("Q1. 您对日常生活便利程度的满意度")
    'Q1.您对日常生活便利程度的满意度'
    """
    text = "" if label is None else str(label)
    lines = [ln for ln in re.split(r"[\r\n]+", text) if ln.strip()]
    chinese = [ln for ln in lines if _CJK.search(ln)]
    key = clean_text("".join(chinese or lines))
    return _UNIT_TAIL.sub("", key) or key


def cell_str(value) -> str:
    """A cell as text, trimmed; "" for an empty cell (None or NaN).

    Examples
    --------
    >>> cell_str(None), cell_str(float("nan")), cell_str(" 2024-07-01 09:30:00 "), cell_str(3.0)
    ('', '', '2024-07-01 09:30:00', '3.0')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def text_column(values: pd.Series) -> pd.Series:
    """A column of cells as trimmed text, "" where empty (vectorised: exports have millions of rows).

    Examples
    --------
    >>> text_column(pd.Series([None, " a ", 3, float("nan")], dtype=object)).tolist()
    ['', 'a', '3', '']
    """
    values = pd.Series(values, dtype=object)
    return values.where(values.notna(), "").astype(str).str.strip()


def _is_number(v) -> bool:
    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
        return not (isinstance(v, float) and np.isnan(v))
    text = clean_text(v).replace(",", "").rstrip("%")
    return bool(re.fullmatch(r"[+-]?\d+(\.\d+)?", text))


def table_from_sheet(sheet: Sheet, header_rows: int | None = None, header_row: int | None = None,
                     numeric_body: bool = False) -> SheetTable:
    """Find the header and return the table beneath it.

    Parameters
    ----------
    header_row : the file row (1-based) of the first header row; default: the first row with at least half as many
        filled cells as the fullest of the first 30 rows (titles above a table fill one cell).
    header_rows : how many header rows (default 1; with ``numeric_body``: every row down to the first row whose
        filled cells right of the first column are mostly numbers — yearbooks put headers over two or three rows).
    numeric_body : the table's body is numbers (yearbook, department sheets).

    Hidden columns are dropped and listed in ``dropped_hidden``; fully empty rows are skipped (their file row
    numbers are kept for the rows that remain).
    """
    cells = sheet.cells
    if cells.empty:
        raise ValidationError([Problem(sheet.file, None, None, None, "a table (the sheet is empty)")])
    # headers sit in the first rows: only those are looked at cell by cell (an export can have millions of rows)
    scan = cells.iloc[:_HEADER_SCAN]
    texts = [[cell_str(v) for v in row] for row in scan.itertuples(index=False)]

    def is_title(r: int) -> bool:  # a title or note: one text (merged across the row, or alone in column A)
        values = {t for t in texts[r] if t}
        return len(values) == 1 and texts[r][0] != ""

    def is_data(r: int) -> bool:
        body = [v for v, t in zip(cells.iloc[r, 1:], texts[r][1:]) if t]
        return bool(texts[r][0]) and not is_title(r) and bool(body) and np.mean([_is_number(v) for v in body]) >= 0.5

    first = next((r for r in range(len(texts)) if is_data(r)), None) if numeric_body else None
    if first is not None and header_row is None:
        start = first
        while start > 0 and any(texts[start - 1]) and not is_title(start - 1):
            start -= 1
        if start == first:
            raise ValidationError([Problem(sheet.file, first + 1, None, None,
                                           "a header row above the first row of numbers")])
        header_rows = header_rows or first - start
    else:
        distinct = [len({t for t in row if t}) for row in texts[:30]]
        if header_row is None:
            top = max(distinct)
            start = next(r for r, n in enumerate(distinct) if n >= max(1, top / 2) and not (top > 1 and is_title(r)))
        else:
            start = header_row - 1
        if header_rows is None:
            header_rows = 1
            if first is not None and first > start:  # a given header row: down to the first row of numbers
                header_rows = first - start
    head = cells.iloc[start:start + header_rows]
    labels, parts_of = [], []
    for c in range(cells.shape[1]):
        parts = []
        for v in head.iloc[:, c]:
            text = cell_str(v)
            if text and text not in parts:
                parts.append(text)
        labels.append(" / ".join(parts))
        parts_of.append(parts)
    body = cells.iloc[start + header_rows:]
    keep_rows = np.zeros(len(body), dtype=bool)
    for c in body.columns:  # a row with any filled cell (vectorised per column)
        col = body[c]
        keep_rows |= text_column(col).ne("").to_numpy(dtype=bool)
    rows = np.arange(start + header_rows + 1, start + header_rows + 1 + len(body))[keep_rows]
    body = body[keep_rows]
    keep_cols = [c for c in range(cells.shape[1]) if c not in set(sheet.hidden_columns)]
    dropped = [labels[c] or f"column {c + 1}" for c in sheet.hidden_columns]
    data = body.iloc[:, keep_cols].reset_index(drop=True)
    data.columns = range(len(keep_cols))
    return SheetTable(sheet, [labels[c] for c in keep_cols], data, rows, dropped, [parts_of[c] for c in keep_cols])
