"""Alert rules, bilingual messages, rule validation and scoring against planted events."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.trend.alerts import (DEFAULT_RULES, evaluate_rules, period_words, score_detection, series_years_from_trends,
                           validate_rules)
from govlib.errors import InputError


# the rule set of govlib 0.x (before issue 15): the message tests below use it, whatever the defaults become
OLD_RULES = [
    {"name": "very_low_level", "kind": "level_below", "threshold": 50.0, "level": "amber"},
    {"name": "low_level", "kind": "level_below", "threshold": 60.0, "level": "info"},
    {"name": "sharp_drop", "kind": "drop", "threshold": 5.0, "level": "amber"},
    {"name": "significant_decline", "kind": "trend_down", "fdr": 0.05, "level": "red"},
    {"name": "downward_shift", "kind": "change_point_down", "min_shift_sd": 1.0, "level": "amber"},
    {"name": "cusum_signal", "kind": "cusum_down", "level": "amber"},
    {"name": "ewma_signal", "kind": "ewma_down", "level": "info"},
    {"name": "survey_below_district", "kind": "survey_below", "z": 1.96, "fdr": 0.05, "level": "amber"},
]


def _facts(**cols):
    base = {"unit": ["310115004000"], "node": ["D6"], "period": ["2025"], "unit_zh": ["花木街道"],
            "unit_en": ["Huamu Subdistrict"], "node_zh": ["居民满意度"], "node_en": ["Resident satisfaction"],
            "direction": [1]}
    base.update(cols)
    n = max(len(v) for v in base.values())
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in base.items()})


def test_the_example_message_of_the_issue():
    a = evaluate_rules(_facts(score=[61.2], change=[-8.4], trend_p=[0.003], trend_q=[0.003], trend_z=[-2.9]),
                       OLD_RULES)
    assert len(a) == 1
    row = a.iloc[0]
    # reasons are listed most severe first; the leading rule's evidence fills the evidence columns
    assert row["level"] == "red" and row["rules"] == "significant_decline;sharp_drop"
    assert row["rule"] == "significant_decline" and row["p_value"] == 0.003 and row["statistic"] == -2.9
    assert row["message_zh"].startswith("花木街道 D6 居民满意度 2025 年得分 61.2，较上期下降 8.4 分；"
                                        "Mann–Kendall 检验显示显著下降趋势 (p=0.003")
    assert "score 61.2 in 2025, down 8.4 points" in row["message_en"]
    assert "sharp_drop: change=-8.4" in row["evidence"]


def test_levels_take_the_most_severe_rule_and_one_alert_per_key():
    f = _facts(period=["2023", "2024", "2025"], score=[45.0, 58.0, 70.0], change=[np.nan, 13.0, 12.0])
    a = evaluate_rules(f, OLD_RULES)
    assert a["period"].tolist() == ["2023", "2024"]
    assert a["level"].tolist() == ["amber", "info"]
    assert a["rules"].tolist() == ["very_low_level;low_level", "low_level"]


def test_direction_lower_is_better_turns_rises_into_worsening():
    f = _facts(direction=[-1, 1], unit=["u1", "u2"], score=[80.0, 80.0], change=[6.0, 6.0],
               trend_q=[0.01, 0.01], trend_p=[0.01, 0.01], trend_z=[3.0, 3.0])
    a = evaluate_rules(f, OLD_RULES)
    assert a["unit"].tolist() == ["u1"]
    assert "上升 6.0 分" in a["message_zh"].iloc[0] and "显著上升趋势" in a["message_zh"].iloc[0]


def test_control_change_point_and_survey_rules():
    f = _facts(node=["D6.1", "D6.2", "D6.3"], cusum_down=[True, False, False], ewma_down=[True, False, False],
               cp_shift=[np.nan, -4.0, np.nan], cp_shift_sd=[np.nan, -2.5, np.nan],
               survey_z=[np.nan, np.nan, -2.5], survey_estimate=[np.nan, np.nan, 71.0],
               district_estimate=[np.nan, np.nan, 78.0])
    a = evaluate_rules(f, OLD_RULES).set_index("node")
    assert a.loc["D6.1", "rules"] == "cusum_signal;ewma_signal"
    assert a.loc["D6.2", "rules"] == "downward_shift" and "均值下降 4.0 (2.5 个标准差)" in a.loc["D6.2", "message_zh"]
    assert a.loc["D6.3", "rules"] == "survey_below_district"
    assert "调查估计 71.0 显著低于全区 78.0" in a.loc["D6.3", "message_zh"]
    assert a.loc["D6.3", "message_en"].startswith("Huamu Subdistrict D6.3 Resident satisfaction, 2025: the survey")


def test_custom_rules_and_validation_messages():
    rules = [{"name": "low", "kind": "level_below", "threshold": 90, "level": "amber"}]
    assert evaluate_rules(_facts(score=[85.0]), rules)["rules"].tolist() == ["low"]
    assert evaluate_rules(_facts(score=[95.0]), rules).empty
    with pytest.raises(InputError, match=r"unknown kind 'levle_below'"):
        validate_rules([{"name": "x", "kind": "levle_below", "level": "red"}])
    with pytest.raises(InputError, match=r"unknown level 'orange'"):
        validate_rules([{"name": "x", "kind": "drop", "level": "orange"}])
    with pytest.raises(InputError, match=r"duplicate rule name 'x'"):
        validate_rules([{"name": "x", "kind": "drop", "level": "red"}] * 2)
    with pytest.raises(InputError, match=r"threshold must be a number"):
        validate_rules([{"name": "x", "kind": "drop", "level": "red", "threshold": "five"}])
    with pytest.raises(InputError, match=r"unknown keys \['fdr'\]"):
        validate_rules([{"name": "x", "kind": "drop", "level": "red", "fdr": 0.1}])
    assert len(validate_rules(None)) == len(DEFAULT_RULES)


def test_period_words():
    assert period_words(pd.Series(["2025", "2025Q3", "2025-07"]), "en").tolist() == ["2025", "2025 Q3", "July 2025"]


def test_score_detection_recall_delay_precision_and_false_red_rate():
    gt = pd.DataFrame({"event_id": [1, 2, 3, 4], "kind": ["step", "step", "step", "trend"],
                       "unit": ["u1", "u2", "u3", "u1"], "indicator": ["A", "A", "A", "B"],
                       "start_period": ["2021", "2022", "2022", "2018"], "end_period": ["2025"] * 4,
                       "magnitude_sd": [2.0, -3.0, 1.0, np.nan]})
    alerts = pd.DataFrame({"unit": ["u1", "u2", "u9", "u3"], "node": ["A", "A", "A", "A"],
                           "period": ["2022", "2020", "2023", "2022"], "level": ["red", "amber", "red", "info"]})
    trends = pd.DataFrame({"unit": ["u1", "u9"], "node": ["B", "A"], "q": [0.01, 0.5], "z": [2.5, 0.3], "status":
                           ["significant improvement", "no significant change"], "first_period": ["2018", "2018"],
                           "last_period": ["2025", "2025"]})
    r = score_detection(alerts, trends, gt, series_periods=series_years_from_trends(trends))
    # events 1 and 2 are >= 1.5 SD steps; event 2's only alert came 2 years before its start (tolerance: 1)
    assert r["step"]["n_events"] == 2 and r["step"]["recall"] == 0.5 and r["step"]["mean_delay_years"] == 1.0
    assert r["trend"]["recall"] == 1.0
    assert r["alerts"]["precision"] == 0.5  # u1/A 2022 and u3/A 2022 match
    assert r["false_red_rate"] == pytest.approx(1 / 16)  # one false red (u9) over 2 series x 8 years


def test_score_detection_change_points_in_the_event_direction_and_district_events():
    gt = pd.DataFrame({"event_id": ["E1", "E2"], "kind": ["step", "step"], "unit": ["u1", "D"],
                       "indicator": ["A", "B"], "start_period": ["2022Q3", "2019Q3"], "end_period": ["2025Q4"] * 2,
                       "magnitude": [3.0, 8.0], "magnitude_sd": [2.5, 10.0]})
    trends = pd.DataFrame({"unit": ["u1", "u1", "u2"], "node": ["A", "B", "B"], "q": [0.5] * 3, "z": [0.0] * 3})
    cps = pd.DataFrame({"unit": ["u1", "u1", "u2"], "node": ["A", "B", "B"], "period": ["2022Q4", "2019Q3", "2019Q2"],
                        "shift": [-1.0, 8.0, 7.5]})
    r = score_detection(pd.DataFrame(columns=["unit", "node", "period", "level"]), trends, gt, change_points=cps,
                        district_code="D")
    per = r["per_event"].set_index(["event_id", "unit"])
    assert not per.loc[("E1", "u1"), "detected"]  # a change the wrong way is not a detection
    assert per.loc[("E2", "u1"), "detected"] and per.loc[("E2", "u2"), "delay_years"] == -0.25
    assert r["step"]["n_events"] == 3 and r["step"]["recall"] == pytest.approx(2 / 3)


def test_level_rule_fires_on_crossing_and_latest_period_not_every_year():
    f = _facts(period=["2021", "2022", "2023", "2024", "2025"], score=[62.0, 55.0, 54.0, 53.0, 52.0],
               change=[np.nan, -7.0, -1.0, -1.0, -1.0], latest=[False, False, False, False, True])
    a = evaluate_rules(f, [{"name": "low", "kind": "level_below", "threshold": 60, "level": "amber"}])
    assert a["period"].tolist() == ["2022", "2025"]


def test_survey_rule_controls_false_alarms_across_many_communities():
    """Under no real difference, 2,000 community comparisons at z = 1.96 would raise ~50 alarms; with the BH
    correction (the false-alarm budget) almost none fire, while a real, large gap still does."""
    rng = np.random.default_rng(3)
    n = 2000
    z = rng.standard_normal(n)
    z[0] = -6.0  # one community really far below the district
    f = _facts(unit=[f"u{i}" for i in range(n)], node=["D6.1"] * n, score=[np.nan] * n,
               survey_z=z, survey_estimate=70 + z, district_estimate=[75.0] * n)
    a = evaluate_rules(f, [r for r in validate_rules(None) if r["kind"] == "survey_below"])
    naive = int((z < -1.96).sum())
    assert naive > 30
    assert "u0" in set(a["unit"])
    assert len(a) <= 3
