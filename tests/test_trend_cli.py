"""`govlib trend` and `govlib evaluate` through the command line."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from govlib.cli import main


def test_trend_cli_on_nile_matches_r(reference_dir, tmp_path):
    out = tmp_path / "nile_trend.csv"
    assert main(["trend", "--data", str(reference_dir / "trend" / "nile.csv"), "--time", "year", "--value", "flow",
                 "--out", str(out)]) == 0
    r = pd.read_csv(out, dtype={"change_point": str})
    assert list(r.columns) == ["n", "s", "var_s", "z", "p", "tau_b", "sen_slope", "sen_low", "sen_high",
                               "pettitt_u", "pettitt_p", "change_point", "trend"]
    row = r.iloc[0]
    assert (row["n"], row["s"], row["change_point"], row["trend"]) == (100, -1387, "1898", "decreasing")
    assert row["var_s"] == pytest.approx(112728.33, abs=0.005)
    assert row["z"] == pytest.approx(-4.1280665, abs=5e-8)
    assert row["p"] == pytest.approx(3.658263e-05, rel=1e-6)
    assert row["tau_b"] == pytest.approx(-0.2807413, abs=5e-8)
    assert (row["sen_slope"], row["sen_low"], row["sen_high"]) == pytest.approx((-2.6, -3.627907, -1.428571), abs=5e-7)
    assert (row["pettitt_u"], row["pettitt_p"]) == (1617, pytest.approx(3.591022e-07, rel=1e-6))


def test_trend_cli_by_groups_keeps_codes_as_text_and_season(reference_dir, tmp_path):
    nott = pd.read_csv(reference_dir / "trend" / "nottem.csv")
    nott["station"] = "007"
    data = tmp_path / "nottem.csv"
    nott.to_csv(data, index=False)
    out = tmp_path / "out.csv"
    assert main(["trend", "--data", str(data), "--time", "year", "--value", "temp_f", "--by", "station",
                 "--season", "month", "--out", str(out)]) == 0
    r = pd.read_csv(out, dtype={"station": str})
    assert r["station"].tolist() == ["007"] and r["s"].iloc[0] == 224  # seasonal S (pymannkendall seasonal_test)
    assert "/" in str(r["change_point"].iloc[0])  # year/month label when the time repeats across seasons


def test_trend_cli_user_errors_exit_2(reference_dir, tmp_path, capsys):
    nile = str(reference_dir / "trend" / "nile.csv")
    assert main(["trend", "--data", nile, "--time", "year", "--value", "flw", "--out", str(tmp_path / "x.csv")]) == 2
    assert "columns ['flw'] not found" in capsys.readouterr().err
    assert main(["trend", "--data", str(tmp_path / "none.csv"), "--time", "t", "--value", "v",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "file not found" in capsys.readouterr().err
    dup = tmp_path / "dup.csv"
    pd.DataFrame({"t": [1, 1, 2, 3], "v": [1, 2, 3, 4]}).to_csv(dup, index=False)
    assert main(["trend", "--data", str(dup), "--time", "t", "--value", "v", "--out", str(tmp_path / "x.csv")]) == 2
    assert "duplicated time stamps" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_evaluate_cli_reads_processed_and_ground_truth(tmp_path, capsys):
    processed = tmp_path / "processed"
    processed.mkdir()
    trends = pd.DataFrame({"unit": ["u1", "u2"], "node": ["A", "A"], "q": [0.01, 0.9], "z": [3.0, 0.1],
                           "status": ["significant improvement", "no significant change"],
                           "first_period": ["2018", "2018"], "last_period": ["2025", "2025"]})
    alerts = pd.DataFrame({"unit": ["u2"], "period": ["2023"], "node": ["A"], "level": ["red"], "rules": ["x"],
                           "evidence": [""], "message_zh": [""], "message_en": [""]})
    trends.to_parquet(processed / "trends.parquet")
    alerts.to_parquet(processed / "alerts.parquet")
    gt = tmp_path / "ground_truth.csv"
    pd.DataFrame({"event_id": ["E1", "E2"], "kind": ["trend", "step"], "unit": ["u1", "u2"], "indicator": ["A", "A"],
                  "start_period": ["2018", "2022"], "end_period": ["2025", "2025"], "magnitude": [1.0, -3.0],
                  "magnitude_sd": [1.0, -3.0], "description": ["", ""]}).to_csv(gt, index=False)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--processed", str(processed), "--ground-truth", str(gt), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "PASS  recall of worsening events >= 0.9" in text
    metrics = json.loads(out.read_text())
    legacy = metrics["trend_tests"]
    assert legacy["step"]["recall"] == 1.0 and legacy["trend"]["recall"] == 1.0
    assert legacy["false_red_rate"] == 0.0 and len(metrics["per_event"]) == 2
    # the step (u2, down 3) is the only worsening event and the red alert on it is a hit
    assert metrics["n_events"] == 1 and metrics["recall"] == 1.0 and metrics["precision_red"] == 1.0
    assert main(["evaluate", "--processed", str(tmp_path / "nowhere"), "--ground-truth", str(gt)]) == 2
