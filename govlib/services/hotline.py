"""12345 hotline tickets -> monthly counts per community and 街镇 -> indicators D3.3, D4.1, D4.2, D4.3.

The aggregation is split so that it can stream over data larger than memory (one Parquet row group, one
year's file, one Dask partition at a time):

1. :func:`reduce_tickets` turns one chunk of event-level tickets into **additive sufficient counts** per
   community and month (``unit``, ``period`` and integer count columns, :data:`COUNT_COLUMNS`).
2. :func:`combine_counts` adds the counts of several chunks (any order, any grouping of chunks: it is a sum).
3. :func:`finalise_monthly` rolls the counts up to 街镇 (and the district) and to years and turns them into
   rates; :func:`hotline_observations` writes the indicator observations.

:func:`aggregate_tickets` runs the three steps on a table in memory.

Definitions (each a documented choice):

- A ticket belongs to the month of ``created_at``.
- **D4.2 closed on time** = tickets closed with ``closed_at <= due_at`` / tickets whose outcome is known. A ticket
  with no ``due_at`` is not judged. An open ticket is *late* if its ``due_at`` is before ``as_of`` and *pending*
  (not judged) otherwise; with ``as_of=None`` every open ticket counts as late (a finished export).
- **D4.3 satisfaction** = share of rated tickets rated 4 or 5 of 5 (``satisfied_min=4``); unrated tickets
  (``satisfaction`` empty) are not in the denominator.
- **D3.3 repeat complaint rate** = share of complaint tickets (``category == "complaint"``) flagged ``repeat``
  (``repeat_base="complaint"``); ``repeat_base="all"`` uses every ticket instead.
- **D4.1 requests per 10,000 residents per year** = tickets / residents x 10,000; a monthly value is annualised
  x 12 (calendar months, not days). Residents come from ``population`` for the period's year; when that year is
  missing the nearest year is used and the observation is flagged ``carried``.
- Standard errors: binomial ``100 sqrt(p (1 - p) / n)`` for the shares; Poisson ``value / sqrt(count)`` for D4.1.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import InputError, Problem, ValidationError, one_of
from ..data.tabular import category_codes

__all__ = ["CATEGORIES", "COUNT_COLUMNS", "reduce_tickets", "combine_counts", "finalise_monthly",
           "hotline_observations", "aggregate_tickets"]

CATEGORIES = ("consultation", "help", "complaint", "suggestion", "other")

COUNT_COLUMNS = (["n_tickets"] + [f"n_{c}" for c in CATEGORIES]
                 + ["n_timed", "n_on_time", "n_late", "n_pending", "n_rated", "n_satisfied", "n_repeat",
                    "n_complaint_repeat"])

TABLE = "hotline_tickets"
_REQUIRED = ["ticket_id", "unit", "created_at", "category"]
MAX_ROW_PROBLEMS = 20  # per check; the rest are summarised in one Problem


def _row_problems(table: str, rows: np.ndarray, column: str, values, expected: str,
                  row_offset: int) -> list[Problem]:
    """Problems for the offending 0-based positions ``rows`` (file row = position + 2 + offset)."""
    values = np.asarray(values, dtype=object)
    out = [Problem(table, int(r) + 2 + row_offset, column, values[i], expected)
           for i, r in enumerate(rows[:MAX_ROW_PROBLEMS])]
    if len(rows) > MAX_ROW_PROBLEMS:
        out.append(Problem(table, None, column, None,
                           f"{len(rows) - MAX_ROW_PROBLEMS} more rows with the same problem ({expected})"))
    return out


def _as_datetime(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return s
    # ISO 8601 of any precision first (fast); anything else element by element.
    parsed = pd.to_datetime(series, errors="coerce", format="ISO8601")
    retry = parsed.isna() & series.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(series[retry].astype(str), errors="coerce", format="mixed")
    return parsed


def reduce_tickets(tickets: pd.DataFrame, units, as_of=None, satisfied_min: int = 4,
                   table: str = TABLE, row_offset: int = 0) -> pd.DataFrame:
    """Reduce one chunk of event-level tickets to additive counts per community (``unit``) and month.

    Parameters
    ----------
    tickets : columns ``ticket_id``, ``unit``, ``created_at``, ``category`` and optionally ``due_at``,
        ``closed_at``, ``satisfaction`` (1-5, empty = not rated), ``repeat`` (bool, empty = False).
    units : the unit registry (a DataFrame with ``code``) or any iterable of valid unit codes.
    as_of : timestamp at which the data were extracted; open tickets due on or after it are *pending*.
        ``None``: every open ticket with a due date counts as late.
    satisfied_min : lowest rating (of 5) that counts as satisfied (default 4: "4-5 of 5").
    table, row_offset : the table name and the number of data rows before this chunk in its file, so that
        problems name the row a person sees (header = row 1, first data row = row 2).

    Returns
    -------
    DataFrame with ``unit`` (str), ``period`` (``YYYY-MM``) and the int64 columns :data:`COUNT_COLUMNS`.

    Raises
    ------
    ValidationError
        every problem of the chunk at once: missing columns, unknown unit codes or categories, unreadable
        times, ratings outside 1-5, tickets closed before they were created.

    Examples
    --------
    >>> t = pd.DataFrame({"ticket_id": [1, 2, 3], "unit": ["310115001001"] * 3,
    ...     "created_at": ["2024-07-01 09:00", "2024-07-03", "2024-08-01"],
    ...     "due_at": ["2024-07-05", "2024-07-04", "2024-08-03"],
    ...     "closed_at": ["2024-07-04", "2024-07-06", None], "category": ["complaint", "help", "complaint"],
    ...     "satisfaction": [5, 2, None], "repeat": [True, False, False]})
    >>> c = reduce_tickets(t, ["310115001001"])
    >>> c[["period", "n_tickets", "n_on_time", "n_late", "n_rated"]].to_dict("records")[0]
    {'period': '2024-07', 'n_tickets': 2, 'n_on_time': 1, 'n_late': 1, 'n_rated': 2}
    >>> c["n_complaint_repeat"].tolist()
    [1, 0]
    """
    if not isinstance(tickets, pd.DataFrame):
        raise InputError(f"reduce_tickets: 'tickets' must be a DataFrame, got {type(tickets).__name__}")
    codes = pd.Index(units["code"] if isinstance(units, pd.DataFrame) else list(units)).astype(str).unique()
    missing = [c for c in _REQUIRED if c not in tickets.columns]
    if missing:
        raise ValidationError([Problem(table, None, c, None, "required column is missing") for c in missing])
    n = len(tickets)
    problems: list[Problem] = []

    unit = tickets["unit"]
    ucode = category_codes(unit if isinstance(unit.dtype, pd.CategoricalDtype) else unit.astype(str), codes)
    bad = np.flatnonzero(ucode < 0)
    if bad.size:
        problems += _row_problems(table, bad, "unit", unit.to_numpy()[bad], "a unit code in the registry "
                                  "(12-digit text, e.g. 310115001001)", row_offset)

    created = _as_datetime(tickets["created_at"])
    bad = np.flatnonzero(created.isna().to_numpy())
    if bad.size:
        problems += _row_problems(table, bad, "created_at", tickets["created_at"].to_numpy()[bad],
                                  "a date-time such as 2024-07-01 09:30", row_offset)

    cat = tickets["category"]
    if isinstance(cat.dtype, pd.CategoricalDtype):
        cat_norm = cat.cat.rename_categories(lambda c: str(c).strip().lower()) \
            if cat.cat.categories.astype(str).str.strip().str.lower().is_unique else cat.astype(str).str.strip().str.lower()
    else:
        cat_norm = cat.astype("string").str.strip().str.lower()
    ccode = category_codes(cat_norm, list(CATEGORIES))
    bad = np.flatnonzero(ccode < 0)
    if bad.size:
        problems += _row_problems(table, bad, "category", cat.to_numpy()[bad],
                                  f"one of {', '.join(CATEGORIES)}", row_offset)

    due = _as_datetime(tickets["due_at"]) if "due_at" in tickets else pd.Series(pd.NaT, index=tickets.index)
    closed = (_as_datetime(tickets["closed_at"]) if "closed_at" in tickets
              else pd.Series(pd.NaT, index=tickets.index))
    for col, parsed in (("due_at", due), ("closed_at", closed)):
        if col in tickets:
            raw = tickets[col]
            unreadable = parsed.isna().to_numpy() & raw.notna().to_numpy()
            if raw.dtype == object:
                unreadable &= ~raw.astype("string").str.strip().isin(["", "NA", "-", "—"]).fillna(True).to_numpy()
            bad = np.flatnonzero(unreadable)
            if bad.size:
                problems += _row_problems(table, bad, col, raw.to_numpy()[bad], "a date-time or empty", row_offset)
    bad = np.flatnonzero((closed < created).to_numpy())
    if bad.size:
        problems += _row_problems(table, bad, "closed_at", closed.to_numpy()[bad],
                                  "a time not before created_at", row_offset)

    if "satisfaction" in tickets:
        sat = pd.to_numeric(tickets["satisfaction"], errors="coerce").to_numpy(dtype=float)
        raw = tickets["satisfaction"]
        bad_mask = ~np.isnan(sat) & ~np.isin(sat, [1, 2, 3, 4, 5])
        if not pd.api.types.is_numeric_dtype(raw):  # text that is not a number (and not empty)
            bad_mask |= np.isnan(sat) & raw.notna().to_numpy() & \
                (raw.astype("string").str.strip().fillna("") != "").to_numpy(dtype=bool)
        bad = np.flatnonzero(bad_mask)
        if bad.size:
            problems += _row_problems(table, bad, "satisfaction", raw.to_numpy()[bad],
                                      "a whole number 1-5, or empty when the caller did not rate", row_offset)
    else:
        sat = np.full(n, np.nan)

    if "repeat" in tickets:
        rep_raw = tickets["repeat"]
        if pd.api.types.is_bool_dtype(rep_raw):
            rep = rep_raw.fillna(False).to_numpy(dtype=bool)
        else:
            txt = rep_raw.astype("string").str.strip().str.lower()
            truthy = txt.isin(["true", "1", "1.0", "yes", "y", "是"]).fillna(False).to_numpy(dtype=bool)
            falsy = (txt.isin(["false", "0", "0.0", "no", "n", "否", ""]) | txt.isna()).fillna(True).to_numpy(dtype=bool)
            bad = np.flatnonzero(~truthy & ~falsy)
            if bad.size:
                problems += _row_problems(table, bad, "repeat", rep_raw.to_numpy()[bad],
                                          "true/false (or 1/0), empty = false", row_offset)
            rep = truthy
    else:
        rep = np.zeros(n, dtype=bool)

    ids = tickets["ticket_id"]
    if ids.dtype.kind in "iu" and (len(ids) < 2 or (np.diff(ids.to_numpy()) > 0).all()):
        bad = np.zeros(0, np.int64)  # increasing integer ids (as exports number them): none missing or repeated
    else:
        bad = np.flatnonzero(ids.isna().to_numpy() | ids.duplicated(keep="first").to_numpy())
    if bad.size:
        problems += _row_problems(table, bad, "ticket_id", ids.to_numpy()[bad],
                                  "a ticket id that is present and unique", row_offset)
    if problems:
        raise ValidationError(problems)
    if n == 0:
        return pd.DataFrame({"unit": pd.Series(dtype=str), "period": pd.Series(dtype=str),
                             **{c: pd.Series(dtype=np.int64) for c in COUNT_COLUMNS}})

    # year * 12 + month - 1, by month boundaries (a calendar conversion of every time stamp costs 3x more)
    stamps = created.to_numpy()
    first, last = stamps.min().astype("datetime64[M]"), stamps.max().astype("datetime64[M]")
    bounds = np.arange(first, last + 2).astype(stamps.dtype)
    month_code = np.searchsorted(bounds, stamps, side="right") - 1 + first.astype(np.int64) + 1970 * 12
    m0 = int(month_code.min())
    span = int(month_code.max()) - m0 + 1
    key = ucode * span + (month_code - m0)
    if len(codes) * span <= 50_000_000:
        # dense key space (units x months): counting sort, O(n), no sort of the tickets
        present = np.bincount(key, minlength=len(codes) * span) > 0
        uniq = np.flatnonzero(present)
        position = np.cumsum(present) - 1
        inverse = position[key]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)

    has_due = due.notna().to_numpy()
    is_closed = closed.notna().to_numpy()
    on_time = has_due & is_closed & (closed <= due).to_numpy()
    if as_of is None:
        pending = np.zeros(n, dtype=bool)
    else:
        pending = has_due & ~is_closed & (due >= pd.Timestamp(as_of)).to_numpy()
    late = has_due & ~on_time & ~pending
    rated = ~np.isnan(sat)
    satisfied = rated & (sat >= satisfied_min)
    is_complaint = ccode == CATEGORIES.index("complaint")

    k = uniq.size
    counts = {"n_tickets": np.bincount(inverse, minlength=k)}
    cat_counts = np.bincount(inverse * len(CATEGORIES) + ccode, minlength=k * len(CATEGORIES))
    cat_counts = cat_counts.reshape(k, len(CATEGORIES))
    for j, c in enumerate(CATEGORIES):
        counts[f"n_{c}"] = cat_counts[:, j]
    for name, mask in (("n_timed", on_time | late), ("n_on_time", on_time), ("n_late", late),
                       ("n_pending", pending), ("n_rated", rated), ("n_satisfied", satisfied),
                       ("n_repeat", rep), ("n_complaint_repeat", rep & is_complaint)):
        counts[name] = np.bincount(inverse[mask], minlength=k)
    mc = uniq % span + m0
    period = pd.PeriodIndex.from_fields(year=mc // 12, month=mc % 12 + 1, freq="M").strftime("%Y-%m")
    out = pd.DataFrame({"unit": np.asarray(codes)[uniq // span], "period": np.asarray(period)})
    for c in COUNT_COLUMNS:
        out[c] = counts[c].astype(np.int64)
    return out


def combine_counts(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Add the counts of several chunks (from :func:`reduce_tickets` or earlier :func:`combine_counts`).

    Examples
    --------
    >>> a = pd.DataFrame({"unit": ["u"], "period": ["2024-07"], **{c: [1] for c in COUNT_COLUMNS}})
    >>> int(combine_counts([a, a])["n_tickets"].iloc[0])
    2
    """
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({"unit": pd.Series(dtype=str), "period": pd.Series(dtype=str),
                             **{c: pd.Series(dtype=np.int64) for c in COUNT_COLUMNS}})
    for p in parts:
        missing = [c for c in ["unit", "period"] + COUNT_COLUMNS if c not in p.columns]
        if missing:
            raise InputError(f"combine_counts: a part lacks the count columns {missing}")
    allc = pd.concat(parts, ignore_index=True)
    out = allc.groupby(["unit", "period"], sort=True, as_index=False)[COUNT_COLUMNS].sum()
    return out


def _parent_map(units: pd.DataFrame) -> tuple[pd.Series, str | None]:
    """Community -> 街镇 (a 街镇 maps to itself) and the district code (if the registry has exactly one)."""
    u = units.assign(code=units["code"].astype(str), parent=units["parent"].astype("string"))
    level = u["level"].astype(str)
    parent = pd.Series(np.where(level == "subdistrict", u["code"], u["parent"].fillna("")), index=u["code"])
    parent = parent[level.isin(["community", "subdistrict"]).to_numpy()]
    districts = u.loc[level == "district", "code"]
    return parent, (districts.iloc[0] if len(districts) == 1 else None)


def _residents_for(units_periods: pd.DataFrame, population: pd.DataFrame | None) -> pd.DataFrame:
    """Residents per (unit, year): the same year if present, else the nearest year (``carried`` = True)."""
    out = units_periods[["unit", "year"]].drop_duplicates().copy()
    if population is None or len(population) == 0:
        out["residents"] = np.nan
        out["carried"] = False
        return out
    pop = population[["code", "year", "residents"]].copy()
    pop["code"] = pop["code"].astype(str)
    pop["year"] = pd.to_numeric(pop["year"], errors="coerce").astype("Int64")
    pop["residents"] = pd.to_numeric(pop["residents"], errors="coerce")
    pop = pop.dropna().astype({"year": np.int64}).rename(columns={"code": "unit", "year": "pop_year"})
    out = out.sort_values("year").reset_index(drop=True)
    pop = pop.sort_values("pop_year")
    merged = pd.merge_asof(out, pop, left_on="year", right_on="pop_year", by="unit", direction="nearest")
    merged["carried"] = merged["pop_year"].notna() & (merged["pop_year"] != merged["year"])
    return merged[["unit", "year", "residents", "carried"]]


def finalise_monthly(counts: pd.DataFrame, units: pd.DataFrame, population: pd.DataFrame | None = None,
                     repeat_base: str = "complaint", annual: bool = True) -> pd.DataFrame:
    """Roll community-month counts up to 街镇 and district, add years, and compute the rates.

    Parameters
    ----------
    counts : output of :func:`reduce_tickets` / :func:`combine_counts`.
    units : unit registry (``code``, ``level``, ``parent``).
    population : ``code``, ``year``, ``residents`` (for D4.1); ``None`` leaves the rate empty.
    repeat_base : ``"complaint"`` (repeat complaints / complaints) or ``"all"`` (repeat tickets / tickets).
    annual : also add rows for whole years (period ``YYYY``), from the summed counts.

    Returns
    -------
    ``hotline_monthly``: ``level`` (community / subdistrict / district), ``unit``, ``period``, the counts,
    ``residents``, ``residents_carried``, ``requests_per_10k_year``, ``on_time_pct``, ``satisfaction_pct``,
    ``repeat_pct``, ``repeat_base_n``.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["310115001000", "310115001001"], "level": ["subdistrict", "community"],
    ...                       "parent": ["310115000000", "310115001000"]})
    >>> c = pd.DataFrame({"unit": ["310115001001"], "period": ["2024-07"], **{k: [10] for k in COUNT_COLUMNS}})
    >>> pop = pd.DataFrame({"code": ["310115001000"], "year": [2024], "residents": [12000]})
    >>> m = finalise_monthly(c, units, pop)
    >>> m.loc[(m.level == "subdistrict") & (m.period == "2024-07"), "requests_per_10k_year"].round(1).tolist()
    [100.0]
    """
    one_of(repeat_base, ("complaint", "all"), "repeat_base")
    for col in ("code", "level", "parent"):
        if col not in units.columns:
            raise InputError(f"finalise_monthly: the unit registry lacks column '{col}'")
    parent, district = _parent_map(units)
    c = counts.copy()
    c["unit"] = c["unit"].astype(str)
    level_of = units.assign(code=units["code"].astype(str)).set_index("code")["level"].astype(str)
    c["level"] = c["unit"].map(level_of).fillna("community")
    # Tickets filed directly against a 街镇 count for the 街镇 only (no community row for them).
    community = c[c["level"] == "community"]
    street = c.assign(unit=c["unit"].map(parent), level="subdistrict")
    unmapped = street["unit"].isna() | (street["unit"] == "")
    if unmapped.any():
        bad = c.loc[unmapped, "unit"].unique()[:10].tolist()
        raise InputError(f"finalise_monthly: units {bad} have no 街镇 (parent) in the unit registry")
    frames = [community, street]
    if district is not None:
        frames.append(c.assign(unit=district, level="district"))
    allc = pd.concat(frames, ignore_index=True)
    allc = allc.groupby(["level", "unit", "period"], as_index=False, sort=True)[COUNT_COLUMNS].sum()
    if annual:
        yearly = allc.assign(period=allc["period"].str.slice(0, 4))
        yearly = yearly.groupby(["level", "unit", "period"], as_index=False, sort=True)[COUNT_COLUMNS].sum()
        allc = pd.concat([allc, yearly], ignore_index=True)
    allc["year"] = allc["period"].str.slice(0, 4).astype(np.int64)
    res = _residents_for(allc, population)
    allc = allc.merge(res, on=["unit", "year"], how="left")
    allc = allc.rename(columns={"carried": "residents_carried"})
    allc["residents_carried"] = allc["residents_carried"].fillna(False).astype(bool)
    months_per_period = np.where(allc["period"].str.len() == 4, 1.0, 12.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = allc["residents"].where(allc["residents"] > 0)
        allc["requests_per_10k_year"] = allc["n_tickets"] / resid * 1e4 * months_per_period
        allc["on_time_pct"] = 100.0 * allc["n_on_time"] / allc["n_timed"].where(allc["n_timed"] > 0)
        allc["satisfaction_pct"] = 100.0 * allc["n_satisfied"] / allc["n_rated"].where(allc["n_rated"] > 0)
        if repeat_base == "complaint":
            num, den = allc["n_complaint_repeat"], allc["n_complaint"]
        else:
            num, den = allc["n_repeat"], allc["n_tickets"]
        allc["repeat_base_n"] = den
        allc["repeat_pct"] = 100.0 * num / den.where(den > 0)
    allc = allc.drop(columns="year")
    order = {"district": 0, "subdistrict": 1, "community": 2}
    allc = allc.sort_values(["level", "unit", "period"], key=lambda s: s.map(order) if s.name == "level" else s)
    return allc.reset_index(drop=True)


def hotline_observations(monthly: pd.DataFrame, levels=("subdistrict",), min_denominator: int = 30,
                         periods: str = "both") -> pd.DataFrame:
    """Indicator observations D3.3, D4.1, D4.2, D4.3 from :func:`finalise_monthly` output.

    Parameters
    ----------
    monthly : ``hotline_monthly``.
    levels : which levels to write (default the 36 街镇 only, the units the index scores).
    min_denominator : shares resting on fewer tickets are flagged ``provisional``; D4.2 is also provisional
        while tickets of the period are still pending.
    periods : ``"month"``, ``"year"`` or ``"both"``.

    Returns
    -------
    observations: ``unit, period, indicator, value, se, flag, source`` (source ``hotline``); periods with a zero
    denominator (or no residents for D4.1) are left out.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> c = pd.DataFrame({"unit": ["C"], "period": ["2024-07"], **{k: [40] for k in COUNT_COLUMNS}})
    >>> obs = hotline_observations(finalise_monthly(c, units), periods="month")
    >>> obs[["unit", "period", "indicator", "value"]].to_dict("records")[0]
    {'unit': 'S', 'period': '2024-07', 'indicator': 'D3.3', 'value': 100.0}
    """
    one_of(periods, ("month", "year", "both"), "periods")
    m = monthly[monthly["level"].isin(list(levels))]
    is_year = m["period"].str.len() == 4
    if periods == "month":
        m = m[~is_year]
    elif periods == "year":
        m = m[is_year]
    frames = []
    for code, value, num_den in (("D3.3", "repeat_pct", "repeat_base_n"), ("D4.2", "on_time_pct", "n_timed"),
                                 ("D4.3", "satisfaction_pct", "n_rated")):
        n = m[num_den].astype(float)
        p = m[value] / 100.0
        with np.errstate(invalid="ignore", divide="ignore"):
            se = 100.0 * np.sqrt(p * (1 - p) / n)
        flag = np.where(n < min_denominator, "provisional", "")
        if code == "D4.2":
            flag = np.where(m["n_pending"] > 0, "provisional", flag)
        frames.append(pd.DataFrame({"unit": m["unit"], "period": m["period"], "indicator": code,
                                    "value": m[value], "se": se, "flag": flag}))
    with np.errstate(invalid="ignore", divide="ignore"):
        se41 = m["requests_per_10k_year"] / np.sqrt(m["n_tickets"].astype(float))
    flag41 = np.where(m["residents_carried"], "carried", "")
    frames.append(pd.DataFrame({"unit": m["unit"], "period": m["period"], "indicator": "D4.1",
                                "value": m["requests_per_10k_year"], "se": se41, "flag": flag41}))
    obs = pd.concat(frames, ignore_index=True)
    obs = obs[obs["value"].notna()].copy()
    obs["se"] = obs["se"].astype(float)
    obs["source"] = "hotline"
    obs = obs.sort_values(["unit", "indicator", "period"], kind="mergesort").reset_index(drop=True)
    return obs[["unit", "period", "indicator", "value", "se", "flag", "source"]]


def aggregate_tickets(tickets: pd.DataFrame, units: pd.DataFrame, population: pd.DataFrame | None = None,
                      as_of=None, chunk_rows: int | None = None, satisfied_min: int = 4,
                      repeat_base: str = "complaint") -> pd.DataFrame:
    """Reduce, combine and finalise a ticket table held in memory (optionally in chunks of ``chunk_rows``).

    Chunking gives the same result as one pass (the counts are additive); it only bounds the working memory.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> t = pd.DataFrame({"ticket_id": range(4), "unit": ["C"] * 4, "created_at": ["2024-07-02"] * 4,
    ...                   "category": ["help"] * 4, "satisfaction": [5, 4, 1, None]})
    >>> m = aggregate_tickets(t, units, chunk_rows=3)
    >>> m.loc[(m.unit == "S") & (m.period == "2024-07"), "satisfaction_pct"].round(2).tolist()
    [66.67]
    """
    if chunk_rows is None or chunk_rows >= len(tickets):
        counts = reduce_tickets(tickets, units, as_of=as_of, satisfied_min=satisfied_min)
    else:
        if chunk_rows < 1:
            raise InputError(f"aggregate_tickets: chunk_rows must be a positive integer; got {chunk_rows}")
        counts = combine_counts(
            reduce_tickets(tickets.iloc[i:i + chunk_rows], units, as_of=as_of, satisfied_min=satisfied_min,
                           row_offset=i)
            for i in range(0, len(tickets), chunk_rows))
    return finalise_monthly(counts, units, population, repeat_base=repeat_base)
