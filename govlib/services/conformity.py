"""家门口 standard conformity: station inspections against the checklist, and every project's three meetings.

Pure functions over tidy DataFrames (the raw tables ``conformity_standard``, ``conformity_inspections``,
``doorstep_projects``, ``doorstep_evaluations`` and ``units``; see ``docs/conformity.md``):

- :func:`inspection_results`: each inspection row with its result (stated, or derived from the measured value by
  the requirement's check), period, weight and tier;
- :func:`meeting_chains`: each resident project's chain of hearing (听证会), coordination (协调会) and evaluation
  (评议会) meetings checked against four rules; :func:`chain_completeness` per community, 街镇 and district;
- :func:`station_conformity` (score per station and period), :func:`jiezhen_conformity` (the distribution over a
  街镇's stations: quantiles, not only the mean), :func:`open_issues` (open non-conformities and overdue
  rectifications at a date), :func:`conformity_trend`, :func:`conformity_relation` (correlation between
  conformity and residents' evaluation ratings, with a Fisher-z interval);
- :func:`conformity_alerts` (an overdue bottom-line non-conformity is red), :func:`conformity_observations`
  (framework indicators, when the framework has leaves for them), :func:`visit_list`, and
  :func:`score_planted` (what ``govlib evaluate`` reports on the demo data).

Documented choices
------------------
- **Score** = 100 x weighted share of the assessed requirements met, where ``met`` earns 1, ``partly`` earns
  ``partial_points`` (default **0.5**, half) and ``not_met`` 0; the weights are the checklist's. A requirement not
  inspected in a period is left out (``coverage`` says which weight share was assessed), except
  ``present_in_period`` requirements: a station inspected in the period with no evidence of one counts it not met.
  The latest inspection of a requirement within the period counts.
- Requirements with ``source: meetings`` are not inspected but computed: the station's share (%) of projects
  whose three-meeting chain is complete, among the projects finished (or due) in the period.
- **Chain rules**: ``missing_hearing``, ``missing_coordination``, ``missing_evaluation`` (all three present);
  ``out_of_order`` (every hearing on or before every coordination, and both on or before the evaluation; the
  evaluation not before completion); ``evaluation_late`` (first evaluation more than ``grace_days`` after
  completion); ``low_attendance`` (a meeting with recorded attendance below ``min_attendance``; unrecorded
  attendance is not counted as low). A project whose evaluation is not yet due (completion + grace after
  ``as_of``, or not completed) and that breaks no other rule is ``pending`` and left out of completeness.
- A non-conformity (``partly`` or ``not_met``) is **open** at a date from its inspection until ``date_closed``
  (exclusive); it is **overdue** when open after its ``rectification_deadline``.
- The **relation** with residents' evaluations is a correlation across stations within one period (Pearson on
  the scores and mean ratings, or Spearman on their ranks) with a Fisher-z interval (SE ``1/sqrt(n-3)``;
  Spearman with the Bonett-Wright SE ``sqrt((1 + r^2/2)/(n-3))``). It describes association, not cause.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from ..data.rules import MEETINGS, derive_results

__all__ = ["RESULT_POINTS", "CHAIN_RULES", "settings_defaults", "date_periods", "inspection_results",
           "meeting_chains", "chain_completeness", "station_conformity", "jiezhen_conformity", "open_issues",
           "overdue_at_period_ends", "conformity_trend", "conformity_relation", "fisher_z_interval",
           "conformity_alerts", "conformity_observations", "visit_list", "score_planted"]

#: Points per result in the conformity score (``partly`` is replaced by the ``partial_points`` argument).
RESULT_POINTS = {"met": 1.0, "partly": 0.5, "not_met": 0.0}
#: The chain rules, in the order they are reported.
CHAIN_RULES = ("missing_hearing", "missing_coordination", "missing_evaluation", "out_of_order", "evaluation_late",
               "low_attendance")


def settings_defaults() -> dict[str, Any]:
    """The ``conformity`` settings keys and their defaults (see :mod:`govlib.pipeline.stages.conformity`).

    Examples
    --------
    >>> settings_defaults()["grace_days"]
    90
    """
    from ..settings import section_defaults

    return section_defaults("conformity")


def date_periods(dates, frequency: str = "A") -> np.ndarray:
    """Period strings (``2024``, ``2024Q3``, ``2024-07``) of dates, vectorised; ``""`` for a missing date.

    Examples
    --------
    >>> date_periods(pd.to_datetime(["2024-08-15", None]), "Q").tolist()
    ['2024Q3', '']
    """
    d = pd.DatetimeIndex(pd.to_datetime(dates))
    if frequency not in ("A", "Q", "M"):
        raise InputError(f"frequency: expected A, Q or M; got {frequency!r}")
    y = d.year.to_numpy(dtype=float)
    ok = ~np.isnan(y)
    yi = np.where(ok, y, 0).astype(int).astype(str)
    if frequency == "A":
        out = yi
    elif frequency == "Q":
        out = np.char.add(np.char.add(yi, "Q"), np.where(ok, d.quarter.to_numpy(dtype=float), 1).astype(int).astype(str))
    else:
        out = np.char.add(np.char.add(yi, "-"),
                          np.char.zfill(np.where(ok, d.month.to_numpy(dtype=float), 1).astype(int).astype(str), 2))
    return np.where(ok, out, "").astype(object)


def _period_end(periods) -> pd.Series:
    """End of each period as a timestamp (the last day, 00:00), from period strings."""
    p = pd.Series(periods, dtype=object).astype(str)
    u = pd.unique(p)
    ends = {s: pd.Period(s).end_time.normalize() for s in u}
    return p.map(ends)


def _parents(units: pd.DataFrame) -> pd.Series:
    return pd.Series(units["parent"].astype(str).to_numpy(), index=units["code"].astype(str).to_numpy())


def _district(units: pd.DataFrame) -> str:
    d = units.loc[units["level"].astype(str) == "district", "code"]
    return str(d.iloc[0]) if len(d) else "district"


def _standard(standard: pd.DataFrame) -> pd.DataFrame:
    s = standard.copy()
    s["requirement"] = s["requirement"].astype(str)
    for c in ("threshold", "partial"):
        s[c] = pd.to_numeric(s[c], errors="coerce") if c in s else np.nan
    s["weight"] = pd.to_numeric(s["weight"], errors="coerce").fillna(0.0)
    s["source"] = s["source"].fillna("").astype(str).replace("", "inspection") if "source" in s else "inspection"
    return s.set_index("requirement")


# ----------------------------------------------------------------------------------------------- inspections
def inspection_results(inspections: pd.DataFrame, standard: pd.DataFrame, frequency: str = "A") -> pd.DataFrame:
    """Each inspection row with its ``result`` (stated, else derived from ``value``), ``period`` and checklist fields.

    Returns the inspection columns plus ``period``, ``category``, ``check``, ``weight``, ``tier``,
    ``result_source`` (``stated`` or ``value``) and ``nonconformity`` (result ``partly`` or ``not_met``).

    Examples
    --------
    >>> std = pd.DataFrame({"requirement": ["A", "B"], "category": ["功能区域", "服务要求"],
    ...                     "check": ["yes_no", "share_at_least"], "threshold": [np.nan, 90.0],
    ...                     "partial": [np.nan, 75.0], "weight": [3.0, 1.0], "tier": ["bottom_line", "basic"]})
    >>> ins = pd.DataFrame({"community": ["C", "C"], "requirement": ["A", "B"], "result": ["not_met", None],
    ...                     "value": [np.nan, 80.0], "inspection_date": pd.to_datetime(["2024-03-01"] * 2)})
    >>> inspection_results(ins, std)[["requirement", "result", "period", "nonconformity"]].values.tolist()
    [['A', 'not_met', '2024', True], ['B', 'partly', '2024', True]]
    """
    s = _standard(standard)
    out = inspections.copy()
    out["community"] = out["community"].astype(str)
    out["requirement"] = out["requirement"].astype(str)
    out["inspection_date"] = pd.to_datetime(out["inspection_date"])
    for c in ("rectification_deadline", "date_closed"):
        out[c] = pd.to_datetime(out[c]) if c in out else pd.NaT
    r = out["requirement"]
    value = pd.to_numeric(out["value"], errors="coerce") if "value" in out else pd.Series(np.nan, index=out.index)
    stated = out["result"].fillna("").astype(str).to_numpy() if "result" in out else np.full(len(out), "")
    derived = derive_results(r.map(s["check"]).to_numpy(), r.map(s["threshold"]).to_numpy(),
                             r.map(s["partial"]).to_numpy(), value.to_numpy(dtype=float))
    out["result"] = np.where(stated != "", stated, derived)
    out["result_source"] = np.where(stated != "", "stated", "value")
    out["period"] = date_periods(out["inspection_date"], frequency)
    for c in ("category", "check", "weight", "tier"):
        out[c] = r.map(s[c]).to_numpy() if c in s else None
    out["nonconformity"] = out["result"].isin(["partly", "not_met"])
    return out


# ----------------------------------------------------------------------------------------------- meeting chains
def meeting_chains(evaluations: pd.DataFrame, projects: pd.DataFrame | None = None, as_of=None,
                   grace_days: int = 90, min_attendance: float = 10, frequency: str = "A") -> pd.DataFrame:
    """Each project's three-meeting chain checked against the rules of :data:`CHAIN_RULES` (vectorised).

    Parameters
    ----------
    evaluations : ``doorstep_evaluations`` (``community``, ``project_id``, ``meeting``, ``date``, optional
        ``attendees``, ``rating``, ``outcome``).
    projects : ``doorstep_projects`` (``community``, ``project_id``, ``completed``); without it completion dates
        are unknown and ``evaluation_late`` is not checked. Projects with no meeting at all are included.
    as_of : the date the chains are judged at (default: the latest meeting or completion date).
    grace_days : days after completion within which the evaluation meeting must be held.
    min_attendance : the fewest residents a meeting should have.
    frequency : period of each project (its completion date, else its first meeting).

    Returns
    -------
    DataFrame, one row per project: ``community``, ``project_id``, ``period``, ``completed``, ``hearing``,
    ``coordination``, ``evaluation`` (first dates), ``n_hearing``, ``n_coordination``, ``n_evaluation``,
    ``min_attendees``, ``rating`` (mean evaluation rating), ``outcome`` (of the latest evaluation meeting, when
    recorded), one boolean column per rule (True = broken),
    ``status`` (``complete``, ``broken``, ``pending``) and ``broken_rules`` (``;``-joined).

    Examples
    --------
    >>> ev = pd.DataFrame({"community": ["C"] * 5, "project_id": ["p1", "p1", "p1", "p2", "p2"],
    ...     "meeting": ["hearing", "coordination", "evaluation", "coordination", "hearing"],
    ...     "date": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-07-01", "2024-02-01", "2024-03-01"]),
    ...     "attendees": [30, 15, 25, 12, 20]})
    >>> pr = pd.DataFrame({"community": ["C", "C"], "project_id": ["p1", "p2"],
    ...                    "completed": pd.to_datetime(["2024-06-15", "2024-04-01"])})
    >>> ch = meeting_chains(ev, pr, as_of="2025-01-01")
    >>> ch[["project_id", "status", "broken_rules"]].values.tolist()
    [['p1', 'complete', ''], ['p2', 'broken', 'missing_evaluation;out_of_order']]
    """
    ev = evaluations.copy()
    ev["project_id"] = ev["project_id"].astype(str)
    ev["community"] = ev["community"].astype(str)
    ev["date"] = pd.to_datetime(ev["date"])
    ev["meeting"] = ev["meeting"].astype(str)
    att = pd.to_numeric(ev["attendees"], errors="coerce") if "attendees" in ev else pd.Series(np.nan, index=ev.index)
    rating = pd.to_numeric(ev["rating"], errors="coerce") if "rating" in ev else pd.Series(np.nan, index=ev.index)
    g = ev.assign(att=att, rating=rating.where(ev["meeting"] == "evaluation"))
    first = g.pivot_table(index="project_id", columns="meeting", values="date", aggfunc="min")
    last = g.pivot_table(index="project_id", columns="meeting", values="date", aggfunc="max")
    count = g.pivot_table(index="project_id", columns="meeting", values="date", aggfunc="count")
    by = g.groupby("project_id", sort=True)
    base = pd.DataFrame({"community": by["community"].first(), "min_attendees": by["att"].min(),
                         "rating": by["rating"].mean(), "first_meeting": by["date"].min()})
    # outcome of the latest evaluation meeting (recorded, shown; not a rule)
    outcome = g[g["meeting"] == "evaluation"].sort_values("date", kind="stable").groupby("project_id")["outcome"] \
        .last() if "outcome" in g else pd.Series(dtype=object)
    base["outcome"] = outcome.reindex(base.index)
    if projects is not None and len(projects):
        pr = projects.assign(project_id=projects["project_id"].astype(str),
                             community=projects["community"].astype(str)).set_index("project_id")
        comp = pd.to_datetime(pr["completed"]) if "completed" in pr else pd.Series(pd.NaT, index=pr.index)
        base = base.reindex(base.index.union(pr.index))
        base["community"] = base["community"].fillna(pr["community"])
        base["completed"] = comp.reindex(base.index)
        known_completion = True
    else:
        base["completed"] = pd.NaT
        known_completion = False
    idx = base.index
    for m in MEETINGS:
        base[m] = first[m].reindex(idx) if m in first else pd.NaT
        base[f"n_{m}"] = (count[m].reindex(idx) if m in count else pd.Series(np.nan, index=idx)).fillna(0).astype(int)
    lh = last["hearing"].reindex(idx) if "hearing" in last else pd.Series(pd.NaT, index=idx)
    lc = last["coordination"].reindex(idx) if "coordination" in last else pd.Series(pd.NaT, index=idx)
    h, c, e, done = base["hearing"], base["coordination"], base["evaluation"], base["completed"]
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.concat([ev["date"], done]).max()
    grace = pd.Timedelta(days=int(grace_days))
    due = done.notna() & (done + grace <= as_of)
    # Order: compared only where both meetings exist (a missing meeting is its own rule).
    out_of_order = (lh > c).fillna(False) | (lc > e).fillna(False) | (lh > e).fillna(False) \
        | (e < done).fillna(False)
    rules = pd.DataFrame({
        "missing_hearing": h.isna() & (c.notna() | e.notna() | due),
        "missing_coordination": c.isna() & (e.notna() | due),
        "missing_evaluation": e.isna() & due,
        "out_of_order": out_of_order,
        "evaluation_late": ((e - done) > grace).fillna(False) | (e.isna() & due),
        "low_attendance": (base["min_attendees"] < float(min_attendance)).fillna(False),
    }, index=idx)
    if not known_completion:
        rules["evaluation_late"] = False
    # An evaluation that is missing once due is reported as missing (and late): both rules name the same fact.
    rules.loc[rules["missing_evaluation"], "evaluation_late"] = False
    broken = rules.any(axis=1)
    finished = e.notna() & h.notna() & c.notna()
    status = np.where(broken, "broken", np.where(finished | due, "complete", "pending"))
    names = np.array(CHAIN_RULES, dtype=object)
    mat = rules[list(CHAIN_RULES)].to_numpy()
    broken_rules = [";".join(names[row]) for row in mat]  # one short join per project (thousands, not millions)
    when = done.fillna(base["first_meeting"])
    out = base.assign(period=date_periods(when, frequency), status=status, broken_rules=broken_rules)
    out = pd.concat([out, rules], axis=1).reset_index().rename(columns={"index": "project_id"})
    cols = ["community", "project_id", "period", "completed", "hearing", "coordination", "evaluation",
            "n_hearing", "n_coordination", "n_evaluation", "min_attendees", "rating", "outcome", *CHAIN_RULES, "status",
            "broken_rules"]
    return out[cols].sort_values(["community", "project_id"], kind="stable").reset_index(drop=True)


def _levels(frame: pd.DataFrame, units: pd.DataFrame, unit_col: str = "community") -> pd.DataFrame:
    """Rows for each community, its 街镇 (parent) and the district: adds ``level``, ``unit``, ``parent``."""
    parents = _parents(units)
    comm = frame.assign(level="community", unit=frame[unit_col].astype(str),
                        parent=frame[unit_col].astype(str).map(parents).fillna(""))
    jz = comm.assign(level="subdistrict", unit=comm["parent"], parent=_district(units))
    dist = comm.assign(level="district", unit=_district(units), parent="")
    return pd.concat([comm, jz, dist], ignore_index=True)


def chain_completeness(chains: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Share of projects whose three-meeting chain is complete, per community, 街镇 and district and period.

    Pending projects are left out. Columns: ``level``, ``unit``, ``parent``, ``period``, ``n_projects``,
    ``n_pending``, ``n_assessed``, ``n_complete``, ``n_broken``, ``completeness_pct``, and ``n_<rule>`` per rule.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["D", "S", "C"], "level": ["district", "subdistrict", "community"],
    ...                       "parent": ["", "D", "S"]})
    >>> ch = pd.DataFrame({"community": ["C"] * 3, "period": ["2024"] * 3,
    ...                    "status": ["complete", "broken", "pending"], "out_of_order": [False, True, False]})
    >>> chain_completeness(ch, units)[["level", "n_assessed", "completeness_pct"]].values.tolist()
    [['community', 2, 50.0], ['subdistrict', 2, 50.0], ['district', 2, 50.0]]
    """
    rules = [r for r in CHAIN_RULES if r in chains.columns]
    ch = chains.assign(_complete=chains["status"] == "complete", _broken=chains["status"] == "broken",
                       _pending=chains["status"] == "pending",
                       **{f"n_{r}": chains[r].astype(bool) for r in rules})
    allv = _levels(ch, units)
    agg = allv.groupby(["level", "unit", "parent", "period"], sort=False).agg(
        n_projects=("status", "size"), n_pending=("_pending", "sum"), n_complete=("_complete", "sum"),
        n_broken=("_broken", "sum"), **{f"n_{r}": (f"n_{r}", "sum") for r in rules}).reset_index()
    agg["n_assessed"] = agg["n_complete"] + agg["n_broken"]
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["completeness_pct"] = np.where(agg["n_assessed"] > 0, 100.0 * agg["n_complete"] / agg["n_assessed"],
                                           np.nan)
    order = {"community": 0, "subdistrict": 1, "district": 2}
    agg = agg.sort_values(["level", "unit", "period"], key=lambda s: s.map(order) if s.name == "level" else s,
                          kind="stable")
    cols = ["level", "unit", "parent", "period", "n_projects", "n_pending", "n_assessed", "n_complete", "n_broken",
            "completeness_pct"] + [f"n_{r}" for r in rules]
    return agg[cols].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- conformity score
def station_conformity(results: pd.DataFrame, standard: pd.DataFrame, units: pd.DataFrame,
                       chains: pd.DataFrame | None = None,
                       partial_points: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Conformity score per station and period, and the result of each requirement that went into it.

    Parameters
    ----------
    results : :func:`inspection_results` (one frequency).
    standard : the checklist.
    units : the unit registry (for each station's 街镇).
    chains : :func:`meeting_chains` with the same frequency; feeds requirements with ``source: meetings``.
    partial_points : points a ``partly`` result earns (0.5: half; named so that a district can choose 0).

    Returns
    -------
    (scores, requirements). ``scores``: ``community``, ``parent``, ``period``, ``score`` (0-100),
    ``n_assessed``, ``n_met``, ``n_partly``, ``n_not_met``, ``weight_assessed``, ``coverage`` (assessed share of
    the checklist's weight), ``bottom_line_not_met``. ``requirements``: ``community``, ``period``,
    ``requirement``, ``result``, ``value``, ``inspection_date``, ``origin`` (``inspection``, ``absent``,
    ``meetings``), ``weight``, ``tier``, ``points``.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["D", "S", "C"], "level": ["district", "subdistrict", "community"],
    ...                       "parent": ["", "D", "S"]})
    >>> std = pd.DataFrame({"requirement": ["A", "B", "P"], "check": ["yes_no", "yes_no", "present_in_period"],
    ...                     "weight": [3.0, 1.0, 1.0], "tier": ["bottom_line", "basic", "basic"]})
    >>> res = pd.DataFrame({"community": ["C", "C"], "requirement": ["A", "B"], "period": ["2024"] * 2,
    ...                     "result": ["met", "partly"], "inspection_date": pd.to_datetime(["2024-03-01"] * 2)})
    >>> scores, reqs = station_conformity(res, std, units)
    >>> float(scores["score"].iloc[0]), reqs["origin"].tolist()   # (3*1 + 1*0.5 + 1*0) / 5
    (70.0, ['inspection', 'inspection', 'absent'])
    """
    if not 0 <= partial_points <= 1:
        raise InputError(f"partial_points: expected a number from 0 to 1; got {partial_points!r}")
    s = _standard(standard)
    r = results.sort_values("inspection_date", kind="stable")
    latest = r.drop_duplicates(["community", "period", "requirement"], keep="last")
    keep = ["community", "period", "requirement", "result", "inspection_date"]
    parts = [latest[keep + (["value"] if "value" in latest else [])].assign(origin="inspection")]
    # present_in_period: a station inspected in the period with no evidence of the requirement fails it.
    present = s.index[(s["check"] == "present_in_period") & (s["source"] == "inspection")]
    visited = latest[["community", "period"]].drop_duplicates()
    if len(present) and len(visited):
        grid = visited.merge(pd.DataFrame({"requirement": present}), how="cross")
        seen = pd.MultiIndex.from_frame(latest[["community", "period", "requirement"]])
        absent = grid[~pd.MultiIndex.from_frame(grid).isin(seen)]
        parts.append(absent.assign(result="not_met", origin="absent", inspection_date=pd.NaT))
    meet_req = s.index[s["source"] == "meetings"]
    if chains is not None and len(chains) and len(meet_req):
        c = chains[chains["status"] != "pending"]
        share = (c.assign(ok=c["status"] == "complete").groupby(["community", "period"])["ok"].mean() * 100)
        share = share.rename("value").reset_index()
        for req in meet_req:
            v = share["value"].to_numpy()
            res = derive_results(np.full(len(v), s.at[req, "check"], dtype=object), np.full(len(v), s.at[req, "threshold"]),
                                 np.full(len(v), s.at[req, "partial"]), v)
            parts.append(share.assign(requirement=req, result=res, origin="meetings", inspection_date=pd.NaT))
    reqs = pd.concat([p for p in parts if len(p)], ignore_index=True)
    reqs["weight"] = reqs["requirement"].map(s["weight"]).astype(float)
    reqs["tier"] = reqs["requirement"].map(s["tier"])
    points = dict(RESULT_POINTS, partly=float(partial_points))
    reqs["points"] = reqs["result"].map(points).astype(float)
    reqs["wp"] = reqs["weight"] * reqs["points"]
    reqs["_met"] = reqs["result"] == "met"
    reqs["_partly"] = reqs["result"] == "partly"
    reqs["_not"] = reqs["result"] == "not_met"
    reqs["_bl"] = reqs["_not"] & (reqs["tier"] == "bottom_line")
    g = reqs.groupby(["community", "period"], sort=True)
    scores = pd.DataFrame({"wp": g["wp"].sum(), "weight_assessed": g["weight"].sum(), "n_assessed": g.size(),
                           "n_met": g["_met"].sum(), "n_partly": g["_partly"].sum(), "n_not_met": g["_not"].sum(),
                           "bottom_line_not_met": g["_bl"].sum()}).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        scores["score"] = np.where(scores["weight_assessed"] > 0, 100 * scores["wp"] / scores["weight_assessed"],
                                   np.nan)
    scores["coverage"] = scores["weight_assessed"] / float(s["weight"].sum())
    scores.insert(1, "parent", scores["community"].map(_parents(units)).fillna(""))
    scores = scores[["community", "parent", "period", "score", "n_assessed", "n_met", "n_partly", "n_not_met",
                     "weight_assessed", "coverage", "bottom_line_not_met"]]
    reqs = reqs.drop(columns=["wp", "_met", "_partly", "_not", "_bl"]).sort_values(
        ["community", "period", "requirement"], kind="stable").reset_index(drop=True)
    return scores, reqs


def jiezhen_conformity(scores: pd.DataFrame, units: pd.DataFrame, threshold: float = 80.0) -> pd.DataFrame:
    """The distribution of station scores per 街镇 and district and period (quantiles, not only the mean).

    Columns: ``level``, ``unit``, ``period``, ``n_stations``, ``mean``, ``sd`` (``ddof=1``), ``min``, ``p10``,
    ``p25``, ``median``, ``p75``, ``p90``, ``max`` (linear-interpolation quantiles, numpy's default),
    ``share_below`` (% of stations scoring below ``threshold``), ``bottom_line_not_met`` (stations with at least
    one bottom-line requirement not met).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["D", "S", "C1", "C2"], "parent": ["", "D", "S", "S"],
    ...                       "level": ["district", "subdistrict", "community", "community"]})
    >>> sc = pd.DataFrame({"community": ["C1", "C2"], "period": ["2024"] * 2, "score": [60.0, 100.0],
    ...                    "bottom_line_not_met": [1, 0]})
    >>> jiezhen_conformity(sc, units).iloc[0][["median", "share_below"]].astype(float).tolist()
    [80.0, 50.0]
    """
    sc = scores.assign(_below=scores["score"] < threshold, _bl=scores["bottom_line_not_met"] > 0)
    rows = _levels(sc, units)
    rows = rows[rows["level"] != "community"]
    g = rows.groupby(["level", "unit", "period"], sort=False)["score"]
    q = g.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
    q.columns = ["p10", "p25", "median", "p75", "p90"]
    out = pd.DataFrame({"n_stations": g.count(), "mean": g.mean(), "sd": g.std(ddof=1), "min": g.min()}).join(q)
    out["max"] = g.max()
    gb = rows.groupby(["level", "unit", "period"], sort=False)
    out["share_below"] = 100 * gb["_below"].mean()
    out["bottom_line_not_met"] = gb["_bl"].sum()
    out = out.reset_index()
    out["_o"] = (out["level"] == "district").astype(int)
    return out.sort_values(["_o", "unit", "period"], kind="stable").drop(columns="_o").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- open issues
def open_issues(results: pd.DataFrame, as_of, units: pd.DataFrame | None = None) -> pd.DataFrame:
    """Non-conformities open at ``as_of`` (inspected on or before it, not closed by it), with their deadlines.

    Columns: ``community``, ``parent``, ``requirement``, ``tier``, ``result``, ``inspection_date``,
    ``rectification_deadline``, ``days_to_deadline`` (negative = overdue), ``overdue``, ``note``; sorted
    overdue first, then by deadline.

    Examples
    --------
    >>> res = pd.DataFrame({"community": ["C", "C"], "requirement": ["A", "B"], "tier": ["bottom_line", "basic"],
    ...     "result": ["not_met", "partly"], "nonconformity": [True, True],
    ...     "inspection_date": pd.to_datetime(["2024-03-01", "2024-03-01"]),
    ...     "rectification_deadline": pd.to_datetime(["2024-04-01", "2024-12-01"]),
    ...     "date_closed": pd.to_datetime([None, "2024-05-01"])})
    >>> open_issues(res, "2024-06-30")[["requirement", "days_to_deadline", "overdue"]].values.tolist()
    [['A', -90, True]]
    """
    as_of = pd.Timestamp(as_of)
    r = results[results["nonconformity"].astype(bool)]
    closed = pd.to_datetime(r["date_closed"])
    live = (r["inspection_date"] <= as_of) & (closed.isna() | (closed > as_of))
    o = r[live].copy()
    o["days_to_deadline"] = (o["rectification_deadline"] - as_of).dt.days.astype("Int64")
    o["overdue"] = (o["rectification_deadline"] < as_of).fillna(False).astype(bool)
    if units is not None:
        o["parent"] = o["community"].map(_parents(units)).fillna("")
    elif "parent" not in o:
        o["parent"] = ""
    if "note" not in o:
        o["note"] = ""
    o = o.sort_values(["overdue", "rectification_deadline", "community"], ascending=[False, True, True],
                      kind="stable")
    cols = ["community", "parent", "requirement", "tier", "result", "inspection_date", "rectification_deadline",
            "days_to_deadline", "overdue", "note"]
    return o[cols].reset_index(drop=True)


def overdue_at_period_ends(results: pd.DataFrame, periods, as_of=None) -> pd.DataFrame:
    """Every non-conformity that is open and past its deadline at the end of each period (or at ``as_of``
    for the period containing it). Columns: the result columns plus ``period`` and ``judged_at``.

    Examples
    --------
    >>> res = pd.DataFrame({"community": ["C"], "requirement": ["A"], "nonconformity": [True],
    ...     "inspection_date": pd.to_datetime(["2023-03-01"]), "rectification_deadline": pd.to_datetime(["2023-06-01"]),
    ...     "date_closed": pd.to_datetime(["2024-02-01"])})
    >>> overdue_at_period_ends(res, ["2023", "2024"])["period"].tolist()
    ['2023']
    """
    ends = pd.DataFrame({"period": pd.unique(pd.Series(list(periods), dtype=object).astype(str))})
    ends["judged_at"] = _period_end(ends["period"]).to_numpy()
    if as_of is not None:
        ends["judged_at"] = ends["judged_at"].where(ends["judged_at"] <= pd.Timestamp(as_of), pd.Timestamp(as_of))
    r = results[results["nonconformity"].astype(bool)]
    r = r.rename(columns={"period": "inspection_period"}) if "period" in r else r
    x = r.merge(ends, how="cross")
    closed = pd.to_datetime(x["date_closed"])
    live = (x["inspection_date"] <= x["judged_at"]) & (closed.isna() | (closed > x["judged_at"]))
    return x[live & (x["rectification_deadline"] < x["judged_at"]).fillna(False)].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- trend, relation
def conformity_trend(jiezhen: pd.DataFrame, min_n: int = 4) -> pd.DataFrame:
    """Trend of each 街镇's (and the district's) median station score: Mann-Kendall test and Sen slope per year.

    Uses :func:`govlib.trend.mannkendall.trend_table` (series shorter than ``min_n`` periods get no test).
    Columns: ``level``, ``unit``, then the trend table's columns.
    """
    from ..trend.mannkendall import trend_table

    j = jiezhen[jiezhen["median"].notna()]
    if j.empty:
        return pd.DataFrame()
    return trend_table(j, "period", "median", by=["level", "unit"], min_n=min_n)


def fisher_z_interval(r: np.ndarray, n: np.ndarray, conf_level: float = 0.95,
                      method: str = "pearson") -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of a correlation by Fisher's z transform (vectorised).

    ``method="pearson"``: SE ``1/sqrt(n-3)`` (what R's ``cor.test`` reports); ``"spearman"``: the Bonett-Wright
    SE ``sqrt((1 + r^2/2)/(n-3))``. NaN where ``n < 4``.

    Examples
    --------
    >>> lo, hi = fisher_z_interval(np.array([0.5]), np.array([30]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.1704, 0.729)
    """
    if method not in ("pearson", "spearman"):
        raise InputError(f"method: expected 'pearson' or 'spearman'; got {method!r}")
    if not 0 < conf_level < 1:
        raise InputError(f"conf_level: expected a number between 0 and 1; got {conf_level!r}")
    r = np.asarray(r, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(np.clip(r, -0.9999999, 0.9999999))
        se = (1 / np.sqrt(n - 3)) if method == "pearson" else np.sqrt((1 + r ** 2 / 2) / (n - 3))
        q = stats.norm.ppf(0.5 + conf_level / 2)
        lo, hi = np.tanh(z - q * se), np.tanh(z + q * se)
    bad = n < 4
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def conformity_relation(scores: pd.DataFrame, chains: pd.DataFrame, method: str = "pearson",
                        conf_level: float = 0.95, min_n: int = 8) -> pd.DataFrame:
    """Correlation between stations' conformity scores and residents' mean evaluation ratings, per period.

    A station's rating in a period is the mean rating of its projects assessed in that period (``chains``'
    ``rating``). Stations with both are paired; periods with fewer than ``min_n`` pairs get no estimate.
    Columns: ``period``, ``method``, ``n``, ``r``, ``ci_low``, ``ci_high``, ``p`` (two-sided test of r = 0), and
    ``conf_level``. Association only: it does not say that conformity causes better ratings.

    Examples
    --------
    >>> sc = pd.DataFrame({"community": list("abcdefgh"), "period": ["2024"] * 8,
    ...                    "score": [50, 60, 65, 70, 75, 80, 90, 95.0]})
    >>> ch = pd.DataFrame({"community": list("abcdefgh"), "period": ["2024"] * 8,
    ...                    "rating": [70, 72, 71, 78, 80, 79, 88, 90.0]})
    >>> round(float(conformity_relation(sc, ch)["r"].iloc[0]), 3)
    0.959
    """
    rating = chains.dropna(subset=["rating"]).groupby(["community", "period"])["rating"].mean().rename("rating")
    pairs = scores.set_index(["community", "period"])[["score"]].join(rating, how="inner").dropna().reset_index()
    rows = []
    for period, g in pairs.groupby("period", sort=True):  # one test per period: a handful of periods
        n = len(g)
        if n < min_n:
            rows.append({"period": period, "method": method, "n": n, "r": np.nan, "ci_low": np.nan,
                         "ci_high": np.nan, "p": np.nan})
            continue
        x, y = g["score"].to_numpy(float), g["rating"].to_numpy(float)
        res = stats.pearsonr(x, y) if method == "pearson" else stats.spearmanr(x, y)
        r = float(res[0])
        lo, hi = fisher_z_interval(np.array([r]), np.array([n]), conf_level, method)
        rows.append({"period": period, "method": method, "n": n, "r": r, "ci_low": float(lo[0]),
                     "ci_high": float(hi[0]), "p": float(res[1])})
    out = pd.DataFrame(rows, columns=["period", "method", "n", "r", "ci_low", "ci_high", "p"])
    out["conf_level"] = conf_level
    return out


# ----------------------------------------------------------------------------------------------- outputs
ALERT_RULE = "conformity_overdue_bottom_line"


def conformity_alerts(results: pd.DataFrame, units: pd.DataFrame, periods, as_of=None,
                      node: str = "D5") -> pd.DataFrame:
    """Red alerts: a 街镇 with a bottom-line non-conformity open past its rectification deadline at a period's end.

    One row per 街镇 and period (alerts stay few); ``evidence`` lists the stations, requirements and deadlines.
    Columns: ``unit``, ``period``, ``node``, ``level`` (``red``), ``rule``, ``message_zh``, ``message_en``,
    ``evidence``.

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["D", "S", "C"], "level": ["district", "subdistrict", "community"],
    ...                       "parent": ["", "D", "S"], "name_zh": ["区", "甲街道", "乙居委"]})
    >>> res = pd.DataFrame({"community": ["C"], "requirement": ["FA-02"], "tier": ["bottom_line"],
    ...     "nonconformity": [True], "inspection_date": pd.to_datetime(["2024-03-01"]),
    ...     "rectification_deadline": pd.to_datetime(["2024-06-01"]), "date_closed": [pd.NaT]})
    >>> a = conformity_alerts(res, units, ["2024"])
    >>> a[["unit", "period", "level"]].values.tolist(), a["message_zh"].iloc[0]
    ([['S', '2024', 'red']], '1个站点的底线要求不符合项逾期未整改（乙居委 FA-02）')
    """
    cols = ["unit", "period", "node", "level", "rule", "message_zh", "message_en", "evidence"]
    bl = results[results["tier"].astype(str) == "bottom_line"]
    od = overdue_at_period_ends(bl, periods, as_of)
    if od.empty:
        return pd.DataFrame(columns=cols)
    names = pd.Series(units["name_zh"].astype(str).to_numpy() if "name_zh" in units else units["code"].astype(str),
                      index=units["code"].astype(str).to_numpy())
    od = od.assign(parent=od["community"].map(_parents(units)).fillna(""),
                   item=od["community"].map(names).fillna(od["community"]) + " " + od["requirement"],
                   ev=od["community"] + ":" + od["requirement"] + ":due "
                   + od["rectification_deadline"].dt.strftime("%Y-%m-%d"))
    g = od.groupby(["period", "parent"], sort=True)
    agg = pd.DataFrame({"n": g["community"].nunique(), "items": g["item"].agg(lambda s: "、".join(sorted(set(s))[:5])),
                        "evidence": g["ev"].agg(lambda s: "; ".join(sorted(set(s))))}).reset_index()
    return pd.DataFrame({
        "unit": agg["parent"], "period": agg["period"], "node": node, "level": "red", "rule": ALERT_RULE,
        "message_zh": agg["n"].astype(str) + "个站点的底线要求不符合项逾期未整改（" + agg["items"] + "）",
        "message_en": agg["n"].astype(str) + " station(s) with a bottom-line non-conformity past its rectification "
                      "deadline (" + agg["items"] + ")",
        "evidence": agg["evidence"]})[cols]


def conformity_observations(jiezhen: pd.DataFrame, completeness: pd.DataFrame, codes: dict,
                            framework_codes=None) -> pd.DataFrame:
    """Indicator observations per 街镇 and period for the framework leaves named in ``codes``.

    ``codes`` maps ``score`` (mean station conformity score, 0-100) and/or ``chains`` (chain completeness, %) to
    framework codes; a code the framework lacks is an error (the leaf must exist). Columns of ``observations``
    with ``source="service"``.

    Examples
    --------
    >>> j = pd.DataFrame({"level": ["subdistrict"], "unit": ["S"], "period": ["2024"], "mean": [82.5]})
    >>> conformity_observations(j, pd.DataFrame(columns=["level", "unit", "period", "completeness_pct"]),
    ...                         {"score": "D5.9"}, ["D5.9"])[["indicator", "value"]].values.tolist()
    [['D5.9', 82.5]]
    """
    cols = ["unit", "period", "indicator", "value", "se", "flag", "source"]
    unknown = {k for k in codes if k not in ("score", "chains")}
    if unknown:
        raise InputError(f"conformity.indicators: unknown keys {sorted(unknown)}; expected 'score' and/or 'chains'")
    if framework_codes is not None:
        missing = [c for c in codes.values() if c and c not in set(framework_codes)]
        if missing:
            raise InputError(f"conformity.indicators: {missing} are not codes of the framework; add the leaves "
                             "to the framework file first (see docs/conformity.md)")
    parts = []
    for key, table, col in (("score", jiezhen, "mean"), ("chains", completeness, "completeness_pct")):
        code = codes.get(key)
        if not code or table is None or table.empty:
            continue
        t = table[(table["level"] == "subdistrict") & table[col].notna()]
        parts.append(pd.DataFrame({"unit": t["unit"].astype(str), "period": t["period"].astype(str),
                                   "indicator": code, "value": t[col].astype(float), "se": np.nan, "flag": "",
                                   "source": "service"}))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def visit_list(scores: pd.DataFrame, issues: pd.DataFrame, period: str, n: int = 10,
               threshold: float = 80.0, unit: str | None = None) -> pd.DataFrame:
    """Stations to visit next quarter: every station with an overdue rectification, then the lowest-scoring ones.

    The lowest ``n`` stations below ``threshold`` in ``period`` (or the latest period before it) are listed,
    plus all with overdue rectifications; ``unit`` restricts to one 街镇. Columns: ``community``, ``parent``,
    ``score``, ``overdue``, ``open``, ``reason`` (``overdue``, ``low_score`` or both).

    Examples
    --------
    >>> sc = pd.DataFrame({"community": ["a", "b", "c"], "parent": ["S"] * 3, "period": ["2024"] * 3,
    ...                    "score": [95.0, 60.0, 90.0]})
    >>> iss = pd.DataFrame({"community": ["c"], "overdue": [True]})
    >>> visit_list(sc, iss, "2024")[["community", "reason"]].values.tolist()
    [['c', 'overdue'], ['b', 'low_score']]
    """
    avail = sorted(set(scores["period"].astype(str)))
    cands = [p for p in avail if p <= str(period)] or avail
    p = str(period) if str(period) in avail else (cands[-1] if cands else str(period))
    sc = scores[scores["period"].astype(str) == p]
    if unit is not None:
        sc = sc[sc["parent"].astype(str) == str(unit)]
    iss = issues if unit is None or "parent" not in issues else issues[issues["parent"].astype(str) == str(unit)]
    overdue = iss[iss["overdue"].astype(bool)].groupby("community").size() if len(iss) else pd.Series(dtype=int)
    n_open = iss.groupby("community").size() if len(iss) else pd.Series(dtype=int)
    low = sc[sc["score"] < threshold].nsmallest(n, "score")["community"]
    pick = pd.Index(overdue.index).union(pd.Index(low)).rename("community")
    v = sc.set_index("community").reindex(pick)[["parent", "score"]].reset_index()
    v["overdue"] = v["community"].map(overdue).fillna(0).astype(int)
    v["open"] = v["community"].map(n_open).fillna(0).astype(int)
    is_low = v["community"].isin(low)
    v["reason"] = np.where((v["overdue"] > 0) & is_low, "overdue;low_score",
                           np.where(v["overdue"] > 0, "overdue", "low_score"))
    v["period"] = p
    v = v.sort_values(["overdue", "score"], ascending=[False, True], kind="stable")
    return v[["community", "parent", "period", "score", "overdue", "open", "reason"]].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- evaluation
_PROJECT = re.compile(r"project (\S+): (\w+)")


def score_planted(truth: pd.DataFrame, requirements: pd.DataFrame, chains: pd.DataFrame,
                  alerts: pd.DataFrame | None = None, visits: pd.DataFrame | None = None) -> dict:
    """Recall of the demo's planted non-conformities and broken chains, and the precision of broken chains.

    ``truth`` rows of kind ``conformity_nonconformity`` (``unit`` = station, ``indicator`` = requirement,
    ``start_period`` = the period; ``magnitude`` 1 = the planted issue is a bottom-line one left overdue, which
    must raise a red alert for its 街镇) and ``conformity_broken_chain`` (``unit`` = station, description
    ``project <id>: <rule>``). A non-conformity is found when the requirement's result in that station and period
    is not ``met``; a chain when the project is ``broken`` with that rule. Precision: planted broken projects over
    all broken projects (the demo's other chains are complete). ``conformity_low_station`` rows (``unit`` = the
    station) must appear in ``visits`` (the list of stations to visit).

    Examples
    --------
    >>> truth = pd.DataFrame({"kind": ["conformity_broken_chain"], "unit": ["C"], "indicator": [""],
    ...     "start_period": ["2024"], "magnitude": [np.nan], "description": ["project p1: out_of_order"]})
    >>> ch = pd.DataFrame({"project_id": ["p1", "p2"], "status": ["broken", "complete"],
    ...                    "broken_rules": ["out_of_order", ""]})
    >>> score_planted(truth, pd.DataFrame(columns=["community", "period", "requirement", "result"]), ch)["chains"]
    {'planted': 1, 'found': 1, 'recall': 1.0, 'broken_total': 1, 'precision': 1.0, 'missed': []}
    """
    t = truth[truth["kind"] == "conformity_nonconformity"]
    found = requirements.assign(_nm=requirements["result"] != "met").set_index(
        ["community", "period", "requirement"])["_nm"]
    key = pd.MultiIndex.from_arrays([t["unit"].astype(str), t["start_period"].astype(str), t["indicator"].astype(str)])
    hit = found.reindex(key).fillna(False).to_numpy(dtype=bool)
    nc = {"planted": int(len(t)), "found": int(hit.sum()), "recall": float(hit.mean()) if len(t) else float("nan"),
          "missed": [f"{a}/{b}/{c}" for (a, b, c), h in zip(key, hit) if not h]}
    red = t[pd.to_numeric(t["magnitude"], errors="coerce") == 1]
    if len(red):
        got: set = set()
        if alerts is not None and len(alerts):
            a = alerts[(alerts["level"] == "red") & (alerts["rule"] == ALERT_RULE)]
            a = a.assign(ev=a["evidence"].astype(str).str.split("; ")).explode("ev")
            got = set(a["ev"].str.split(":").str[:2].str.join(":") + "@" + a["period"].astype(str))
        want = red["unit"].astype(str) + ":" + red["indicator"].astype(str) + "@" + red["start_period"].astype(str)
        alerted = want.isin(got).to_numpy()
        nc["red_planted"] = int(len(red))
        nc["red_alerted"] = int(alerted.sum())
    low = truth[truth["kind"] == "conformity_low_station"]
    if len(low) and visits is not None:
        nc["low_station_planted"] = int(len(low))
        nc["low_station_listed"] = int(low["unit"].astype(str).isin(visits["community"].astype(str)).sum())
    c = truth[truth["kind"] == "conformity_broken_chain"]
    parsed = c["description"].astype(str).str.extract(_PROJECT)
    ch = chains.set_index(chains["project_id"].astype(str))
    status = parsed[0].map(ch["status"])
    rules = parsed[0].map(ch["broken_rules"]).fillna("")
    ok = (status == "broken").to_numpy() & np.array([r in s.split(";") for r, s in zip(parsed[1], rules)], bool)
    broken_total = int((chains["status"] == "broken").sum())
    chains_out = {"planted": int(len(c)), "found": int(ok.sum()),
                  "recall": float(ok.mean()) if len(c) else float("nan"), "broken_total": broken_total,
                  "precision": float(parsed[0][ok].nunique() / broken_total) if broken_total else float("nan"),
                  "missed": [f"{p}:{r}" for p, r, h in zip(parsed[0], parsed[1], ok) if not h]}
    return {"nonconformities": nc, "chains": chains_out}
