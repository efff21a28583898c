"""Build stage ``doorstep``: doorstep tables -> D5.1-D5.4 and D3.5 observations and the doorstep detail tables.

Inputs (``tables``): ``units``, ``population`` (optional), ``doorstep_catalogue``, ``doorstep_menus``,
``doorstep_stations``, ``doorstep_records`` and ``doorstep_evaluations`` (each optional except the catalogue
and menus; a stage with no doorstep data returns no tables).

Outputs:

- ``observations_doorstep``: ``unit, period, indicator, value, se, flag, source`` (``source="service"``):
  D5.1, D5.3, D3.5 per 街镇 and year; D5.2, D5.4 per 街镇 and quarter (D5.4 ``provisional`` for a quarter the
  meeting records cover only in part);
- ``doorstep_coverage`` (:func:`govlib.services.doorstep.menu_coverage`), ``doorstep_gaps``
  (:func:`~govlib.services.doorstep.bottom_line_gaps`), ``doorstep_equity`` (:func:`~govlib.services.doorstep.equity_table`),
  ``doorstep_usage`` (:func:`~govlib.services.doorstep.usage_table`), ``doorstep_usage_monthly`` (services per
  community and month: the station usage-drop alerts' series), ``doorstep_usage_trends`` (Mann-Kendall and Sen
  slopes of each 街镇's usage per 1,000 residents per year by category, complete periods only, from
  :func:`govlib.trend.mannkendall.trend_table`), ``doorstep_meetings`` (quarterly and annual rows),
  ``doorstep_evaluations_summary`` and ``doorstep_unevaluated`` (:func:`~govlib.services.doorstep.evaluation_summary`).

Settings (section ``doorstep``; declared in :data:`govlib.settings.SCHEMA`):

====================== =============== ===========================================================================
key                    default         meaning
====================== =============== ===========================================================================
coverage_frequency     ``Q``           periods of ``doorstep_coverage`` (D5.2 is taken from quarterly coverage)
gaps_frequency         ``A``           periods at whose end missing bottom-line items are listed
usage_frequency        ``Q``           periods of ``doorstep_usage``
require_station        ``true``        no station that year -> no items available
coverage_floor_items   ``100``         coverage floor (items) for the equity table and the lagging list
usage_floor_fraction   ``0.5``         usage floor = this fraction of the district median per period
population_weights     ``true``        weight usage inequality by residents
conf_level             ``0.95``        t interval of evaluation ratings
evaluation_grace_months ``12``         unevaluated projects older than this are ``overdue``
floor_share            ratio_of_sums   D5.3: ``ratio_of_sums`` or ``mean_of_ratios``
categories             (the 7)         allowed catalogue categories (default: :data:`govlib.services.doorstep.CATEGORIES`)
check_records          ``true``        check every record against the menus (ordered before delivered)
usage_trends           ``true``        compute ``doorstep_usage_trends``
====================== =============== ===========================================================================
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...services import doorstep as ds
from ...settings import read_section

__all__ = ["run", "read_settings"]


def read_settings(settings) -> dict:
    """The ``doorstep`` section merged over its defaults and checked (:func:`govlib.settings.read_section`).

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> read_settings(load_settings())["coverage_frequency"]
    'Q'
    """
    return read_section(settings, "doorstep")


def _last_month(tables: dict[str, pd.DataFrame]) -> int | None:
    """The latest month with activity (records or meetings), else the end of the last station year."""
    months = []
    for name in ("doorstep_records", "doorstep_evaluations"):
        df = tables.get(name)
        if df is not None and len(df):
            m = ds.month_code_from_dates(df["date"])
            if np.isfinite(m).any():
                months.append(np.nanmax(m))
    if months:
        return int(max(months))
    st = tables.get("doorstep_stations")
    if st is not None and len(st):
        return int(pd.to_numeric(st["year"], errors="coerce").max() * 12 + 11)
    return None


def _text_month(code: int) -> str:
    return f"{code // 12}-{code % 12 + 1:02d}"


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Run the doorstep stage (pure). See the module docstring for inputs, outputs and settings.

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> cat = pd.DataFrame({"item_id": ["a"], "name_zh": ["甲"], "category": ["健康服务"], "tier": ["bottom_line"],
    ...                     "department": ["区卫健委"]})
    >>> menus = pd.DataFrame({"community": ["C"], "item_id": ["a"], "from_period": ["2024-01"], "to_period": [""]})
    >>> st = pd.DataFrame({"community": ["C"], "year": [2024], "has_station": [True], "legal_adviser": [True]})
    >>> out = run({"units": units, "doorstep_catalogue": cat, "doorstep_menus": menus, "doorstep_stations": st},
    ...           load_settings())
    >>> out["observations_doorstep"][["period", "indicator", "value"]].values.tolist()[:3]
    [['2024', 'D3.5', 100.0], ['2024', 'D5.1', 100.0], ['2024Q1', 'D5.2', 1.0]]
    """
    cfg = read_settings(settings)
    catalogue = tables.get("doorstep_catalogue")
    menus = tables.get("doorstep_menus")
    if catalogue is None or menus is None:
        return {}
    units = tables["units"]
    population = tables.get("population")
    stations = tables.get("doorstep_stations")
    records = tables.get("doorstep_records")
    evaluations = tables.get("doorstep_evaluations")
    # the doorstep tables were checked against each other once, by load_raw (govlib.data.rules)

    last = _last_month(tables)
    first = int(np.nanmin(ds.month_code_from_text(menus["from_period"])))
    if stations is not None and len(stations):
        first = max(first, int(pd.to_numeric(stations["year"], errors="coerce").min()) * 12)
    if last is None or last < first:
        last = first
    first_m, last_m = _text_month(first), _text_month(last)
    out: dict[str, pd.DataFrame] = {}

    coverage = ds.menu_coverage(catalogue, menus, units, stations, frequency=cfg["coverage_frequency"],
                                first_period=first_m, last_period=last_m, require_station=cfg["require_station"])
    out["doorstep_coverage"] = coverage
    coverage_q = coverage if cfg["coverage_frequency"] == "Q" else ds.menu_coverage(
        catalogue, menus, units, stations, frequency="Q", first_period=first_m, last_period=last_m,
        require_station=cfg["require_station"])
    out["doorstep_gaps"] = ds.bottom_line_gaps(catalogue, menus, units, stations=stations,
                                               frequency=cfg["gaps_frequency"], last_period=last_m,
                                               require_station=cfg["require_station"])
    usage = None
    if records is not None and len(records):
        usage = ds.usage_table(records, catalogue, units, population, frequency=cfg["usage_frequency"])
        out["doorstep_usage"] = usage
        out["doorstep_usage_monthly"] = _usage_monthly(records)
        if cfg["usage_trends"]:
            out["doorstep_usage_trends"] = _usage_trends(usage)
    out["doorstep_equity"] = ds.equity_table(coverage, usage if usage is not None and
                                             cfg["usage_frequency"] == cfg["coverage_frequency"] else None,
                                             coverage_floor=float(cfg["coverage_floor_items"]),
                                             usage_floor_fraction=float(cfg["usage_floor_fraction"]),
                                             population_weights=bool(cfg["population_weights"]))
    meetings_q = None
    if evaluations is not None and len(evaluations):
        meetings_q = ds.meeting_table(evaluations, units, "Q", first_month=first_m, last_month=last_m)
        meetings_a = ds.meeting_table(evaluations, units, "A", first_month=first_m, last_month=last_m)
        out["doorstep_meetings"] = pd.concat([meetings_a, meetings_q], ignore_index=True)
        summary, never = ds.evaluation_summary(evaluations, units, conf_level=float(cfg["conf_level"]),
                                               grace_months=int(cfg["evaluation_grace_months"]), as_of=last_m)
        out["doorstep_evaluations_summary"] = summary
        out["doorstep_unevaluated"] = never
    stations_wide = (ds.station_indicators(stations, units, floor_share=cfg["floor_share"])
                     if stations is not None and len(stations) else None)
    obs = ds.doorstep_observations(stations_wide, coverage_q, meetings_q)
    if meetings_q is not None and len(obs):
        incomplete = set(meetings_q.loc[~meetings_q["complete"], "period"])
        obs.loc[(obs["indicator"] == "D5.4") & obs["period"].isin(incomplete), "flag"] = "provisional"
    out["observations_doorstep"] = obs
    return out


def _usage_monthly(records: pd.DataFrame) -> pd.DataFrame:
    """Services delivered per community and month (``unit, period, services``): the series of the trend stage's
    station usage-drop test (:func:`govlib.trend.deterioration.count_drop_test`)."""
    date = pd.to_datetime(records["date"])
    g = pd.DataFrame({"unit": records["community"].astype(str).to_numpy(),
                      "month": (date.dt.year * 12 + date.dt.month - 1).to_numpy(),
                      "services": pd.to_numeric(records["count"], errors="coerce").to_numpy()})
    g = g.groupby(["unit", "month"], as_index=False, sort=True)["services"].sum()
    g["period"] = (g["month"] // 12).astype(str) + "-" + (g["month"] % 12 + 1).map("{:02d}".format)
    return g[["unit", "period", "services"]]


def _usage_trends(usage: pd.DataFrame) -> pd.DataFrame:
    """Trend tests of each 街镇's (and the district's) annualised usage per 1,000 residents, by category."""
    from ...trend.mannkendall import trend_table

    u = usage[(usage["level"] != "community") & (usage["tier"] == ds.ALL) & usage["complete"]
              & usage["per_1000_year"].notna()]
    if u.empty:
        return pd.DataFrame()
    return trend_table(u, "period", "per_1000_year", by=["level", "unit", "category"])
