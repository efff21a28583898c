"""Read and validate every raw table (CSV, XLSX, Parquet), reporting all problems at once.

A table is found in the raw folder by its name with any of the extensions ``.csv``, ``.xlsx``, ``.parquet``, or as
a folder of such files (e.g. ``hotline_tickets/2024.parquet``). CSV files may be UTF-8, UTF-8 with BOM, or
GB18030/GBK (what Excel in China writes). Validation is vectorised (millions of rows are checked with array
operations) and collects every problem as a :class:`~govlib.errors.Problem` naming file, row, column, value and
expectation; :func:`load_raw` raises one :class:`~govlib.errors.ValidationError` with all of them.

Row numbers are what a person sees: in CSV and XLSX the header is row 1, so the first data row is row 2; in
Parquet (no header row) the first record is row 1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError
from .framework import Framework, load_framework
from .readers import FULLWIDTH_DIGITS, find_table, is_missing_text, locate_table, parse_numbers, read_table_file
from .rows import Finding, RowMap, rowmap_of
from .rules import (hotline_findings, validate_doorstep, validate_hotline, validate_observations, validate_survey,
                    validate_units)
from ..periods import PERIOD_PATTERNS

__all__ = [
    "Column", "TableSpec", "SPECS", "find_table", "read_table_file", "read_table", "validate_table",
    "parse_numbers", "load_raw", "Dataset", "CODE_PATTERN",
]

CODE_PATTERN = re.compile(r"^\d{12}$")

#: Years a period, year or month may name (a sane range: 0000 and 9999 are typing slips).
YEAR_RANGE = (1900, 2100)


@dataclass(frozen=True)
class Column:
    """One column of a table contract.

    kind: ``code`` (12-digit unit code, text), ``text``, ``int``, ``float``, ``bool``, ``period`` (2024/2024Q3/
    2024-07), ``year``, ``month`` (2024-07), ``datetime``.
    """

    name: str
    kind: str = "text"
    required: bool = True
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    percent: bool = False  # "85%" reads as 85


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (table, column)
    optional: bool = False
    large: bool = False  # read without per-cell text parsing when the file types columns (Parquet)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


C = Column
SPECS: dict[str, TableSpec] = {s.name: s for s in [
    TableSpec("units", (
        C("code", "code"), C("name_zh"), C("name_en", required=False, nullable=True),
        C("level", allowed=("district", "subdistrict", "community", "benchmark", "other")),
        C("parent", "code", required=False, nullable=True),
        C("kind", allowed=("区", "街道", "镇", "居委", "村委", "开发区", "农场", "benchmark")),
        C("peer_group", required=False, nullable=True),
    ), key=("code",), references={"parent": ("units", "code")}),
    TableSpec("population", (
        C("code", "code"), C("year", "year"), C("residents", "float", min=0),
        C("aged_60_plus", "float", required=False, nullable=True, min=0),
        C("households", "float", required=False, nullable=True, min=0),
        C("area_km2", "float", required=False, nullable=True, min=0),
        C("basis", required=False, nullable=True, allowed=("residence", "registration")),
    ), key=("code", "year"), references={"code": ("units", "code")}),
    TableSpec("population_structure", (
        C("code", "code"), C("year", "year"), C("sex", allowed=("M", "F")),
        C("age_group", allowed=("18-34", "35-49", "50-64", "65+")), C("residents", "float", min=0),
    ), key=("code", "year", "sex", "age_group"), references={"code": ("units", "code")}, optional=True),
    TableSpec("observations", (
        C("unit", "code"), C("period", "period"), C("indicator"), C("value", "float", nullable=True, percent=True),
        C("se", "float", required=False, nullable=True, min=0),
        C("flag", required=False, nullable=True,
          allowed=("", "provisional", "imputed", "carried", "suppressed")),
        C("source", required=False, nullable=True, allowed=("admin", "survey", "hotline", "service")),
    ), key=("unit", "period", "indicator"), references={"unit": ("units", "code"), "indicator": ("framework", "code")}),
    TableSpec("survey_items", (
        C("item"), C("indicator"), C("scale_min", "int"), C("scale_max", "int"),
        C("missing_codes", required=False, nullable=True),
        C("label_zh", required=False, nullable=True), C("label_en", required=False, nullable=True),
    ), key=("item",), references={"indicator": ("framework", "code")}, optional=True),
    TableSpec("survey_responses", (
        C("respondent_id"), C("wave", "period"), C("unit", "code"), C("stratum"), C("psu"),
        C("weight", "float", min=0),
        C("fpc1", "float", required=False, nullable=True, min=0),
        C("fpc2", "float", required=False, nullable=True, min=0),
        C("sex", required=False, nullable=True, allowed=("M", "F")),
        C("age_group", required=False, nullable=True, allowed=("18-34", "35-49", "50-64", "65+")),
    ), key=("respondent_id",), references={"unit": ("units", "code")}, optional=True, large=True),
    TableSpec("hotline_tickets", (
        C("ticket_id"), C("unit", "code"), C("created_at", "datetime"),
        C("due_at", "datetime", required=False, nullable=True),
        C("closed_at", "datetime", required=False, nullable=True),
        C("category", allowed=("consultation", "help", "complaint", "suggestion", "other")),
        C("satisfaction", "float", required=False, nullable=True, min=1, max=5),
        C("repeat", "bool", required=False, nullable=True),
    ), key=("ticket_id",), references={"unit": ("units", "code")}, optional=True, large=True),
    TableSpec("doorstep_catalogue", (
        C("item_id"), C("name_zh"), C("name_en", required=False, nullable=True),
        C("category"), C("tier", allowed=("bottom_line", "basic", "quality")), C("department"),
    ), key=("item_id",), optional=True),
    TableSpec("doorstep_stations", (
        C("community", "code"), C("year", "year"), C("has_station", "bool"),
        C("floor_area_m2", "float", required=False, nullable=True, min=0),
        C("service_area_m2", "float", required=False, nullable=True, min=0),
        C("legal_adviser", "bool", required=False, nullable=True),
    ), key=("community", "year"), references={"community": ("units", "code")}, optional=True),
    TableSpec("doorstep_menus", (
        C("community", "code"), C("item_id"), C("from_period", "month"),
        C("to_period", "month", required=False, nullable=True),
    ), key=("community", "item_id", "from_period"),
        references={"community": ("units", "code"), "item_id": ("doorstep_catalogue", "item_id")}, optional=True),
    TableSpec("doorstep_records", (
        C("community", "code"), C("item_id"), C("date", "datetime"), C("count", "float", min=0),
    ), key=("community", "item_id", "date"),
        references={"community": ("units", "code"), "item_id": ("doorstep_catalogue", "item_id")},
        optional=True, large=True),
    TableSpec("doorstep_evaluations", (
        C("community", "code"), C("project_id"),
        C("meeting", allowed=("hearing", "coordination", "evaluation")), C("date", "datetime"),
        C("rating", "float", required=False, nullable=True, min=0, max=100),
        C("attendees", "float", required=False, nullable=True, min=0),
        C("outcome", required=False, nullable=True),
    ), references={"community": ("units", "code")},  # meetings are events: no natural key
        optional=True),
    TableSpec("ground_truth", (
        C("event_id"), C("kind"), C("unit", "code"), C("indicator", required=False, nullable=True),
        C("start_period", required=False, nullable=True), C("end_period", required=False, nullable=True),
        C("magnitude", "float", required=False, nullable=True),
        C("magnitude_sd", "float", required=False, nullable=True),
        C("description", required=False, nullable=True),
    ), key=("event_id",), optional=True),
]}

# 家门口 standard conformity (issue #18): the checklist, station inspections and resident projects. The checklist
# ships as package data (govlib/data/conformity_standard.csv, an illustrative reconstruction) and is replaced by a
# district's own `conformity_standard` file in data/raw. Rules between these tables: rules.validate_conformity.
SPECS.update({s.name: s for s in [
    TableSpec("conformity_standard", (
        C("requirement"), C("clause"), C("category", allowed=("服务内容", "功能区域", "导向标识", "服务要求", "服务评价")),
        C("name_zh"), C("name_en", required=False, nullable=True),
        C("check", allowed=("yes_no", "share_at_least", "count_at_least", "present_in_period")),
        C("threshold", "float", required=False, nullable=True, min=0),
        C("partial", "float", required=False, nullable=True, min=0),
        C("weight", "float", min=0), C("tier", allowed=("bottom_line", "basic", "quality")),
        C("source", required=False, nullable=True, allowed=("", "inspection", "meetings")),
    ), key=("requirement",), optional=True),
    TableSpec("conformity_inspections", (
        C("community", "code"), C("inspection_date", "datetime"), C("requirement"),
        C("result", required=False, nullable=True, allowed=("", "met", "partly", "not_met")),
        C("value", "float", required=False, nullable=True, min=0, percent=True),
        C("note", required=False, nullable=True),
        C("rectification_deadline", "datetime", required=False, nullable=True),
        C("date_closed", "datetime", required=False, nullable=True),
    ), key=("community", "requirement", "inspection_date"),
        references={"community": ("units", "code")}, optional=True),  # requirement: rules.validate_conformity
    TableSpec("doorstep_projects", (
        C("community", "code"), C("project_id"), C("name_zh", required=False, nullable=True),
        C("completed", "datetime", required=False, nullable=True),
    ), key=("project_id",), references={"community": ("units", "code")}, optional=True),
]})














#: Tables that may be read one file at a time (``load_raw(sinks=...)``), with their rules between tables, checked
#: file by file (:mod:`govlib.data.rules`).
_STREAM_RULES: dict[str, Callable[[pd.DataFrame, pd.DataFrame | None], list[Finding]]] = {
    "hotline_tickets": hotline_findings}


def _codes(s: pd.Series) -> tuple[pd.Series, np.ndarray, list[str]]:
    """Normalise a code column to 12-digit text; returns (codes, bad mask, reason per bad row)."""
    if pd.api.types.is_integer_dtype(s):
        text = s.astype("Int64").astype(str)
    elif pd.api.types.is_float_dtype(s):
        text = s.map(lambda v: "" if pd.isna(v) else repr(float(v)))
    else:
        text = s.astype(str).str.translate(FULLWIDTH_DIGITS).str.strip()
    ok = text.str.fullmatch(r"\d{12}").fillna(False).to_numpy()
    missing = is_missing_text(text)
    bad = ~ok & ~missing
    reasons = []
    for v in text[bad]:
        if re.fullmatch(r"\d+\.\d*(e[+-]?\d+)?", v, flags=re.I) or re.fullmatch(r"\d(\.\d+)?e[+-]?\d+", v, flags=re.I):
            reasons.append("a 12-digit unit code that became a number (Excel/float); store codes as text")
        elif re.fullmatch(r"\d{1,11}", v):
            reasons.append(f"a 12-digit unit code; this has {len(v)} digits (leading zeros lost?)")
        else:
            reasons.append("a 12-digit unit code (NBS statistical division code)")
    return text.where(~missing, None), bad, reasons


def _factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Integer codes (-1 = NA) and the distinct values; cheap for categoricals and Arrow strings."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), pd.Series(s.cat.categories, dtype=object)
    try:
        import pyarrow as pa

        arr = pa.chunked_array([pa.array(s.to_numpy(dtype=object), from_pandas=True)]) \
            if s.dtype == object else pa.chunked_array(s.array._pa_array.chunks) if hasattr(s.array, "_pa_array") \
            else None
        if arr is not None:
            enc = arr.combine_chunks().dictionary_encode()
            codes = enc.indices.to_numpy(zero_copy_only=False)
            codes = np.where(enc.indices.is_null().to_numpy(zero_copy_only=False), -1, codes).astype(np.int64)
            return codes, pd.Series(enc.dictionary.to_pylist(), dtype=object)
    except (TypeError, ValueError, ImportError, AttributeError):  # mixed Python objects: let pandas do it
        pass
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64), pd.Series(np.asarray(uniques, dtype=object), dtype=object)


def _check_text_like(col: Column, s: pd.Series) -> tuple[Any, np.ndarray, Any, np.ndarray]:
    """Parse and check a code/text/period/bool/date column given as text: (values, bad, reasons, missing)."""
    missing = is_missing_text(s)
    bad = np.zeros(len(s), bool)
    reasons: list[str] | str = ""
    if col.kind == "code":
        values, bad, reasons = _codes(s)
    elif col.kind == "bool":
        t = s.astype(str).str.strip().str.lower()
        truthy = t.isin(["true", "1", "yes", "y", "t", "是", "1.0"]).to_numpy()
        falsy = t.isin(["false", "0", "no", "n", "f", "否", "0.0"]).to_numpy()
        bad = ~(truthy | falsy) & ~missing
        values = pd.Series(np.where(truthy, True, np.where(falsy, False, None)), index=s.index, dtype=object)
        reasons = "true/false (also 1/0, yes/no, 是/否)"
    elif col.kind in ("period", "year", "month"):
        t = s.astype(str).str.translate(FULLWIDTH_DIGITS).str.strip()
        t = t.str.replace(r"^(\d{4})\.0$", r"\1", regex=True).str.upper().str.replace("-Q", "Q", regex=False)
        pattern = {"period": "|".join(f"(?:{p.pattern[1:-1]})" for p in PERIOD_PATTERNS.values()),
                   "year": PERIOD_PATTERNS["A"].pattern[1:-1], "month": PERIOD_PATTERNS["M"].pattern[1:-1]}[col.kind]
        ok = t.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        year = pd.to_numeric(t.str.slice(0, 4), errors="coerce").to_numpy(dtype=float)
        ok = ok & (year >= YEAR_RANGE[0]) & (year <= YEAR_RANGE[1])  # 0000 and 9999 are typing slips, not years
        bad = ~ok & ~missing
        values = pd.Series(t.to_numpy(dtype=object), index=s.index, dtype=object)
        values[missing] = None
        reasons = {"period": "a period: 2024 (year), 2024Q3 (quarter) or 2024-07 (month)",
                   "year": "a year such as 2024", "month": "a month such as 2024-07"}[col.kind] \
            + f", years {YEAR_RANGE[0]}-{YEAR_RANGE[1]}"
    elif col.kind == "datetime":
        t = s.astype(str).str.translate(FULLWIDTH_DIGITS).str.strip()
        t = t.str.replace(r"(\d{4})年(\d{1,2})月(\d{1,2})日", r"\1-\2-\3", regex=True)
        t = t.str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3", regex=True)
        values = pd.to_datetime(t.where(~missing, None), errors="coerce", format="mixed")
        bad = (values.isna().to_numpy() | _outside_years(values)) & ~missing
        reasons = f"a date or time such as 2024-07-01 or 2024-07-01 09:30, years {YEAR_RANGE[0]}-{YEAR_RANGE[1]}"
    else:  # text
        values = pd.Series(s.astype(str).str.strip().to_numpy(dtype=object), index=s.index, dtype=object)
        values[missing] = None
        if col.allowed is not None:
            bad = ~values.isin(list(col.allowed)).to_numpy() & ~missing
            reasons = "one of " + ", ".join(a for a in col.allowed if a != "")
            if col.nullable and "" in col.allowed:
                values[missing] = ""
    return values, bad, reasons, missing


def _outside_years(values: pd.Series) -> np.ndarray:
    """Dates outside :data:`YEAR_RANGE` (a ticket "created" in 9999 is a typing slip); NaT is not outside."""
    lo, hi = pd.Timestamp(f"{YEAR_RANGE[0]}-01-01"), pd.Timestamp(f"{YEAR_RANGE[1] + 1}-01-01")
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":  # plain datetime64 (Parquet): numpy, NaT compares False
        a = np.asarray(values)
        # bounds in days: compared in the data's own (finer) unit, so year 9999 in seconds cannot overflow
        first, after = np.datetime64(f"{YEAR_RANGE[0]}-01-01", "D"), np.datetime64(f"{YEAR_RANGE[1] + 1}-01-01", "D")
        return (a < first) | (a >= after)
    v = pd.Series(values)
    if getattr(v.dt, "tz", None) is not None:
        v = v.dt.tz_localize(None)
    return ((v < lo) | (v >= hi)).fillna(False).to_numpy(dtype=bool)


def _check_column(col: Column, s: pd.Series) -> tuple[Any, np.ndarray, Any, np.ndarray]:
    """Like :func:`_check_text_like`, on the distinct values only when the column repeats (codes, periods)."""
    if col.kind == "datetime" and pd.api.types.is_datetime64_any_dtype(s):
        return s, _outside_years(s), f"a date or time in the years {YEAR_RANGE[0]}-{YEAR_RANGE[1]}", s.isna().to_numpy()
    if col.kind == "bool" and pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), np.zeros(len(s), bool), "", s.isna().to_numpy()
    if col.kind in ("text", "code") and len(s) > 10_000 and col.allowed is None and col.kind == "text" \
            and not isinstance(s.dtype, pd.CategoricalDtype):
        # Identifiers (ticket_id, respondent_id): only presence matters; keep them as they are.
        if pd.api.types.is_numeric_dtype(s):
            missing = s.isna().to_numpy()
        elif s.dtype == object:
            missing = s.isna().to_numpy() | (s.astype(str).str.len() == 0).to_numpy()
        else:
            missing = s.isna().to_numpy() | (s.str.len() == 0).fillna(True).to_numpy(dtype=bool)
        return s, np.zeros(len(s), bool), "", missing
    if len(s) < 10_000:
        return _check_text_like(col, s)
    if isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories) <= 0.5 * len(s):
        codes, uniques = None, pd.Series(s.cat.categories, dtype=object)  # the codes are needed only if unclean
    else:
        codes, uniques = _factorize(s)
    if len(uniques) > 0.5 * len(s):
        return _check_text_like(col, s)
    values_u, bad_u, reasons_u, missing_u = _check_text_like(col, uniques)
    values_u = pd.Series(values_u).reset_index(drop=True)
    bad_u, missing_u = np.asarray(bad_u, dtype=bool), np.asarray(missing_u, dtype=bool)
    if col.kind != "datetime" and isinstance(s.dtype, pd.CategoricalDtype) and not bad_u.any() \
            and not missing_u.any() and values_u.notna().all() and values_u.is_unique:
        # A clean categorical (a Parquet dictionary column): its codes stand as they are, no pass over the rows.
        na = s.cat.codes.to_numpy() < 0
        cats = pd.Index(values_u.unique())
        values = pd.Series(pd.Categorical.from_codes(s.cat.codes.to_numpy(), categories=cats, validate=False),
                           index=s.index)
        return values, np.zeros(len(s), bool), reasons_u, na
    if codes is None:
        codes = s.cat.codes.to_numpy().astype(np.int64)
    take = np.where(codes < 0, 0, codes)
    na = codes < 0
    bad = bad_u[take] & ~na
    missing = missing_u[take] | na
    if col.kind == "datetime":
        values = pd.Series(values_u.to_numpy()[take], index=s.index)
        values[na] = pd.NaT
    else:
        # Categorical keeps memory low for millions of repeated codes; plain object for small tables.
        cats = pd.Index(values_u.dropna().unique())
        inv = pd.Categorical(values_u, categories=cats).codes.astype(np.int64)
        full = np.where(na, -1, inv[take])
        values = pd.Series(pd.Categorical.from_codes(full, categories=cats), index=s.index)
    if isinstance(reasons_u, list):
        per_u = np.full(len(uniques), "", dtype=object)
        per_u[np.flatnonzero(bad_u)] = reasons_u
        reasons_u = list(per_u[take][bad])
    return values, bad, reasons_u, missing


def _duplicated(out: pd.DataFrame, key: tuple[str, ...]) -> np.ndarray:
    """Rows whose key was already seen (vectorised on integer codes; fast on millions of rows)."""
    if len(key) == 1 and out[key[0]].dtype.kind in "iu":  # integer ids (ticket_id): no factorising
        return _repeated(out[key[0]].to_numpy())
    combined = np.zeros(len(out), dtype=np.int64)
    radix = 1
    for k in key:
        codes, uniques = _factorize(out[k]) if not pd.api.types.is_datetime64_any_dtype(out[k]) \
            else pd.factorize(out[k], sort=True)
        n = len(uniques) + 1
        if radix * n >= 2**62:  # too many combinations for one integer: let pandas hash the rows
            return out.duplicated(list(key), keep="first").to_numpy()
        combined = combined * n + (np.asarray(codes, dtype=np.int64) + 1)  # first column most significant
        radix *= n
    return _repeated(combined)


def _repeated(v: np.ndarray) -> np.ndarray:
    """Positions whose integer value came earlier. Keys in increasing order (as exports are) are seen in one
    pass; else one sort says whether any key repeats, and only then are the repeats found (stable order)."""
    if len(v) < 2 or (v[1:] > v[:-1]).all():
        return np.zeros(len(v), bool)
    ordered = np.sort(v)
    if not (ordered[1:] == ordered[:-1]).any():
        return np.zeros(len(v), bool)
    order = np.argsort(v, kind="stable")  # stable: the first occurrence stays "first"
    ordered = v[order]
    dup = np.zeros(len(v), bool)
    dup[order[1:][ordered[1:] == ordered[:-1]]] = True
    return dup


def validate_table(df: pd.DataFrame, spec: TableSpec, file: str | None = None,
                   row_offset: int | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check and convert ``df`` against ``spec``; returns the typed table and the problems found.

    Only intra-table rules are checked here (types, ranges, allowed values, duplicate keys); references to other
    tables are checked by :func:`load_raw`. Columns that repeat a few values millions of times (codes, periods)
    come back as categoricals.
    """
    file = file or df.attrs.get("file", spec.name)
    offset = row_offset if row_offset is not None else df.attrs.get("row_offset", 2)
    rows = np.asarray(df.index) + offset if df.index.dtype.kind == "i" else np.arange(len(df)) + offset
    problems: list[Problem] = []
    if len(df) == 0:
        problems.append(Problem(file, None, None, None, "the table has a header but no rows"))
    out = pd.DataFrame(index=df.index)
    names = [c.name for c in spec.columns]
    for col in spec.columns:
        if col.name not in df.columns:
            if col.required:
                hint = ""
                if any(str(c).startswith("Unnamed") for c in df.columns):
                    hint = "; the header must be the first row — remove title rows and merged header cells"
                problems.append(Problem(file, 1 if offset == 2 else None, col.name, None,
                                        f"required column '{col.name}' is missing (columns found: "
                                        f"{', '.join(map(str, df.columns))}){hint}"))
            continue
        s = df[col.name]
        if col.kind in ("float", "int"):
            values, bad, had_pct = parse_numbers(s, percent_ok=col.percent)
            missing = np.isnan(values) & ~bad
            reasons: list[str] | str = "a number" + (
                " (85%, 1,234 and full-width digits are accepted)" if col.percent else "")
            if col.kind == "int":
                bad |= ~np.isnan(values) & (values != np.round(values))
                reasons = "a whole number"
            if col.percent:
                out[f"_{col.name}_percent"] = had_pct
            for limit, cmp, word in ((col.min, np.less, "at least"), (col.max, np.greater, "at most")):
                if limit is None:
                    continue
                with np.errstate(invalid="ignore"):
                    off = cmp(values, limit) & ~np.isnan(values)
                for i in np.flatnonzero(off)[:200]:
                    problems.append(Problem(file, int(rows[i]), col.name, s.iloc[i], f"expected {word} {limit:g}"))
            values = pd.Series(values, index=df.index)
        else:
            values, bad, reasons, missing = _check_column(col, s)
        if bad.any():
            idx = np.flatnonzero(bad)
            for k, i in enumerate(idx[:200]):
                why = reasons[k] if isinstance(reasons, list) else reasons
                problems.append(Problem(file, int(rows[i]), col.name, s.iloc[i], f"expected {why}"))
            if len(idx) > 200:
                problems.append(Problem(file, None, col.name, None, f"{len(idx) - 200} more rows with the same problem"))
        if not col.nullable:
            for i in np.flatnonzero(missing & ~bad)[:200]:
                problems.append(Problem(file, int(rows[i]), col.name, None, "a value is required here"))
        if col.kind == "bool" and not isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("boolean")
        elif col.kind == "bool":
            values = values.astype(object).astype("boolean")
        out[col.name] = values
    # Columns beyond the contract are kept (survey items, extra attributes).
    for extra in df.columns:
        if extra not in names and extra not in out.columns:
            out[extra] = df[extra]
    if spec.key and all(k in out.columns for k in spec.key) and not problems:
        dup = _duplicated(out, spec.key)
        if dup.any():
            keys = out[list(spec.key)].astype(str)
            first_seen = ~keys.duplicated(keep="first").to_numpy()
            first_row = dict(zip(map(tuple, keys.to_numpy()[first_seen]), rows[first_seen]))
            for i in np.flatnonzero(dup)[:200]:
                key = tuple(keys.iloc[i])
                problems.append(Problem(file, int(rows[i]), ", ".join(spec.key), "/".join(key),
                                        f"duplicate key (first seen at row {first_row.get(key, '?')})"))
    out.attrs.update(df.attrs)
    return out.reset_index(drop=True), problems


def read_table(raw_dir: Path, name: str, sink: Callable[[pd.DataFrame], None] | bool | None = None,
               check: Callable[[pd.DataFrame], list[Finding]] | None = None
               ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read and validate one table from ``raw_dir`` (all its files). Returns ``(table or None, problems)``.

    The table's ``attrs["rowmap"]`` (a :class:`~govlib.data.rows.RowMap`) says, for each row, the file and the row
    as seen there, so that checks on the whole table name ``hotline_tickets/2024.parquet, row 17``. Key columns
    are compared across files as normalised text (the ticket id 1024 in Parquet and "1024" in a CSV correction
    are the same key).

    A table folder too large to keep (millions of tickets) is read one file at a time: with ``sink``, each
    file's validated rows are handed to ``sink(rows)`` (``False``: dropped) and not kept, ``check(rows)`` finds
    the rows of the file that break rules between tables (:class:`~govlib.data.rows.Finding`, merged over the
    files in ``attrs["findings"]``), and the table returned holds only the key columns (for the key check
    across files), with ``attrs["rows"]`` its number of rows. ``sink`` sees a file only when no problem was
    found so far.
    """
    spec = SPECS[name]
    files, problems = locate_table(raw_dir, name)
    if not files:
        if spec.optional or problems:
            return None, problems
        return None, [Problem(f"{name}.csv", None, None, None,
                              f"required table '{name}' not found in {raw_dir} (as .csv, .csv.gz, .xlsx, .parquet "
                              f"or a folder)")]
    streamed = sink is not None
    parts, shown, rows, findings, n_rows = [], [], [], {}, 0
    from concurrent.futures import ThreadPoolExecutor

    # the next file is read (pyarrow decodes outside the GIL) while this one is checked: one file ahead at most
    with ThreadPoolExecutor(max_workers=1) as reader:
        ahead = reader.submit(read_table_file, files[0], typed=spec.large)
        for k, path in enumerate(files):
            current, ahead = ahead, (reader.submit(read_table_file, files[k + 1], typed=spec.large)
                                     if k + 1 < len(files) else None)
            try:
                df = current.result()
            except ValidationError as exc:
                problems.extend(_named(p, path, raw_dir) for p in exc.problems)
                continue
            del current
            n_rows = _check_part(df, path, raw_dir, spec, sink, check, problems, parts, shown, rows, findings,
                                 n_rows)
    if not parts:
        return None, problems
    if len(parts) > 1 and spec.key:
        _align_key_types(parts, spec.key)
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    table.attrs["files"] = shown
    rowmap = RowMap(name, shown, rows)
    table.attrs["rowmap"] = rowmap
    if streamed:
        table.attrs["rows"] = n_rows
        table.attrs["findings"] = list(findings.values())
    if len(shown) > 1 and spec.key and not problems and all(k in table.columns for k in spec.key):
        dup = _duplicated_across(table, list(spec.key), rowmap)
        if dup.any():
            keys = table[list(spec.key)].astype(str)
            first_seen = ~keys.duplicated(keep="first").to_numpy()
            first_at = dict(zip(map(tuple, keys.to_numpy()[first_seen]), np.flatnonzero(first_seen)))
            idx = np.flatnonzero(dup)
            for i in idx[:50]:
                key = tuple(keys.iloc[i])
                f0, r0 = rowmap.locate(first_at.get(key, -1))
                problems.append(Problem(*rowmap.locate(i), ", ".join(spec.key), "/".join(key),
                                        f"duplicate key: also in {f0}, row {r0} (keys are compared as text across "
                                        f"the files of table '{name}')"))
            if len(idx) > 50:
                problems.append(Problem(name, None, ", ".join(spec.key), None,
                                        f"{len(idx) - 50} more duplicated keys across the files of this table"))
    return table, problems


def _check_part(df: pd.DataFrame, path: Path, raw_dir: Path, spec: TableSpec, sink, check, problems: list,
                parts: list, shown: list, rows: list, findings: dict, n_rows: int) -> int:
    """Validate one file of a table (:func:`read_table`); keep it, or hand it to ``sink`` and keep its keys.
    Returns the number of rows streamed so far."""
    offset = df.attrs.get("row_offset", 2)
    plain = isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1
    rows.append((len(df), offset) if plain or df.index.dtype.kind != "i"
                else np.asarray(df.index, dtype=np.int64) + offset)
    typed, found = validate_table(df, spec, file=_display(path, raw_dir))
    del df
    problems.extend(found)
    shown.append(_display(path, raw_dir))
    if sink is not None:
        clean = not problems
        if check is not None and not found:
            for f in check(typed):
                findings[f.key] = findings[f.key].merged(f, n_rows) if f.key in findings else f.shifted(n_rows)
                clean = clean and not len(f.positions)
        if callable(sink) and clean:
            try:
                sink(typed)
            except ValidationError as exc:  # a rule of the consumer's own (the build's hotline stage)
                problems.extend(exc.problems)
        n_rows += len(typed)
        typed = typed[[k for k in spec.key if k in typed.columns]]
    parts.append(typed)
    return n_rows


def _duplicated_across(table: pd.DataFrame, key: list[str], rowmap: RowMap) -> np.ndarray:
    """Rows whose key an earlier row has, for a table whose files each have unique keys (checked before).

    One integer key whose files hold disjoint ranges of ids (yearly exports numbered on) cannot repeat across
    files: that is seen from each file's minimum and maximum, without hashing ten million keys.
    """
    if len(key) == 1 and pd.api.types.is_integer_dtype(table[key[0]]) and not table[key[0]].hasnans:
        v = table[key[0]].to_numpy()
        starts = rowmap.starts
        spans = sorted((v[a:b].min(), v[a:b].max()) for a, b in zip(starts[:-1], starts[1:]) if b > a)
        if all(hi < lo for (_, hi), (lo, _) in zip(spans[:-1], spans[1:])):
            return np.zeros(len(v), bool)
    return table.duplicated(key).to_numpy()  # pandas' hash table: less memory than sorting 10^7 keys


def _named(problem: Problem, path: Path, raw_dir: Path) -> Problem:
    """A reader's problem names the file by its base name; inside a table folder name it with the folder."""
    if problem.file == path.name:
        return Problem(_display(path, raw_dir), problem.row, problem.column, problem.value, problem.expected)
    return problem


def _key_text(s: pd.Series) -> pd.Series:
    """A key column as normalised text: 1024, 1024.0 and " 1024" all become "1024"."""
    if pd.api.types.is_integer_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.astype("Int64").astype("string").astype(object) if not pd.api.types.is_bool_dtype(s) \
            else s.astype(str)
    if pd.api.types.is_float_dtype(s):
        v = s.to_numpy(dtype=float)
        whole = np.isfinite(v) & (v == np.round(v))
        out = s.astype(str).to_numpy(dtype=object)
        out[whole] = v[whole].astype(np.int64).astype(str)
        out[np.isnan(v)] = None
        return pd.Series(out, index=s.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype):
        return s
    text = s.astype("string").str.strip()
    num = text.str.fullmatch(r"[+-]?\d+\.0+").fillna(False)
    if num.any():
        text = text.where(~num, text.str.replace(r"\.0+$", "", regex=True))
    return text.astype(object).where(text.notna(), None)


def _align_key_types(parts: list[pd.DataFrame], key: tuple[str, ...]) -> None:
    """Give every file's key columns one type: normalised text where the files disagree (int vs text ids)."""
    for k in key:
        kinds = {p[k].dtype.kind if not isinstance(p[k].dtype, pd.CategoricalDtype) else "c" for p in parts
                 if k in p.columns}
        if len(kinds) > 1 or kinds & {"f"}:
            for p in parts:
                if k in p.columns:
                    p[k] = _key_text(p[k])


def _display(path: Path, raw_dir: Path) -> str:
    try:
        return str(Path(path).relative_to(raw_dir))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------- the whole data set
@dataclass
class Dataset:
    """Every validated raw table, plus the framework and the files they came from."""

    tables: dict[str, pd.DataFrame]
    framework: Framework
    files: list[Path]
    meta: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, list[str]] = field(default_factory=dict)  # table -> its files, relative to the raw folder
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows (also of tables read file by file, not kept)

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))


def _reference_findings(df: pd.DataFrame, name: str, tables: dict[str, pd.DataFrame],
                        framework: Framework | None, lookup: dict) -> list[Finding]:
    """Values of ``df`` (table ``name``, or one file of it) that its spec's references do not know."""
    found: list[Finding] = []
    for col, (ref_table, ref_col) in SPECS[name].references.items():
        if col not in df.columns:
            continue
        if ref_table == "framework":
            if framework is None:
                continue
            known = set(framework.nodes["code"])
            what = f"a code of the framework ({framework.meta.get('name_en', 'framework')})"
        else:
            ref = tables.get(ref_table)
            if ref is None:
                continue
            key = (ref_table, ref_col)
            if key not in lookup:
                lookup[key] = set(ref[ref_col].dropna().astype(str))
            known = lookup[key]
            what = f"a {ref_col} listed in {ref_table}"
        values = df[col]
        if values.dtype.name == "category" or len(values) > 10_000:
            # the distinct values are looked up, then mapped to the rows (NA: not a reference, never unknown)
            codes, uniques = _factorize(values)
            ok_u = np.asarray(pd.Index(uniques.astype(str)).isin(list(known)), dtype=bool)
            bad = np.zeros(0, np.int64) if ok_u.all() else np.flatnonzero((codes >= 0) & ~ok_u[np.maximum(codes, 0)])
        else:
            present = values.notna().to_numpy()
            ok = values.astype(str).isin(known).to_numpy()
            bad = np.flatnonzero(present & ~ok)
        found.append(Finding(f"{name}.{col}", col, bad, [values.iloc[i] for i in bad[:100]],
                             f"unknown {col}: expected {what}", "{n} more unknown values", 100, summary_file=name))
    return found


def _reference_problems(tables: dict[str, pd.DataFrame], framework: Framework | None,
                        streamed: dict[str, tuple[RowMap, list[Finding]]] | None = None) -> list[Problem]:
    """References between tables; a table read file by file (``streamed``) brings its findings along."""
    problems: list[Problem] = []
    lookup: dict[tuple[str, str], set] = {}
    for name in SPECS:
        if streamed and name in streamed:
            where, found = streamed[name]
        elif tables.get(name) is not None:
            where = rowmap_of(tables[name], name)
            found = _reference_findings(tables[name], name, tables, framework, lookup)
        else:
            continue
        problems += [p for f in found for p in f.problems(where)]
    # A percent sign only makes sense for indicators measured in %.
    obs = tables.get("observations")
    if obs is not None and framework is not None and "_value_percent" in obs.columns:
        units_of = framework.nodes.set_index("code")["unit"]
        pct_rows = np.flatnonzero(obs["_value_percent"].to_numpy())
        where = rowmap_of(obs, "observations")
        for i in pct_rows[:100]:
            ind = obs["indicator"].iloc[i]
            if units_of.get(ind, "%") != "%":
                problems.append(Problem(*where.locate(i), "value",
                                        f"{obs['value'].iloc[i]:g}%",
                                        f"a plain number: indicator {ind} is measured in {units_of.get(ind)}, not %"))
    problems.extend(_survey_item_problems(tables))
    return problems


def _survey_item_problems(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """Every item column exists in the responses and holds scale values, missing codes or blanks."""
    items, resp = tables.get("survey_items"), tables.get("survey_responses")
    if items is None or resp is None:
        return []
    problems: list[Problem] = []
    where = rowmap_of(resp, "survey_responses")
    file = str(where)
    for row in items.itertuples(index=False):
        if row.item not in resp.columns:
            problems.append(Problem(file, None, row.item, None,
                                    f"item column '{row.item}' listed in survey_items is missing from the responses"))
            continue
        values, bad, _ = parse_numbers(resp[row.item])
        codes = [float(c) for c in str(row.missing_codes or "").replace(",", ";").split(";") if c.strip()]
        with np.errstate(invalid="ignore"):
            in_scale = (values >= row.scale_min) & (values <= row.scale_max) & (values == np.round(values))
        ok = np.isnan(values) & ~bad | in_scale | np.isin(values, codes)
        idx = np.flatnonzero(~ok)
        expected = f"a whole number from {row.scale_min} to {row.scale_max}" + (
            f", or a missing code ({row.missing_codes})" if codes else "") + ", or blank"
        for i in idx[:100]:
            problems.append(Problem(*where.locate(i), row.item, resp[row.item].iloc[i], "expected " + expected))
        if len(idx) > 100:
            problems.append(Problem(file, None, row.item, None, f"{len(idx) - 100} more values outside the scale"))
        resp[row.item] = values.astype("float32")
    return problems


def load_raw(raw_dir: str | Path, framework_path: str | Path | None = None,
             tables: Iterable[str] | None = None, progress: Callable[[str], None] | None = None,
             doorstep_options: dict | None = None, survey_options: dict | None = None,
             sinks: dict[str, Callable[[pd.DataFrame], None] | bool] | None = None) -> Dataset:
    """Read and validate every raw table in ``raw_dir``; raise one ValidationError with all problems.

    Parameters
    ----------
    raw_dir : folder with the raw tables (``data/raw``).
    framework_path : the framework file (default ``raw_dir/framework.yaml``).
    tables : restrict to these table names (default: all of :data:`SPECS`).
    progress : called with each table's name before it is read (for progress displays).
    doorstep_options : keyword arguments of :func:`govlib.data.rules.validate_doorstep` (``categories``,
        ``check_records``) from the ``doorstep`` settings; the tables are checked here, once.
    survey_options : keyword arguments of :func:`govlib.data.rules.validate_survey` (``strata``, ``psu``,
        ``weight``, ``lonely_psu``) from the ``survey`` settings, so that validate finds what the build would.
    sinks : tables read one file at a time and not kept (:func:`read_table`): table name -> a function given
        each file's validated rows (``False``: dropped). Every rule is checked as on the whole table; the table
        is missing from :attr:`Dataset.tables` and its number of rows is in :attr:`Dataset.rows`. Only
        ``hotline_tickets`` (a table folder of tens of millions of rows) is read this way.
    """
    import json

    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ValidationError([Problem(str(raw_dir), None, None, None,
                                       "raw data folder not found (run `govlib demo-data` or put your files there)")])
    problems: list[Problem] = []
    framework = None
    fw_path = Path(framework_path) if framework_path else raw_dir / "framework.yaml"
    try:
        # the build annualises by frequency and routes indicators by source: a district framework needs both
        framework = load_framework(fw_path, require=("frequency", "source"))
    except ValidationError as exc:
        problems.extend(exc.problems)
    loaded: dict[str, pd.DataFrame] = {}
    streamed: dict[str, pd.DataFrame] = {}  # tables read file by file: their keys, files, row counts, findings
    lookup: dict = {}
    files: list[Path] = [fw_path] if fw_path.exists() else []
    names = list(tables or SPECS)
    stream = [n for n in names if n in (sinks or {}) and n in _STREAM_RULES]
    from concurrent.futures import ThreadPoolExecutor

    # Two cores: the tables read whole are read and checked in one background thread, in order, while this
    # thread streams the ticket files (pyarrow and numpy release the GIL); results are taken in table order, so
    # the problems and their order are those of a sequential read.
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = {n: pool.submit(read_table, raw_dir, n) for n in names if n not in stream} if stream else {}
        for name in names:
            if progress:
                progress(name)
            if name in stream:
                rule = _STREAM_RULES[name]
                df, found = read_table(raw_dir, name, sink=sinks[name], check=lambda part, name=name, rule=rule: (
                    _reference_findings(part, name, loaded, framework, lookup) + rule(part, loaded.get("units"))))
            else:
                df, found = ahead.pop(name).result() if name in ahead else read_table(raw_dir, name)
            problems.extend(found)
            files.extend(find_table(raw_dir, name) if not found else [])
            if df is not None:
                (streamed if "rows" in df.attrs else loaded)[name] = df
    if "units" in loaded:
        problems.extend(validate_units(loaded["units"]))
    by_table = {name: (df.attrs["rowmap"], [f for f in df.attrs["findings"] if f.key.startswith(name + ".")])
                for name, df in streamed.items()}
    if not problems:
        problems.extend(_reference_problems(loaded, framework, by_table))
    if not problems and framework is not None and "observations" in loaded:
        problems.extend(validate_observations(loaded["observations"], framework.nodes))
    if not problems and "survey_responses" in loaded:
        problems.extend(validate_survey(loaded["survey_responses"], **(survey_options or {})))
    if not problems and "hotline_tickets" in loaded:
        problems.extend(validate_hotline(loaded["hotline_tickets"], loaded.get("units")))
    if not problems and "hotline_tickets" in streamed:
        where = streamed["hotline_tickets"].attrs["rowmap"]
        problems.extend(p for f in streamed["hotline_tickets"].attrs["findings"] if not f.key.startswith("hotline_tickets.")
                        for p in f.problems(where))
    if not problems and "doorstep_catalogue" in loaded:
        # Rules between the doorstep tables (a record dated before its item was ordered, ...).
        try:
            validate_doorstep(loaded, **(doorstep_options or {}))
        except ValidationError as exc:
            problems.extend(exc.problems)
    if not problems and any(t in loaded for t in ("conformity_standard", "conformity_inspections",
                                                   "doorstep_projects")):
        # No checklist in data/raw: the packaged illustrative one (validated by the same spec) is used.
        from .rules import validate_conformity
        from ..paths import package_data

        if "conformity_standard" not in loaded:
            std_file = package_data("conformity_standard.csv")
            std, found = validate_table(read_table_file(std_file), SPECS["conformity_standard"],
                                        file="conformity_standard.csv (packaged)")
            problems.extend(found)
            std.attrs["files"] = ["conformity_standard.csv (packaged)"]
            loaded["conformity_standard"] = std
            files.append(std_file)
        if not problems:
            problems.extend(validate_conformity(loaded))
    if problems:
        raise ValidationError(problems)
    for df in loaded.values():
        for c in [c for c in df.columns if c.startswith("_") and c.endswith("_percent")]:
            del df[c]
        df.attrs.pop("rowmap", None)  # positions change in the stages; messages are made here
    meta = {}
    meta_file = raw_dir / "DATASET.json"
    if meta_file.exists():
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationError([Problem("DATASET.json", exc.lineno, None, None, f"not valid JSON ({exc.msg})")])
        files.append(meta_file)
    else:
        meta = _unmarked_provenance(loaded)
    sources = {name: list(df.attrs.get("files", [])) for name, df in {**loaded, **streamed}.items()}
    rows = {name: len(df) for name, df in loaded.items()}
    rows.update({name: int(df.attrs["rows"]) for name, df in streamed.items()})
    return Dataset(tables=loaded, framework=framework, files=files, meta=meta, sources=sources, rows=rows)


def _unmarked_provenance(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Provenance when ``DATASET.json`` is missing: the demo's unit names say "(synthetic)"; else unknown.

    Examples
    --------
    >>> _unmarked_provenance({"units": pd.DataFrame({"name_en": ["Tangqiao Residents' Committee 1 (synthetic)"]})})
    {'synthetic': True, 'provenance': 'synthetic (the unit names say so; DATASET.json is missing)'}
    >>> _unmarked_provenance({})
    {'provenance': 'unknown (no DATASET.json in the raw folder)'}
    """
    units = tables.get("units")
    if units is not None:
        names = pd.concat([units[c].astype(str) for c in ("name_en", "name_zh") if c in units.columns]) \
            if any(c in units.columns for c in ("name_en", "name_zh")) else pd.Series(dtype=str)
        if names.str.contains("(synthetic)", regex=False).any() or names.str.contains("（示例）", regex=False).any():
            return {"synthetic": True, "provenance": "synthetic (the unit names say so; DATASET.json is missing)"}
    return {"provenance": "unknown (no DATASET.json in the raw folder)"}
