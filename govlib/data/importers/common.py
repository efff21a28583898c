"""What the three importers share: finding mapped columns, resolving unit names, mapping answers, the import log."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ...errors import Problem, format_value
from .mapping import MISSING, option_key
from .names import NameMatcher, clean_text
from .sheets import SheetTable, header_key, text_column

__all__ = ["ImportLog", "ImportResult", "start_import", "find_columns", "resolve_units", "map_options", "LOG_COLUMNS",
           "MAX_PROBLEMS_PER_COLUMN"]

LOG_COLUMNS = ["file", "row", "column", "value", "matched_to", "how"]
#: problems listed per column before "... and N more" (a wrong mapping would otherwise list every row)
MAX_PROBLEMS_PER_COLUMN = 20


@dataclass
class ImportLog:
    """Every decision that was not an exact match: fuzzy names, headers, stripped footnotes, columns left out."""

    rows: list[dict] = field(default_factory=list)

    def add(self, file: str, row, column, value, matched_to, how: str) -> None:
        self.rows.append({"file": file, "row": row, "column": column, "value": None if value is None else str(value),
                          "matched_to": None if matched_to is None else str(matched_to), "how": how})

    def frame(self) -> pd.DataFrame:
        """The log as a table; a decision about a whole column, repeated on every sheet, is listed once."""
        log = pd.DataFrame(self.rows, columns=LOG_COLUMNS)
        whole_column = log["row"].isna()
        repeated = whole_column & log.duplicated(["column", "value", "matched_to", "how"])
        return log[~repeated].reset_index(drop=True)


@dataclass
class ImportResult:
    """Raw tables made by an import (table name -> frame) and the log of what was not an exact match."""

    tables: dict[str, pd.DataFrame]
    log: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """One row per table written: name, rows, columns."""
        return pd.DataFrame([{"table": k, "rows": len(v), "columns": ", ".join(map(str, v.columns))}
                             for k, v in self.tables.items()])


def _capped(problems: list[Problem]) -> list[Problem]:
    by_column: dict = {}
    out = []
    for p in problems:
        n = by_column.get((p.file, p.column), 0)
        by_column[(p.file, p.column)] = n + 1
        if n < MAX_PROBLEMS_PER_COLUMN:
            out.append(p)
    for (file, column), n in by_column.items():
        if n > MAX_PROBLEMS_PER_COLUMN:
            out.append(Problem(file, None, column, None, f"... and {n - MAX_PROBLEMS_PER_COLUMN} more rows like these"))
    return out


def start_import(sheet, mapping: dict) -> tuple[SheetTable, ImportLog, list[Problem], dict[str, int]]:
    """The table under the sheet's header, a log that already lists hidden columns, and the mapped columns'
    positions (target -> position); problems so far (a mapped column not found) are in the list."""
    from .sheets import table_from_sheet

    problems: list[Problem] = []
    log = ImportLog()
    table = table_from_sheet(sheet, mapping.get("header_rows"), mapping.get("header_row"))
    for label in table.dropped_hidden:
        log.add(sheet.file, None, label, None, None, "hidden column not imported")
    return table, log, problems, find_columns(table, dict(mapping["columns"]), log, problems)


def find_columns(table: SheetTable, wanted: dict[str, str], log: ImportLog, problems: list[Problem],
                 what: str = "columns") -> dict[str, int]:
    """Position of each mapped source column (target -> position); a header matched only by its Chinese part or
    without its unit is logged; a header not found, or found twice, is a problem."""
    # a column is known by its whole header, or by any one of its header rows (the lower row of a two-row header
    # names the column; the upper one, merged across columns, names a group)
    parts = table.parts or [[label] for label in table.labels]
    full = [{clean_text(label)} | {clean_text(p) for p in ps} for label, ps in zip(table.labels, parts)]
    keys = [{header_key(label)} | {header_key(p) for p in ps} for label, ps in zip(table.labels, parts)]
    out = {}
    for target, header in wanted.items():
        if header is None or header == "":
            continue
        want = clean_text(header)
        hits = [i for i, f in enumerate(full) if want in f]
        how = "exact"
        if not hits:
            want_key = header_key(header)
            hits = [i for i, k in enumerate(keys) if want_key in k]
            how = "header"
        if len(hits) == 1:
            out[target] = hits[0]
            if how != "exact":
                log.add(table.sheet.file, None, table.labels[hits[0]], table.labels[hits[0]], f"{what}.{target}",
                        "header matched by its Chinese text without spaces, line breaks or unit")
        elif not hits:
            problems.append(Problem(table.sheet.file, None, str(header), None,
                                    f"a column headed {header!r} for {what}.{target} (the headers are: "
                                    f"{', '.join(repr(h) for h in table.labels if h)[:400]})"))
        else:
            problems.append(Problem(table.sheet.file, None, str(header), None,
                                    f"one column headed {header!r} (found {len(hits)}: columns "
                                    f"{', '.join(str(h + 1) for h in hits)})"))
    return out


def resolve_units(table: SheetTable, values: pd.Series, matcher: NameMatcher, log: ImportLog,
                  problems: list[Problem], column: str, level: str, parents: np.ndarray | None = None,
                  skip: np.ndarray | None = None) -> np.ndarray:
    """Unit codes for written names (object array, None where unresolved); restricted to ``level`` (and to the
    children of ``parents`` when given); every non-exact match logged, every failure a problem."""
    units = matcher.units
    level_codes = set(units.loc[units["level"] == level, "code"]) if "level" in units else set(units["code"])
    children: dict[str, set] = {}
    if parents is not None and "parent" in units:
        for code, parent in zip(units["code"], units["parent"].astype(str)):
            children.setdefault(parent, set()).add(code)
    # one match per distinct (name, parent) pair: a million tickets cost what their few thousand names cost
    raw = pd.Series(values, dtype=object).reset_index(drop=True)
    keys = pd.DataFrame({"name": raw.where(raw.notna(), "").astype(str),
                         "parent": pd.Series(parents, dtype=object).fillna("") if parents is not None else ""})
    skipped = skip if skip is not None else np.zeros(len(values), bool)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    out_unique = np.full(len(uniques), None, dtype=object)
    first_row = pd.Series(np.arange(len(values)))[~skipped].groupby(codes[~skipped]).min()
    counts = np.bincount(codes[~skipped], minlength=len(uniques))
    for k, i in first_row.items():
        name, parent = uniques[k]
        name, parent = clean_text(name), parent or None
        within = level_codes & children.get(parent, set()) if parents is not None and parent else (
            level_codes if parents is None else set())
        m = matcher.match_one(name, within)
        if m.code is not None:
            out_unique[k] = m.code
            if m.how != "exact":
                log.add(table.sheet.file, int(table.rows[i]), column, raw.iloc[i], f"{m.code} {matcher.name_of(m.code)}",
                        f"unit name ({m.how})" + (f", {counts[k]} rows" if counts[k] > 1 else ""))
            continue
        rows_k = np.flatnonzero((codes == k) & ~skipped)  # only for names that failed: their rows are listed
        if len(rows_k) > MAX_PROBLEMS_PER_COLUMN:
            problems.append(Problem(table.sheet.file, None, column, name,
                                    f"... this name is on {len(rows_k) - MAX_PROBLEMS_PER_COLUMN} more rows"))
        for r in rows_k[:MAX_PROBLEMS_PER_COLUMN]:
            shown = raw.iloc[r]
            if not name:
                problems.append(Problem(table.sheet.file, int(table.rows[r]), column, None, f"a {level} name (empty)"))
            elif parents is not None and not parent:
                problems.append(Problem(table.sheet.file, int(table.rows[r]), column, shown,
                                        f"a {level} whose 街镇 is known (the 街镇 column of this row is not)"))
            elif m.candidates:
                problems.append(Problem(table.sheet.file, int(table.rows[r]), column, shown,
                                        f"one {level} (the name fits {len(m.candidates)}: "
                                        f"{', '.join(f'{c} {matcher.name_of(c)}' for c in m.candidates)}); "
                                        f"add it under names: in the mapping"))
            else:
                problems.append(Problem(table.sheet.file, int(table.rows[r]), column, shown,
                                        f"the name of a {level} in the unit registry (none matches; add it under "
                                        f"names: in the mapping with its 12-digit code)"))
    out = np.where(skipped, None, out_unique[codes]).astype(object)
    return out


def map_options(table: SheetTable, values: pd.Series, options: dict, column: str, problems: list[Problem],
                numeric_ok: tuple[float, float] | None = None, missing_value=None,
                pass_through: tuple = ()) -> np.ndarray:
    """Map answer/category text through ``options`` (keys compared by :func:`option_key`). ``numeric_ok``: numbers
    within (low, high) pass as they are; ``pass_through``: values already in the target vocabulary pass."""
    table_keys = {option_key(k): v for k, v in (options or {}).items()}
    raw_codes, raw_uniques = pd.factorize(text_column(values))  # distinct cells first, then their keys
    key_codes, uniques = pd.factorize(pd.Series([option_key(u) for u in raw_uniques], dtype=object))
    codes = key_codes[raw_codes] if len(raw_codes) else raw_codes
    mapped = np.full(len(uniques), None, dtype=object)
    bad_keys = []
    for k, key in enumerate(uniques):
        if key == "":
            continue
        if key in table_keys:
            v = table_keys[key]
            mapped[k] = missing_value if v == MISSING else v
        elif key in pass_through:
            mapped[k] = key
        else:
            number = None
            if numeric_ok is not None:
                try:
                    number = float(key)
                except ValueError:
                    number = None
            if number is not None and numeric_ok[0] <= number <= numeric_ok[1]:
                mapped[k] = number
            else:
                bad_keys.append(k)
    out = mapped[codes] if len(values) else np.array([], dtype=object)
    known = ", ".join(repr(k) for k in table_keys) or "(no options mapped)"
    for k in bad_keys:
        rows_k = np.flatnonzero(codes == k)
        if len(rows_k) > MAX_PROBLEMS_PER_COLUMN:
            problems.append(Problem(table.sheet.file, None, column, uniques[k],
                                    f"... this answer is on {len(rows_k) - MAX_PROBLEMS_PER_COLUMN} more rows"))
        for i in rows_k[:MAX_PROBLEMS_PER_COLUMN]:
            problems.append(Problem(table.sheet.file, int(table.rows[i]), column, uniques[k],
                                    f"an answer the mapping knows: one of {known}"[:300]
                                    + (f", or a number from {numeric_ok[0]:g} to {numeric_ok[1]:g}"
                                       if numeric_ok else "")))
    return out


def capped(problems: list[Problem]) -> list[Problem]:
    """At most :data:`MAX_PROBLEMS_PER_COLUMN` problems per file and column, then a count of the rest."""
    return _capped(problems)


def show(value) -> str:
    return format_value(value)
