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
