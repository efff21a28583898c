"""Reading table files as a person saved them: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK), XLSX and Parquet.

Generic: nothing here knows govlib's raw tables (their schema is :mod:`govlib.data.schema`). Numbers are parsed
the way people type them (full-width digits, thousands separators, ``%``), and the common spellings of "missing"
are recognised.
"""
from __future__ import annotations

import gzip
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError

__all__ = ["EXTENSIONS", "MISSING_TEXT", "FULLWIDTH_DIGITS", "MAX_LINE_BYTES", "decode_csv_text", "find_table",
           "locate_table", "table_extension", "read_table_file", "parse_numbers", "is_missing_text"]


MISSING_TEXT = {"", "na", "n/a", "nan", "none", "null", "-", "—", "–", "--", "－", "<na>", "nat", "#n/a"}


# Full-width digits and punctuation that Chinese input methods produce inside numbers.
FULLWIDTH_DIGITS = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            "．": ".", "，": ",", "％": "%", "－": "-", "＋": "+", "　": " ", "﹣": "-", "−": "-"})


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


EXTENSIONS = (".csv", ".csv.gz", ".xlsx", ".xls", ".parquet")

#: Compressions people use that govlib does not read (gzip CSV is read: ``.csv.gz``).
UNREAD_COMPRESSED = (".zip", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".tgz")

#: A CSV line longer than this is refused before parsing (a damaged or binary file, not a table).
MAX_LINE_BYTES = 1 << 20


def table_extension(path: Path) -> str | None:
    """The table format of a file name (``.csv``, ``.csv.gz``, ``.xlsx``, ``.xls``, ``.parquet``) or None."""
    name = path.name.lower()
    return next((ext for ext in sorted(EXTENSIONS, key=len, reverse=True) if name.endswith(ext)), None)


def _ignorable(path: Path) -> bool:
    """Files that are not data: hidden files (.DS_Store) and Excel's lock files (~$2024.xlsx)."""
    return path.name.startswith((".", "~$"))


def locate_table(raw_dir: Path, name: str) -> tuple[list[Path], list[Problem]]:
    """The file(s) of table ``name`` in ``raw_dir`` and the problems with them.

    A table is one file ``name.csv|csv.gz|xlsx|xls|parquet`` or one folder ``name/`` of such files. Two sources
    for one table (``units.csv`` and ``units.xlsx``, or ``units/`` and ``units.csv``) are a problem naming both;
    so is any file in a table folder that is not a table file (nothing is skipped silently).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "units.csv").write_text("code"), (d / "units.xlsx").write_bytes(b"")
    >>> files, problems = locate_table(d, "units")
    >>> print(problems[0])
    units: two sources for table 'units': units.csv, units.xlsx; keep one of them in the raw folder
    """
    raw_dir = Path(raw_dir)
    folder = raw_dir / name
    sources = [folder] if folder.is_dir() else []
    sources += [raw_dir / f"{name}{ext}" for ext in EXTENSIONS if (raw_dir / f"{name}{ext}").is_file()]
    problems: list[Problem] = []
    if len(sources) > 1:
        shown = ", ".join(p.name + ("/" if p.is_dir() else "") for p in sources)
        problems.append(Problem(name, None, None, None,
                                f"two sources for table '{name}': {shown}; keep one of them in the raw folder"))
        return [], problems
    for ext in UNREAD_COMPRESSED:
        for cand in (raw_dir / f"{name}{ext}", raw_dir / f"{name}.csv{ext}", raw_dir / f"{name}.xlsx{ext}"):
            if cand.is_file() and table_extension(cand) is None:
                problems.append(Problem(cand.name, None, None, None,
                                        f"a compressed table govlib does not read ({ext}); unpack it, or compress a "
                                        f"CSV with gzip as {name}.csv.gz"))
    if not sources:
        return [], problems
    if not folder.is_dir():
        return sources, problems
    files = []
    for p in sorted(folder.iterdir()):
        if _ignorable(p):
            continue
        if p.is_dir() or table_extension(p) is None:
            what = "a folder" if p.is_dir() else f"a file of type {''.join(p.suffixes) or '(none)'}"
            problems.append(Problem(f"{name}/{p.name}", None, None, None,
                                    f"{what} in the table folder '{name}/'; a table folder holds only .csv, .csv.gz, "
                                    f".xlsx or .parquet files: move it out (nothing in the folder is skipped)"))
        else:
            files.append(p)
    if not files and not problems:
        problems.append(Problem(f"{name}/", None, None, None, "the table folder holds no table files"))
    return files, problems


def find_table(raw_dir: Path, name: str) -> list[Path]:
    """The file(s) holding table ``name`` in ``raw_dir`` (see :func:`locate_table`, which also reports problems)."""
    return locate_table(raw_dir, name)[0]


def _scan_text(path: Path) -> None:
    """Refuse a CSV that is not text before reading it whole: NUL bytes, or a line of more than 1 MiB.

    Streams the (decompressed) bytes in blocks, so a damaged gigabyte file costs a second, not gigabytes.
    """
    opener = gzip.open if table_extension(path) == ".csv.gz" else open
    line, since_newline = 1, 0
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            nul = block.find(b"\0")
            if nul >= 0:
                line += block.count(b"\n", 0, nul)
                raise ValidationError([Problem(path.name, line, None, None,
                                               "the file holds NUL bytes: a binary or damaged file, not CSV text "
                                               "(save the table again as CSV)")])
            newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
            if newlines.size == 0:
                since_newline += len(block)
            else:
                gaps = np.diff(newlines, prepend=-1 - since_newline)
                since_newline = len(block) - 1 - int(newlines[-1])
            longest = since_newline if newlines.size == 0 else max(int(gaps.max()), since_newline)
            if longest > MAX_LINE_BYTES:
                at = line + (int(np.argmax(gaps > MAX_LINE_BYTES)) if newlines.size and gaps.max() > MAX_LINE_BYTES
                             else int(newlines.size))
                raise ValidationError([Problem(path.name, at, None, None,
                                               f"a line longer than {MAX_LINE_BYTES:,} bytes: not a table row "
                                               f"(a damaged file, or a cell holding a whole document)")])
            line += int(newlines.size)


def _xlsx_sheet(path: Path) -> tuple[str | int, list[Problem]]:
    """The sheet to read from an XLSX workbook, and its problems (a hidden first sheet, merged cells).

    govlib reads the first sheet. When it is hidden (often an old copy kept out of sight) the table is ambiguous:
    that is a problem naming the sheets. Merged cells in the data leave every cell but the top-left one empty
    (a merged ``parent`` column reads as blanks): a problem naming the ranges.
    """
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception:  # let pandas report an unreadable file with its own message
        return 0, []
    try:
        sheets = wb.worksheets
        problems = []
        if sheets and sheets[0].sheet_state != "visible":
            shown = ", ".join(f"'{ws.title}'" + (f" ({ws.sheet_state})" if ws.sheet_state != "visible" else "")
                              for ws in sheets)
            problems.append(Problem(path.name, None, None, None,
                                    f"the first sheet '{sheets[0].title}' is hidden (sheets: {shown}); govlib reads "
                                    f"the first sheet: delete the hidden sheet or move the one to read to the front"))
            return 0, problems
        ws = sheets[0]
        header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1), [])]
        # Merged header cells (a title row) are left to the header check, which gives the better hint.
        merged = [r for r in ws.merged_cells.ranges if r.min_row > 1]
        for rng in sorted(merged, key=lambda r: (r.min_row, r.min_col))[:50]:
            col = header[rng.min_col - 1] if rng.min_col - 1 < len(header) else None
            problems.append(Problem(path.name, rng.min_row, None if col is None else str(col).strip(), None,
                                    f"merged cells {rng.coord}: only the first cell keeps the value, the others read "
                                    f"as empty; unmerge them and fill every cell"))
        return ws.title, problems
    finally:
        wb.close()


def decode_csv_text(path: Path) -> str:
    """A CSV file's text (also gzip-compressed): UTF-8 (with or without BOM) or GB18030/GBK, as Excel in China
    writes it; a file of absurd lines is refused before it is decoded."""
    _scan_text(path)
    try:
        data = gzip.decompress(path.read_bytes()) if table_extension(path) == ".csv.gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ValidationError([Problem(path.name, None, None, None, f"cannot unpack the gzip file ({exc})")])
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    # Neither: report where UTF-8 breaks, which is what a person can look for.
    err = None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        err = exc
    line = data[: err.start].count(b"\n") + 1 if err else None
    raise ValidationError([Problem(path.name, line, None, None,
                                   "cannot decode the file: save it as UTF-8 (or GBK/GB18030) CSV")])


def read_table_file(path: str | Path, dtype_text: Iterable[str] = (), typed: bool = False) -> pd.DataFrame:
    """Read one CSV/XLSX/Parquet file. CSV and XLSX are read as text (parsing happens in validation).

    With ``typed=True`` Parquet columns keep their types (large tables); otherwise everything is text.
    """
    import io as _io

    path = Path(path)
    suffix = table_extension(path) or path.suffix.lower()
    if suffix == ".csv.gz":
        suffix = ".csv"  # read as CSV once unpacked (_decode_csv)
    if not path.exists():
        raise ValidationError([Problem(str(path), None, None, None, "file not found")])
    if path.stat().st_size == 0:
        raise ValidationError([Problem(path.name, None, None, None, "the file is empty (no header, no rows)")])
    try:
        if suffix == ".csv":
            text = decode_csv_text(path)
            if not text.strip():
                raise ValidationError([Problem(path.name, None, None, None, "the file is empty (no header, no rows)")])
            import csv

            header = next(csv.reader(_io.StringIO(text.lstrip("\ufeff").split("\n", 1)[0])), [])
            # Blank lines are kept (then dropped below) so that the index is the line a person sees, minus 2.
            df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
        elif suffix in (".xlsx", ".xls"):
            engine = "openpyxl" if suffix == ".xlsx" else None
            sheet, sheet_problems = _xlsx_sheet(path) if suffix == ".xlsx" else (0, [])
            if sheet_problems:
                raise ValidationError(sheet_problems)
            header = pd.read_excel(path, sheet_name=sheet, header=None, nrows=1, dtype=str, engine=engine).iloc[0].tolist()
            df = pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False, engine=engine)
            df = df.dropna(how="all")
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
            if not typed:
                df = df.astype(object).where(df.notna(), "")
        else:
            raise ValidationError([Problem(path.name, None, None, None, f"unsupported file type {suffix}; use CSV, XLSX or Parquet")])
    except ValidationError:
        raise
    except Exception as exc:  # a broken file is a user problem: say which file and why
        raise ValidationError([Problem(path.name, None, None, None, f"cannot read the file ({type(exc).__name__}: {exc})")])
    if suffix != ".parquet":
        # pandas renames a repeated header to "value.1": look at the header as written.
        written = pd.Index([_clean_header(c) for c in header if not pd.isna(c) and str(c).strip()])
        dup = sorted(set(written[written.duplicated()]))
        if dup:
            raise ValidationError([Problem(path.name, 1, c, None, "duplicated column header") for c in dup])
    df.columns = [_clean_header(c) for c in df.columns]
    dup = [c for c in pd.Index(df.columns)[pd.Index(df.columns).duplicated()]]
    if dup:
        raise ValidationError([Problem(path.name, 1, c, None, "duplicated column header") for c in dup])
    if suffix in (".csv", ".xlsx", ".xls"):
        # Drop rows that are entirely blank (Excel leaves them), keeping original row numbers in the index.
        blank = (df.fillna("").apply(lambda s: s.astype(str).str.strip()) == "").all(axis=1) \
            if len(df.columns) else pd.Series(dtype=bool)
        if blank.any():
            df = df.loc[~blank]
    df.attrs["file"] = path.name
    df.attrs["row_offset"] = 1 if suffix == ".parquet" else 2
    return df


def _clean_header(c: Any) -> str:
    s = unicodedata.normalize("NFKC", str(c)).strip().lstrip("\ufeff")
    return s


# --------------------------------------------------------------------------------------------- value parsing
def parse_numbers(values: pd.Series, percent_ok: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column of text into floats, vectorised.

    Accepts ``1234``, ``1,234`` (thousands separators in groups of three), full-width digits and punctuation
    (``８５``, ``１，２３４``), and ``85%`` when ``percent_ok`` (read as 85). Missing markers (empty, ``NA``, ``-``,
    ``—``) become NaN. ``inf`` and anything else is a problem.

    Returns
    -------
    values : float array
    bad : bool array, True where the text could not be read unambiguously
    had_percent : bool array, True where a ``%`` sign was removed

    Examples
    --------
    >>> v, bad, pct = parse_numbers(pd.Series(["85%", "1,234", "８５", "—", "1,23", "abc"]), percent_ok=True)
    >>> v[:4].tolist(), bad.tolist()
    ([85.0, 1234.0, 85.0, nan], [False, False, False, False, True, True])
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(out) & ~np.isnan(out)
        return np.where(bad, np.nan, out), bad, np.zeros(len(out), bool)
    distinct = _distinct_text(values)
    if distinct is not None:  # a long column of text that repeats: parse each distinct text once
        codes, uniques = distinct
        out_u, bad_u, pct_u = parse_numbers(uniques, percent_ok)
        na = codes < 0  # None/NaN/pd.NA: missing, as "none"/"nan" are below
        take = np.where(na, 0, codes)
        return (np.where(na, np.nan, out_u[take]) if len(uniques) else np.full(len(codes), np.nan),
                bad_u[take] & ~na if len(uniques) else np.zeros(len(codes), bool),
                pct_u[take] & ~na if len(uniques) else np.zeros(len(codes), bool))
    s = values.astype(str).str.translate(FULLWIDTH_DIGITS).str.strip()
    # pd.NA survives astype(str) with pandas' string dtype (object columns of folder tables mixing formats)
    missing = (s.isna() | s.str.lower().isin(MISSING_TEXT)).to_numpy(dtype=bool)
    pct = s.str.endswith("%").to_numpy()
    s = s.str.rstrip("%").str.strip()
    thousands = s.str.match(_THOUSANDS.pattern).to_numpy()
    s = s.where(~thousands, s.str.replace(",", "", regex=False))
    out = pd.to_numeric(s.where(~missing, None), errors="coerce").to_numpy(dtype=float, copy=True)
    bad = (np.isnan(out) | ~np.isfinite(out)) & ~missing
    if not percent_ok:
        bad |= pct & ~missing
    out[bad] = np.nan
    out[~np.isfinite(out)] = np.nan
    return out, bad, pct & ~missing


def _distinct_text(values: pd.Series) -> tuple[np.ndarray, pd.Series] | None:
    """``(codes, distinct texts)`` of a long text column whose distinct values are few (-1: missing), else None.

    Only columns of text (every value a string, or missing) are factorised: parsing is per value, so parsing
    the distinct texts and mapping them back gives the same result as parsing every row.
    """
    if len(values) <= 10_000 or not (values.dtype == object or pd.api.types.is_string_dtype(values)) \
            or pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return None
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) > len(values) // 2:
        return None
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def is_missing_text(s: pd.Series) -> np.ndarray:
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return s.isna().to_numpy()
    distinct = _distinct_text(s)
    if distinct is not None:
        codes, uniques = distinct
        missing_u = is_missing_text(uniques)
        return np.where(codes < 0, True, missing_u[np.maximum(codes, 0)] if len(uniques) else True)
    return (s.isna() | s.astype(str).str.strip().str.lower().isin(MISSING_TEXT)).to_numpy()
