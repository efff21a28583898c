"""Score alerts against planted worsening events: precision and recall by rule and level, delay, false alarms.

Conventions (``govlib evaluate``):

- **Events scored**: worsening events only. A ``step``, ``trend`` or ``shock`` worsens when its magnitude moves
  the indicator against its framework direction; a ``survey_drop`` (also ``_jiezhen``), ``doorstep_menu_loss``,
  ``doorstep_usage_drop`` and ``hotline_surge`` always worsen. District-wide movements (unit = the district code)
  and improvements are not scored for recall. A data-entry ``outlier`` is a real anomaly: an alert on it is not a
  false alarm, but it is not scored for recall either.
- **Hit**: an amber or red alert on the event's unit, on the event's node or one of its ancestors in the framework
  (an event without an indicator: any node), whose period overlaps the event's window: from its start to
  ``max_delay_periods`` periods (of the event's own frequency) after its end.
- **Delay**: periods (event frequency) from the start of the event to the start of the first hit's period (0 when
  the hit's period contains the start, e.g. an annual alert on a monthly event).
- **Precision** counts alert episodes (status ``new``; a continuing alert is the same warning), amber and red.
- **False alarms per unit-year**: unmatched amber/red episodes over the unit-years monitored.
- **街镇-wide survey drops** (``survey_drop_jiezhen``: the drop is planted in every community of the 街镇): an alert
  on one of its communities (``unit_parent``) on the event's node is true, not a false alarm; recall needs the
  街镇's own alert.
- **家门口 conformity** (``conformity_nonconformity`` with magnitude 1: a bottom-line non-conformity left open
  past its deadline): a worsening event of the station's 街镇 (``unit_parent`` maps the station to it; alerts of the
  standard are raised per 街镇), matched by an alert on D5 (the node the standard files its alerts under) or an
  ancestor. Non-conformities closed in time (magnitude 0), low stations and broken meeting chains are scored by
  :func:`govlib.services.conformity.score_planted`, not here.
- **Recall scope** (``recall_scope``, a named convention): ``"detection_target"`` (default) scores recall over the
  worsening events at or above the issue's detection target only — a step or a one-period shock of at least
  ``min_step_sd`` SDs of period-to-period change (``|magnitude_sd|`` / sqrt(2): ``magnitude_sd`` is in noise SDs,
  and the change between two periods of white noise has SD sqrt(2) noise SDs), a hotline surge of +50% (the
  demo plants at least 30 tickets), a 街镇 survey drop of at least ``min_survey_drop`` points, a bottom-line menu
  loss, a station usage drop, an overdue bottom-line non-conformity. Smaller worsening events (small steps, slow
  linear ``trend`` events, single-community survey drops of ~30 respondents a wave) are treated like ``outlier``:
  an alert on them is true, a miss is not scored — and they are reported apart (``below_target``: their number and
  how many were caught), so that nothing is hidden. ``"all"`` scores every worsening event.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..periods import decimal_time

__all__ = ["WORSENING_KINDS", "RECALL_SCOPES", "at_detection_target", "score_alerts"]

#: Event kinds that always mean a worsening (the sign of the others follows the framework direction).
WORSENING_KINDS = ("survey_drop", "survey_drop_jiezhen", "doorstep_menu_loss", "doorstep_usage_drop",
                   "hotline_surge", "conformity_overdue")
_SIGNED_KINDS = ("step", "trend", "shock")
#: Conventions of the recall denominator (see the module docstring).
RECALL_SCOPES = ("detection_target", "all")


def at_detection_target(ground_truth: pd.DataFrame, *, min_step_sd: float = 1.5, min_surge: float = 0.5,
                        min_survey_drop: float = 5.0) -> np.ndarray:
    """Which events are at or above the issue's detection target (bool per row; see the module docstring).

    Examples
    --------
    >>> gt = pd.DataFrame({"kind": ["step", "step", "trend", "survey_drop", "survey_drop_jiezhen", "hotline_surge"],
    ...                    "magnitude": [3.0, 1.0, 0.9, -12.0, -5.0, 0.5],
    ...                    "magnitude_sd": [-3.2, 1.1, 0.8, np.nan, np.nan, np.nan]})
    >>> at_detection_target(gt).tolist()
    [True, False, False, False, True, True]
    """
    kind = ground_truth["kind"].astype(str)
    nan = pd.Series(np.nan, index=ground_truth.index)
    mag = pd.to_numeric(ground_truth.get("magnitude", nan), errors="coerce").abs()
    mag_sd = pd.to_numeric(ground_truth.get("magnitude_sd", nan), errors="coerce").abs()
    tol = 1e-3  # the generator rounds magnitudes
    # an event whose size is not given is scored (it cannot be shown to be below the target)
    return ((kind.isin(["step", "shock"]) & ~(mag_sd / np.sqrt(2) < min_step_sd - tol))
            | ((kind == "hotline_surge") & ~(mag < min_surge - tol))
            | ((kind == "survey_drop_jiezhen") & ~(mag < min_survey_drop - tol))
            | kind.isin(["doorstep_menu_loss", "doorstep_usage_drop", "conformity_overdue"])).to_numpy(dtype=bool)


def _per_year(periods: pd.Series) -> np.ndarray:
    s = periods.astype(str)
    return np.where(s.str.contains("Q", regex=False), 4, np.where(s.str.contains("-", regex=False), 12, 1))


def _ancestors(framework: pd.DataFrame) -> dict[str, set[str]]:
    parent = dict(zip(framework["code"].astype(str), framework["parent"].where(framework["parent"].notna(), None)))
    out = {}
    for code in parent:
        seen, c = {code}, parent[code]
        while c is not None and c not in seen:
            seen.add(str(c))
            c = parent.get(str(c))
        out[code] = seen
    return out


def score_alerts(alerts: pd.DataFrame, ground_truth: pd.DataFrame, framework: pd.DataFrame,
                 unit_years: int, *, district_code: str = "310115000000", max_delay_periods: int = 4,
                 on_time_periods: float = 1.0, rule_kinds: dict | None = None,
                 recall_scope: str = "detection_target", min_step_sd: float = 1.5,
                 unit_parent: dict | None = None) -> dict:
    """Precision, recall, delay and false alarms of amber/red alerts against worsening events (pure).

    Parameters
    ----------
    alerts : ``unit, period, node, level, status`` (+ ``rule``).
    ground_truth : ``event_id, kind, unit, indicator, start_period, end_period, magnitude``.
    framework : ``code, parent, direction``.
    unit_years : number of unit-years monitored (denominator of the false-alarm rate).
    max_delay_periods, on_time_periods : window after the event's end; the delay counted "on time".
    rule_kinds : rule name -> kind, to report by kind too.
    recall_scope : ``"detection_target"`` or ``"all"`` (the events recall is scored over; module docstring).
    min_step_sd : the detection target of steps and shocks, in SDs of period-to-period change.
    unit_parent : unit -> parent unit (stations/communities -> 街镇), for the 家门口 conformity events.

    Returns
    -------
    dict: ``precision`` (amber+red), ``precision_red``, ``precision_by_level``, ``precision_by_rule``,
    ``n_alerts`` (episodes by level), ``recall`` (any delay within the window), ``recall_on_time`` (delay <=
    ``on_time_periods``), ``median_delay_periods``, ``recall_by_kind``, ``false_alarms_per_unit_year``,
    ``n_events`` (scored for recall), ``recall_scope``, ``below_target`` (worsening events outside the scope:
    n, caught, by kind), and ``per_event`` (with ``in_scope``) / ``per_alert`` DataFrames.

    Examples
    --------
    >>> fw = pd.DataFrame({"code": ["I", "D4", "D4.1"], "parent": [None, "I", "D4"], "direction": [1, 1, 0]})
    >>> gt = pd.DataFrame({"event_id": ["E1"], "kind": ["hotline_surge"], "unit": ["u1"], "indicator": ["D4.1"],
    ...                    "start_period": ["2024-03"], "end_period": ["2024-03"], "magnitude": [0.6]})
    >>> al = pd.DataFrame({"unit": ["u1", "u2"], "period": ["2024-03", "2024-05"], "node": ["D4.1", "D4.1"],
    ...                    "level": ["amber", "amber"], "status": ["new", "new"]})
    >>> r = score_alerts(al, gt, fw, unit_years=10)
    >>> r["precision"], r["recall"], r["median_delay_periods"], r["false_alarms_per_unit_year"]
    (0.5, 1.0, 0.0, 0.1)
    """
    need = {"kind", "unit", "indicator", "start_period"}
    if need - set(ground_truth.columns):
        raise InputError(f"ground_truth: missing columns {sorted(need - set(ground_truth.columns))}")
    if recall_scope not in RECALL_SCOPES:
        raise InputError(f"recall_scope: expected one of {', '.join(RECALL_SCOPES)}, got {recall_scope!r}")
    ground_truth = _conformity_events(ground_truth, unit_parent)
    fw = framework.assign(code=framework["code"].astype(str))
    direction = fw.set_index("code")["direction"].astype(float)
    anc = _ancestors(fw)
    gt = ground_truth[ground_truth["unit"].astype(str) != district_code].copy().reset_index(drop=True)
    gt["unit"] = gt["unit"].astype(str)
    gt["indicator"] = gt["indicator"].fillna("").astype(str)
    gt["end_period"] = gt["end_period"].fillna(gt["start_period"]).astype(str) if "end_period" in gt \
        else gt["start_period"]
    mag = pd.to_numeric(gt.get("magnitude"), errors="coerce").fillna(0.0)
    d = pd.to_numeric(gt["indicator"].map(direction), errors="coerce").fillna(1.0).to_numpy(dtype=float)
    signed = gt["kind"].isin(_SIGNED_KINDS)
    gt["worsening"] = gt["kind"].isin(WORSENING_KINDS) | (signed & (d * mag < 0))
    gt["in_scope"] = gt["worsening"] & (at_detection_target(gt, min_step_sd=min_step_sd)
                                        if recall_scope == "detection_target" else True)
    # outside the scope: an alert on the event is true (it is real), a miss is not scored
    gt["anomaly"] = (gt["kind"] == "outlier") | (gt["worsening"] & ~gt["in_scope"])
    gt["ppy"] = _per_year(gt["start_period"])
    gt["t0"] = decimal_time(gt["start_period"].astype(str))
    t_end = decimal_time(gt["end_period"].astype(str)) + 1.0 / _per_year(gt["end_period"])
    gt["t1"] = t_end + max_delay_periods / gt["ppy"]
    gt["_e"] = np.arange(len(gt))

    al = alerts[alerts["level"].isin(["amber", "red"])].copy()
    if "status" in al:
        al = al[al["status"] != "resolved"]
    al = al.reset_index(drop=True)
    al["unit"], al["node"] = al["unit"].astype(str), al["node"].astype(str)
    al["ta"] = decimal_time(al["period"].astype(str)) if len(al) else np.array([], float)
    al["tb"] = al["ta"] + 1.0 / _per_year(al["period"]) if len(al) else np.array([], float)
    al["_a"] = np.arange(len(al))
    scored = gt[gt["worsening"] | gt["anomaly"]]
    cols = ["_e", "unit", "indicator", "t0", "t1", "ppy", "worsening"]
    pairs = al.merge(scored[cols], on="unit")
    # a 街镇-wide survey drop is planted in every community of the 街镇: an alert on one of them is true, but only
    # the 街镇's own alert detects the event (recall)
    wide = scored[scored["kind"] == "survey_drop_jiezhen"]
    if unit_parent and len(wide) and len(al):
        inside = al.assign(parent=al["unit"].map(unit_parent)).merge(
            wide[cols].rename(columns={"unit": "parent"}), on="parent").drop(columns="parent")
        pairs = pd.concat([pairs, inside.assign(worsening=False)], ignore_index=True)
    pairs["worsening"] = pairs["worsening"].astype(bool)
    node_ok = np.array([ind == "" or node in anc.get(ind, {ind}) for node, ind in
                        zip(pairs["node"], pairs["indicator"])], dtype=bool)
    pairs = pairs[node_ok & (pairs["tb"] > pairs["t0"]) & (pairs["ta"] < pairs["t1"])]
    pairs = pairs.assign(delay=np.maximum(pairs["ta"] - pairs["t0"], 0) * pairs["ppy"])
    first = pairs[pairs["worsening"]].groupby("_e")["delay"].min()
    gt["detected"] = gt["_e"].map(first).notna()
    gt["delay_periods"] = gt["_e"].map(first).round(6)
    events = gt[gt["in_scope"]]
    below = gt[gt["worsening"] & ~gt["in_scope"]]
    al["matched"] = al["_a"].isin(pairs["_a"])
    episodes = al[al["status"] == "new"] if "status" in al else al

    def share(x):
        return float(x.mean()) if len(x) else float("nan")

    by_rule = {}
    if "rule" in episodes and len(episodes):
        for (rule, level), g in episodes.groupby(["rule", "level"]):
            key = f"{rule} ({rule_kinds.get(rule, '?')}), {level}" if rule_kinds else f"{rule}, {level}"
            by_rule[key] = {"n": int(len(g)), "precision": share(g["matched"])}
    on_time = events["detected"] & (events["delay_periods"] <= on_time_periods)
    return {
        "n_events": int(len(events)),
        "precision": share(episodes["matched"]),
        "precision_red": share(episodes.loc[episodes["level"] == "red", "matched"]),
        "precision_by_level": {lv: share(g["matched"]) for lv, g in episodes.groupby("level")},
        "precision_by_rule": by_rule,
        "n_alerts": {lv: int(len(g)) for lv, g in episodes.groupby("level")},
        "recall": share(events["detected"]),
        "recall_on_time": share(on_time),
        "median_delay_periods": float(events["delay_periods"].median()) if events["detected"].any()
        else float("nan"),
        "recall_by_kind": {k: {"n": int(len(g)), "recall": share(g["detected"]),
                               "recall_on_time": share(g["detected"] & (g["delay_periods"] <= on_time_periods))}
                           for k, g in events.groupby("kind")},
        "false_alarms_per_unit_year": float((~episodes["matched"]).sum() / max(unit_years, 1)),
        "recall_scope": recall_scope,
        "below_target": {"n": int(len(below)), "caught": int(below["detected"].sum()),
                         "by_kind": {k: {"n": int(len(g)), "caught": int(g["detected"].sum())}
                                     for k, g in below.groupby("kind")}},
        "per_event": gt.drop(columns=["_e", "t0", "t1"]),
        "per_alert": episodes.drop(columns=["_a", "ta", "tb"]),
    }


def _conformity_events(ground_truth: pd.DataFrame, unit_parent: dict | None) -> pd.DataFrame:
    """The demo's overdue bottom-line non-conformities (``conformity_nonconformity``, magnitude 1) as worsening
    events ``conformity_overdue`` of the station's 街镇 (node D5: the standard's alerts are per 街镇 and D5); the other
    conformity rows are dropped (:func:`govlib.services.conformity.score_planted` scores them)."""
    kind = ground_truth["kind"].astype(str)
    conf = kind.str.startswith("conformity_")
    if not conf.any():
        return ground_truth
    mag = pd.to_numeric(ground_truth.get("magnitude", pd.Series(np.nan, index=ground_truth.index)),
                        errors="coerce")
    overdue = ground_truth[(kind == "conformity_nonconformity") & (mag == 1)].copy()
    station = overdue["unit"].astype(str)
    parent = station.map(unit_parent or {})
    # a 12-digit community code: its 街镇 is the first nine digits + 000 (the registry's rule) when no map is given
    overdue["unit"] = parent.astype(object).fillna(station.str.slice(0, 9) + "000")
    overdue["kind"] = "conformity_overdue"
    overdue["indicator"] = "D5"  # the standard's alerts are filed under D5 (or an ancestor)
    overdue["end_period"] = overdue["start_period"]
    return pd.concat([ground_truth[~conf], overdue], ignore_index=True)
