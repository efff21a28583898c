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
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..periods import decimal_time

__all__ = ["WORSENING_KINDS", "score_alerts"]

#: Event kinds that always mean a worsening (the sign of the others follows the framework direction).
WORSENING_KINDS = ("survey_drop", "survey_drop_jiezhen", "doorstep_menu_loss", "doorstep_usage_drop",
                   "hotline_surge")
_SIGNED_KINDS = ("step", "trend", "shock")


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
                 on_time_periods: float = 1.0, rule_kinds: dict | None = None) -> dict:
    """Precision, recall, delay and false alarms of amber/red alerts against worsening events (pure).

    Parameters
    ----------
    alerts : ``unit, period, node, level, status`` (+ ``rule``).
    ground_truth : ``event_id, kind, unit, indicator, start_period, end_period, magnitude``.
    framework : ``code, parent, direction``.
    unit_years : number of unit-years monitored (denominator of the false-alarm rate).
    max_delay_periods, on_time_periods : window after the event's end; the delay counted "on time".
    rule_kinds : rule name -> kind, to report by kind too.

    Returns
    -------
    dict: ``precision`` (amber+red), ``precision_red``, ``precision_by_level``, ``precision_by_rule``,
    ``n_alerts`` (episodes by level), ``recall`` (any delay within the window), ``recall_on_time`` (delay <=
    ``on_time_periods``), ``median_delay_periods``, ``recall_by_kind``, ``false_alarms_per_unit_year``,
    ``n_events``, and ``per_event`` / ``per_alert`` DataFrames.

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
    gt["anomaly"] = gt["kind"] == "outlier"
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
    pairs = al.merge(scored[["_e", "unit", "indicator", "t0", "t1", "ppy", "worsening"]], on="unit")
    node_ok = np.array([ind == "" or node in anc.get(ind, {ind}) for node, ind in
                        zip(pairs["node"], pairs["indicator"])], dtype=bool)
    pairs = pairs[node_ok & (pairs["tb"] > pairs["t0"]) & (pairs["ta"] < pairs["t1"])]
    pairs = pairs.assign(delay=np.maximum(pairs["ta"] - pairs["t0"], 0) * pairs["ppy"])
    first = pairs[pairs["worsening"]].groupby("_e")["delay"].min()
    gt["detected"] = gt["_e"].map(first).notna()
    gt["delay_periods"] = gt["_e"].map(first).round(6)
    events = gt[gt["worsening"]]
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
        "per_event": gt.drop(columns=["_e", "t0", "t1"]),
        "per_alert": episodes.drop(columns=["_a", "ta", "tb"]),
    }
