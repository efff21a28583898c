"""Rules between raw tables, applied once when the data come in (:func:`govlib.data.schema.load_raw`).

A table's own rules (types, ranges, keys) live in its :class:`~govlib.data.schema.TableSpec`; what needs two
tables at once lives here: the doorstep (家门口) catalogue, menus, records, stations and evaluations against each
other and the unit registry. The doorstep standard's fixed vocabularies (:data:`TIERS`, :data:`MEETINGS`,
:data:`CATEGORIES`) are defined here because validation needs them; :mod:`govlib.services.doorstep` uses them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import Problem, ValidationError
from .tabular import category_codes

__all__ = ["TIERS", "MEETINGS", "CATEGORIES", "MAX_ROW_PROBLEMS", "validate_doorstep", "file_name_of",
           "row_problems", "require_columns", "month_code_from_text", "month_code_from_dates", "month_text"]


TIERS = ("bottom_line", "basic", "quality")


MEETINGS = ("hearing", "coordination", "evaluation")


#: The 7 service categories of the 2018 standard: slug -> (Chinese, English). The catalogue may use any of the three.
CATEGORIES: dict[str, tuple[str, str]] = {
    "party": ("党群服务", "Party and public services"),
    "government": ("政务服务", "Government affairs"),
    "daily_life": ("生活服务", "Daily-life services"),
    "legal": ("法律服务", "Legal services"),
    "health": ("健康服务", "Health services"),
    "culture": ("文化服务", "Cultural services"),
    "community": ("社区管理服务", "Community management services"),
}


MAX_ROW_PROBLEMS = 50


# ----------------------------------------------------------------------------------------------- helpers
def file_name_of(df: pd.DataFrame, table: str) -> str:
    files = df.attrs.get("files") if hasattr(df, "attrs") else None
    return files[0] if isinstance(files, list) and len(files) == 1 else table


def row_problems(file: str, positions, column: str, values, expected: str) -> list[Problem]:
    """One Problem per offending 0-based position (row = position + 2), at most ``MAX_ROW_PROBLEMS`` and a summary.

    ``values`` is the whole column (a Series, indexed here by position) or the offending values already picked.
    """
    positions = np.asarray(positions)
    if positions.size == 0:
        return []
    shown = positions[:MAX_ROW_PROBLEMS]
    if isinstance(values, pd.Series):
        picked = values.iloc[shown].to_numpy(dtype=object)
    else:
        picked = np.asarray(values, dtype=object)[: len(shown)]
    out = [Problem(file, int(p) + 2, column, picked[k], expected) for k, p in enumerate(shown)]
    if len(positions) > MAX_ROW_PROBLEMS:
        out.append(Problem(file, None, column, None,
                           f"{len(positions) - MAX_ROW_PROBLEMS} more rows with the same problem ({expected})"))
    return out


def require_columns(df: pd.DataFrame | None, table: str, columns: list[str]) -> list[Problem]:
    if df is None:
        return [Problem(table, None, None, None, "table is missing")]
    return [Problem(file_name_of(df, table), 1, c, None, f"required column '{c}' is missing")
            for c in columns if c not in df.columns]


def month_code_from_text(s: pd.Series) -> np.ndarray:
    """'2024-07' -> 2024*12+6 as float; NaN for empty or malformed text."""
    t = s.astype("string").str.strip()
    ok = t.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").fillna(False).to_numpy(dtype=bool)
    out = np.full(len(t), np.nan)
    if ok.any():
        tt = t[ok]
        out[ok] = tt.str.slice(0, 4).astype(int).to_numpy() * 12 + tt.str.slice(5, 7).astype(int).to_numpy() - 1
    return out


def month_code_from_dates(s: pd.Series) -> np.ndarray:
    d = s if pd.api.types.is_datetime64_any_dtype(s) else pd.to_datetime(s, errors="coerce", format="mixed")
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float)


def month_text(code) -> np.ndarray:
    code = np.asarray(code, dtype=np.int64)
    return np.char.add(np.char.add((code // 12).astype(str), "-"), np.char.zfill((code % 12 + 1).astype(str), 2))


# ----------------------------------------------------------------------------------------------- validation
def validate_doorstep(tables: dict[str, pd.DataFrame], categories: list[str] | None = None,
                      n_categories: int = 7, check_records: bool = True) -> None:
    """Check the doorstep tables against each other and the unit registry; raise all problems at once.

    Checks: the catalogue's ids (present, unique), tiers (:data:`TIERS`), categories (at most ``n_categories``;
    each one of ``categories`` — default any spelling in :data:`CATEGORIES`), departments; menus, records,
    stations and evaluations name communities of the registry and (menus, records) items of the catalogue;
    menu months are ``YYYY-MM`` with ``to_period >= from_period``; no duplicated menu row (community, item,
    from_period); no record dated before the community ordered the item or for an item it never ordered.

    Parameters
    ----------
    tables : ``units`` and ``doorstep_catalogue`` plus any of ``doorstep_menus``, ``doorstep_records``,
        ``doorstep_stations``, ``doorstep_evaluations``.
    categories : allowed category names (default: the slugs, Chinese and English names of :data:`CATEGORIES`).
    check_records : check each record against the menu (the expensive check on large record tables).

    Raises
    ------
    ValidationError
        listing every problem as ``Problem(file, row, column, value, expected)``; ``row`` is the row a person
        sees in the file (header = row 1, first data row = row 2).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["310115004000", "310115004001"], "level": ["subdistrict", "community"],
    ...                       "parent": ["310115000000", "310115004000"]})
    >>> cat = pd.DataFrame({"item_id": ["A1"], "name_zh": ["x"], "category": ["健康服务"], "tier": ["basic"],
    ...                     "department": ["卫健委"]})
    >>> menus = pd.DataFrame({"community": ["310115004001"], "item_id": ["B9"], "from_period": ["2020-01"]})
    >>> try:
    ...     validate_doorstep({"units": units, "doorstep_catalogue": cat, "doorstep_menus": menus})
    ... except ValidationError as e:
    ...     print(e.problems[0])
    doorstep_menus, row 2, column 'item_id': value 'B9': an item_id of doorstep_catalogue
    """
    units = tables.get("units")
    catalogue = tables.get("doorstep_catalogue")
    problems = require_columns(units, "units", ["code", "level", "parent"])
    problems += require_columns(catalogue, "doorstep_catalogue", ["item_id", "name_zh", "category", "tier", "department"])
    if problems:
        raise ValidationError(problems)
    if categories is None:
        allowed_cat = {s.lower() for k, (zh, en) in CATEGORIES.items() for s in (k, zh, en)}
    else:
        allowed_cat = {str(c).lower() for c in categories}

    # catalogue
    f = file_name_of(catalogue, "doorstep_catalogue")
    ids = catalogue["item_id"].astype("string").str.strip()
    bad = np.flatnonzero((ids.isna() | (ids == "")).to_numpy(dtype=bool))
    problems += row_problems(f, bad, "item_id", catalogue["item_id"], "an item id (required)")
    dup = np.flatnonzero(ids.duplicated(keep="first").to_numpy() & ids.notna().to_numpy(dtype=bool))
    problems += row_problems(f, dup, "item_id", ids, "a unique item id (this one is repeated)")
    tiers = catalogue["tier"].astype("string").str.strip()
    bad = np.flatnonzero(~tiers.isin(TIERS).fillna(False).to_numpy(dtype=bool))
    problems += row_problems(f, bad, "tier", catalogue["tier"], "one of " + ", ".join(TIERS))
    cats = catalogue["category"].astype("string").str.strip()
    bad = np.flatnonzero(~cats.str.lower().isin(allowed_cat).fillna(False).to_numpy(dtype=bool))
    problems += row_problems(f, bad, "category", catalogue["category"],
                          "one of the 7 service categories (" + ", ".join(v[0] for v in CATEGORIES.values()) + ")")
    n_cat = cats.dropna().nunique()
    if n_cat > n_categories:
        problems.append(Problem(f, None, "category", None,
                                f"{n_cat} distinct categories; the standard has {n_categories}"))
    for col in ("department", "name_zh"):
        v = catalogue[col].astype("string").str.strip()
        bad = np.flatnonzero((v.isna() | (v == "")).to_numpy(dtype=bool))
        problems += row_problems(f, bad, col, catalogue[col], f"a {col} (required)")

    codes = units["code"].astype(str)
    community_codes = pd.Index(codes[units["level"].astype(str) == "community"].unique())
    item_index = pd.Index(ids.dropna().unique())

    def check_units(df, file, column="community"):
        bad = np.flatnonzero(category_codes(df[column], community_codes) < 0)
        return row_problems(file, bad, column, df[column],
                         "a community code of the unit registry (units, level 'community')")

    def check_items(df, file):
        bad = np.flatnonzero(category_codes(df["item_id"], item_index) < 0)
        return row_problems(file, bad, "item_id", df["item_id"], "an item_id of doorstep_catalogue")

    menus = tables.get("doorstep_menus")
    first_from = None
    if menus is not None:
        f = file_name_of(menus, "doorstep_menus")
        req = require_columns(menus, "doorstep_menus", ["community", "item_id", "from_period"])
        problems += req
        if not req:
            problems += check_units(menus, f)
            problems += check_items(menus, f)
            fm = month_code_from_text(menus["from_period"])
            bad = np.flatnonzero(np.isnan(fm))
            problems += row_problems(f, bad, "from_period", menus["from_period"], "a month such as 2019-03")
            if "to_period" in menus:
                raw = menus["to_period"]
                tm = month_code_from_text(raw)
                empty = (raw.isna() | (raw.astype("string").str.strip().isin(["", "NA", "-", "—"]))).fillna(True)
                bad = np.flatnonzero(np.isnan(tm) & ~empty.to_numpy(dtype=bool))
                problems += row_problems(f, bad, "to_period", raw, "a month such as 2024-06, or empty")
                with np.errstate(invalid="ignore"):
                    bad = np.flatnonzero(tm < fm)
                problems += row_problems(f, bad, "to_period", raw, "a month not before from_period")
            key = pd.DataFrame({"c": menus["community"].astype(str), "i": menus["item_id"].astype(str),
                                "f": menus["from_period"].astype(str)})
            dup = key.duplicated(keep="first").to_numpy()
            if dup.any():
                first_row = key.reset_index().drop_duplicates(["c", "i", "f"]).set_index(["c", "i", "f"])["index"]
                pos = np.flatnonzero(dup)
                firsts = first_row.reindex(pd.MultiIndex.from_frame(key.iloc[pos])).to_numpy() + 2
                vals = (key["c"] + " / " + key["i"] + " / " + key["f"]).to_numpy()[pos]
                for k, (p, v) in enumerate(zip(pos[:MAX_ROW_PROBLEMS], vals)):
                    problems.append(Problem(f, int(p) + 2, "community, item_id, from_period", v,
                                            f"a menu row given once (duplicate of row {int(firsts[k])})"))
                if len(pos) > MAX_ROW_PROBLEMS:
                    problems.append(Problem(f, None, "community, item_id, from_period", None,
                                            f"{len(pos) - MAX_ROW_PROBLEMS} more duplicated menu rows"))
            ok = ~np.isnan(fm)
            first_from = (pd.DataFrame({"c": key["c"][ok], "i": key["i"][ok], "m": fm[ok]})
                          .groupby(["c", "i"])["m"].min())

    records = tables.get("doorstep_records")
    if records is not None:
        f = file_name_of(records, "doorstep_records")
        req = require_columns(records, "doorstep_records", ["community", "item_id", "date", "count"])
        problems += req
        if not req:
            problems += check_units(records, f)
            problems += check_items(records, f)
            rm = month_code_from_dates(records["date"])
            bad = np.flatnonzero(np.isnan(rm))
            problems += row_problems(f, bad, "date", records["date"], "a date such as 2024-07-01")
            cnt = pd.to_numeric(records["count"], errors="coerce").to_numpy(dtype=float)
            bad = np.flatnonzero(~(cnt >= 0))
            problems += row_problems(f, bad, "count", records["count"], "a number of services >= 0")
            if check_records and first_from is not None and len(first_from):
                # integer keys instead of a string merge: records can have millions of rows
                cc = category_codes(records["community"], community_codes)
                ic = category_codes(records["item_id"], item_index)
                ff = first_from.reset_index()
                fc = category_codes(ff["c"], community_codes)
                fi = category_codes(ff["i"], item_index)
                grid = np.full((len(community_codes), len(item_index)), np.inf)
                okf = (fc >= 0) & (fi >= 0)
                grid[fc[okf], fi[okf]] = ff["m"].to_numpy()[okf]
                okr = (cc >= 0) & (ic >= 0) & ~np.isnan(rm)
                first = np.full(len(records), np.nan)
                first[okr] = grid[cc[okr], ic[okr]]
                never = np.flatnonzero(okr & np.isinf(first))
                early = np.flatnonzero(okr & np.isfinite(first) & (rm < first))
                if never.size:
                    shown = never[:MAX_ROW_PROBLEMS]
                    vals = (records["community"].iloc[shown].astype(str) + " / "
                            + records["item_id"].iloc[shown].astype(str)).to_numpy()
                    problems += row_problems(f, never, "item_id", vals,
                                          "an item on the community's menu (doorstep_menus has no row for it)")
                if early.size:
                    ordered = month_text(first[early].astype(np.int64))
                    dates = records["date"].to_numpy()[early]
                    for k, p in enumerate(early[:MAX_ROW_PROBLEMS]):
                        problems.append(Problem(f, int(p) + 2, "date", dates[k],
                                                f"a date on or after the month the item was ordered "
                                                f"({ordered[k]}, doorstep_menus)"))
                    if early.size > MAX_ROW_PROBLEMS:
                        problems.append(Problem(f, None, "date", None, f"{early.size - MAX_ROW_PROBLEMS} more "
                                                "records dated before the item was ordered"))

    stations = tables.get("doorstep_stations")
    if stations is not None:
        f = file_name_of(stations, "doorstep_stations")
        req = require_columns(stations, "doorstep_stations", ["community", "year", "has_station"])
        problems += req
        if not req:
            problems += check_units(stations, f)
            dup = np.flatnonzero(stations.duplicated(["community", "year"], keep="first").to_numpy())
            vals = (stations["community"].astype(str) + " / " + stations["year"].astype(str)).to_numpy()
            problems += row_problems(f, dup, "community, year", vals[dup], "one row per community and year")

    evaluations = tables.get("doorstep_evaluations")
    if evaluations is not None:
        f = file_name_of(evaluations, "doorstep_evaluations")
        req = require_columns(evaluations, "doorstep_evaluations", ["community", "project_id", "meeting", "date"])
        problems += req
        if not req:
            problems += check_units(evaluations, f)
            mt = evaluations["meeting"].astype("string").str.strip()
            bad = np.flatnonzero(~mt.isin(MEETINGS).fillna(False).to_numpy(dtype=bool))
            problems += row_problems(f, bad, "meeting", evaluations["meeting"],
                                  "one of " + ", ".join(MEETINGS))
            dm = month_code_from_dates(evaluations["date"])
            bad = np.flatnonzero(np.isnan(dm))
            problems += row_problems(f, bad, "date", evaluations["date"], "a date such as 2024-07-01")
            if "rating" in evaluations:
                r = pd.to_numeric(evaluations["rating"], errors="coerce").to_numpy(dtype=float)
                bad = np.flatnonzero(~np.isnan(r) & ((r < 0) | (r > 100)))
                problems += row_problems(f, bad, "rating", evaluations["rating"], "a rating 0-100")
    if problems:
        raise ValidationError(problems)
