"""``govlib evaluate``: score the processed trends and alerts against the demo ground truth."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from ..trend.alerts import score_detection, series_years_from_trends, validate_rules
from ..trend.evaluation import RECALL_SCOPES, score_alerts
from . import non_negative
from ..errors import InputError
from ..settings import load_settings

NAME = "evaluate"
HELP = "precision, recall and detection delay of trends and alerts against the demo ground truth"
DESCRIPTION = (
    "Reads the processed trends, alerts, change_points and framework tables and the raw ground_truth (planted "
    "events of the demo data). Alerts are scored against worsening events only (govlib.trend.evaluation."
    "score_alerts: a hit needs the event's unit, its node or an ancestor, and a period in the event's window): "
    "precision of amber+red alert episodes by rule and level, recall and median delay in periods, false alarms "
    "per unit-year. Targets: precision >= 0.8, red precision >= 0.95, recall >= 0.9 with median delay <= 1 "
    "period; on --no-events data <= 0.02 amber/red alerts per unit-year. Recall is scored, by default, over the "
    "events at or above the issue's detection target (--recall-scope; smaller planted events are listed apart). "
    "Trend tests and change points are scored "
    "as before (govlib.trend.alerts.score_detection), under 'trend_tests'.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--processed", default=None,
                        help="processed folder (default: the current build under paths.processed)")
    parser.add_argument("--ground-truth", default=None, help="ground truth table (default: raw/ground_truth.csv)")
    parser.add_argument("--min-sd", type=non_negative, default=1.5, help="step events at least this many SD count (1.5)")
    parser.add_argument("--recall-scope", choices=RECALL_SCOPES, default="detection_target",
                        help="events scored for recall: 'detection_target' (default: events at or above the issue's "
                             "detection target; smaller ones are reported apart under below_target) or 'all'")
    parser.add_argument("--out", default=None, help="write the metrics as JSON here")


def _read(path: Path, name: str, hint: str = "run `govlib build` first") -> pd.DataFrame:
    for suffix in (".parquet", ".csv"):
        p = path.with_suffix(suffix) if path.suffix == "" else path
        if p.suffix == ".parquet" and p.exists():
            return pd.read_parquet(p)
        if p.suffix == ".csv" and p.exists():
            return pd.read_csv(p, dtype={"unit": str, "period": str, "start_period": str, "end_period": str,
                                         "indicator": str, "node": str})
    raise InputError(f"{name} not found at {path}(.parquet|.csv); {hint}")


def run(args) -> int:
    settings = load_settings(getattr(args, "settings", None))
    if args.processed:
        processed = Path(args.processed)
        if (processed / "current").exists():  # a store with builds/<id>/ and a 'current' link
            processed = (processed / "current").resolve()
    else:
        from ..data.processed import processed_dir
        processed = processed_dir(settings)
    trends = _read(processed / "trends", "trends")
    alerts = _read(processed / "alerts", "alerts")
    gt_path = Path(args.ground_truth) if args.ground_truth else settings.raw_dir / "ground_truth"
    truth = _read(gt_path, "ground_truth", hint=(
        "only a synthetic demo data set (`govlib demo-data`) has planted events to score against; real data have "
        "no ground truth — pass one with --ground-truth FILE" if not args.ground_truth else "check --ground-truth"))
    try:
        change_points = _read(processed / "change_points", "change_points")
    except InputError:  # older builds: steps are then scored by alerts only
        change_points = None
    legacy = score_detection(alerts, trends, truth, change_points=change_points, min_magnitude_sd=args.min_sd,
                             series_periods=series_years_from_trends(trends))
    legacy.pop("per_event")
    try:
        framework = _read(processed / "framework", "framework")
    except InputError:
        framework = pd.DataFrame({"code": trends["node"].astype(str).unique(), "parent": None, "direction": 1})
    series_years = series_years_from_trends(trends)
    unit_years = series_years[["unit", "period"]].drop_duplicates()
    jiezhen = unit_years["unit"].str.fullmatch(r"\d{6}\d{3}000") & (unit_years["unit"] != "310115000000")
    kinds = {r["name"]: r["kind"] for r in validate_rules((settings.section("alerts") or {}).get("rules"))}
    kinds.setdefault("conformity_overdue_bottom_line", "conformity")  # the 家门口 standard's red alerts
    try:
        reg = _read(processed / "units", "units")
        unit_parent = dict(zip(reg["code"].astype(str), reg["parent"].astype(str))) if "parent" in reg else None
    except InputError:
        unit_parent = None
    scored = score_alerts(alerts, truth, framework, unit_years=len(unit_years), rule_kinds=kinds,
                          recall_scope=args.recall_scope, unit_parent=unit_parent)
    per_event = scored.pop("per_event")
    per_alert = scored.pop("per_alert")
    jz_false = per_alert[~per_alert["matched"] & per_alert["unit"].isin(unit_years.loc[jiezhen, "unit"])]
    result = {**scored, "unit_years": int(len(unit_years)), "jiezhen_unit_years": int(jiezhen.sum()),
              "false_alarms_per_jiezhen_year": float(len(jz_false) / max(int(jiezhen.sum()), 1)),
              "trend_tests": legacy}
    text = json.dumps(result, indent=2, ensure_ascii=False, default=float)
    print(text)
    # the null target (--no-events data) is on unmatched alerts: the 家门口 conformity events are planted even there
    targets = [("false amber/red alerts <= 0.02 per unit-year (the --no-events target)",
                result["false_alarms_per_unit_year"] <= 0.02)]
    if scored["n_events"] > 0:
        targets += [("alert precision (amber+red) >= 0.8", result["precision"] >= 0.8),
                    ("red precision >= 0.95", not result["precision_red"] < 0.95),
                    ("recall of worsening events >= 0.9", result["recall"] >= 0.9),
                    ("median delay <= 1 period", result["median_delay_periods"] <= 1)]
    if args.recall_scope == "detection_target":
        b = result["below_target"]
        print(f"recall scope: events at or above the detection target ({result['n_events']} scored); "
              f"{b['n']} smaller worsening events are not scored for recall (an alert on them counts as true): "
              + ", ".join(f"{k} {v['caught']}/{v['n']} caught" for k, v in b["by_kind"].items()))
    for label, ok in targets:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    # 家门口 conformity (#18): the demo's planted non-conformities and broken meeting chains.
    from ..services.conformity import score_planted
    try:
        conf = score_planted(truth, *(_read(processed / n, n) for n in (
            "conformity_requirements", "conformity_chains", "conformity_alerts", "conformity_visits")))
    except InputError:  # a build without conformity data
        conf = None
    if conf is not None:
        result["conformity"] = conf
        print(json.dumps({"conformity": conf}, indent=2, ensure_ascii=False, default=float))
        for label, ok in [("planted non-conformities found", conf["nonconformities"]["recall"] == 1),
                          ("planted overdue bottom-line issues raise red alerts",
                           conf["nonconformities"].get("red_alerted") == conf["nonconformities"].get("red_planted")),
                          ("planted broken chains found", conf["chains"]["recall"] == 1)]:
            print(f"{'PASS' if ok else 'FAIL'}  {label}")
    if args.out:
        from ..data.store import write_json
        write_json(args.out, {**result, "per_event": per_event.to_dict(orient="records"),
                              "per_alert": per_alert.to_dict(orient="records")})
    return 0
