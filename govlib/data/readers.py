"""Reading table files as a person saved them: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK), XLSX and Parquet.

Generic: nothing here knows govlib's raw tables (their schema is :mod:`govlib.data.schema`). Numbers are parsed
the way people type them (full-width digits, thousands separators, ``%``), and the common spellings of "missing"
are recognised.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError

__all__ = ["EXTENSIONS", "MISSING_TEXT", "FULLWIDTH_DIGITS", "decode_csv_text", "find_table", "read_table_file", "parse_numbers", "is_missing_text"]


MISSING_TEXT = {"", "na", "n/a", "nan", "none", "null", "-", "—", "–", "--", "－", "<na>", "nat", "#n/a"}


# Full-width digits and punctuation that Chinese input methods produce inside numbers.
FULLWIDTH_DIGITS = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                            "．": ".", "，": ",", "％": "%", "－": "-", "＋": "+", "　": " ", "﹣": "-", "−": "-"})


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


EXTENSIONS = (".csv", ".xlsx", ".xls", ".parquet")


# --------------------------------------------------------------------------------------------- reading files
def find_table(raw_dir: Path, name: str) -> list[Path]:
    """The file(s) holding table ``name`` in ``raw_dir``: ``name.csv|xlsx|parquet`` or a folder ``name/``."""
    raw_dir = Path(raw_dir)
    folder = raw_dir / name
    if folder.is_dir():
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS and not p.name.startswith("."))
    found = [raw_dir / f"{name}{ext}" for ext in EXTENSIONS if (raw_dir / f"{name}{ext}").exists()]
    return found[:1]


def decode_csv_text(path: Path) -> str:
    """A CSV file's text: UTF-8 (with or without BOM) or GB18030/GBK, as Excel in China writes it."""
    data = path.read_bytes()
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
    suffix = path.suffix.lower()
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
            df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
        elif suffix in (".xlsx", ".xls"):
            engine = "openpyxl" if suffix == ".xlsx" else None
            header = pd.read_excel(path, header=None, nrows=1, dtype=str, engine=engine).iloc[0].tolist()
            df = pd.read_excel(path, dtype=str, keep_default_na=False, engine=engine)
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
        blank = (df.apply(lambda s: s.astype(str).str.strip()) == "").all(axis=1) if len(df.columns) else pd.Series(dtype=bool)
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


def is_missing_text(s: pd.Series) -> np.ndarray:
    if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        return s.isna().to_numpy()
    return (s.isna() | s.astype(str).str.strip().str.lower().isin(MISSING_TEXT)).to_numpy()
