"""Build stage ``hotline``: 12345 tickets -> D3.3, D4.1, D4.2, D4.3 observations and ``hotline_monthly``.

Inputs (``tables``): ``hotline_tickets`` (optional: without it the stage returns nothing), ``units``,
``population`` (optional; needed for D4.1). ``govlib build`` does not keep the tickets: it reduces each validated
file as it is read (:func:`ticket_sink`) and hands the stage ``hotline_ticket_counts`` (community x month counts)
instead; the outputs are the same.

Outputs:

- ``observations_hotline``: ``unit, period, indicator, value, se, flag, source`` (``source="hotline"``) per 街镇,
  at monthly periods (``2024-07``) and, with ``periods: both``, whole years (``2024``) from the summed counts;
- ``hotline_monthly``: counts and rates per community, 街镇 and district and month/year
  (:func:`govlib.services.hotline.finalise_monthly`).

Settings (section ``hotline``):

================= ============= ==================================================================================
key               default       meaning
================= ============= ==================================================================================
as_of             (latest)      extract time ``YYYY-MM-DD[ HH:MM]``: open tickets due on or after it are pending;
                                default: the latest ``created_at``/``closed_at`` in the data
satisfied_min     ``4``         lowest rating (of 5) counted as satisfied
repeat_base       ``complaint`` D3.3 denominator: ``complaint`` tickets or ``all`` tickets
min_denominator   ``30``        shares on fewer tickets are flagged ``provisional``
periods           ``both``      observation periods: ``month``, ``year`` or ``both``
chunk_rows        ``2000000``   tickets reduced per chunk (bounds working memory; the result does not change)
================= ============= ==================================================================================
"""
from __future__ import annotations

import pandas as pd

from ...services import hotline as hl
from ...services.hotline_stream import TicketCounts
from ...settings import read_section, section_defaults

__all__ = ["run", "DEFAULTS", "read_settings", "ticket_sink", "COUNTS"]

#: The table of community x month ticket counts that :func:`ticket_sink` makes (used instead of the tickets).
COUNTS = "hotline_ticket_counts"

#: The ``hotline`` section's defaults (declared in :data:`govlib.settings.SCHEMA`).
DEFAULTS = section_defaults("hotline")


def read_settings(settings) -> dict:
    """The ``hotline`` section merged over :data:`DEFAULTS` and checked (:func:`govlib.settings.read_section`).

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> read_settings(load_settings())["repeat_base"]
    'complaint'
    """
    cfg = read_section(settings, "hotline")
    if cfg["as_of"] is not None:
        cfg["as_of"] = pd.Timestamp(cfg["as_of"])  # checked as a date by the schema
    return cfg


def ticket_sink(settings) -> TicketCounts:
    """The reduction of ticket files one at a time (``load_raw(sinks={"hotline_tickets": ...})``); its
    ``counts()`` is the stage's ``hotline_ticket_counts`` input.

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> ticket_sink(load_settings()).satisfied_min
    4
    """
    cfg = read_settings(settings)
    return TicketCounts(as_of=cfg["as_of"], satisfied_min=cfg["satisfied_min"])


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Run the hotline stage (pure). See the module docstring for inputs, outputs and settings.

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> units = pd.DataFrame({"code": ["S", "C"], "level": ["subdistrict", "community"], "parent": ["D", "S"]})
    >>> t = pd.DataFrame({"ticket_id": [1, 2], "unit": ["C", "C"], "created_at": ["2024-07-01", "2024-07-02"],
    ...                   "category": ["complaint", "complaint"], "repeat": [True, False]})
    >>> out = run({"hotline_tickets": t, "units": units}, load_settings())
    >>> out["observations_hotline"].query("indicator == 'D3.3'")[["period", "value"]].values.tolist()
    [['2024', 50.0], ['2024-07', 50.0]]
    """
    cfg = read_settings(settings)
    tickets = tables.get("hotline_tickets")
    counts = tables.get(COUNTS)
    if counts is not None and (tickets is None or len(tickets) == 0) and len(counts):
        monthly = hl.finalise_monthly(counts, tables["units"], tables.get("population"),
                                      repeat_base=cfg["repeat_base"])
        obs = hl.hotline_observations(monthly, min_denominator=cfg["min_denominator"], periods=cfg["periods"])
        return {"observations_hotline": obs, "hotline_monthly": monthly}
    if tickets is None or len(tickets) == 0:
        return {}
    units = tables["units"]
    as_of = cfg["as_of"]
    if as_of is None:
        # the extract time is unknown: the latest time stamp in the data stands in for it
        times = [pd.to_datetime(tickets[c], errors="coerce").max() for c in ("created_at", "closed_at")
                 if c in tickets]
        times = [t for t in times if pd.notna(t)]
        as_of = max(times) if times else None
    monthly = hl.aggregate_tickets(tickets, units, tables.get("population"), as_of=as_of,
                                   chunk_rows=cfg["chunk_rows"], satisfied_min=cfg["satisfied_min"],
                                   repeat_base=cfg["repeat_base"])
    obs = hl.hotline_observations(monthly, min_denominator=cfg["min_denominator"], periods=cfg["periods"])
    return {"observations_hotline": obs, "hotline_monthly": monthly}
