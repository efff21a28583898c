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
from .rows import Finding, RowMap, locate, rowmap_of
from .tabular import category_codes

__all__ = ["TIERS", "MEETINGS", "CATEGORIES", "MAX_ROW_PROBLEMS", "validate_doorstep", "file_name_of",
           "row_problems", "require_columns", "month_code_from_text", "month_code_from_dates", "month_text",
           "KIND_LEVEL", "UNIT_RANGES", "validate_units", "validate_observations", "validate_survey",
           "validate_hotline", "hotline_findings"]
__all__ += ["RESULTS", "CHECKS", "derive_results", "validate_conformity"]


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
def file_name_of(df: pd.DataFrame, table: str) -> RowMap:
    """Where the rows of ``df`` came from (a :class:`~govlib.data.rows.RowMap`; ``str()`` gives the file name)."""
    return rowmap_of(df, table)


def row_problems(file: str, positions, column: str, values, expected: str) -> list[Problem]:
    """One Problem per offending 0-based position, at most ``MAX_ROW_PROBLEMS`` and a summary.

    ``file`` is a :class:`~govlib.data.rows.RowMap` (each position is named by its file and row as seen there) or
    a file name (row = position + 2).

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
    out = [Problem(*locate(file, p), column, picked[k], expected) for k, p in enumerate(shown)]
    if len(positions) > MAX_ROW_PROBLEMS:
        out.append(Problem(str(file), None, column, None,
                           f"{len(positions) - MAX_ROW_PROBLEMS} more rows with the same problem ({expected})"))
    return out


def require_columns(df: pd.DataFrame | None, table: str, columns: list[str]) -> list[Problem]:
    if df is None:
        return [Problem(table, None, None, None, "table is missing")]
    return [Problem(str(file_name_of(df, table)), 1, c, None, f"required column '{c}' is missing")
            for c in columns if c not in df.columns]


def month_code_from_text(s: pd.Series) -> np.ndarray:
    """'2024-07' -> 2024*12+6 as float; NaN for empty or malformed text.

    A long column that repeats a few months (menus: 178,000 rows) is parsed once per distinct value.

    Examples
    --------
    >>> month_code_from_text(pd.Series(["2024-07", " 2024-01", "2024-13", None])).tolist()
    [24294.0, 24288.0, nan, nan]
    """
    if len(s) > 10_000:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if len(uniques) <= len(s) // 2:
            out_u = np.append(month_code_from_text(pd.Series(np.asarray(uniques, dtype=object), dtype=object)),
                              np.nan)
            return out_u[np.where(codes < 0, len(uniques), codes)]
    t = s.astype("string").str.strip()
    ok = t.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").fillna(False).to_numpy(dtype=bool)
    out = np.full(len(t), np.nan)
    if ok.any():
        tt = t[ok]
        out[ok] = tt.str.slice(0, 4).astype(int).to_numpy() * 12 + tt.str.slice(5, 7).astype(int).to_numpy() - 1
    return out


def month_code_from_dates(s: pd.Series) -> np.ndarray:
    """A date -> year*12 + month - 1 as float; NaN for a missing or unreadable date.

    >>> month_code_from_dates(pd.Series(pd.to_datetime(["2024-07-31", None, "1969-12-01"]))).tolist()
    [24294.0, nan, 23639.0]
    """
    d = s if pd.api.types.is_datetime64_any_dtype(s) else pd.to_datetime(s, errors="coerce", format="mixed")
    if isinstance(d.dtype, np.dtype):  # plain datetime64 (no time zone): months since 1970 in numpy
        a = d.to_numpy()
        months = a.astype("datetime64[M]").astype(np.int64) + 1970 * 12
        return np.where(np.isnat(a), np.nan, months.astype(float))
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
        problems.append(Problem(str(f), None, "category", None,
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
                    problems.append(Problem(*locate(f, p), "community, item_id, from_period", v,
                                            f"a menu row given once (duplicate of row "
                                            f"{locate(f, int(firsts[k]) - 2)[1]})"))
                if len(pos) > MAX_ROW_PROBLEMS:
                    problems.append(Problem(str(f), None, "community, item_id, from_period", None,
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
                        problems.append(Problem(*locate(f, p), "date", dates[k],
                                                f"a date on or after the month the item was ordered "
                                                f"({ordered[k]}, doorstep_menus)"))
                    if early.size > MAX_ROW_PROBLEMS:
                        problems.append(Problem(str(f), None, "date", None, f"{early.size - MAX_ROW_PROBLEMS} more "
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


# ----------------------------------------------------------------------------------------------- units, observations
#: The level each kind of unit sits at; the hierarchy runs district > subdistrict (街镇) > community (居村委).
KIND_LEVEL = {"区": "district", "街道": "subdistrict", "镇": "subdistrict", "开发区": "subdistrict",
              "农场": "subdistrict", "居委": "community", "村委": "community", "benchmark": "benchmark"}
LEVEL_RANK = {"district": 0, "subdistrict": 1, "community": 2}


def validate_units(units: pd.DataFrame) -> list[Problem]:
    """The unit hierarchy is a tree of the right shape; returns the problems (row by row).

    Checks: no unit is its own parent; no parent chain loops; ``kind`` matches ``level`` (:data:`KIND_LEVEL`);
    a community has a parent (an XLSX with merged ``parent`` cells leaves them empty) and every parent sits one
    level up (a community's parent is a 街镇, a 街镇's the district).

    Examples
    --------
    >>> u = pd.DataFrame({"code": ["310115000000", "310115004000", "310115004001"],
    ...                   "level": ["district", "subdistrict", "community"], "kind": ["区", "街道", "街道"],
    ...                   "parent": [None, "310115000000", "310115004001"]})
    >>> for p in validate_units(u): print(p)
    units, row 4, column 'parent': value '310115004001': a parent other than the unit itself
    units, row 4, column 'kind': value '街道': a kind of level community (居委, 村委); 街道 is a kind of level subdistrict
    """
    if not {"code", "parent", "level"} <= set(units.columns) or len(units) == 0:
        return []
    where = rowmap_of(units, "units")
    def text(s: pd.Series) -> np.ndarray:
        return s.astype("string").str.strip().fillna("").to_numpy(dtype=object)

    code, parent, level = text(units["code"]), text(units["parent"]), text(units["level"])
    parent_raw = units["parent"]
    has_parent = parent != ""
    problems: list[Problem] = []
    own = np.flatnonzero(has_parent & (parent == code))
    problems += row_problems(where, own, "parent", parent_raw, "a parent other than the unit itself")
    if "kind" in units.columns:
        kind = text(units["kind"])
        expected = np.array([KIND_LEVEL.get(k) for k in kind], dtype=object)
        bad = np.flatnonzero((expected != None) & (expected != level))  # noqa: E711 (elementwise)
        for p in bad[:MAX_ROW_PROBLEMS]:
            kinds_here = ", ".join(k for k, lv in KIND_LEVEL.items() if lv == level[p])
            problems.append(Problem(*locate(where, p), "kind", kind[p],
                                    f"a kind of level {level[p]} ({kinds_here or 'none'}); {kind[p]} is a kind of "
                                    f"level {expected[p]}"))
    pos = pd.Index(code).get_indexer(pd.Index(parent))
    pos = np.where(has_parent, pos, -1)
    level = level.astype(str)
    rank = np.array([LEVEL_RANK.get(v, -9) for v in level])
    needs = np.flatnonzero((rank == 2) & ~has_parent)
    problems += row_problems(where, needs, "parent", parent_raw,
                             "the code of the community's 街镇 (empty: merged cells in a spreadsheet leave every "
                             "cell but the first empty — unmerge and fill them)")
    known = (pos >= 0) & (parent != code)
    prank = np.where(known, rank[np.where(pos >= 0, pos, 0)], -9)
    wrong = np.flatnonzero(known & (rank > 0) & (prank > -9) & (prank != rank - 1))
    for p in wrong[:MAX_ROW_PROBLEMS]:
        want = {1: "the district", 2: "a 街镇 (level subdistrict)"}.get(int(rank[p]), "one level up")
        problems.append(Problem(*locate(where, p), "parent", parent[p],
                                f"{want}: unit {parent[p]} is of level {level[pos[p]]}"))
    # Loops of any length: after 2^k >= n steps up, a unit that still has an ancestor is on or under a cycle.
    anc = np.where(known, pos, -1)
    for _ in range(int(np.ceil(np.log2(max(len(anc), 2)))) + 1):
        anc = np.where(anc >= 0, anc[np.where(anc >= 0, anc, 0)], -1)
    loops = np.flatnonzero(anc >= 0)
    problems += row_problems(where, loops, "parent", parent_raw,
                             "a parent chain that ends at the top of the hierarchy; this one loops back on itself")
    return problems


#: Units of measurement in the framework and the values they allow.
UNIT_RANGES = {"%": (0.0, 100.0), "score 0-100": (0.0, 100.0)}


def validate_observations(obs: pd.DataFrame, nodes: pd.DataFrame) -> list[Problem]:
    """Observations are for the framework's indicators (leaves) and within the range their unit implies.

    Values of an indicator measured in ``%`` (or ``score 0-100``) lie in [0, 100]; rates (``per 10k``) and counts
    are not negative. A ``%`` indicator whose values all lie in [0, 1] is a problem with a hint: Excel cells
    formatted as percent store 0.883 for what they show as 88.3%.

    Examples
    --------
    >>> nodes = pd.DataFrame({"code": ["SGI", "D1", "D1.1"], "parent": [None, "SGI", "D1"], "unit": ["", "", "%"]})
    >>> obs = pd.DataFrame({"unit": ["310115004000"] * 3, "period": ["2024"] * 3, "indicator": ["D1", "D1.1", "D1.1"],
    ...                     "value": [50.0, 885.0, 30.0]})
    >>> for p in validate_observations(obs, nodes): print(p)
    observations, row 2, column 'indicator': value 'D1': an indicator (a leaf of the framework); D1 is computed from its indicators
    observations, row 3, column 'value': value 885.0: a value from 0 to 100 (indicator D1.1 is measured in %)
    """
    if not {"indicator", "value"} <= set(obs.columns) or "code" not in nodes.columns:
        return []
    where = rowmap_of(obs, "observations")
    parents = set(nodes["parent"].dropna().astype(str)) if "parent" in nodes.columns else set()
    inner = pd.Index(sorted(set(nodes["code"].astype(str)) & parents))
    ind = obs["indicator"]
    problems = row_problems(where, np.flatnonzero(category_codes(ind, inner) >= 0), "indicator", ind, "")
    problems = [Problem(p.file, p.row, p.column, p.value,
                        f"an indicator (a leaf of the framework); {p.value} is computed from its indicators")
                if p.row is not None else p for p in problems]
    if "unit" not in nodes.columns:
        return problems
    value = pd.to_numeric(obs["value"], errors="coerce").to_numpy(dtype=float)
    unit_of = nodes.set_index(nodes["code"].astype(str))["unit"].astype(str)
    codes = pd.Index(unit_of.index)
    which = category_codes(ind, codes)
    units = np.append(unit_of.to_numpy(dtype=object), "")[which]
    had_pct = obs["_value_percent"].to_numpy(dtype=bool) if "_value_percent" in obs.columns \
        else np.zeros(len(obs), bool)
    for unit in sorted(set(units[which >= 0])):
        rows = units == unit
        lo, hi = UNIT_RANGES.get(unit, (0.0 if unit.startswith(("per ", "items", "meetings", "projects",
                                                                      "accidents")) else -np.inf, np.inf))
        with np.errstate(invalid="ignore"):
            off = np.flatnonzero(rows & ((value < lo) | (value > hi)))
        expected = f"a value from {lo:g} to {hi:g}" if np.isfinite(hi) else f"a value of at least {lo:g}"
        for p in off[:MAX_ROW_PROBLEMS]:
            problems.append(Problem(*locate(where, p), "value", value[p],
                                    f"{expected} (indicator {ind.iloc[p]} is measured in {unit})"))
        if len(off) > MAX_ROW_PROBLEMS:
            problems.append(Problem(str(where), None, "value", None,
                                    f"{len(off) - MAX_ROW_PROBLEMS} more values outside the range of their unit"))
    # Fractions where percent points are expected, per % indicator.
    pct = (units == "%") & ~np.isnan(value)
    if pct.any():
        frame = pd.DataFrame({"i": ind.astype(str).to_numpy()[pct], "v": value[pct], "pos": np.flatnonzero(pct),
                              "sign": had_pct[pct]})
        g = frame.groupby("i", sort=True)
        summary = pd.DataFrame({"lo": g["v"].min(), "hi": g["v"].max(), "n": g["v"].size(), "sign": g["sign"].any(),
                                "first": g["pos"].min()})
        flagged = summary[(summary["lo"] >= 0) & (summary["hi"] <= 1) & (summary["hi"] > 0) & ~summary["sign"]]
        for code, r in flagged.iterrows():
            problems.append(Problem(*locate(where, r["first"]), "value", float(value[int(r["first"])]),
                                    f"percent points: all {int(r['n'])} values of indicator {code} (measured in %) "
                                    f"lie between 0 and 1 — fractions, not percents? Excel cells formatted as percent "
                                    f"store 0.883 for 88.3%; enter 88.3 (or 88.3%). If they really are below 1%, "
                                    f"write them with a % sign"))
    return problems


# ----------------------------------------------------------------------------------------------- survey, hotline
def _int_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a column's values (NA = -1) and how many distinct values: categoricals for free."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), len(s.cat.categories)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return codes.astype(np.int64), len(uniques)


def _group_codes(resp: pd.DataFrame, keys: list[str]) -> np.ndarray:
    g = np.zeros(len(resp), np.int64)
    for k in keys:
        c, n = _int_codes(resp[k])
        g = pd.factorize(g * (n + 1) + (c + 1))[0].astype(np.int64)  # compact: no overflow however many keys
    return g


def _distinct_per_group(g: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct (group, value) pair: its group and first row; and per row of that list, the group's count."""
    pair = g * (int(v.max(initial=0)) + 2) + (v + 1)  # g is compact (see _group_codes): fits in int64
    _, first = np.unique(pair, return_index=True)
    first = np.sort(first)  # in file order
    grp = g[first]
    _, inverse, counts = np.unique(grp, return_inverse=True, return_counts=True)
    return grp, first, counts[inverse]


def validate_survey(resp: pd.DataFrame, strata: str = "stratum", psu: str = "psu", weight: str = "weight",
                    wave: str = "wave", lonely_psu: str = "fail", fpc: list | tuple | None = ("fpc1",),
                    fpc_kind: str = "population") -> list[Problem]:
    """Rules the survey design applies, checked before the build (so that validate finds what build would).

    Positive finite weights; PSUs nested in strata (within a wave); ``fpc`` constant within its stage's group; no
    stratum with a single PSU when ``lonely_psu`` is ``"fail"`` (unless its fpc says every PSU was taken).
    Vectorised on integer codes (hundreds of thousands of respondents).

    Examples
    --------
    >>> r = pd.DataFrame({"wave": ["2024"] * 3, "stratum": ["a", "a", "b"], "psu": ["1", "2", "3"],
    ...                   "weight": [1.0, float("inf"), 0.0]})
    >>> for p in validate_survey(r, fpc=None): print(p)
    survey_responses, row 3, column 'weight': value inf: a weight above 0 and finite (the survey design needs every weight > 0)
    survey_responses, row 4, column 'weight': value 0.0: a weight above 0 and finite (the survey design needs every weight > 0)
    survey_responses, row 4, column 'psu': value '3': more than one PSU in stratum b of wave 2024 (its variance cannot be estimated with survey.lonely_psu: fail); add PSUs, merge strata, or set survey.lonely_psu to remove, certainty, adjust or average in govlib.yaml
    """
    where = rowmap_of(resp, "survey_responses")
    problems: list[Problem] = []
    if weight in resp.columns:
        w = pd.to_numeric(resp[weight], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(w > 0) | ~np.isfinite(w))
        bad = bad[~np.isnan(w[bad])]  # empty weights are reported by the table's own rules
        problems += row_problems(where, bad, weight, pd.Series(w),
                                 "a weight above 0 and finite (the survey design needs every weight > 0)")
    waves = [wave] if wave in resp.columns else []
    fpc = [c for c in (fpc or []) if c in resp.columns]
    if {strata, psu} <= set(resp.columns):
        in_wave = f" and {wave}" if waves else ""
        checks = [(waves + [psu], strata, f"one {strata} per {psu}{in_wave} (PSUs are nested in strata)")]
        checks += [(waves + [grp], col, f"the same {col} for every row of a {grp}{in_wave} ({col} is that stage's "
                                        f"population size)") for col, grp in zip(fpc, [strata, psu])]
        for keys, col, expected in checks:
            grp, first, n = _distinct_per_group(_group_codes(resp, keys), _int_codes(resp[col])[0])
            seen = np.zeros(len(grp), bool)
            if (n > 1).any():
                _, lead = np.unique(grp, return_index=True)  # the first value of each group is not the problem
                seen[lead] = True
                problems += row_problems(where, first[(n > 1) & ~seen], col, resp[col], expected)
        if lonely_psu == "fail":
            g = _group_codes(resp, waves + [strata])
            grp, first, n = _distinct_per_group(g, _int_codes(resp[psu])[0])
            single = first[n == 1]
            if fpc:  # every PSU of the stratum was taken: no variance to estimate, nothing to fail
                f = pd.to_numeric(resp[fpc[0]], errors="coerce").to_numpy(dtype=float)[single]
                taken = f <= 1 if fpc_kind == "population" else f >= 1 - 1e-7
                single = single[~taken]
            w_text = resp[wave].iloc[single].astype(str).to_numpy() if waves else None  # the few rows shown
            s_text = resp[strata].iloc[single].astype(str).to_numpy()
            for k, p in enumerate(single[:MAX_ROW_PROBLEMS]):
                label = f"stratum {s_text[k]}" + (f" of {wave} {w_text[k]}" if waves else "")
                problems.append(Problem(*locate(where, p), psu, str(resp[psu].iloc[p]),
                                        f"more than one PSU in {label} (its variance cannot be estimated with "
                                        f"survey.lonely_psu: fail); add PSUs, merge strata, or set survey.lonely_psu "
                                        f"to remove, certainty, adjust or average in govlib.yaml"))
            if len(single) > MAX_ROW_PROBLEMS:
                problems.append(Problem(str(where), None, psu, None,
                                        f"{len(single) - MAX_ROW_PROBLEMS} more strata with a single PSU"))
    return problems


def validate_hotline(tickets: pd.DataFrame, units: pd.DataFrame | None = None) -> list[Problem]:
    """A ticket is not closed (or due) before it was created, and is filed against a community or a 街镇.

    Examples
    --------
    >>> t = pd.DataFrame({"created_at": pd.to_datetime(["2024-01-02", "2024-01-02"]),
    ...                   "closed_at": pd.to_datetime(["2024-01-03", "2024-01-01"])})
    >>> for p in validate_hotline(t): print(p)
    hotline_tickets, row 3, column 'closed_at': value 2024-01-01 00:00:00: a time not before created_at (2024-01-02 00:00:00)
    """
    where = rowmap_of(tickets, "hotline_tickets")
    return [p for f in hotline_findings(tickets, units) for p in f.problems(where)]


def hotline_findings(tickets: pd.DataFrame, units: pd.DataFrame | None = None) -> list[Finding]:
    """The rows that break :func:`validate_hotline`'s rules, one :class:`~govlib.data.rows.Finding` per check.

    A table folder of tickets is checked file by file (:func:`govlib.data.schema.load_raw` merges the findings
    and names the rows at the end, as :func:`validate_hotline` does on the whole table).
    """
    if "created_at" not in tickets.columns:
        return []
    created = pd.to_datetime(tickets["created_at"], errors="coerce")
    found: list[Finding] = []
    for col in ("closed_at", "due_at"):
        if col not in tickets.columns:
            continue
        other = pd.to_datetime(tickets[col], errors="coerce")
        bad = np.flatnonzero(_before(other, created))
        shown = bad[:MAX_ROW_PROBLEMS]
        found.append(Finding(f"hotline.{col}", col, bad, [other.iloc[p] for p in shown],
                             [f"a time not before created_at ({created.iloc[p]})" for p in shown],
                             f"{{n}} more tickets with {col} before created_at", MAX_ROW_PROBLEMS))
    if units is not None and {"code", "level"} <= set(units.columns) and "unit" in tickets.columns:
        # counts roll up community -> 街镇 -> district: a ticket of the district or a benchmark has no 街镇
        lv = units["level"].astype(str)
        other = pd.Index(units.loc[~lv.isin(["community", "subdistrict"]).to_numpy(), "code"].astype(str))
        unit = tickets["unit"]
        if isinstance(unit.dtype, pd.CategoricalDtype) and not unit.cat.categories.astype(str).isin(other).any():
            bad = np.zeros(0, np.int64)  # no category is such a unit: no row can be (no pass over the rows)
        else:
            bad = np.flatnonzero(category_codes(unit, other) >= 0)
        expected = ("the code of a community or a 街镇 (level community or subdistrict in units): "
                    "tickets are counted per community and rolled up to 街镇")
        found.append(Finding("hotline.unit", "unit", bad,
                             tickets["unit"].iloc[bad[:MAX_ROW_PROBLEMS]].to_numpy(dtype=object), expected,
                             f"{{n}} more rows with the same problem ({expected})", MAX_ROW_PROBLEMS))
    return found


def _before(other: pd.Series, created: pd.Series) -> np.ndarray:
    """``other < created`` as a bool array, False where either is missing (NaT).

    Plain datetime64 columns are compared in numpy (NaT compares False there too), without pandas' masked
    comparison and ``fillna`` over millions of tickets; time-zone aware columns take pandas' way.

    Examples
    --------
    >>> a = pd.Series(pd.to_datetime(["2024-01-02", None, "2024-01-01"]))
    >>> b = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-01", None]))
    >>> _before(b, a).tolist()
    [True, False, False]
    """
    if isinstance(other.dtype, np.dtype) and other.dtype.kind == "M" and isinstance(created.dtype, np.dtype) \
            and created.dtype.kind == "M":
        return other.to_numpy() < created.to_numpy()
    return (other < created).fillna(False).to_numpy(dtype=bool)


# ----------------------------------------------------------------------------------------------- conformity (#18)
#: Inspection results of the 家门口 standard's checklist, and the points each earns in the conformity score.
RESULTS = ("met", "partly", "not_met")
CHECKS = ("yes_no", "share_at_least", "count_at_least", "present_in_period")


def derive_results(check, threshold, partial, value) -> np.ndarray:
    """The result each measured ``value`` earns under its requirement's check (vectorised; ``""`` = no value).

    ``yes_no``: 1 met, 0 not met. ``share_at_least`` (percent) and ``count_at_least``: met when ``value >=
    threshold``, partly when ``value >= partial`` (if the checklist gives a partial level), else not met.
    ``present_in_period``: met when ``value > 0``.

    Examples
    --------
    >>> derive_results(["yes_no", "share_at_least", "share_at_least", "count_at_least", "present_in_period"],
    ...                [np.nan, 90, 90, 7, np.nan], [np.nan, 75, 75, 5, np.nan], [1, 80, 60, 7, 0]).tolist()
    ['met', 'partly', 'not_met', 'met', 'not_met']
    """
    check = np.asarray(check, dtype=object)
    th = np.asarray(threshold, dtype=float)
    pa = np.asarray(partial, dtype=float)
    v = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        graded = np.isin(check, ["share_at_least", "count_at_least"])
        met = np.where(check == "yes_no", v >= 1, np.where(check == "present_in_period", v > 0, v >= th))
        part = graded & ~np.isnan(pa) & (v >= pa)
    out = np.where(met, "met", np.where(part, "partly", "not_met")).astype(object)
    out[np.isnan(v)] = ""
    return out


def validate_conformity(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """Rules between the conformity tables (checklist, inspections, projects) and the other raw tables.

    Checklist: a threshold for ``share_at_least``/``count_at_least`` checks, ``partial`` not above the threshold,
    shares at most 100 (%), ``meetings``-sourced requirements use ``share_at_least`` (share of projects whose three
    meetings are complete). Inspections: a community of the registry that has a station in the inspection's year
    (when ``doorstep_stations`` is given); a requirement of the checklist that inspectors record (not ``meetings``);
    a result or a value; a stated result that agrees with the value; yes/no values 0 or 1; a rectification deadline
    for every non-conformity; deadline and closing date not before the inspection. Projects: communities of the
    registry; every ``project_id`` of ``doorstep_evaluations`` is a project of the same community.

    Returns the problems (an empty list when all is well); :func:`govlib.data.schema.load_raw` raises them.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["310115004001"], "level": ["community"], "parent": ["310115004000"]})
    >>> std = pd.DataFrame({"requirement": ["FA-02"], "check": ["yes_no"], "threshold": [np.nan],
    ...                     "partial": [np.nan], "weight": [3.0], "tier": ["bottom_line"], "source": ["inspection"]})
    >>> ins = pd.DataFrame({"community": ["310115004001"], "requirement": ["FA-02"], "result": ["not_met"],
    ...                     "value": [np.nan], "inspection_date": pd.to_datetime(["2024-05-02"]),
    ...                     "rectification_deadline": pd.to_datetime(["2024-04-30"]), "date_closed": [pd.NaT]})
    >>> [(p.row, p.column, p.expected) for p in validate_conformity(
    ...     {"units": units, "conformity_standard": std, "conformity_inspections": ins})]
    [(2, 'rectification_deadline', 'a date on or after the inspection date')]
    """
    problems: list[Problem] = []
    units = tables.get("units")
    std = tables.get("conformity_standard")
    if units is None or std is None:
        return require_columns(units, "units", []) + require_columns(std, "conformity_standard", [])
    communities = pd.Index(units.loc[units["level"].astype(str) == "community", "code"].astype(str).unique())
    f = file_name_of(std, "conformity_standard")
    check = std["check"].astype(str).to_numpy()
    th = pd.to_numeric(std.get("threshold"), errors="coerce").to_numpy(dtype=float) \
        if "threshold" in std else np.full(len(std), np.nan)
    pa = pd.to_numeric(std["partial"], errors="coerce").to_numpy(dtype=float) \
        if "partial" in std else np.full(len(std), np.nan)
    source = (std["source"].fillna("").astype(str).replace("", "inspection").to_numpy()
              if "source" in std else np.full(len(std), "inspection", dtype=object))
    graded = np.isin(check, ["share_at_least", "count_at_least"])
    problems += row_problems(f, np.flatnonzero(graded & np.isnan(th)), "threshold", std.get("threshold", th),
                             "a threshold (share_at_least and count_at_least checks need one)")
    with np.errstate(invalid="ignore"):
        problems += row_problems(f, np.flatnonzero(pa > th), "partial", std.get("partial", pa),
                                 "a partial level not above the threshold")
        share = check == "share_at_least"
        problems += row_problems(f, np.flatnonzero(share & ((th > 100) | (pa > 100))), "threshold",
                                 std.get("threshold", th), "a share in percent (at most 100)")
    problems += row_problems(f, np.flatnonzero((source == "meetings") & ~share), "check", std["check"],
                             "share_at_least for a requirement computed from the meetings (source 'meetings')")
    if not (pd.to_numeric(std["weight"], errors="coerce") > 0).any():
        problems.append(Problem(f, None, "weight", None, "at least one requirement with a positive weight"))

    ins = tables.get("conformity_inspections")
    if ins is not None and len(ins):
        f = file_name_of(ins, "conformity_inspections")
        comm = ins["community"].astype(str)
        problems += row_problems(f, np.flatnonzero(~comm.isin(communities).to_numpy()), "community",
                                 ins["community"], "a community code of the unit registry (level 'community')")
        stations = tables.get("doorstep_stations")
        date = pd.to_datetime(ins["inspection_date"])
        if stations is not None and len(stations):
            has = stations[stations["has_station"].fillna(False).astype(bool)]
            key = pd.MultiIndex.from_arrays([has["community"].astype(str), pd.to_numeric(has["year"]).astype(int)])
            ok = pd.MultiIndex.from_arrays([comm, date.dt.year.astype("Int64")]).isin(key)
            problems += row_problems(f, np.flatnonzero(~ok & comm.isin(communities).to_numpy()), "community",
                                     ins["community"], "a community with a station in the inspection's year "
                                     "(doorstep_stations: has_station true)")
        req = std.assign(_src=source, _th=th, _pa=pa).set_index(std["requirement"].astype(str))
        r = ins["requirement"].astype(str)
        known = r.isin(req.index).to_numpy()
        problems += row_problems(f, np.flatnonzero(~known), "requirement", ins["requirement"],
                                 "a requirement code of conformity_standard")
        computed = known & (r.map(req["_src"]).to_numpy() == "meetings")
        problems += row_problems(f, np.flatnonzero(computed), "requirement", ins["requirement"],
                                 "a requirement that inspectors record (this one is computed from the meetings)")
        value = pd.to_numeric(ins["value"], errors="coerce").to_numpy(dtype=float) \
            if "value" in ins else np.full(len(ins), np.nan)
        stated = ins["result"].fillna("").astype(str).to_numpy() if "result" in ins else np.full(len(ins), "")
        problems += row_problems(f, np.flatnonzero((stated == "") & np.isnan(value)), "result",
                                 stated, "a result (met, partly, not_met) or a measured value")
        rcheck = r.map(req["check"].astype(str)).to_numpy()
        derived = derive_results(rcheck, r.map(req["_th"]).to_numpy(), r.map(req["_pa"]).to_numpy(), value)
        clash = np.flatnonzero(known & (stated != "") & (derived != "") & (stated != derived))
        if clash.size:
            why = [f"a result that agrees with the value ({value[i]:g} gives '{derived[i]}' under "
                   f"{r.iloc[i]}: {rcheck[i]})" for i in clash[:MAX_ROW_PROBLEMS]]
            problems += [Problem(f, int(i) + 2, "result", stated[i], w) for i, w in zip(clash, why)]
        problems += row_problems(f, np.flatnonzero(known & (rcheck == "yes_no") & ~np.isnan(value)
                                                   & ~np.isin(value, [0, 1])), "value", ins["value"],
                                 "1 (yes) or 0 (no) for a yes/no requirement")
        with np.errstate(invalid="ignore"):
            problems += row_problems(f, np.flatnonzero(known & (rcheck == "share_at_least") & (value > 100)),
                                     "value", ins["value"], "a share in percent (at most 100)")
        result = np.where(stated != "", stated, derived)
        deadline = pd.to_datetime(ins["rectification_deadline"]) if "rectification_deadline" in ins \
            else pd.Series(pd.NaT, index=ins.index)
        closed = pd.to_datetime(ins["date_closed"]) if "date_closed" in ins else pd.Series(pd.NaT, index=ins.index)
        nonconf = np.isin(result, ["partly", "not_met"])
        problems += row_problems(f, np.flatnonzero(nonconf & deadline.isna().to_numpy()), "rectification_deadline",
                                 deadline, "a rectification deadline for a non-conformity (result partly or not_met)")
        for col, d in (("rectification_deadline", deadline), ("date_closed", closed)):
            problems += row_problems(f, np.flatnonzero((d < date).to_numpy()), col, d,
                                     "a date on or after the inspection date")

    projects = tables.get("doorstep_projects")
    if projects is not None and len(projects):
        f = file_name_of(projects, "doorstep_projects")
        problems += row_problems(f, np.flatnonzero(~projects["community"].astype(str).isin(communities).to_numpy()),
                                 "community", projects["community"],
                                 "a community code of the unit registry (level 'community')")
        ev = tables.get("doorstep_evaluations")
        if ev is not None and len(ev):
            fe = file_name_of(ev, "doorstep_evaluations")
            owner = pd.Series(projects["community"].astype(str).to_numpy(), index=projects["project_id"].astype(str))
            pid = ev["project_id"].astype(str)
            listed = pid.isin(owner.index).to_numpy()
            problems += row_problems(fe, np.flatnonzero(~listed), "project_id", ev["project_id"],
                                     "a project_id of doorstep_projects")
            other = listed & (pid.map(owner).to_numpy() != ev["community"].astype(str).to_numpy())
            problems += row_problems(fe, np.flatnonzero(other), "community", ev["community"],
                                     "the community that doorstep_projects gives for this project")
    return problems
