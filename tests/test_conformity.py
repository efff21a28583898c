"""家门口 standard conformity: hand-made fixtures for every check type and chain rule, R reference values for the
correlation interval, bad inspection files, the settings, the demo's planted events, and the reports."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from govlib.data.rules import derive_results
from govlib.errors import InputError, ValidationError
from govlib.services import conformity as cf
from govlib.settings import load_settings

DATA = Path(__file__).parent / "data"
D, S1, S2 = "310115000000", "310115004000", "310115005000"
C1, C2, C3 = "310115004001", "310115004002", "310115005001"
UNITS = pd.DataFrame({"code": [D, S1, S2, C1, C2, C3], "name_zh": ["区", "甲街道", "乙街道", "一居", "二居", "三居"],
                      "level": ["district", "subdistrict", "subdistrict", "community", "community", "community"],
                      "parent": ["", D, D, S1, S1, S2]})
STANDARD = pd.DataFrame({
    "requirement": ["YN", "SH", "CT", "PR", "MT"],
    "category": ["功能区域", "服务要求", "服务内容", "服务要求", "服务评价"],
    "check": ["yes_no", "share_at_least", "count_at_least", "present_in_period", "share_at_least"],
    "threshold": [np.nan, 90.0, 7.0, np.nan, 90.0], "partial": [np.nan, 75.0, 5.0, np.nan, 70.0],
    "weight": [3.0, 2.0, 2.0, 1.0, 2.0], "tier": ["bottom_line", "basic", "basic", "basic", "bottom_line"],
    "source": ["inspection", "inspection", "inspection", "inspection", "meetings"]})


def ts(*d):
    return pd.to_datetime(list(d))


# ---------------------------------------------------------------------------------------------- check types
@pytest.mark.parametrize("check, threshold, partial, value, expected", [
    ("yes_no", np.nan, np.nan, 1, "met"), ("yes_no", np.nan, np.nan, 0, "not_met"),
    ("share_at_least", 90, 75, 90, "met"), ("share_at_least", 90, 75, 89.9, "partly"),
    ("share_at_least", 90, 75, 75, "partly"), ("share_at_least", 90, 75, 74.9, "not_met"),
    ("share_at_least", 90, np.nan, 80, "not_met"),  # no partial level: below the threshold is not met
    ("count_at_least", 7, 5, 7, "met"), ("count_at_least", 7, 5, 6, "partly"), ("count_at_least", 7, 5, 4, "not_met"),
    ("present_in_period", np.nan, np.nan, 3, "met"), ("present_in_period", np.nan, np.nan, 0, "not_met"),
    ("share_at_least", 90, 75, np.nan, ""),
])
def test_every_check_type_and_its_boundaries(check, threshold, partial, value, expected):
    assert derive_results([check], [threshold], [partial], [value]).tolist() == [expected]


def inspections(**over):
    base = pd.DataFrame({
        "community": [C1, C1, C1, C1, C2],
        "inspection_date": ts("2024-03-01", "2024-03-01", "2024-03-01", "2024-03-01", "2024-04-01"),
        "requirement": ["YN", "SH", "CT", "PR", "YN"],
        "result": ["met", None, None, None, "not_met"], "value": [np.nan, 80.0, 7.0, 2.0, np.nan],
        "rectification_deadline": ts(None, "2024-05-01", None, None, "2024-05-01"),
        "date_closed": ts(None, "2024-04-20", None, None, None)})
    for k, v in over.items():
        base[k] = v
    return base


def test_station_score_weights_partly_half_and_absent_evidence():
    res = cf.inspection_results(inspections(), STANDARD)
    assert res["result"].tolist() == ["met", "partly", "met", "met", "not_met"]
    assert res["result_source"].tolist() == ["stated", "value", "value", "value", "stated"]
    scores, reqs = cf.station_conformity(res, STANDARD, UNITS)
    s = scores.set_index("community")
    # C1: YN met (3), SH partly (2 x 0.5), CT met (2), PR met (1): (3 + 1 + 2 + 1) / 8
    assert s.at[C1, "score"] == pytest.approx(100 * 7 / 8)
    # C2: YN not met (3); PR absent in a visited period = not met (1): 0 / 4; bottom-line miss counted
    assert s.at[C2, "score"] == 0
    assert s.at[C2, "bottom_line_not_met"] == 1
    assert s.at[C2, "coverage"] == pytest.approx(4 / 10)
    assert reqs.loc[(reqs["community"] == C2) & (reqs["requirement"] == "PR"), "origin"].tolist() == ["absent"]
    zero, _ = cf.station_conformity(res, STANDARD, UNITS, partial_points=0.0)
    assert zero.set_index("community").at[C1, "score"] == pytest.approx(100 * 6 / 8)
    with pytest.raises(InputError):
        cf.station_conformity(res, STANDARD, UNITS, partial_points=2)


def test_latest_inspection_in_the_period_counts():
    ins = pd.DataFrame({"community": [C1, C1], "inspection_date": ts("2024-02-01", "2024-09-01"),
                        "requirement": ["YN", "YN"], "result": ["not_met", "met"], "value": [np.nan, np.nan],
                        "rectification_deadline": ts("2024-03-01", None), "date_closed": ts("2024-08-01", None)})
    scores, _ = cf.station_conformity(cf.inspection_results(ins, STANDARD[:1]), STANDARD[:1], UNITS)
    assert scores["score"].tolist() == [100.0]
    q, _ = cf.station_conformity(cf.inspection_results(ins, STANDARD[:1], "Q"), STANDARD[:1], UNITS)
    assert q["period"].tolist() == ["2024Q1", "2024Q3"] and q["score"].tolist() == [0.0, 100.0]


def test_meetings_requirement_comes_from_chain_completeness():
    chains = pd.DataFrame({"community": [C1] * 4, "period": ["2024"] * 4,
                           "status": ["complete", "complete", "complete", "broken"]})
    ins = inspections().iloc[:1]
    _, reqs = cf.station_conformity(cf.inspection_results(ins, STANDARD), STANDARD, UNITS, chains)
    mt = reqs[reqs["requirement"] == "MT"]
    assert mt["value"].tolist() == [75.0] and mt["result"].tolist() == ["partly"]  # 75% >= 70 partial, < 90


# ---------------------------------------------------------------------------------------------- chain rules
def chain_fixture():
    rows = [  # project, meeting, date, attendees
        ("ok", "hearing", "2024-01-05", 30), ("ok", "coordination", "2024-02-01", 15),
        ("ok", "evaluation", "2024-05-01", 25),
        ("nohear", "coordination", "2024-02-01", 15), ("nohear", "evaluation", "2024-05-01", 25),
        ("nocoord", "hearing", "2024-01-05", 30), ("nocoord", "evaluation", "2024-05-01", 25),
        ("noeval", "hearing", "2024-01-05", 30), ("noeval", "coordination", "2024-02-01", 15),
        ("pending", "hearing", "2024-01-05", 30), ("pending", "coordination", "2024-02-01", 15),
        ("order", "hearing", "2024-03-01", 30), ("order", "coordination", "2024-02-01", 15),
        ("order", "evaluation", "2024-05-01", 25),
        ("early", "hearing", "2024-01-05", 30), ("early", "coordination", "2024-02-01", 15),
        ("early", "evaluation", "2024-03-01", 25),
        ("late", "hearing", "2024-01-05", 30), ("late", "coordination", "2024-02-01", 15),
        ("late", "evaluation", "2024-09-01", 25),
        ("few", "hearing", "2024-01-05", 30), ("few", "coordination", "2024-02-01", 4),
        ("few", "evaluation", "2024-05-01", 25),
        ("unrec", "hearing", "2024-01-05", np.nan), ("unrec", "coordination", "2024-02-01", 15),
        ("unrec", "evaluation", "2024-05-01", 25),
    ]
    ev = pd.DataFrame(rows, columns=["project_id", "meeting", "date", "attendees"]).assign(community=C1)
    ev["rating"] = np.where(ev["meeting"] == "evaluation", 80.0, np.nan)
    completed = {"ok": "2024-04-20", "nohear": "2024-04-20", "nocoord": "2024-04-20", "noeval": "2024-03-01",
                 "pending": "2024-12-01", "order": "2024-04-20", "early": "2024-04-20", "late": "2024-04-01",
                 "few": "2024-04-20", "unrec": "2024-04-20", "silent": "2024-02-01"}
    pr = pd.DataFrame({"community": C1, "project_id": list(completed), "completed": pd.to_datetime(list(completed.values()))})
    return ev, pr


@pytest.fixture(scope="module")
def chains():
    ev, pr = chain_fixture()
    return cf.meeting_chains(ev, pr, as_of="2024-12-31", grace_days=90, min_attendance=10).set_index("project_id")


@pytest.mark.parametrize("project, status, rules", [
    ("ok", "complete", ""), ("nohear", "broken", "missing_hearing"), ("nocoord", "broken", "missing_coordination"),
    ("noeval", "broken", "missing_evaluation"), ("pending", "pending", ""), ("order", "broken", "out_of_order"),
    ("early", "broken", "out_of_order"),  # evaluation held before the project was completed
    ("late", "broken", "evaluation_late"), ("few", "broken", "low_attendance"),
    ("unrec", "complete", ""),  # unrecorded attendance is not low attendance
    ("silent", "broken", "missing_hearing;missing_coordination;missing_evaluation"),  # a project with no meeting
])
def test_each_chain_rule(chains, project, status, rules):
    assert chains.at[project, "status"] == status
    assert chains.at[project, "broken_rules"] == rules


def test_grace_period_is_a_parameter():
    ev, pr = chain_fixture()
    loose = cf.meeting_chains(ev, pr, as_of="2024-12-31", grace_days=200).set_index("project_id")
    assert loose.at["late", "status"] == "complete"
    # without completion dates the evaluation's timing cannot be judged
    no_pr = cf.meeting_chains(ev, None, as_of="2024-12-31").set_index("project_id")
    assert not no_pr["evaluation_late"].any() and no_pr.at["late", "status"] == "complete"


def test_chain_completeness_per_level(chains):
    cc = cf.chain_completeness(chains.reset_index(), UNITS)
    row = cc[(cc["level"] == "subdistrict") & (cc["unit"] == S1)].iloc[0]
    assert (row["n_projects"], row["n_pending"], row["n_complete"], row["n_broken"]) == (11, 1, 2, 8)
    assert row["completeness_pct"] == pytest.approx(20.0)
    assert row["n_out_of_order"] == 2 and row["n_missing_hearing"] == 2
    assert set(cc["level"]) == {"community", "subdistrict", "district"}


# ---------------------------------------------------------------------------------------------- issues and alerts
def issue_results():
    ins = pd.DataFrame({
        "community": [C1, C1, C2, C3], "requirement": ["YN", "SH", "YN", "YN"],
        "inspection_date": ts("2024-03-01", "2024-03-01", "2024-10-01", "2023-11-01"),
        "result": ["not_met", "not_met", "not_met", "not_met"], "value": np.nan,
        "rectification_deadline": ts("2024-04-01", "2024-04-01", "2025-01-31", "2023-12-01"),
        "date_closed": ts(None, "2024-12-31", None, "2024-01-15")})
    return cf.inspection_results(ins, STANDARD)


def test_open_and_overdue_at_a_date():
    iss = cf.open_issues(issue_results(), "2024-12-31", UNITS)
    # SH was closed on the day: not open. C2's deadline is after the date: open, not overdue.
    assert iss[["community", "requirement", "overdue"]].values.tolist() == [[C1, "YN", True], [C2, "YN", False]]
    assert iss["days_to_deadline"].tolist() == [-274, 31]
    on_deadline = cf.open_issues(issue_results(), "2024-04-01")
    assert not on_deadline.loc[on_deadline["community"] == C1, "overdue"].any()  # due that day, not yet late


def test_red_alert_only_for_overdue_bottom_line_one_row_per_unit_and_period():
    a = cf.conformity_alerts(issue_results(), UNITS, ["2023", "2024"], as_of="2024-12-31")
    # 2023: C3 (S2) open past its 2023-12-01 deadline at the year end. 2024: C1 (S1) YN; SH is basic: no alert.
    assert a[["unit", "period", "level", "rule"]].values.tolist() == [
        [S2, "2023", "red", "conformity_overdue_bottom_line"], [S1, "2024", "red", "conformity_overdue_bottom_line"]]
    assert "一居 YN" in a["message_zh"].iloc[1] and "YN" in a["message_en"].iloc[1]
    assert a["evidence"].iloc[1] == f"{C1}:YN:due 2024-04-01"
    assert list(a.columns) == ["unit", "period", "node", "level", "rule", "message_zh", "message_en", "evidence"]


def test_no_alert_when_closed_in_time():
    res = issue_results()
    res["date_closed"] = res["rectification_deadline"] - pd.Timedelta(days=1)
    assert cf.conformity_alerts(res, UNITS, ["2023", "2024"]).empty


def test_visit_list_overdue_first_then_lowest():
    sc = pd.DataFrame({"community": [C1, C2, C3], "parent": [S1, S1, S2], "period": ["2024"] * 3,
                       "score": [90.0, 50.0, 70.0]})
    iss = cf.open_issues(issue_results(), "2024-12-31", UNITS)
    v = cf.visit_list(sc, iss, "2024", n=1, threshold=80)
    assert v[["community", "reason"]].values.tolist() == [[C1, "overdue"], [C2, "low_score"]]
    assert cf.visit_list(sc, iss, "2025", unit=S2, threshold=80)["community"].tolist() == [C3]


# ---------------------------------------------------------------------------------------------- distribution
def test_jiezhen_distribution_matches_numpy():
    rng = np.random.default_rng(3)
    x = rng.uniform(40, 100, 9)
    comms = [f"3101150040{k:02d}" for k in range(1, 10)]
    units = pd.concat([UNITS[:3], pd.DataFrame({"code": comms, "level": "community", "parent": S1})])
    sc = pd.DataFrame({"community": comms, "period": "2024", "score": x, "bottom_line_not_met": [0] * 8 + [2]})
    row = cf.jiezhen_conformity(sc, units, threshold=60).set_index("unit").loc[S1]
    for col, q in (("p10", .1), ("p25", .25), ("median", .5), ("p75", .75), ("p90", .9)):
        assert row[col] == pytest.approx(np.quantile(x, q))
    assert row["sd"] == pytest.approx(np.std(x, ddof=1))
    assert row["share_below"] == pytest.approx(100 * np.mean(x < 60))
    assert row["bottom_line_not_met"] == 1


# ---------------------------------------------------------------------------------------------- relation (R)
def test_fisher_z_interval_matches_r_cor_test():
    data = pd.read_csv(DATA / "conformity_cor_test_data.csv")
    ref = pd.read_csv(DATA / "conformity_cor_test_reference.csv", skipinitialspace=True)
    for row in ref.itertuples(index=False):
        d = data[data["set"] == row.set]
        sc = pd.DataFrame({"community": np.arange(len(d)).astype(str), "period": "2024", "score": d["x"].to_numpy()})
        ch = pd.DataFrame({"community": np.arange(len(d)).astype(str), "period": "2024", "rating": d["y"].to_numpy()})
        out = cf.conformity_relation(sc, ch, min_n=4).iloc[0]
        assert out["n"] == row.n
        assert out["r"] == pytest.approx(row.r, abs=1e-12)
        assert (out["ci_low"], out["ci_high"]) == pytest.approx((row.ci_low, row.ci_high), abs=1e-10)
        assert out["p"] == pytest.approx(row.p, rel=1e-6)
        lo, hi = cf.fisher_z_interval(np.array([row.r]), np.array([row.n]), conf_level=0.90)
        assert (lo[0], hi[0]) == pytest.approx((row.ci90_low, row.ci90_high), abs=1e-10)


def test_spearman_interval_uses_bonett_wright_and_small_samples_give_nothing():
    lo, hi = cf.fisher_z_interval(np.array([0.5]), np.array([28]), method="spearman")
    se = np.sqrt((1 + 0.5 ** 2 / 2) / 25)
    assert (lo[0], hi[0]) == pytest.approx((np.tanh(np.arctanh(.5) - 1.959963984540054 * se),
                                            np.tanh(np.arctanh(.5) + 1.959963984540054 * se)))
    assert np.isnan(cf.fisher_z_interval(np.array([0.5]), np.array([3]))[0][0])
    sc = pd.DataFrame({"community": list("abc"), "period": "2024", "score": [1.0, 2, 3]})
    assert np.isnan(cf.conformity_relation(sc, sc.rename(columns={"score": "rating"}))["r"].iloc[0])
    with pytest.raises(InputError):
        cf.fisher_z_interval(np.array([0.5]), np.array([30]), method="kendall")


# ---------------------------------------------------------------------------------------------- properties
@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["met", "partly", "not_met"]), min_size=4, max_size=4),
       st.integers(0, 3), st.permutations(range(4)))
def test_score_bounded_monotone_and_order_free(results, flip, order):
    std = STANDARD.iloc[:3].assign(check="yes_no")
    std = pd.concat([std, std.iloc[:1].assign(requirement="Z", weight=5.0)], ignore_index=True)
    res = pd.DataFrame({"community": C1, "period": "2024", "requirement": std["requirement"], "result": results,
                        "inspection_date": pd.Timestamp("2024-03-01")})
    s0 = cf.station_conformity(res, std, UNITS)[0]["score"].iloc[0]
    assert 0 <= s0 <= 100
    better = res.copy()
    better.loc[flip, "result"] = "met"
    assert cf.station_conformity(better, std, UNITS)[0]["score"].iloc[0] >= s0 - 1e-9
    shuffled = res.iloc[list(order)]
    assert cf.station_conformity(shuffled, std, UNITS)[0]["score"].iloc[0] == pytest.approx(s0)


# ---------------------------------------------------------------------------------------------- indicators
def test_observations_only_for_framework_leaves():
    j = pd.DataFrame({"level": ["subdistrict", "district"], "unit": [S1, D], "period": ["2024"] * 2,
                      "mean": [80.0, 75.0]})
    cc = pd.DataFrame({"level": ["subdistrict"], "unit": [S1], "period": ["2024"], "completeness_pct": [90.0]})
    obs = cf.conformity_observations(j, cc, {"score": "D5.9", "chains": "D5.10"}, ["D5.9", "D5.10"])
    assert obs[["unit", "indicator", "value", "source"]].values.tolist() == [
        [S1, "D5.9", 80.0, "service"], [S1, "D5.10", 90.0, "service"]]
    with pytest.raises(InputError, match="not codes of the framework"):
        cf.conformity_observations(j, cc, {"score": "D5.99"}, ["D5.9"])
    with pytest.raises(InputError, match="unknown keys"):
        cf.conformity_observations(j, cc, {"scores": "D5.9"}, ["D5.9"])


# ---------------------------------------------------------------------------------------------- settings
def test_settings_unknown_key_and_bad_values_are_errors():
    from govlib.pipeline.stages.conformity import read_settings

    base = load_settings()
    assert read_settings(base)["frequency"] == "A"
    for section, column in (({"grace_day": 30}, "conformity.grace_day"),
                            ({"partial_points": 1.5}, "conformity.partial_points"),
                            ({"frequency": "W"}, "conformity.frequency"),
                            ({"correlation": "kendall"}, "conformity.correlation")):
        with pytest.raises(ValidationError) as info:
            read_settings(base.with_overrides(conformity=section))
        assert info.value.problems[0].column == column


# ---------------------------------------------------------------------------------------------- stage
def test_stage_outputs_and_indicator_leaves():
    from govlib.pipeline.stages import conformity as stage

    ev, pr = chain_fixture()
    tables = {"units": UNITS, "conformity_standard": STANDARD, "conformity_inspections": inspections(),
              "doorstep_evaluations": ev, "doorstep_projects": pr,
              "framework": pd.DataFrame({"code": ["SGI", "D5", "D5.9", "D5.10"]})}
    base = load_settings()
    out = stage.run(tables, base)
    assert {"conformity_stations", "conformity_jiezhen", "conformity_issues", "conformity_chains",
            "conformity_chain_completeness", "conformity_alerts", "conformity_visits",
            "conformity_relation"} <= set(out)
    assert "observations_conformity" not in out  # no framework leaf named: nothing fed to the index
    fed = stage.run(tables, base.with_overrides(conformity={"indicators": {"score": "D5.9", "chains": "D5.10"}}))
    obs = fed["observations_conformity"]
    assert set(obs["indicator"]) == {"D5.9", "D5.10"} and set(obs["unit"]) == {S1}  # only S1 has stations here
    s1 = obs[(obs["indicator"] == "D5.10") & (obs["unit"] == S1)]["value"].iloc[0]
    assert s1 == pytest.approx(20.0)  # 2 complete of 10 assessed chains (see test_chain_completeness_per_level)
    with pytest.raises(InputError, match="not codes of the framework"):
        stage.run(tables, base.with_overrides(conformity={"indicators": {"score": "D5.99"}}))
    assert stage.run({"units": UNITS}, base) == {}


def test_chain_keeps_the_evaluation_outcome():
    ev, pr = chain_fixture()
    ev["outcome"] = np.where(ev["meeting"] == "evaluation", "accepted", "approved")
    ev.loc[(ev["project_id"] == "late") & (ev["meeting"] == "evaluation"), "outcome"] = "not_accepted"
    ch = cf.meeting_chains(ev, pr, as_of="2024-12-31").set_index("project_id")
    assert ch.at["late", "outcome"] == "not_accepted" and ch.at["ok", "outcome"] == "accepted"
    assert pd.isna(ch.at["noeval", "outcome"])
