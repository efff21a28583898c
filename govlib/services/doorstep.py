"""Doorstep (家门口) services: catalogue, station menus, service records and residents' meetings.

From the five doorstep tables (see ``docs/data.md``) this module computes, for communities, 街镇 and the
district:

- **coverage**: items on each community's menu (点单) by tier and category, at the end of each period
  (:func:`menu_coverage`), and the communities missing a bottom-line item (:func:`bottom_line_gaps`);
- **equity**: Gini, Theil T and the share of communities below a floor, of coverage and of usage per resident,
  across the communities of each 街镇 and across the 街镇 of the district (:func:`equity_table`);
- **usage**: services delivered per 1,000 residents by tier and category (:func:`usage_table`);
- **deliberation**: hearings, coordination and evaluation meetings (三会) per community (:func:`meeting_table`),
  project evaluation ratings with standard errors and t intervals, and projects never evaluated
  (:func:`evaluation_summary`);
- the indicator **observations** D5.1-D5.4 and D3.5 per 街镇 (:func:`doorstep_observations`);
- the doorstep section of a street profile (:func:`street_doorstep_section`).

Documented choices
------------------
- A menu row offers the item from ``from_period`` through ``to_period`` **inclusive** (empty = still offered).
  An item is *available* in a period if it is on the menu in the **last month** of the period; with
  ``require_station=True`` a community without a station that year has nothing available.
- Coverage of a 街镇 or the district is the **mean over its communities** of the items available (D5.2).
- D5.3 (service floor share) is the **ratio of sums** over the 街镇's stations (total service area / total floor
  area), ``floor_share="ratio_of_sums"``; ``"mean_of_ratios"`` averages the stations' own shares.
- D5.4 is the number of 三会 meetings in the quarter per community, **annualised x 4** (per year).
- A project's rating is the mean of its evaluation-meeting ratings; a 街镇-year's rating is the mean over its
  projects with the sample SD (``ddof=1``), SE = SD / sqrt(n) and a Student-t interval (projects treated as a
  simple random sample; the clustering of projects within communities is ignored).
- Community residents come from ``population`` when the community has rows there; otherwise the 街镇's residents
  are shared equally among its communities (``residents_basis="allocated"``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, one_of
from .inequality import inequality_by_group
from ..data.rules import (CATEGORIES, MEETINGS, TIERS, month_code_from_dates,
                          month_code_from_text, month_text, validate_doorstep)
from ..data.tabular import category_codes

__all__ = ["TIERS", "MEETINGS", "CATEGORIES", "validate_doorstep", "menu_coverage", "bottom_line_gaps",
           "usage_table", "equity_table", "meeting_table", "evaluation_summary", "station_indicators",
           "doorstep_observations", "street_doorstep_section", "period_months", "community_residents",
           "settings_defaults"]

ALL = "all"






def _repeat_text(labels, inner: int = 1, outer: int = 1) -> pd.Series:
    """``np.tile(np.repeat(labels, inner), outer)`` as a text column, built through an Arrow dictionary.

    Long tables (a row per community, period, tier and category) would otherwise convert a million Python
    strings per column into pandas' text type.
    """
    import pyarrow as pa

    labels = [str(x) for x in np.asarray(labels, dtype=object)]
    codes = np.tile(np.repeat(np.arange(len(labels), dtype=np.int32), inner), outer)
    arr = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels, type=pa.string())).cast(pa.large_string())
    return pd.Series(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan))










def period_months(first_month: int, last_month: int, frequency: str) -> pd.DataFrame:
    """Periods covering month codes ``first..last`` (``year*12 + month - 1``) with their last month.

    Periods are clipped to the range: a first or last period that is only partly inside has
    ``complete=False`` and its ``end_month`` (the snapshot month for coverage) is ``last_month``.

    Examples
    --------
    >>> period_months(2024 * 12, 2024 * 12 + 7, "Q")[["period", "end_month"]].values.tolist()
    [['2024Q1', 24290], ['2024Q2', 24293], ['2024Q3', 24295]]
    """
    one_of(frequency, ("A", "Q", "M"), "frequency")
    months = np.arange(int(first_month), int(last_month) + 1)
    year, m = months // 12, months % 12 + 1
    if frequency == "A":
        label = year.astype(str)
    elif frequency == "Q":
        label = np.char.add(np.char.add(year.astype(str), "Q"), ((m - 1) // 3 + 1).astype(str))
    else:
        label = month_text(months)
    df = pd.DataFrame({"period": label, "month": months})
    out = df.groupby("period", sort=False).agg(start_month=("month", "min"), end_month=("month", "max"))
    out = out.reset_index()
    out["year"] = out["period"].str.slice(0, 4).astype(int)
    length = {"A": 12, "Q": 3, "M": 1}[frequency]
    out["complete"] = (out["end_month"] - out["start_month"] + 1) == length
    return out


def _communities(units: pd.DataFrame) -> pd.DataFrame:
    """code, parent of every community in the registry (codes as text)."""
    for col in ("code", "level", "parent"):
        if col not in units.columns:
            raise InputError(f"the unit registry lacks column '{col}'")
    u = units[units["level"].astype(str) == "community"]
    return pd.DataFrame({"community": u["code"].astype(str).to_numpy(),
                         "parent": u["parent"].astype(str).to_numpy()})


def _district_code(units: pd.DataFrame) -> str:
    d = units.loc[units["level"].astype(str) == "district", "code"].astype(str)
    return d.iloc[0] if len(d) else "district"


def _catalogue_codes(catalogue: pd.DataFrame):
    """Items in catalogue order with integer tier/category codes and the category list."""
    cat = catalogue.reset_index(drop=True)
    items = cat["item_id"].astype(str).to_numpy()
    tier_code = category_codes(cat["tier"], list(TIERS))
    categories = list(pd.unique(cat["category"].astype(str)))
    cat_code = category_codes(cat["category"], categories)
    return items, tier_code, categories, cat_code




# ----------------------------------------------------------------------------------------------- coverage
def _station_mask(stations: pd.DataFrame | None, communities: pd.Index, years: np.ndarray) -> np.ndarray:
    """Boolean [community, year] whether the community has a station (True where unknown)."""
    mask = np.ones((len(communities), len(years)), dtype=bool)
    if stations is None or len(stations) == 0:
        return mask
    ci = category_codes(stations["community"], communities)
    yi = category_codes(pd.to_numeric(stations["year"], errors="coerce").astype("Int64").astype(str),
                   pd.Index(years.astype(str)))
    has = stations["has_station"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    ok = (ci >= 0) & (yi >= 0)
    mask[ci[ok], yi[ok]] = has[ok]
    return mask


def _with_margins(arr: np.ndarray, categories: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """[row, tier, category] cube -> [row, tier + "all", category + "all"] with the margins, and the labels."""
    n_rows, n_t, n_c = arr.shape
    tier_labels = list(TIERS) + [ALL]
    cat_labels = list(categories) + [ALL]
    full = np.zeros((n_rows, n_t + 1, n_c + 1))
    full[:, :n_t, :n_c] = arr
    full[:, n_t, :n_c] = arr.sum(axis=1)
    full[:, :n_t, n_c] = arr.sum(axis=2)
    full[:, n_t, n_c] = arr.sum(axis=(1, 2))
    return full, tier_labels, cat_labels


def menu_coverage(catalogue: pd.DataFrame, menus: pd.DataFrame, units: pd.DataFrame,
                  stations: pd.DataFrame | None = None, frequency: str = "Q", first_period: str | None = None,
                  last_period: str | None = None, require_station: bool = True) -> pd.DataFrame:
    """Items available per community, 街镇 and district, by tier and category, at the end of each period.

    Parameters
    ----------
    catalogue, menus, units, stations : the doorstep tables and the unit registry (validated).
    frequency : ``"A"``, ``"Q"`` (default) or ``"M"``.
    first_period, last_period : months ``YYYY-MM`` bounding the periods (default: first ``from_period`` to the
        latest month in ``menus``/``stations``).
    require_station : a community without a station that year has no items available.

    Returns
    -------
    ``doorstep_coverage``: ``level`` (community / subdistrict / district), ``unit``, ``parent``, ``period``,
    ``tier`` and ``category`` (each also ``"all"``), ``items_available`` (count for a community; mean over the
    communities for a 街镇 or the district), ``items_catalogue``, ``coverage_pct``, ``n_communities``. Only
    tier x category cells that exist in the catalogue are listed.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1", "C2"], "level": ["subdistrict", "community", "community"],
    ...                       "parent": ["D", "S", "S"]})
    >>> cat = pd.DataFrame({"item_id": ["a", "b"], "category": ["健康服务"] * 2, "tier": ["bottom_line", "basic"]})
    >>> menus = pd.DataFrame({"community": ["C1", "C1", "C2"], "item_id": ["a", "b", "a"],
    ...                       "from_period": ["2024-01"] * 3, "to_period": [None] * 3})
    >>> cov = menu_coverage(cat, menus, units, frequency="A", last_period="2024-12")
    >>> cov[(cov.tier == "all") & (cov.category == "all")][["unit", "items_available", "coverage_pct"]].values.tolist()
    [['C1', 2.0, 100.0], ['C2', 1.0, 50.0], ['S', 1.5, 75.0], ['district', 1.5, 75.0]]
    """
    communities = _communities(units)
    comm_index = pd.Index(communities["community"])
    items, tier_code, categories, cat_code = _catalogue_codes(catalogue)
    item_index = pd.Index(items)
    fm = month_code_from_text(menus["from_period"])
    tm = (month_code_from_text(menus["to_period"]) if "to_period" in menus else np.full(len(menus), np.nan))
    tm = np.where(np.isnan(tm), np.inf, tm)
    known_months = [fm[~np.isnan(fm)], tm[np.isfinite(tm)]]
    if stations is not None and len(stations):
        yrs = pd.to_numeric(stations["year"], errors="coerce").dropna().to_numpy()
        known_months.append(yrs * 12 + 11)
    allm = np.concatenate(known_months) if known_months else np.array([])
    if first_period is not None:
        m0 = month_code_from_text(pd.Series([first_period]))[0]
    else:
        m0 = np.nanmin(fm) if len(fm) else np.nan
    m1 = month_code_from_text(pd.Series([last_period]))[0] if last_period is not None else (
        np.nanmax(allm) if allm.size else np.nan)
    if np.isnan(m0) or np.isnan(m1) or m1 < m0:
        raise InputError("menu_coverage: cannot tell the months to cover; give first_period and last_period "
                         "as YYYY-MM")
    per = period_months(int(m0), int(m1), frequency)
    snaps = per["end_month"].to_numpy()
    n_snap = len(snaps)
    ci = category_codes(menus["community"], comm_index)
    ii = category_codes(menus["item_id"], item_index)
    ok = (ci >= 0) & (ii >= 0) & ~np.isnan(fm)
    ci, ii, fm_ok, tm_ok = ci[ok], ii[ok], fm[ok], tm[ok]
    lo = np.searchsorted(snaps, fm_ok, side="left")
    hi = np.searchsorted(snaps, tm_ok, side="right")  # to_period inclusive
    reps = np.maximum(hi - lo, 0)
    spell = np.repeat(np.arange(len(lo)), reps)
    offs = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    snap_i = lo[spell] + offs
    # an item counted once per community and period even if two spells overlap
    on = np.zeros((len(comm_index), n_snap, len(items)), dtype=bool)
    on[ci[spell], snap_i, ii[spell]] = True
    if require_station:
        years = per["year"].to_numpy()
        uniq_years = np.unique(years)
        smask = _station_mask(stations, comm_index, uniq_years)
        on &= smask[:, np.searchsorted(uniq_years, years)][:, :, None]
    n_t, n_c = len(TIERS), len(categories)
    cell = tier_code * n_c + cat_code
    onehot = np.zeros((len(items), n_t * n_c))
    onehot[np.arange(len(items)), cell] = 1.0
    counts = (on.reshape(-1, len(items)).astype(float) @ onehot).reshape(len(comm_index), n_snap, n_t, n_c)
    cat_counts = onehot.sum(axis=0).reshape(n_t, n_c)
    full, tier_labels, cat_labels = _with_margins(counts.reshape(-1, n_t, n_c), categories)
    cat_full, _, _ = _with_margins(cat_counts[None], categories)
    cat_full = cat_full[0]
    exists = cat_full > 0
    t_idx, c_idx = np.nonzero(exists)
    full = full.reshape(len(comm_index), n_snap, n_t + 1, n_c + 1)
    parents = communities["parent"].to_numpy()
    district = _district_code(units)
    frames = []
    vals = full[:, :, t_idx, c_idx]  # [comm, snap, cells]
    n_cells = len(t_idx)
    # 街镇 and district: means over communities (vectorised by grouping the community axis)
    street_codes, street_of = np.unique(parents, return_inverse=True)
    n_per_street = np.bincount(street_of, minlength=len(street_codes)).astype(float)
    sums = np.zeros((len(street_codes), n_snap, n_cells))
    np.add.at(sums, street_of, vals)
    means = sums / n_per_street[:, None, None]
    dmean = vals.mean(axis=0) if len(comm_index) else np.zeros((n_snap, n_cells))
    jz_parent = units.assign(code=units["code"].astype(str)).set_index("code")["parent"]
    street_parents = jz_parent.reindex(street_codes).fillna(district).astype(str).to_numpy()
    tiers_cells = np.asarray(tier_labels, dtype=object)[t_idx]
    cats_cells = np.asarray(cat_labels, dtype=object)[c_idx]

    def frame(level, codes, parent_codes, v, n):
        k, per_unit = len(codes), n_snap * n_cells
        return pd.DataFrame({
            "level": _repeat_text([level], k * per_unit), "unit": _repeat_text(codes, per_unit),
            "parent": _repeat_text(parent_codes, per_unit),
            "period": _repeat_text(per["period"].to_numpy(), n_cells, k),
            "tier": _repeat_text(tiers_cells, 1, k * n_snap), "category": _repeat_text(cats_cells, 1, k * n_snap),
            "items_available": v.reshape(-1), "items_catalogue": np.tile(cat_full[t_idx, c_idx], k * n_snap),
            "n_communities": np.repeat(np.asarray(n, dtype=np.int64), per_unit),
        })

    frames = [frame("community", comm_index.to_numpy(), parents, vals, np.ones(len(comm_index))),
              frame("subdistrict", street_codes, street_parents, means, n_per_street),
              frame("district", [district], [""], dmean[None], [len(comm_index)])]
    out = pd.concat(frames, ignore_index=True)
    out["items_catalogue"] = out["items_catalogue"].astype(int)
    out["coverage_pct"] = 100.0 * out["items_available"] / out["items_catalogue"]
    # rows are already in order: communities, 街镇, district; units in registry order; periods in time order
    return out[["level", "unit", "parent", "period", "tier", "category", "items_available", "items_catalogue",
                "coverage_pct", "n_communities"]]


def bottom_line_gaps(catalogue: pd.DataFrame, menus: pd.DataFrame, units: pd.DataFrame,
                     periods: list[str] | None = None, stations: pd.DataFrame | None = None,
                     frequency: str = "A", last_period: str | None = None, require_station: bool = True) -> pd.DataFrame:
    """Every community missing a bottom-line (底线民生) item at the end of each period: one row per missing item.

    Returns
    -------
    ``doorstep_gaps``: ``community``, ``parent``, ``period``, ``item_id``, ``name_zh``, ``category``, ``reason``
    (``not_ordered`` or ``no_station``).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1", "C2"], "level": ["subdistrict", "community", "community"],
    ...                       "parent": ["D", "S", "S"]})
    >>> cat = pd.DataFrame({"item_id": ["a", "b"], "name_zh": ["甲", "乙"], "category": ["健康服务"] * 2,
    ...                     "tier": ["bottom_line", "basic"]})
    >>> menus = pd.DataFrame({"community": ["C1", "C2"], "item_id": ["a", "b"], "from_period": ["2024-01"] * 2})
    >>> bottom_line_gaps(cat, menus, units, last_period="2024-12")[["community", "period", "item_id"]].values.tolist()
    [['C2', '2024', 'a']]
    """
    communities = _communities(units)
    comm_index = pd.Index(communities["community"])
    bl = catalogue[catalogue["tier"].astype(str) == "bottom_line"].reset_index(drop=True)
    cols = ["community", "parent", "period", "item_id", "name_zh", "category", "reason"]
    if bl.empty or comm_index.empty:
        return pd.DataFrame(columns=cols)
    fm = month_code_from_text(menus["from_period"])
    tm = month_code_from_text(menus["to_period"]) if "to_period" in menus else np.full(len(menus), np.nan)
    tm = np.where(np.isnan(tm), np.inf, tm)
    m0 = np.nanmin(fm)
    if last_period is not None:
        m1 = month_code_from_text(pd.Series([last_period]))[0]
    else:
        cand = [np.nanmax(fm)] + ([tm[np.isfinite(tm)].max()] if np.isfinite(tm).any() else [])
        if stations is not None and len(stations):
            cand.append(pd.to_numeric(stations["year"], errors="coerce").max() * 12 + 11)
        m1 = max(cand)
    per = period_months(int(m0), int(m1), frequency)
    if periods is not None:
        per = per[per["period"].isin(periods)].reset_index(drop=True)
    snaps = per["end_month"].to_numpy()
    bl_index = pd.Index(bl["item_id"].astype(str))
    ci = category_codes(menus["community"], comm_index)
    ii = category_codes(menus["item_id"], bl_index)
    ok = (ci >= 0) & (ii >= 0) & ~np.isnan(fm)
    # [spell, snap] coverage for bottom-line spells only (few rows)
    cover = (fm[ok][:, None] <= snaps[None, :]) & (tm[ok][:, None] >= snaps[None, :])
    on = np.zeros((len(comm_index), len(snaps), len(bl_index)), dtype=bool)
    s_idx, p_idx = np.nonzero(cover)
    on[ci[ok][s_idx], p_idx, ii[ok][s_idx]] = True
    reason = np.where(on, "", "not_ordered").astype(object)
    if require_station and stations is not None and len(stations):
        years = per["year"].to_numpy()
        uniq_years = np.unique(years)
        smask = _station_mask(stations, comm_index, uniq_years)[:, np.searchsorted(uniq_years, years)]
        reason = np.where(~smask[:, :, None], "no_station", reason)
    c, p, i = np.nonzero(reason != "")
    out = pd.DataFrame({
        "community": comm_index.to_numpy()[c], "parent": communities["parent"].to_numpy()[c],
        "period": per["period"].to_numpy()[p], "item_id": bl_index.to_numpy()[i],
        "name_zh": bl["name_zh"].to_numpy()[i] if "name_zh" in bl else "",
        "category": bl["category"].astype(str).to_numpy()[i], "reason": reason[c, p, i],
    })
    return out.sort_values(["period", "community", "item_id"], kind="stable").reset_index(drop=True)[cols]


# ----------------------------------------------------------------------------------------------- usage
def community_residents(units: pd.DataFrame, population: pd.DataFrame | None, years) -> pd.DataFrame:
    """Residents per community and year, from ``population`` or shared equally from the 街镇's residents.

    Returns ``community``, ``parent``, ``year``, ``residents``, ``residents_basis`` (``population`` /
    ``allocated`` / ``missing``). The nearest available year is used when a year is missing.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1", "C2"], "level": ["subdistrict", "community", "community"],
    ...                       "parent": ["D", "S", "S"]})
    >>> pop = pd.DataFrame({"code": ["S"], "year": [2024], "residents": [8000]})
    >>> community_residents(units, pop, [2024])["residents"].tolist()
    [4000.0, 4000.0]
    """
    comm = _communities(units)
    years = np.asarray(sorted(set(int(y) for y in years)), dtype=np.int64)
    grid = comm.merge(pd.DataFrame({"year": years}), how="cross")
    if population is None or len(population) == 0:
        grid["residents"] = np.nan
        grid["residents_basis"] = "missing"
        return grid
    pop = pd.DataFrame({"code": population["code"].astype(str),
                        "pop_year": pd.to_numeric(population["year"], errors="coerce"),
                        "residents": pd.to_numeric(population["residents"], errors="coerce")}).dropna()
    pop["pop_year"] = pop["pop_year"].astype(np.int64)
    pop = pop.sort_values("pop_year")

    def nearest(keys: pd.DataFrame, code_col: str) -> pd.Series:
        k = keys.reset_index().rename(columns={code_col: "code"}).sort_values("year")
        m = pd.merge_asof(k, pop, left_on="year", right_on="pop_year", by="code", direction="nearest")
        return m.set_index("index")["residents"].reindex(keys.index)

    own = nearest(grid[["community", "year"]], "community")
    street = nearest(grid[["parent", "year"]], "parent")
    n_in_street = grid.groupby(["parent", "year"])["community"].transform("size")
    grid["residents"] = own.where(own.notna(), street / n_in_street).astype(float)
    grid["residents_basis"] = np.where(own.notna(), "population", np.where(street.notna(), "allocated", "missing"))
    return grid


def usage_table(records: pd.DataFrame, catalogue: pd.DataFrame, units: pd.DataFrame,
                population: pd.DataFrame | None = None, frequency: str = "Q") -> pd.DataFrame:
    """Services delivered per 1,000 residents, by tier and category, per community, 街镇 and district and period.

    Returns
    -------
    ``doorstep_usage``: ``level``, ``unit``, ``parent``, ``period``, ``tier``, ``category`` (each also
    ``"all"``), ``services``, ``residents``, ``per_1000`` (services in the period per 1,000 residents),
    ``per_1000_year`` (annualised: x4 for quarters, x12 for months), ``residents_basis``, ``complete`` (False
    for a period only partly covered by the records: its rates are too low).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> cat = pd.DataFrame({"item_id": ["a"], "category": ["健康服务"], "tier": ["basic"]})
    >>> rec = pd.DataFrame({"community": ["C1"], "item_id": ["a"], "date": ["2024-07-01"], "count": [30]})
    >>> pop = pd.DataFrame({"code": ["C1", "S"], "year": [2024, 2024], "residents": [2000, 2000]})
    >>> u = usage_table(rec, cat, units, pop, frequency="Q")
    >>> u[(u.level == "subdistrict") & (u.tier == "all") & (u.category == "all")][["period", "per_1000"]].values.tolist()
    [['2024Q3', 15.0]]
    """
    one_of(frequency, ("A", "Q", "M"), "usage_table: frequency")
    communities = _communities(units)
    comm_index = pd.Index(communities["community"])
    items, tier_code, categories, cat_code = _catalogue_codes(catalogue)
    rm = month_code_from_dates(records["date"])
    cnt = pd.to_numeric(records["count"], errors="coerce").to_numpy(dtype=float)
    ci = category_codes(records["community"], comm_index)
    ii = category_codes(records["item_id"], pd.Index(items))
    ok = (ci >= 0) & (ii >= 0) & ~np.isnan(rm) & ~np.isnan(cnt)
    ci, ii, rm, cnt = ci[ok], ii[ok], rm[ok].astype(np.int64), cnt[ok]
    cols = ["level", "unit", "parent", "period", "tier", "category", "services", "residents", "per_1000",
            "per_1000_year", "residents_basis"]
    if len(rm) == 0:
        return pd.DataFrame(columns=cols)
    per = period_months(int(rm.min()), int(rm.max()), frequency)
    month_to_period = np.empty(int(rm.max()) - int(rm.min()) + 1, dtype=np.int64)
    for k, (a, b) in enumerate(zip(per["start_month"], per["end_month"])):
        month_to_period[a - rm.min(): b - rm.min() + 1] = k
    pi = month_to_period[rm - rm.min()]
    n_t, n_c, n_p = len(TIERS), len(categories), len(per)
    cell = tier_code[ii] * n_c + cat_code[ii]
    flat = (ci * n_p + pi) * (n_t * n_c) + cell
    cube = np.bincount(flat, weights=cnt, minlength=len(comm_index) * n_p * n_t * n_c)
    cube = cube.reshape(len(comm_index) * n_p, n_t, n_c)
    full, tier_labels, cat_labels = _with_margins(cube, categories)
    cat_full = _with_margins(np.bincount(tier_code * n_c + cat_code, minlength=n_t * n_c)
                             .reshape(1, n_t, n_c).astype(float), categories)[0][0]
    t_idx, c_idx = np.nonzero(cat_full > 0)
    n_cells = len(t_idx)
    vals = full[:, t_idx, c_idx].reshape(len(comm_index), n_p, n_cells)
    res = community_residents(units, population, per["year"].unique())
    res_grid = (res.set_index(["community", "year"])["residents"]
                .reindex(pd.MultiIndex.from_product([comm_index, per["year"].to_numpy()])).to_numpy()
                .reshape(len(comm_index), n_p))
    basis = (res.set_index(["community", "year"])["residents_basis"]
             .reindex(pd.MultiIndex.from_product([comm_index, per["year"].to_numpy()])).to_numpy()
             .reshape(len(comm_index), n_p))
    parents = communities["parent"].to_numpy()
    street_codes, street_of = np.unique(parents, return_inverse=True)
    s_vals = np.zeros((len(street_codes), n_p, n_cells))
    np.add.at(s_vals, street_of, vals)
    s_res = np.zeros((len(street_codes), n_p))
    np.add.at(s_res, street_of, np.nan_to_num(res_grid))
    s_res = np.where(s_res > 0, s_res, np.nan)
    # a 街镇's basis: "population" if all its communities have their own figure, "missing" if none has any
    n_comm_street = np.bincount(street_of, minlength=len(street_codes))[:, None]
    n_own, n_missing = np.zeros((len(street_codes), n_p)), np.zeros((len(street_codes), n_p))
    np.add.at(n_own, street_of, (basis == "population").astype(float))
    np.add.at(n_missing, street_of, (basis == "missing").astype(float))
    s_basis = np.where(n_own == n_comm_street, "population",
                       np.where(n_missing == n_comm_street, "missing", "allocated")).astype(object)
    district = _district_code(units)
    jz_parent = units.assign(code=units["code"].astype(str)).set_index("code")["parent"]
    periods_arr = per["period"].to_numpy()
    tiers_arr = np.asarray(tier_labels, dtype=object)[t_idx]
    cats_arr = np.asarray(cat_labels, dtype=object)[c_idx]

    def frame(level, codes, parent_codes, v, r, b):
        k = len(codes)
        basis_labels, basis_codes = np.unique(np.asarray(b, dtype=object).reshape(-1).astype(str),
                                              return_inverse=True)
        basis = _repeat_text(basis_labels, 1)
        return pd.DataFrame({
            "level": _repeat_text([level], k * n_p * n_cells), "unit": _repeat_text(codes, n_p * n_cells),
            "parent": _repeat_text(parent_codes, n_p * n_cells),
            "period": _repeat_text(periods_arr, n_cells, k),
            "tier": _repeat_text(tiers_arr, 1, k * n_p), "category": _repeat_text(cats_arr, 1, k * n_p),
            "services": v.reshape(-1), "residents": np.repeat(r.reshape(-1), n_cells),
            "residents_basis": basis.take(np.repeat(basis_codes, n_cells)).reset_index(drop=True),
        })

    d_res = np.nansum(res_grid, axis=0)
    d_basis_row = np.where((s_basis == "population").all(axis=0), "population", "allocated").astype(object)[None]
    out = pd.concat([
        frame("community", comm_index.to_numpy(), parents, vals, res_grid, basis),
        frame("subdistrict", street_codes, jz_parent.reindex(street_codes).fillna(district).astype(str).to_numpy(),
              s_vals, s_res, s_basis),
        frame("district", np.array([district]), np.array([""]), vals.sum(axis=0)[None],
              np.where(d_res > 0, d_res, np.nan)[None], d_basis_row),
    ], ignore_index=True)
    out["per_1000"] = out["services"] / out["residents"] * 1000.0
    scale = {"A": 1.0, "Q": 4.0, "M": 12.0}[frequency]
    out["per_1000_year"] = out["per_1000"] * scale
    out["complete"] = out["period"].map(per.set_index("period")["complete"]).astype(bool)
    return out[cols + ["complete"]]


# ----------------------------------------------------------------------------------------------- equity
def equity_table(coverage: pd.DataFrame, usage: pd.DataFrame | None = None, coverage_floor: float = 100.0,
                 usage_floor_fraction: float = 0.5, population_weights: bool = True,
                 periods: list[str] | None = None) -> pd.DataFrame:
    """Inequality of coverage and of usage per resident: within each 街镇 and across the 街镇 of the district.

    Parameters
    ----------
    coverage : ``doorstep_coverage`` (:func:`menu_coverage`); the ``all``/``all`` rows are used.
    usage : ``doorstep_usage`` (:func:`usage_table`), or ``None``.
    coverage_floor : items available below which a community (or a 街镇's mean) counts as below the floor.
    usage_floor_fraction : the usage floor is this fraction of the district median of community usage per
        1,000 residents in the period (a relative floor, as in relative-poverty lines).
    population_weights : weight usage-per-resident inequality by residents (units count once for coverage
        within a 街镇; 街镇 are weighted by their number of communities for coverage across the district).
    periods : restrict to these periods.

    Returns
    -------
    ``doorstep_equity``: ``level`` (``subdistrict``: across its communities; ``district``: across 街镇), ``unit``,
    ``period``, ``measure`` (``coverage_items`` / ``usage_per_1000``), ``n``, ``mean``, ``gini``, ``theil``,
    ``share_below_floor``, ``floor``, ``weighted``.

    Examples
    --------
    >>> cov = pd.DataFrame({"level": ["community"] * 3, "unit": ["a", "b", "c"], "parent": ["S"] * 3,
    ...     "period": ["2024"] * 3, "tier": ["all"] * 3, "category": ["all"] * 3,
    ...     "items_available": [100.0, 120.0, 140.0], "n_communities": [1, 1, 1]})
    >>> e = equity_table(cov, coverage_floor=110)
    >>> e[e.level == "subdistrict"][["gini", "share_below_floor"]].round(4).values.tolist()
    [[0.0741, 0.3333]]
    """
    frames = []
    cov = coverage[(coverage["tier"] == ALL) & (coverage["category"] == ALL)]
    if periods is not None:
        cov = cov[cov["period"].isin(periods)]
    cc = cov[cov["level"] == "community"]
    if len(cc):
        within = inequality_by_group(cc, ["parent", "period"], "items_available", floor=coverage_floor)
        frames.append(within.rename(columns={"parent": "unit"}).assign(
            level="subdistrict", measure="coverage_items", floor=coverage_floor, weighted=False))
        sc = cc.groupby(["parent", "period"], as_index=False).agg(items_available=("items_available", "mean"),
                                                                  n=("unit", "size"))
        sc["district"] = "district"
        if "level" in coverage and (coverage["level"] == "district").any():
            sc["district"] = coverage.loc[coverage["level"] == "district", "unit"].iloc[0]
        across = inequality_by_group(sc, ["district", "period"], "items_available",
                                     weight="n" if population_weights else None, floor=coverage_floor)
        frames.append(across.rename(columns={"district": "unit"}).assign(
            level="district", measure="coverage_items", floor=coverage_floor, weighted=population_weights))
    if usage is not None and len(usage):
        us = usage[(usage["tier"] == ALL) & (usage["category"] == ALL)]
        if periods is not None:
            us = us[us["period"].isin(periods)]
        uc = us[(us["level"] == "community") & us["per_1000"].notna()].copy()
        if len(uc):
            floor = uc.groupby("period")["per_1000"].median() * usage_floor_fraction
            uc["_floor"] = uc["period"].map(floor)
            uc["_below_ratio"] = uc["per_1000"] / uc["_floor"]  # < 1 means below the floor
            w = "residents" if population_weights else None
            within = inequality_by_group(uc, ["parent", "period"], "per_1000", weight=w)
            below = inequality_by_group(uc.assign(_r=uc["_below_ratio"].fillna(np.inf).clip(upper=1e12)),
                                        ["parent", "period"], "_r", weight=w, floor=1.0)
            within["share_below_floor"] = below["share_below_floor"].to_numpy()
            within["floor"] = within["period"].map(floor).to_numpy()
            frames.append(within.rename(columns={"parent": "unit"}).assign(
                level="subdistrict", measure="usage_per_1000", weighted=population_weights))
            sd = us[(us["level"] == "subdistrict") & us["per_1000"].notna()].copy()
            dist = us.loc[us["level"] == "district", "unit"]
            sd["district"] = dist.iloc[0] if len(dist) else "district"
            sd["_r"] = (sd["per_1000"] / sd["period"].map(floor)).clip(upper=1e12)
            across = inequality_by_group(sd, ["district", "period"], "per_1000", weight=w)
            below = inequality_by_group(sd, ["district", "period"], "_r", weight=w, floor=1.0)
            across["share_below_floor"] = below["share_below_floor"].to_numpy()
            across["floor"] = across["period"].map(floor).to_numpy()
            frames.append(across.rename(columns={"district": "unit"}).assign(
                level="district", measure="usage_per_1000", weighted=population_weights))
    cols = ["level", "unit", "period", "measure", "n", "mean", "gini", "theil", "share_below_floor", "floor",
            "weighted"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)[cols]
    return out.sort_values(["measure", "level", "unit", "period"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- meetings
def meeting_table(evaluations: pd.DataFrame, units: pd.DataFrame, frequency: str = "Q",
                  first_month: str | None = None, last_month: str | None = None) -> pd.DataFrame:
    """三会 meetings (hearing, coordination, evaluation) per community, 街镇 and district and period.

    Communities with no meeting in a period count as 0. ``per_community_year`` is the meetings per community
    annualised (x4 for quarters, x12 for months): D5.4 for quarterly periods.

    Returns
    -------
    ``doorstep_meetings``: ``level``, ``unit``, ``parent``, ``period``, ``hearing``, ``coordination``,
    ``evaluation``, ``total``, ``n_communities``, ``per_community``, ``per_community_year``, ``complete``.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1", "C2"], "level": ["subdistrict", "community", "community"],
    ...                       "parent": ["D", "S", "S"]})
    >>> ev = pd.DataFrame({"community": ["C1", "C1"], "project_id": ["p", "p"], "meeting": ["hearing", "evaluation"],
    ...                    "date": ["2024-07-03", "2024-09-20"]})
    >>> m = meeting_table(ev, units)
    >>> m[m.level == "subdistrict"][["period", "total", "per_community_year"]].values.tolist()
    [['2024Q3', 2, 4.0]]
    """
    communities = _communities(units)
    comm_index = pd.Index(communities["community"])
    dm = month_code_from_dates(evaluations["date"])
    ci = category_codes(evaluations["community"], comm_index)
    mi = category_codes(evaluations["meeting"], list(MEETINGS))
    ok = (ci >= 0) & (mi >= 0) & ~np.isnan(dm)
    ci, mi, dm = ci[ok], mi[ok], dm[ok].astype(np.int64)
    cols = ["level", "unit", "parent", "period", *MEETINGS, "total", "n_communities", "per_community",
            "per_community_year"]
    m0 = month_code_from_text(pd.Series([first_month]))[0] if first_month else (dm.min() if len(dm) else np.nan)
    m1 = month_code_from_text(pd.Series([last_month]))[0] if last_month else (dm.max() if len(dm) else np.nan)
    if np.isnan(m0) or np.isnan(m1):
        return pd.DataFrame(columns=cols)
    per = period_months(int(m0), int(m1), frequency)
    inside = (dm >= m0) & (dm <= m1)
    ci, mi, dm = ci[inside], mi[inside], dm[inside]
    month_to_period = np.empty(int(m1) - int(m0) + 1, dtype=np.int64)
    for k, (a, b) in enumerate(zip(per["start_month"], per["end_month"])):
        month_to_period[a - int(m0): b - int(m0) + 1] = k
    pi = month_to_period[dm - int(m0)]
    n_p = len(per)
    cube = np.bincount((ci * n_p + pi) * 3 + mi, minlength=len(comm_index) * n_p * 3).reshape(len(comm_index), n_p, 3)
    parents = communities["parent"].to_numpy()
    street_codes, street_of = np.unique(parents, return_inverse=True)
    s_cube = np.zeros((len(street_codes), n_p, 3), dtype=np.int64)
    np.add.at(s_cube, street_of, cube)
    n_s = np.bincount(street_of, minlength=len(street_codes))
    district = _district_code(units)
    jz_parent = units.assign(code=units["code"].astype(str)).set_index("code")["parent"]

    def frame(level, codes, parent_codes, c, n):
        k = len(codes)
        df = pd.DataFrame({"level": level, "unit": np.repeat(codes, n_p), "parent": np.repeat(parent_codes, n_p),
                           "period": np.tile(per["period"].to_numpy(), k)})
        for j, name in enumerate(MEETINGS):
            df[name] = c[:, :, j].reshape(-1)
        df["total"] = c.sum(axis=2).reshape(-1)
        df["n_communities"] = np.repeat(n, n_p)
        return df

    out = pd.concat([
        frame("community", comm_index.to_numpy(), parents, cube, np.ones(len(comm_index), dtype=int)),
        frame("subdistrict", street_codes, jz_parent.reindex(street_codes).fillna(district).astype(str).to_numpy(),
              s_cube, n_s),
        frame("district", np.array([district]), np.array([""]), cube.sum(axis=0)[None], np.array([len(comm_index)])),
    ], ignore_index=True)
    out["per_community"] = out["total"] / out["n_communities"]
    out["per_community_year"] = out["per_community"] * {"A": 1.0, "Q": 4.0, "M": 12.0}[frequency]
    out["complete"] = out["period"].map(per.set_index("period")["complete"]).astype(bool)
    return out[cols + ["complete"]]


def evaluation_summary(evaluations: pd.DataFrame, units: pd.DataFrame, conf_level: float = 0.95,
                       grace_months: int = 12, as_of: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Project evaluation ratings per 街镇 (and district) and year with SE and t interval; unevaluated projects.

    Parameters
    ----------
    evaluations : ``doorstep_evaluations``; ratings are read from ``evaluation`` meetings only.
    conf_level : confidence level of the Student-t interval (``ddof=1`` SD).
    grace_months : a project never evaluated whose last meeting is more than this many months before
        ``as_of`` is ``overdue``; otherwise ``in_progress``.
    as_of : month ``YYYY-MM`` of the data extract (default: the latest meeting date).

    Returns
    -------
    (``doorstep_evaluations_summary``: ``level``, ``unit``, ``period`` (year), ``n_projects``, ``mean``, ``sd``,
    ``se``, ``ci_low``, ``ci_high``, ``conf_level``, ``min``, ``max``;
    ``doorstep_unevaluated``: ``community``, ``parent``, ``project_id``, ``first_meeting``, ``last_meeting``,
    ``hearings``, ``coordinations``, ``months_since_last``, ``status``).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> ev = pd.DataFrame({"community": ["C1"] * 4, "project_id": ["p", "q", "r", "s"],
    ...     "meeting": ["evaluation"] * 3 + ["hearing"], "date": ["2024-03-01"] * 4, "rating": [80, 90, 70, None]})
    >>> summ, never = evaluation_summary(ev, units)
    >>> summ[summ.level == "subdistrict"][["mean", "se"]].round(3).values.tolist(), never["project_id"].tolist()
    ([[80.0, 5.774]], ['s'])
    """
    if not 0 < conf_level < 1:
        raise InputError(f"evaluation_summary: conf_level must be between 0 and 1; got {conf_level}")
    communities = _communities(units)
    parent_of = communities.set_index("community")["parent"]
    district = _district_code(units)
    ev = evaluations.copy()
    ev["community"] = ev["community"].astype(str)
    ev["project_id"] = ev["project_id"].astype(str)
    ev["_m"] = month_code_from_dates(ev["date"])
    ev = ev[ev["_m"].notna() & ev["community"].isin(parent_of.index)]
    ev["parent"] = ev["community"].map(parent_of)
    rating = pd.to_numeric(ev["rating"], errors="coerce") if "rating" in ev else pd.Series(np.nan, index=ev.index)
    rated = ev[(ev["meeting"].astype(str) == "evaluation") & rating.notna()].assign(rating=rating)
    proj = rated.groupby(["parent", "community", "project_id"], as_index=False).agg(
        rating=("rating", "mean"), _m=("_m", "max"))
    proj["period"] = (proj["_m"] // 12).astype(int).astype(str)
    summaries = []
    for level, key in (("subdistrict", "parent"), ("district", None)):
        p = proj.assign(_u=proj[key] if key else district)
        g = p.groupby(["_u", "period"])["rating"]
        s = g.agg(n_projects="size", mean="mean", sd="std", min="min", max="max").reset_index()
        s["se"] = s["sd"] / np.sqrt(s["n_projects"])
        tcrit = stats.t.ppf(0.5 + conf_level / 2, np.maximum(s["n_projects"] - 1, 1))
        tcrit = np.where(s["n_projects"] > 1, tcrit, np.nan)
        s["ci_low"] = s["mean"] - tcrit * s["se"]
        s["ci_high"] = s["mean"] + tcrit * s["se"]
        s["conf_level"] = conf_level
        summaries.append(s.rename(columns={"_u": "unit"}).assign(level=level))
    summ_cols = ["level", "unit", "period", "n_projects", "mean", "sd", "se", "ci_low", "ci_high", "conf_level",
                 "min", "max"]
    summary = pd.concat(summaries, ignore_index=True)[summ_cols] if len(proj) else pd.DataFrame(columns=summ_cols)
    # projects with no evaluation meeting at all
    is_eval = ev["meeting"].astype(str) == "evaluation"
    evaluated = ev.loc[is_eval, ["community", "project_id"]].drop_duplicates()
    ev["_hearing"] = (ev["meeting"].astype(str) == "hearing").astype(np.int64)
    ev["_coordination"] = (ev["meeting"].astype(str) == "coordination").astype(np.int64)
    allp = ev.groupby(["parent", "community", "project_id"], as_index=False).agg(
        first=("_m", "min"), last=("_m", "max"), hearings=("_hearing", "sum"),
        coordinations=("_coordination", "sum"))
    allp = allp.merge(evaluated.assign(_e=True), on=["community", "project_id"], how="left")
    never = allp[allp["_e"].isna()].copy()
    ref = month_code_from_text(pd.Series([as_of]))[0] if as_of else (ev["_m"].max() if len(ev) else np.nan)
    never["months_since_last"] = (ref - never["last"]).astype(float)
    never["status"] = np.where(never["months_since_last"] > grace_months, "overdue", "in_progress")
    never["first_meeting"] = month_text(never["first"].to_numpy(dtype=np.int64)) if len(never) else []
    never["last_meeting"] = month_text(never["last"].to_numpy(dtype=np.int64)) if len(never) else []
    never_cols = ["community", "parent", "project_id", "first_meeting", "last_meeting", "hearings", "coordinations",
                  "months_since_last", "status"]
    return summary.reset_index(drop=True), never[never_cols].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- indicators
def station_indicators(stations: pd.DataFrame, units: pd.DataFrame,
                       floor_share: str = "ratio_of_sums") -> pd.DataFrame:
    """D5.1 (% with a station), D5.3 (service floor share %) and D3.5 (% with a legal adviser) per 街镇 and year.

    Denominators: D5.1 counts the communities with a row for the year; D3.5 those with a known
    ``legal_adviser``; D5.3 the stations with both areas known (``floor_share``: ``ratio_of_sums`` or
    ``mean_of_ratios``).

    Returns a wide table: ``unit``, ``period``, ``D5.1``, ``D5.3``, ``D3.5``, ``n_communities``, ``n_stations``.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C1", "C2"], "level": ["subdistrict", "community", "community"],
    ...                       "parent": ["D", "S", "S"]})
    >>> st = pd.DataFrame({"community": ["C1", "C2"], "year": [2024, 2024], "has_station": [True, False],
    ...     "floor_area_m2": [200.0, None], "service_area_m2": [150.0, None], "legal_adviser": [True, False]})
    >>> station_indicators(st, units)[["D5.1", "D5.3", "D3.5"]].values.tolist()
    [[50.0, 75.0, 50.0]]
    """
    one_of(floor_share, ("ratio_of_sums", "mean_of_ratios"), "floor_share")
    parent_of = _communities(units).set_index("community")["parent"]
    st = stations.copy()
    st["community"] = st["community"].astype(str)
    st["parent"] = st["community"].map(parent_of)
    st = st[st["parent"].notna()]
    st["period"] = pd.to_numeric(st["year"], errors="coerce").astype("Int64").astype(str)
    has = st["has_station"].astype("boolean")
    st["_has"] = has.astype(float)
    st["_legal"] = (st["legal_adviser"].astype("boolean").astype(float) if "legal_adviser" in st
                    else np.nan)
    fa = pd.to_numeric(st.get("floor_area_m2"), errors="coerce") if "floor_area_m2" in st else np.nan
    sa = pd.to_numeric(st.get("service_area_m2"), errors="coerce") if "service_area_m2" in st else np.nan
    area_ok = has.fillna(False).to_numpy(dtype=bool) & np.asarray(pd.notna(fa) & pd.notna(sa) & (fa > 0))
    st["_fa"] = np.where(area_ok, fa, np.nan)
    st["_sa"] = np.where(area_ok, sa, np.nan)
    st["_ratio"] = st["_sa"] / st["_fa"]
    g = st.groupby(["parent", "period"])
    out = g.agg(_has=("_has", "mean"), _legal=("_legal", "mean"), _fa=("_fa", "sum"), _sa=("_sa", "sum"),
                _ratio=("_ratio", "mean"), n_communities=("community", "size"),
                n_stations=("_has", "sum")).reset_index()
    out["D5.1"] = 100.0 * out["_has"]
    out["D3.5"] = 100.0 * out["_legal"]
    out["D5.3"] = 100.0 * (out["_sa"] / out["_fa"].where(out["_fa"] > 0) if floor_share == "ratio_of_sums"
                           else out["_ratio"])
    out["n_stations"] = out["n_stations"].astype(int)
    return out.rename(columns={"parent": "unit"})[["unit", "period", "D5.1", "D5.3", "D3.5", "n_communities",
                                                     "n_stations"]]


def doorstep_observations(stations_wide: pd.DataFrame | None, coverage: pd.DataFrame | None,
                          meetings: pd.DataFrame | None) -> pd.DataFrame:
    """Indicator observations D5.1, D5.3, D3.5 (annual), D5.2 and D5.4 (quarterly) per 街镇.

    Parameters
    ----------
    stations_wide : :func:`station_indicators` output.
    coverage : ``doorstep_coverage`` at quarterly periods (the 街镇 ``all``/``all`` rows give D5.2).
    meetings : ``doorstep_meetings`` at quarterly periods (``per_community_year`` of 街镇 rows gives D5.4).

    Returns
    -------
    observations ``unit, period, indicator, value, se, flag, source`` with ``source="service"``, ``se`` NaN (the
    station records are a census, not a sample) and empty ``flag``.

    Examples
    --------
    >>> sw = pd.DataFrame({"unit": ["S"], "period": ["2024"], "D5.1": [100.0], "D5.3": [70.0], "D3.5": [95.0]})
    >>> doorstep_observations(sw, None, None)["indicator"].tolist()
    ['D3.5', 'D5.1', 'D5.3']
    """
    frames = []
    if stations_wide is not None and len(stations_wide):
        long = stations_wide.melt(id_vars=["unit", "period"], value_vars=["D5.1", "D5.3", "D3.5"],
                                  var_name="indicator", value_name="value")
        frames.append(long)
    if coverage is not None and len(coverage):
        c = coverage[(coverage["level"] == "subdistrict") & (coverage["tier"] == ALL) & (coverage["category"] == ALL)]
        frames.append(pd.DataFrame({"unit": c["unit"], "period": c["period"], "indicator": "D5.2",
                                    "value": c["items_available"]}))
    if meetings is not None and len(meetings):
        m = meetings[meetings["level"] == "subdistrict"]
        frames.append(pd.DataFrame({"unit": m["unit"], "period": m["period"], "indicator": "D5.4",
                                    "value": m["per_community_year"]}))
    cols = ["unit", "period", "indicator", "value", "se", "flag", "source"]
    if not frames:
        return pd.DataFrame(columns=cols)
    obs = pd.concat(frames, ignore_index=True)
    obs = obs[obs["value"].notna()].copy()
    obs["value"] = obs["value"].astype(float)
    obs["se"] = np.nan
    obs["flag"] = ""
    obs["source"] = "service"
    obs = obs.sort_values(["unit", "indicator", "period"], kind="mergesort").reset_index(drop=True)
    return obs[cols]


# ----------------------------------------------------------------------------------------------- street profile
def _pick_period(available: pd.Series, period: str) -> str | None:
    """The period of ``available`` matching ``period``: itself, else the latest one in the same year or before."""
    avail = pd.Index(pd.unique(available.astype(str)))
    if period in avail:
        return period
    year = str(period)[:4]
    cands = [p for p in avail if p[:4] <= year]
    if not cands:
        return None
    from ..periods import decimal_time
    t = decimal_time(pd.Series(cands))
    return cands[int(np.argmax(t))]


def street_doorstep_section(processed_tables: dict[str, pd.DataFrame], unit: str, period: str) -> dict[str, pd.DataFrame]:
    """The tables of the doorstep section of one 街镇's profile (pure; no files read).

    Parameters
    ----------
    processed_tables : the processed tables (at least ``doorstep_coverage``; also used if present:
        ``doorstep_gaps``, ``doorstep_usage``, ``doorstep_usage_trends``, ``doorstep_evaluations_summary``,
        ``doorstep_unevaluated``, ``doorstep_meetings``, ``doorstep_equity``, ``units``, ``doorstep_catalogue``).
    unit : the 街镇 code.
    period : the report period (``2024``, ``2024Q3``, ...); coverage uses the matching period, else the latest
        period of the same year or before.

    Returns
    -------
    dict of DataFrames:

    - ``coverage``: category x tier mean items available over the 街镇's communities, with the catalogue
      count (columns ``category``, ``tier``, ``items_available``, ``items_catalogue``, ``coverage_pct``,
      ``district_pct``);
    - ``lagging``: the 街镇's communities below the district's coverage floor or missing bottom-line items
      (``community``, ``name_zh``, ``items_available``, ``coverage_pct``, ``bottom_line_missing``);
    - ``usage``: the 街镇's usage series by category (``period``, ``category``, ``per_1000``, ``per_1000_year``);
    - ``usage_trends``: trend results for the 街镇's series (if the stage computed them);
    - ``evaluations``: the 街镇's rating summary by year, with the district alongside;
    - ``unevaluated``: the 街镇's projects never evaluated;
    - ``meetings``: the 街镇's 三会 counts by period;
    - ``equity``: the 街镇's Gini/Theil rows.

    Examples
    --------
    >>> cov = pd.DataFrame({"level": ["community", "subdistrict", "district"], "unit": ["C1", "S", "D"],
    ...     "parent": ["S", "D", ""], "period": ["2024Q4"] * 3, "tier": ["all"] * 3, "category": ["all"] * 3,
    ...     "items_available": [90.0, 90.0, 100.0], "items_catalogue": [147] * 3,
    ...     "coverage_pct": [61.2, 61.2, 68.0], "n_communities": [1, 1, 2]})
    >>> sec = street_doorstep_section({"doorstep_coverage": cov}, "S", "2024")
    >>> sec["coverage"][["items_available", "district_pct"]].values.tolist(), sec["lagging"]["community"].tolist()
    ([[90.0, 68.0]], ['C1'])
    """
    if "doorstep_coverage" not in processed_tables:
        raise InputError("street_doorstep_section: processed tables lack 'doorstep_coverage' (run govlib build)")
    unit = str(unit)
    cov = processed_tables["doorstep_coverage"]
    street = cov[(cov["level"] == "subdistrict") & (cov["unit"].astype(str) == unit)]
    if street.empty:
        known = sorted(cov.loc[cov["level"] == "subdistrict", "unit"].astype(str).unique())[:10]
        raise InputError(f"street_doorstep_section: unit {unit!r} has no doorstep coverage (街镇 codes with data "
                         f"include {known})")
    p = _pick_period(street["period"], str(period))
    if p is None:
        raise InputError(f"street_doorstep_section: no doorstep coverage for {unit} at or before {period!r}")
    out: dict[str, pd.DataFrame] = {}
    s = street[street["period"] == p]
    dist = cov[(cov["level"] == "district") & (cov["period"] == p)][["tier", "category", "coverage_pct"]]
    table = s.merge(dist.rename(columns={"coverage_pct": "district_pct"}), on=["tier", "category"], how="left")
    out["coverage"] = table[["category", "tier", "items_available", "items_catalogue", "coverage_pct",
                             "district_pct"]].reset_index(drop=True).assign(period=p)
    comm = cov[(cov["level"] == "community") & (cov["parent"].astype(str) == unit) & (cov["period"] == p)
               & (cov["tier"] == ALL) & (cov["category"] == ALL)]
    eq = processed_tables.get("doorstep_equity")
    floor = None
    if eq is not None and len(eq):
        f = eq[(eq["measure"] == "coverage_items") & (eq["unit"].astype(str) == unit) & (eq["period"] == p)]
        floor = float(f["floor"].iloc[0]) if len(f) else None
    dist_all = dist[(dist["tier"] == ALL) & (dist["category"] == ALL)]
    gaps = processed_tables.get("doorstep_gaps")
    missing = pd.Series(dtype=int)
    if gaps is not None and len(gaps):
        gp = _pick_period(gaps["period"], p[:4]) if len(gaps) else None
        gsel = gaps[(gaps["parent"].astype(str) == unit) & (gaps["period"] == gp)]
        missing = gsel.groupby("community").size()
    lag = comm[["unit", "items_available", "coverage_pct"]].rename(columns={"unit": "community"}).copy()
    lag["bottom_line_missing"] = lag["community"].map(missing).fillna(0).astype(int)
    threshold = floor if floor is not None else None
    below = (lag["items_available"] < threshold) if threshold is not None else (
        lag["coverage_pct"] < float(dist_all["coverage_pct"].iloc[0]) if len(dist_all) else False)
    lag = lag[below | (lag["bottom_line_missing"] > 0)]
    units = processed_tables.get("units")
    if units is not None and len(units):
        names = units.assign(code=units["code"].astype(str)).set_index("code")["name_zh"]
        lag.insert(1, "name_zh", lag["community"].map(names))
    out["lagging"] = lag.sort_values("items_available", kind="stable").reset_index(drop=True)
    usage = processed_tables.get("doorstep_usage")
    if usage is not None and len(usage):
        u = usage[(usage["level"] == "subdistrict") & (usage["unit"].astype(str) == unit) & (usage["tier"] == ALL)]
        out["usage"] = u[["period", "category", "services", "per_1000", "per_1000_year"]].reset_index(drop=True)
    trends = processed_tables.get("doorstep_usage_trends")
    if trends is not None and len(trends):
        out["usage_trends"] = trends[trends["unit"].astype(str) == unit].reset_index(drop=True)
    summ = processed_tables.get("doorstep_evaluations_summary")
    if summ is not None and len(summ):
        out["evaluations"] = summ[(summ["unit"].astype(str) == unit) | (summ["level"] == "district")] \
            .sort_values(["period", "level"]).reset_index(drop=True)
    unev = processed_tables.get("doorstep_unevaluated")
    if unev is not None and len(unev):
        out["unevaluated"] = unev[unev["parent"].astype(str) == unit].reset_index(drop=True)
    meet = processed_tables.get("doorstep_meetings")
    if meet is not None and len(meet):
        out["meetings"] = meet[(meet["level"] == "subdistrict") & (meet["unit"].astype(str) == unit)] \
            .reset_index(drop=True)
    if eq is not None and len(eq):
        out["equity"] = eq[(eq["level"] == "subdistrict") & (eq["unit"].astype(str) == unit)].reset_index(drop=True)
    return out


def settings_defaults() -> dict[str, Any]:
    """The ``doorstep`` settings keys and their defaults (declared in :data:`govlib.settings.SCHEMA`).

    Examples
    --------
    >>> settings_defaults()["coverage_floor_items"]
    100.0
    """
    from ..settings import section_defaults

    return section_defaults("doorstep")
