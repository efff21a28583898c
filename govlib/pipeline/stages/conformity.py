"""Build stage ``conformity``: 家门口 standard conformity of stations and the three-meeting chains of projects.

Inputs (``tables``): ``units``, ``conformity_standard`` (from ``data/raw``, else the packaged illustrative
checklist, added by :func:`govlib.data.schema.load_raw`), ``conformity_inspections``, ``doorstep_projects``,
``doorstep_evaluations`` (all optional; with none of them the stage returns nothing), ``framework``.

Outputs (functions of :mod:`govlib.services.conformity`):

- ``conformity_results``: every inspection row with its result (:func:`inspection_results`);
- ``conformity_requirements`` and ``conformity_stations``: each station's requirement results and score per period
  (:func:`station_conformity`); ``conformity_jiezhen``: the distribution over each 街镇's stations;
- ``conformity_issues``: non-conformities open at the end of the data, overdue first (:func:`open_issues`);
- ``conformity_chains`` and ``conformity_chain_completeness`` (:func:`meeting_chains`, :func:`chain_completeness`);
- ``conformity_trend`` (Mann-Kendall of each 街镇's median score), ``conformity_relation`` (correlation with the
  residents' evaluation ratings, per period);
- ``conformity_alerts``: red alerts, one per 街镇 and period with an overdue bottom-line non-conformity, in the
  columns of ``alerts`` (the integrator appends them there);
- ``conformity_visits``: stations to visit next quarter (overdue rectifications, lowest scores);
- ``observations_conformity`` only when ``conformity.indicators`` names framework leaves.

Settings (section ``conformity``; defaults in :func:`govlib.services.conformity.settings_defaults`):

================ ============ ===================================================================================
key              default      meaning
================ ============ ===================================================================================
frequency        ``A``        periods of scores and chains (``A``, ``Q`` or ``M``)
grace_days       ``90``       the evaluation meeting is due within this many days after completion
min_attendance   ``10``       fewest residents a meeting should have
partial_points   ``0.5``      points a ``partly`` result earns (met = 1, not met = 0)
visit_threshold  ``80``       stations scoring below this are candidates for a visit; also the ``share_below`` line
visit_n          ``10``       the lowest this many stations (plus all with overdue rectifications) are listed
conf_level       ``0.95``     interval of the correlation with residents' ratings
correlation      ``pearson``  ``pearson`` or ``spearman``
indicators       ``{}``       framework leaves fed: ``{score: D5.9, chains: D5.10}`` (the leaves must exist)
================ ============ ===================================================================================
"""
from __future__ import annotations

import pandas as pd

from ...services import conformity as cf
from ...settings import read_section

__all__ = ["run", "read_settings"]


def read_settings(settings) -> dict:
    """The ``conformity`` section merged over its defaults and checked (:func:`govlib.settings.read_section`).

    Examples
    --------
    >>> from govlib.settings import load_settings
    >>> read_settings(load_settings())["grace_days"]
    90
    """
    return read_section(settings, "conformity")


def _as_of(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The end of the data: the latest inspection, closure, meeting or completion date."""
    dates = []
    for name, cols in (("conformity_inspections", ("inspection_date", "date_closed")),
                       ("doorstep_evaluations", ("date",)), ("doorstep_projects", ("completed",))):
        df = tables.get(name)
        for c in cols:
            if df is not None and c in df and len(df):
                dates.append(pd.to_datetime(df[c]).max())
    dates = [d for d in dates if pd.notna(d)]
    return max(dates) if dates else None


def run(tables: dict[str, pd.DataFrame], settings) -> dict[str, pd.DataFrame]:
    """Run the conformity stage (pure). See the module docstring for inputs, outputs and settings."""
    cfg = read_settings(settings)
    units = tables["units"]
    standard = tables.get("conformity_standard")
    inspections = tables.get("conformity_inspections")
    evaluations = tables.get("doorstep_evaluations")
    projects = tables.get("doorstep_projects")
    as_of = _as_of(tables)
    if as_of is None:
        return {}
    out: dict[str, pd.DataFrame] = {}
    freq = cfg["frequency"]
    chains = None
    if evaluations is not None and len(evaluations):
        chains = cf.meeting_chains(evaluations, projects, as_of=as_of, grace_days=int(cfg["grace_days"]),
                                   min_attendance=float(cfg["min_attendance"]), frequency=freq)
        out["conformity_chains"] = chains
        out["conformity_chain_completeness"] = cf.chain_completeness(chains, units)
    jiezhen = None
    if standard is not None and inspections is not None and len(inspections):
        results = cf.inspection_results(inspections, standard, freq)
        scores, reqs = cf.station_conformity(results, standard, units, chains,
                                             partial_points=float(cfg["partial_points"]))
        jiezhen = cf.jiezhen_conformity(scores, units, threshold=float(cfg["visit_threshold"]))
        issues = cf.open_issues(results, as_of, units)
        out.update({"conformity_results": results, "conformity_requirements": reqs, "conformity_stations": scores,
                    "conformity_jiezhen": jiezhen, "conformity_issues": issues,
                    "conformity_trend": cf.conformity_trend(jiezhen),
                    "conformity_alerts": cf.conformity_alerts(results, units, sorted(set(results["period"])),
                                                              as_of=as_of),
                    "conformity_visits": cf.visit_list(scores, issues, max(scores["period"]),
                                                       n=int(cfg["visit_n"]),
                                                       threshold=float(cfg["visit_threshold"]))})
        if chains is not None:
            out["conformity_relation"] = cf.conformity_relation(scores, chains, method=cfg["correlation"],
                                                                conf_level=float(cfg["conf_level"]))
    if cfg["indicators"]:
        fw = tables.get("framework")
        obs = cf.conformity_observations(
            jiezhen if jiezhen is not None else pd.DataFrame(),
            out.get("conformity_chain_completeness", pd.DataFrame()), cfg["indicators"],
            fw["code"].astype(str).tolist() if fw is not None else None)
        if len(obs):
            out["observations_conformity"] = obs
    return out
