"""Synthetic 家门口 conformity data for the demo: the checklist, station inspections and resident projects.

Called by :func:`govlib.data.demo.generate_demo_data`. Everything here is SYNTHETIC.

- ``conformity_standard``: the packaged illustrative checklist (``govlib/data/conformity_standard.csv``), written
  into ``data/raw`` so that a district sees which file to replace.
- ``conformity_inspections``: one inspection visit per station and year (spring to autumn); every requirement
  that inspectors record is inspected. The chance of a requirement being met rises with the community's latent
  self-governance level (the same level that drives its residents' evaluation ratings) and by year.
  Non-conformities get a rectification deadline (30 days for bottom-line requirements, 60 otherwise); bottom-line
  ones are always closed by their deadline, others are sometimes closed late.
- ``doorstep_evaluations`` is tidied into well-formed chains (every project gets a hearing first, at least one
  coordination meeting, the evaluation last; attendance at least 10) and gains an ``outcome`` column; the few
  projects the base generator leaves unevaluated stay so.
- ``doorstep_projects``: one row per project with its completion date (a few days to three weeks before its
  evaluation meeting; unevaluated projects: a month after their last meeting).

Planted, and listed in ``ground_truth``:

- ``conformity_nonconformity``: bottom-line non-conformities in the last year left open past their deadline
  (``magnitude`` 1: the station's 街镇 must get a red alert) and other requirements not met (``magnitude`` 0);
- ``conformity_low_station``: one station whose conformity collapses in the last year (it must head the list of
  stations to visit);
- ``conformity_broken_chain``: projects whose chain breaks one rule each (``missing_hearing``,
  ``missing_coordination``, ``out_of_order``, ``evaluation_late``, ``low_attendance``), and the unevaluated
  projects whose evaluation is overdue (``missing_evaluation``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..paths import package_data
from .rules import derive_results

__all__ = ["conformity_demo", "packaged_standard", "GRACE_DAYS", "MIN_ATTENDANCE"]

#: The demo's chain rules match the ``conformity`` settings' defaults.
GRACE_DAYS = 90
MIN_ATTENDANCE = 10
_PLANTED_RULES = ("missing_hearing", "missing_coordination", "out_of_order", "evaluation_late", "low_attendance")


def packaged_standard() -> pd.DataFrame:
    """The illustrative checklist shipped with govlib (a reconstruction, not the district's text).

    Examples
    --------
    >>> packaged_standard()["category"].nunique()
    5
    """
    return pd.read_csv(package_data("conformity_standard.csv"), dtype={"clause": str}, keep_default_na=False,
                       na_values=[""])


def _tidy_chains(evaluations: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Well-formed chains: dates re-assigned in order (hearing, coordinations, evaluation), a coordination
    meeting added where a project has none, attendance at least :data:`MIN_ATTENDANCE`; plus each project's
    first/last dates and whether it was evaluated."""
    ev = evaluations.reset_index(drop=True).copy()
    ev["_d"] = pd.to_datetime(ev["date"])
    pid = ev["project_id"].to_numpy()
    evaluated = pd.Series(ev["meeting"].to_numpy() == "evaluation").groupby(pid).any()
    n_coord = pd.Series(ev["meeting"].to_numpy() == "coordination").groupby(pid).sum()
    # A coordination meeting for projects that have none: a copy of the hearing row, dated a month later.
    need = n_coord.index[n_coord.to_numpy() == 0]
    add = ev[(ev["meeting"] == "hearing") & ev["project_id"].isin(need)].copy()
    add["meeting"] = "coordination"
    add["_d"] = add["_d"] + pd.to_timedelta(rng.integers(20, 45, size=len(add)), unit="D")
    add["attendees"] = rng.poisson(15, size=len(add)).astype(np.int32)
    add["rating"] = np.nan
    ev = pd.concat([ev, add], ignore_index=True)
    # Dates in order: sort each project's dates and hand them out hearing -> coordination(s) -> evaluation.
    rank = ev["meeting"].map({"hearing": 0, "coordination": 1, "evaluation": 2}).to_numpy()
    by_role = ev.assign(_r=rank).sort_values(["project_id", "_r"], kind="stable")
    dates = ev.sort_values(["project_id", "_d"], kind="stable")["_d"].to_numpy()
    ev = by_role.assign(_d=dates).drop(columns="_r")
    ev["attendees"] = np.maximum(pd.to_numeric(ev["attendees"]).to_numpy(), MIN_ATTENDANCE + 2).astype(np.int32)
    g = ev.groupby("project_id", sort=False)["_d"]
    info = pd.DataFrame({"first": g.min(), "last": g.max(), "evaluated": evaluated.reindex(g.min().index)})
    return ev.reset_index(drop=True), info


def conformity_demo(communities: pd.DataFrame, level: np.ndarray, stations: pd.DataFrame,
                    evaluations: pd.DataFrame, rng: np.random.Generator, years: list[str]) -> dict[str, pd.DataFrame]:
    """The demo's conformity tables and their planted ground truth (see the module docstring).

    Parameters
    ----------
    communities : the registry's communities (``code``, ``parent``).
    level : each community's latent self-governance level (the one that drives evaluation ratings).
    stations : ``doorstep_stations`` (which community has a station in which year).
    evaluations : ``doorstep_evaluations`` of the base generator (tidied and returned).
    rng : the random generator of this part of the demo.
    years : the demo's years (text).

    Returns
    -------
    dict with ``conformity_standard``, ``conformity_inspections``, ``doorstep_projects``,
    ``doorstep_evaluations`` and ``ground_truth`` (rows without ``event_id``; the caller numbers them).

    Examples
    --------
    >>> comm = pd.DataFrame({"code": [f"31011500400{k}" for k in range(4)], "parent": ["310115004000"] * 4})
    >>> st = pd.DataFrame({"community": np.repeat(comm["code"], 2), "year": ["2024", "2025"] * 4,
    ...                    "has_station": True})
    >>> ev = pd.DataFrame({"community": [comm["code"][0]] * 2, "project_id": ["p"] * 2,
    ...     "meeting": ["hearing", "evaluation"], "date": ["2024-03-01", "2024-09-01"], "rating": [np.nan, 80.0],
    ...     "attendees": [20, 25]})
    >>> out = conformity_demo(comm, np.zeros(4), st, ev, np.random.default_rng(1), ["2024", "2025"])
    >>> out["doorstep_evaluations"]["meeting"].tolist()
    ['hearing', 'coordination', 'evaluation']
    """
    standard = packaged_standard()
    codes = communities["code"].astype(str).to_numpy()
    lvl = pd.Series(np.asarray(level, float), index=codes)
    truth: list[dict] = []
    last_year = years[-1]

    # ------------------------------------------------------------------ chains and projects
    ev, info = _tidy_chains(evaluations, rng)
    proj = ev.groupby("project_id", sort=True)["community"].first().to_frame()
    proj = proj.join(info)
    ev_first = ev[ev["meeting"] == "evaluation"].groupby("project_id")["_d"].min()
    coord_last = ev[ev["meeting"] == "coordination"].groupby("project_id")["_d"].max()
    lag = pd.to_timedelta(rng.integers(0, 21, size=len(proj)), unit="D")
    completed = (ev_first.reindex(proj.index) - lag).where(proj["evaluated"], proj["last"] + pd.Timedelta(days=30))
    completed = completed.where(completed >= coord_last.reindex(proj.index), coord_last.reindex(proj.index))
    as_of = ev["_d"].max()
    completed = completed.where(completed <= as_of)  # not finished yet: no completion date
    proj["completed"] = completed
    # Planted broken chains: evaluated projects finished at least half a year before the end (judged, not pending).
    eligible = proj.index[proj["evaluated"].to_numpy() & (proj["completed"] < as_of - pd.Timedelta(days=270)).to_numpy()]
    n_plant = max(len(_PLANTED_RULES), len(codes) // 40)
    chosen = rng.choice(eligible, size=min(n_plant, len(eligible)), replace=False) if len(eligible) else []
    drop = np.zeros(len(ev), bool)
    for k, p in enumerate(chosen):  # a handful of projects, each a different edit
        rule = _PLANTED_RULES[k % len(_PLANTED_RULES)]
        rows = ev.index[ev["project_id"] == p]
        m = ev.loc[rows, "meeting"]
        if rule == "missing_hearing":
            drop[rows[m == "hearing"]] = True
        elif rule == "missing_coordination":
            drop[rows[m == "coordination"]] = True
        elif rule == "out_of_order":
            first_coord = ev.loc[rows[m == "coordination"], "_d"].min()
            ev.loc[rows[m == "hearing"], "_d"] = first_coord + pd.Timedelta(days=7)
            ev.loc[rows[m == "evaluation"], "_d"] = np.maximum(ev.loc[rows[m == "evaluation"], "_d"],
                                                                first_coord + pd.Timedelta(days=14))
        elif rule == "evaluation_late":
            ev.loc[rows[m == "evaluation"], "_d"] = proj.at[p, "completed"] + pd.Timedelta(days=GRACE_DAYS + 60)
        else:  # low attendance at one coordination meeting
            ev.loc[rows[m == "coordination"][:1], "attendees"] = MIN_ATTENDANCE - 6
        truth.append({"kind": "conformity_broken_chain", "unit": proj.at[p, "community"], "indicator": "",
                      "start_period": str(proj.at[p, "completed"].year), "end_period": "",
                      "magnitude": np.nan, "magnitude_sd": np.nan,
                      "description": f"project {p}: {rule} (planted)"})
    ev = ev[~drop]
    # The base generator's never-evaluated projects whose evaluation is overdue by the end of the data.
    due = proj.index[~proj["evaluated"].to_numpy()
                     & (proj["completed"] + pd.Timedelta(days=GRACE_DAYS) <= as_of).to_numpy()]
    truth += [{"kind": "conformity_broken_chain", "unit": proj.at[p, "community"], "indicator": "",
               "start_period": str(proj.at[p, "completed"].year), "end_period": "", "magnitude": np.nan,
               "magnitude_sd": np.nan, "description": f"project {p}: missing_evaluation (never evaluated)"}
              for p in due]
    meeting = ev["meeting"].to_numpy()
    rating = pd.to_numeric(ev["rating"], errors="coerce").to_numpy()
    outcome = np.select([meeting == "hearing", meeting == "coordination", rating >= 60],
                        ["approved", "on_track", "accepted"], "not_accepted")
    evaluations_out = pd.DataFrame({
        "community": ev["community"].to_numpy(), "project_id": ev["project_id"].to_numpy(), "meeting": meeting,
        "date": ev["_d"].dt.strftime("%Y-%m-%d").to_numpy(), "rating": rating,
        "attendees": ev["attendees"].astype(np.int32).to_numpy(), "outcome": outcome})
    projects = pd.DataFrame({
        "community": proj["community"].to_numpy(), "project_id": proj.index.to_numpy(),
        "name_zh": "居民自治项目（示例）" + pd.Series(proj.index).str.rsplit("-", n=2).str[-2:].str.join("-").to_numpy(),
        "completed": proj["completed"].dt.strftime("%Y-%m-%d").fillna("").to_numpy()})

    # ------------------------------------------------------------------ inspections
    st = stations[stations["has_station"].astype(bool)]
    st_comm = st["community"].astype(str).to_numpy()
    st_year = st["year"].astype(int).to_numpy()
    visit = pd.to_datetime({"year": st_year, "month": rng.integers(3, 11, size=len(st)),
                            "day": rng.integers(1, 29, size=len(st))}).to_numpy()
    req = standard[standard["source"].fillna("inspection") == "inspection"].reset_index(drop=True)
    S, R = len(st), len(req)
    s_idx, r_idx = np.repeat(np.arange(S), R), np.tile(np.arange(R), S)
    z = (2.0 + 0.9 * lvl.reindex(st_comm).fillna(0).to_numpy() + 0.15 * (st_year - int(years[0])))[s_idx]
    # Planted: one station's conformity collapses in the last year.
    last_rows = np.flatnonzero(st_year == int(last_year))
    low_station = st_comm[last_rows[rng.integers(len(last_rows))]] if len(last_rows) else None
    collapse = (st_comm[s_idx] == low_station) & (st_year[s_idx] == int(last_year))
    z = np.where(collapse, -1.5, z)
    u = rng.random(S * R)
    p_met = 1 / (1 + np.exp(-z))
    outcome_i = np.where(u < p_met, 0, np.where(u < p_met + (1 - p_met) / 2, 1, 2))  # 0 met, 1 partly, 2 not
    check = req["check"].to_numpy()[r_idx]
    th = pd.to_numeric(req["threshold"], errors="coerce").to_numpy()[r_idx]
    pa = pd.to_numeric(req["partial"], errors="coerce").to_numpy()[r_idx]
    outcome_i = np.where(np.isin(check, ["yes_no", "present_in_period"]) & (outcome_i == 1), 2, outcome_i)
    v = rng.random(S * R)
    share = np.select([outcome_i == 0, outcome_i == 1],
                      [th + v * (100 - th), pa + v * (th - pa) * 0.99], np.maximum(pa - 1 - v * 20, 0))
    count = np.select([outcome_i == 0, outcome_i == 1], [th, np.floor(pa + v * (th - pa))], np.maximum(pa - 1 - (v > .5), 0))
    value = np.select([check == "yes_no", check == "present_in_period", check == "share_at_least"],
                      [(outcome_i == 0).astype(float), np.where(outcome_i == 0, 1 + np.floor(v * 12), 0.0),
                       np.round(share, 1)], count)
    keep = ~((check == "present_in_period") & (outcome_i != 0))  # no evidence: no row (absence = not met)
    result = derive_results(check, th, pa, value)
    date = visit[s_idx]
    tier = req["tier"].to_numpy()[r_idx]
    nonconf = result != "met"
    days = np.where(tier == "bottom_line", 30, 60)
    deadline = date + days.astype("timedelta64[D]")
    late = (tier != "bottom_line") & (rng.random(S * R) < 0.15)
    close_in = np.where(late, days + rng.integers(5, 90, size=S * R), rng.integers(3, 30, size=S * R))
    closed = np.where(nonconf, date + close_in.astype("timedelta64[D]"), np.datetime64("NaT"))
    ins = pd.DataFrame({"community": st_comm[s_idx], "inspection_date": date, "requirement":
                        req["requirement"].to_numpy()[r_idx], "result": result, "value": value,
                        "note": np.where(nonconf, "示例：现场检查发现不符合，已告知整改（合成数据）", ""),
                        "rectification_deadline": np.where(nonconf, deadline, np.datetime64("NaT")),
                        "date_closed": closed})
    ins = ins[keep].reset_index(drop=True)
    # Planted bottom-line non-conformities left open past the deadline in the last year (red alerts).
    bl_req = req.loc[(req["tier"] == "bottom_line") & (req["check"] == "yes_no"), "requirement"].to_numpy()
    cand = np.flatnonzero((ins["inspection_date"].dt.year == int(last_year)).to_numpy()
                          & ins["requirement"].isin(bl_req).to_numpy()
                          & (ins["community"] != low_station).to_numpy()
                          & (ins["inspection_date"] < as_of - pd.Timedelta(days=90)).to_numpy())
    n_red = max(2, len(codes) // 150)  # alerts stay few: about 8 in the full district
    comms_seen: set = set()
    red_rows = []
    for i in rng.permutation(cand):  # one per station, a handful in all
        if len(red_rows) == n_red:
            break
        c = ins.at[i, "community"]
        if c not in comms_seen:
            comms_seen.add(c)
            red_rows.append(i)
    red_rows = np.array(red_rows, dtype=int)
    ins.loc[red_rows, ["result", "value"]] = ["not_met", 0.0]
    ins.loc[red_rows, "rectification_deadline"] = ins.loc[red_rows, "inspection_date"] + pd.Timedelta(days=30)
    ins.loc[red_rows, "date_closed"] = pd.NaT
    ins.loc[red_rows, "note"] = "示例：未设首问接待窗口，逾期未整改（合成数据，预置）"
    # Other planted misses: not met in earlier years (must be found, no alert).
    old = np.flatnonzero((ins["inspection_date"].dt.year < int(last_year)).to_numpy()
                         & (ins["result"] == "met").to_numpy() & ins["requirement"].isin(bl_req).to_numpy())
    miss_rows = rng.choice(old, size=min(n_red, len(old)), replace=False) if len(old) else np.array([], int)
    ins.loc[miss_rows, ["result", "value"]] = ["not_met", 0.0]
    ins.loc[miss_rows, "rectification_deadline"] = ins.loc[miss_rows, "inspection_date"] + pd.Timedelta(days=30)
    ins.loc[miss_rows, "date_closed"] = ins.loc[miss_rows, "inspection_date"] + pd.Timedelta(days=20)
    for rows, mag in ((red_rows, 1.0), (miss_rows, 0.0)):
        for i in rows:
            truth.append({"kind": "conformity_nonconformity", "unit": ins.at[i, "community"],
                          "indicator": ins.at[i, "requirement"],
                          "start_period": str(ins.at[i, "inspection_date"].year), "end_period": "",
                          "magnitude": mag, "magnitude_sd": np.nan,
                          "description": ("bottom-line non-conformity left open past its deadline (planted)"
                                          if mag else "requirement not met, closed in time (planted)")})
    if low_station is not None:
        truth.append({"kind": "conformity_low_station", "unit": low_station, "indicator": "",
                      "start_period": last_year, "end_period": "", "magnitude": np.nan, "magnitude_sd": np.nan,
                      "description": "station conformity collapses in the last year; it must be listed to visit"})
    # Half the measured rows state no result: the loader derives it from the value.
    blank = (rng.random(len(ins)) < 0.3) & ins["requirement"].isin(
        req.loc[req["check"] != "yes_no", "requirement"]).to_numpy()
    ins["result"] = ins["result"].where(~blank, "")
    ins["value"] = ins["value"].where(ins["requirement"].isin(
        req.loc[req["check"] != "yes_no", "requirement"]) | (rng.random(len(ins)) < 0.5))
    for c in ("inspection_date", "rectification_deadline", "date_closed"):
        ins[c] = pd.to_datetime(ins[c]).dt.strftime("%Y-%m-%d").fillna("")
    ins = ins.sort_values(["inspection_date", "community", "requirement"], kind="stable").reset_index(drop=True)
    return {"conformity_standard": standard, "conformity_inspections": ins, "doorstep_projects": projects,
            "doorstep_evaluations": evaluations_out, "ground_truth": pd.DataFrame(truth)}
