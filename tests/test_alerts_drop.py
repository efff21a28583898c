"""Station usage drops, the step test's noise model (pooled successive differences, season scales) and the
scorer's conventions (家门口 conformity events, the recall scope)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import norm

from govlib.errors import InputError
from govlib.trend.alerts import DEFAULT_RULES, evaluate_rules, validate_rules
from govlib.trend.deterioration import count_drop_test, noise_sd, season_scale, step_test
from govlib.trend.evaluation import at_detection_target, score_alerts

USAGE = next(r for r in DEFAULT_RULES if r["kind"] == "usage_drop")


# ------------------------------------------------------------------------------------------ usage drops
def test_count_drop_z_is_the_quasi_poisson_formula():
    # an independent computation of one window: R = 30 + 28 = 58 in 2 months, mu = mean of the 12 before
    base = np.array([50, 47, 55, 52, 49, 51, 48, 53, 50, 46, 54, 50], float)
    x = np.concatenate([base, [30.0, 28.0]])[None, :]
    r = count_drop_test(x, windows=(2,), baseline=12, dispersion=np.array([1.5]))
    mu = base.mean()
    z = (58 - 2 * mu) / np.sqrt(1.5 * (2 * mu + 4 * mu / 12))
    assert r["z"][0, -1] == pytest.approx(z)
    assert r["p"][0, -1] == pytest.approx(norm.cdf(z))
    assert r["expected"][0, -1] == pytest.approx(mu) and r["observed"][0, -1] == pytest.approx(29.0)


@pytest.mark.parametrize("dispersion", [1.0, 3.0])
def test_count_drop_false_alarm_rate_per_station_year_is_at_most_far(dispersion):
    # in-control Poisson (phi 1) and overdispersed negative-binomial (phi 3) station counts; the default
    # dispersion is each station's own (at least 1); the rule's threshold far / (windows x 12)
    rng = np.random.default_rng(int(dispersion))
    far, windows = 0.01, (1, 2, 3)
    S, T = 3_000, 60
    mu = rng.uniform(20, 200, size=(S, 1))
    if dispersion == 1:
        x = rng.poisson(np.broadcast_to(mu, (S, T))).astype(float)
    else:  # NB with variance phi mu: n = mu / (phi - 1), p = 1 / phi
        x = rng.negative_binomial(mu / (dispersion - 1), 1 / dispersion, size=(S, T)).astype(float)
    r = count_drop_test(x, windows=windows, baseline=12)
    fired = r["p"] < far / (len(windows) * 12)
    years = (~np.isnan(r["p"])).sum() / 12
    rate = fired.sum() / years
    assert rate <= far + 3 * np.sqrt(far / years)
    assert rate > far / 20  # not vacuous


def test_count_drop_catches_a_65_percent_drop_in_the_first_month():
    rng = np.random.default_rng(5)
    x = rng.poisson(80, size=(1, 30)).astype(float)
    x[0, 24:] = rng.poisson(80 * 0.35, size=6)
    r = count_drop_test(x, windows=(1, 2, 3), baseline=12)
    assert r["p"][0, 24] < USAGE["far"] / 36 and r["ratio"][0, 24] < 0.6
    assert np.nanmin(r["p"][0, :24]) > USAGE["far"] / 36  # no alarm before the drop


def test_count_drop_needs_a_full_baseline_and_enough_expected_counts():
    x = np.full((2, 14), 3.0)
    x[1] = 30.0
    x[1, 5] = np.nan  # a gap in the baseline
    r = count_drop_test(x, windows=(1,), baseline=12, min_expected=5)
    assert np.isnan(r["p"][0]).all()  # 3 expected < 5
    assert np.isnan(r["p"][1, :13]).all() and np.isnan(r["p"][1, 13])  # month 12: the gap is in its baseline
    with pytest.raises(InputError, match="negative"):
        count_drop_test(-x)
    with pytest.raises(InputError, match="2-D"):
        count_drop_test(np.ones(5))


def test_usage_drop_rule_needs_the_rate_and_the_size():
    base = {"unit": ["C1", "C2", "C3"], "node": "D5", "period": "2024-05", "unit_zh": "居委", "unit_en": "C",
            "node_zh": "家门口", "node_en": "Doorstep", "direction": 1}
    f = pd.DataFrame({**base, "usage_p": [1e-9, 1e-9, 1e-4], "usage_z": [-6.0, -6.0, -3.7],
                      "usage_tests": 36.0, "usage_observed": [30.0, 70.0, 30.0], "usage_expected": [90.0, 90.0, 90.0]})
    a = evaluate_rules(f, [USAGE])
    # C2: significant but only 22 % down (min_drop 40 %); C3: 67 % down but p above far / 36
    assert a["unit"].tolist() == ["C1"] and a["level"].tolist() == ["amber"]
    assert "下降 67%" in a["message_zh"].iloc[0] and "fell by 67%" in a["message_en"].iloc[0]
    assert a["observed"].iloc[0] == 30.0 and a["expected_or_limit"].iloc[0] == 90.0


def test_rank_fall_needs_min_fall_places():
    base = {"unit": ["u1", "u2"], "node": "SGI", "period": "2024", "unit_zh": "街镇", "unit_en": "U",
            "node_zh": "指数", "node_en": "Index", "direction": 1}
    f = pd.DataFrame({**base, "rank_fall": [True, True], "rank": [19.0, 25.0], "rank_before": [18.0, 20.0]})
    rule = validate_rules([{"name": "rf", "kind": "rank_fall", "level": "amber"}])
    assert rule[0]["min_fall"] == 3.0
    assert evaluate_rules(f, rule)["unit"].tolist() == ["u2"]


# ------------------------------------------------------------------------------------------ noise model
def test_noise_sd_pooled_is_unbiased_and_ignores_a_few_steps():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 2.0, size=(400, 8))
    x[:20, 4:] += 10.0  # 5 % of the series carry a large step
    pooled = noise_sd(x)["pooled"][0]
    assert pooled == pytest.approx(2.0, rel=0.06)


def test_noise_sd_own_guards_a_noisier_series_but_not_a_step_or_shock():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1.0, size=(300, 32))
    x[0] *= 3.0  # a noisier (smaller) unit
    x[1, 20:] += 6.0  # a step
    x[2, 20] -= 6.0  # a one-period shock
    r = noise_sd(x, groups=np.zeros(300))
    assert r["own"][0] > 2.0 * r["pooled"][0]
    assert r["own"][1] < 1.3 * r["pooled"][1] and r["own"][2] < 1.3 * r["pooled"][2]


def test_season_scale_follows_the_seasons_and_resists_one_outlying_year():
    rng = np.random.default_rng(6)
    sd = np.tile([1.0, 4.0, 2.0, 0.5], 8)
    x = rng.normal(0, 1, size=(2, 32)) * sd
    x[1, 5] = 60.0  # one wild Q2 value in one of only two series
    s = season_scale(x, np.tile(np.array(["Q1", "Q2", "Q3", "Q4"]), (2, 8)))
    assert s[0, 1] < 8.0  # the wild value does not blow up Q2's scale
    big = rng.normal(0, 1, size=(300, 32)) * sd
    s = season_scale(big, np.tile(np.array(["Q1", "Q2", "Q3", "Q4"]), (300, 8)))
    assert s[0, :4] == pytest.approx([1.0, 4.0, 2.0, 0.5], rel=0.1)


def test_step_test_with_scale_keeps_the_evidence_in_the_values_units():
    x = np.array([[10.0, -10.0, 11.0, -9.0, 10.0, -11.0, 2.0]])  # deseasonalised: a quiet and a loud season
    scale = np.array([[1.0, 10.0] * 3 + [1.0]])
    r = step_test(x, np.array([1.0]), np.array([1.0]), windows=(1,), scale=scale)
    # z in scale units: (2 - mean(10, -1, 11, -0.9, 10, -1.1)) / sqrt(1 + 1/6)
    hist = np.mean([10, -1, 11, -0.9, 10, -1.1])
    assert r["z"][0, -1] == pytest.approx((2 - hist) / np.sqrt(1 + 1 / 6))
    assert r["recent"][0, -1] == 2.0 and r["history"][0, -1] == pytest.approx(np.mean(x[0, :6]))


def test_deterioration_with_pooled_noise_keeps_its_false_alarm_rate():
    # 36 units x 30 indicators x 8 annual values; sigma estimated as the stage does (pooled, own floor)
    rng = np.random.default_rng(7)
    far, windows = 0.01, (1, 2, 3)
    S = 36 * 300
    x = rng.normal(0, 1, size=(S, 8)) * np.repeat(rng.uniform(0.5, 5, 300), 36)[:, None]
    groups = np.repeat(np.arange(300), 36)
    ns = noise_sd(x, groups=groups)
    r = step_test(x, np.ones(S), np.fmax(ns["pooled"], ns["own"]), windows=windows, min_history=2)
    fired = r["p"] < far / len(windows)
    years = (~np.isnan(r["p"])).sum()
    assert fired.sum() / years <= far + 3 * np.sqrt(far / years)


# ------------------------------------------------------------------------------------------ scorer
FW = pd.DataFrame({"code": ["SGI", "D5", "D5.2", "D6", "D6.1", "D1", "D1.1"],
                   "parent": [None, "SGI", "D5", "SGI", "D6", "SGI", "D1"],
                   "direction": [1, 1, 1, 1, 1, 1, 1]})


def test_overdue_conformity_is_an_event_of_the_stations_jiezhen_on_d5():
    gt = pd.DataFrame({"event_id": ["E1", "E2", "E3", "E4"],
                       "kind": ["conformity_nonconformity", "conformity_nonconformity", "conformity_broken_chain",
                                "conformity_low_station"],
                       "unit": ["310115005024", "310115005010", "310115005010", "310115005010"],
                       "indicator": ["FA-02", "FA-02", "", ""], "start_period": ["2025", "2020", "2024", "2025"],
                       "magnitude": [1.0, 0.0, np.nan, np.nan]})
    red = pd.DataFrame({"unit": ["310115005000"], "period": ["2025"], "node": ["D5"], "level": ["red"],
                        "status": ["new"], "rule": ["conformity_overdue_bottom_line"]})
    r = score_alerts(red, gt, FW, unit_years=10, unit_parent={"310115005024": "310115005000"})
    assert r["n_events"] == 1 and r["recall"] == 1.0 and r["precision_red"] == 1.0
    assert r["per_event"]["kind"].tolist() == ["conformity_overdue"]
    # an amber alert on another node of the 街镇 does not match it
    other = red.assign(node="D6.1", level="amber")
    r = score_alerts(other, gt, FW, unit_years=10)  # no map: the code's first nine digits + 000
    assert r["recall"] == 0.0 and r["precision"] == 0.0


def test_recall_scope_detection_target_reports_smaller_events_apart():
    gt = pd.DataFrame({"event_id": ["big", "small", "trend", "comm"], "kind": ["step", "step", "trend", "survey_drop"],
                       "unit": ["u1", "u2", "u3", "c1"], "indicator": ["D1.1", "D1.1", "D1.1", "D6.1"],
                       "start_period": ["2022", "2022", "2019", "2023Q1"], "end_period": "2025",
                       "magnitude": [-3.0, -1.0, -0.8, -11.0], "magnitude_sd": [-3.0, -1.0, -0.8, np.nan]})
    al = pd.DataFrame({"unit": ["u1", "u2"], "period": ["2022", "2023"], "node": ["D1.1", "D1"],
                       "level": "amber", "status": "new"})
    r = score_alerts(al, gt, FW, unit_years=40)
    # only the 3-SD step is at the target (3 / sqrt(2) = 2.1 SDs of change >= 1.5); the alert on the small step
    # is true, its absence would not have lowered recall
    assert r["n_events"] == 1 and r["recall"] == 1.0 and r["precision"] == 1.0
    assert r["below_target"] == {"n": 3, "caught": 1, "by_kind": {"step": {"n": 1, "caught": 1},
                                                                  "survey_drop": {"n": 1, "caught": 0},
                                                                  "trend": {"n": 1, "caught": 0}}}
    r_all = score_alerts(al, gt, FW, unit_years=40, recall_scope="all")
    assert r_all["n_events"] == 4 and r_all["recall"] == 0.5
    with pytest.raises(InputError, match="recall_scope"):
        score_alerts(al, gt, FW, unit_years=40, recall_scope="some")


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 6), st.floats(0, 1.2), st.floats(0, 12))
def test_detection_target_is_monotone_in_the_size(step_sd, surge, drop):
    # a larger event is never out of scope when a smaller one of its kind is in
    gt = pd.DataFrame({"kind": ["step", "step", "hotline_surge", "hotline_surge", "survey_drop_jiezhen",
                                "survey_drop_jiezhen"],
                       "magnitude": [0, 0, surge, surge + 0.1, -drop, -drop - 1],
                       "magnitude_sd": [step_sd, step_sd + 0.5, np.nan, np.nan, np.nan, np.nan]})
    t = at_detection_target(gt)
    assert (t[1] >= t[0]) and (t[3] >= t[2]) and (t[5] >= t[4])
    assert t[0] == (step_sd / np.sqrt(2) >= 1.5 - 1e-3)


def test_stage_raises_a_station_usage_drop_and_counts_missing_months_as_zero():
    from govlib.pipeline.stages.trend import run
    from govlib.settings import load_settings
    rng = np.random.default_rng(8)
    months = pd.period_range("2021-01", "2024-12", freq="M").strftime("%Y-%m").tolist()
    rows = []
    for k, code in enumerate(["310115004001", "310115004002", "310115004003"]):
        counts = rng.poisson(60 + 20 * k, size=len(months)).astype(float)
        if k == 0:
            counts[30:] = rng.poisson(60 * 0.3, size=len(months) - 30)  # a 70 % drop from month 31
        rows.append(pd.DataFrame({"unit": code, "period": months, "services": counts}))
    usage = pd.concat(rows, ignore_index=True)
    usage = usage[~((usage["unit"] == "310115004003") & usage["period"].between("2024-01", "2024-06"))]  # no records
    fw = pd.DataFrame({"code": ["SGI", "D5"], "parent": [None, "SGI"], "name_zh": ["指数", "家门口"],
                       "name_en": ["Index", "Doorstep"], "direction": [1, 1]})
    obs = pd.DataFrame({"unit": "310115004000", "period": [str(y) for y in range(2018, 2025)], "indicator": "D5",
                        "value": 70 + rng.normal(0, 1, 7)})
    out = run({"observations": obs, "framework": fw, "doorstep_usage_monthly": usage}, load_settings())["alerts"]
    a = out[(out["rule"] == "station_usage_drop") & (out["status"] == "new")]
    assert set(zip(a["unit"], a["period"])) >= {("310115004001", months[30]), ("310115004003", "2024-01")}
    assert not (a["unit"] == "310115004002").any()
    first = a.set_index(["unit", "period"]).loc[("310115004001", months[30])]
    assert first["node"] == "D5" and first["observed"] < 0.5 * first["expected_or_limit"]


def test_stage_leaves_index_scores_with_missing_indicators_out_of_the_step_test():
    from govlib.pipeline.stages.trend import run
    from govlib.settings import load_settings
    rng = np.random.default_rng(9)
    units = [f"3101150{k:02d}000" for k in range(4, 16)]
    years = [str(y) for y in range(2018, 2026)]
    scores = pd.DataFrame([(u, y, "D1", 70 + rng.normal(0, 1), 1.0) for u in units for y in years],
                          columns=["unit", "period", "node", "score", "coverage"])
    gap = (scores["unit"] == units[0]) & (scores["period"] == "2022")
    fw = pd.DataFrame({"code": ["SGI", "D1", "D1.1"], "parent": [None, "SGI", "D1"], "name_zh": ["指数", "一", "一一"],
                       "name_en": ["Index", "One", "One one"], "direction": [1, 1, 1]})

    def amber(sc):
        a = run({"index_scores": sc, "framework": fw}, load_settings())["alerts"]
        return a[(a["rule"] == "worse_than_own_history") & (a["status"] == "new")]

    dropped = scores.assign(score=np.where(gap, 55.0, scores["score"]))
    assert (amber(dropped)["unit"] == units[0]).any()  # a real 15-point fall is a warning
    partial = dropped.assign(coverage=np.where(gap, 0.75, 1.0))  # the same fall with an indicator missing
    assert not (amber(partial)["unit"] == units[0]).any()


def test_jiezhen_wide_survey_drop_makes_community_alerts_true_but_only_the_jiezhen_alert_detects_it():
    gt = pd.DataFrame({"event_id": ["E1"], "kind": ["survey_drop_jiezhen"], "unit": ["310115130000"],
                       "indicator": ["D6.1"], "start_period": ["2022Q3"], "end_period": ["2025Q4"],
                       "magnitude": [-5.0]})
    parent = {"310115130006": "310115130000", "310115131006": "310115131000"}
    # a community of the 街镇 (true), a community of another 街镇 (false)
    al = pd.DataFrame({"unit": ["310115130006", "310115131006"], "period": ["2025Q4", "2025Q4"],
                       "node": ["D6.1", "D6.1"], "level": "amber", "status": "new"})
    r = score_alerts(al, gt, FW, unit_years=10, unit_parent=parent)
    assert r["precision"] == 0.5 and r["recall"] == 0.0
    assert r["per_alert"]["matched"].tolist() == [True, False]
    # the 街镇's own alert detects it
    own = pd.concat([al, al.iloc[:1].assign(unit="310115130000", period="2022Q4")], ignore_index=True)
    r = score_alerts(own, gt, FW, unit_years=10, unit_parent=parent)
    assert r["recall"] == 1.0 and r["median_delay_periods"] == 1.0
    # without the unit map, the community alert is not matched
    assert score_alerts(al, gt, FW, unit_years=10)["precision"] == 0.0
