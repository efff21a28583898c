"""``govlib evaluate``: score the processed trends and alerts against the demo ground truth."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from ..trend.alerts import score_detection, series_years_from_trends
from . import non_negative
from ..errors import InputError
from ..settings import load_settings

NAME = "evaluate"
HELP = "precision, recall and detection delay of trends and alerts against the demo ground truth"
DESCRIPTION = (
    "Reads the processed trends, alerts and change_points tables and the raw ground_truth (planted events of the "
    "demo data) and prints recall and detection delay of step changes (|magnitude_sd| >= --min-sd; targets: "
    "recall >= 0.9), recall of planted trends, alert precision, and the share of series-years with a false red "
    "alert (target <= 5%). The scoring is govlib.trend.alerts.score_detection (pure).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--processed", default=None,
                        help="processed folder (default: the current build under paths.processed)")
    parser.add_argument("--ground-truth", default=None, help="ground truth table (default: raw/ground_truth.csv)")
    parser.add_argument("--min-sd", type=non_negative, default=1.5, help="step events at least this many SD count (1.5)")
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
    result = score_detection(alerts, trends, truth, change_points=change_points, min_magnitude_sd=args.min_sd,
                             series_periods=series_years_from_trends(trends))
    per_event = result.pop("per_event")
    text = json.dumps(result, indent=2, ensure_ascii=False, default=float)
    print(text)
    targets = [("step recall >= 0.9", result["step"]["recall"] >= 0.9),
               ("false red alerts <= 5% of series per year", result["false_red_rate"] <= 0.05)]
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
        write_json(args.out, {**result, "per_event": per_event.to_dict(orient="records")})
    return 0
