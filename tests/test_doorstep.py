"""Doorstep services: a hand-made district with known coverage, equity, usage and meetings; bad input; demo data."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from govlib.services import doorstep as ds
from govlib.errors import InputError, ValidationError
from govlib.settings import load_settings
from govlib.pipeline.stages import doorstep as stage

D, S1, S2 = "310115000000", "310115004000", "310115005000"
C1, C2, C3, C4 = "310115004001", "310115004002", "310115004003", "310115005001"


def small_tables() -> dict[str, pd.DataFrame]:
    units = pd.DataFrame({
        "code": [D, S1, S2, C1, C2, C3, C4],
        "name_zh": ["浦东新区", "甲街道", "乙街道", "一居", "二居", "三居", "四居"],
        "level": ["district", "subdistrict", "subdistrict", "community", "community", "community", "community"],
        "parent": [None, D, D, S1, S1, S1, S2],
    })
    catalogue = pd.DataFrame({
        "item_id": ["A1", "A2", "B1", "B2", "B3", "Q1"],
        "name_zh": ["甲", "乙", "丙", "丁", "戊", "己"],
        "category": ["party", "health", "health", "culture", "legal", "culture"],
        "tier": ["bottom_line", "bottom_line", "basic", "basic", "basic", "quality"],
        "department": ["区委组织部", "区卫健委", "区卫健委", "区文旅局", "区司法局", "区文旅局"],
    })
    menu_rows = [(C1, i, "2024-01", "") for i in ["A1", "A2", "B1", "B2", "B3", "Q1"]]
    menu_rows += [(C2, "A1", "2024-01", ""), (C2, "A2", "2024-01", ""), (C2, "B1", "2024-05", ""),
                  (C2, "Q1", "2024-01", "2024-02"),  # withdrawn: offered Jan and Feb only
                  (C3, "A1", "2024-01", ""), (C3, "B1", "2024-01", ""),  # C3 lacks bottom-line A2
                  (C4, "A1", "2024-01", ""), (C4, "A2", "2024-01", ""), (C4, "B1", "2024-01", ""),
                  (C4, "B2", "2024-01", "")]
    menus = pd.DataFrame(menu_rows, columns=["community", "item_id", "from_period", "to_period"])
    stations = pd.DataFrame({
        "community": [C1, C2, C3, C4], "year": [2024] * 4, "has_station": [True, True, True, False],
        "floor_area_m2": [200.0, 100.0, 300.0, np.nan], "service_area_m2": [150.0, 50.0, 240.0, np.nan],
        "legal_adviser": [True, False, True, False]})
    records = pd.DataFrame({
        "community": [C1, C1, C2, C3], "item_id": ["A1", "B1", "B1", "A1"],
        "date": pd.to_datetime(["2024-02-01", "2024-04-01", "2024-05-01", "2024-01-01"]),
        "count": [10.0, 20.0, 6.0, 4.0]})
    evaluations = pd.DataFrame([
        (C1, "p1", "hearing", "2024-01-10", np.nan), (C1, "p1", "coordination", "2024-02-10", np.nan),
        (C1, "p1", "evaluation", "2024-03-10", 80.0), (C1, "p2", "hearing", "2024-02-01", np.nan),
        (C1, "p2", "evaluation", "2024-05-01", 90.0), (C2, "p3", "hearing", "2024-01-05", np.nan),
        (C2, "p3", "evaluation", "2024-06-01", 70.0), (C2, "p3", "evaluation", "2024-06-20", 74.0),
        (C3, "p4", "hearing", "2024-01-02", np.nan),
    ], columns=["community", "project_id", "meeting", "date", "rating"])
    population = pd.DataFrame({"code": [C1, C2, C3, C4, S1, S2], "year": [2024] * 6,
                               "residents": [1000, 2000, 1000, 500, 4000, 500]})
    return {"units": units, "doorstep_catalogue": catalogue, "doorstep_menus": menus,
            "doorstep_stations": stations, "doorstep_records": records, "doorstep_evaluations": evaluations,
            "population": population}


def textbook_gini(x):
    n, mean = len(x), sum(x) / len(x)
    return sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * n * n * mean)


def textbook_theil(x):
    mean = sum(x) / len(x)
    return sum((v / mean) * math.log(v / mean) for v in x if v > 0) / len(x)


@pytest.fixture(scope="module")
def built():
    return stage.run(small_tables(), load_settings())


def cov_value(cov, unit, period, tier="all", category="all", col="items_available"):
    row = cov[(cov.unit == unit) & (cov.period == period) & (cov.tier == tier) & (cov.category == category)]
    assert len(row) == 1, (unit, period, tier, category)
    return row[col].iloc[0]


def test_coverage_known_values(built):
    cov = built["doorstep_coverage"]
    assert sorted(cov["period"].unique()) == ["2024Q1", "2024Q2"]
    # end of Q1 (March): C1 all 6; C2 A1, A2 (Q1 withdrawn after Feb, B1 not yet); C3 A1, B1; C4 no station
    assert [cov_value(cov, c, "2024Q1") for c in (C1, C2, C3, C4)] == [6, 2, 2, 0]
    assert [cov_value(cov, c, "2024Q2") for c in (C1, C2, C3, C4)] == [6, 3, 2, 0]
    assert cov_value(cov, S1, "2024Q1") == pytest.approx(10 / 3)
    assert cov_value(cov, S1, "2024Q2") == pytest.approx(11 / 3)
    assert cov_value(cov, S1, "2024Q2", tier="bottom_line") == pytest.approx(5 / 3)
    assert cov_value(cov, S1, "2024Q2", category="health") == pytest.approx((2 + 2 + 1) / 3)
    assert cov_value(cov, S1, "2024Q2", tier="basic", category="health") == pytest.approx(1.0)
    assert cov_value(cov, D, "2024Q2") == pytest.approx(11 / 4)
    assert cov_value(cov, C1, "2024Q2", col="items_catalogue") == 6
    assert cov_value(cov, C1, "2024Q2", tier="quality", col="coverage_pct") == 100.0
    # only catalogue cells exist: there is no legal quality item
    assert cov[(cov.tier == "quality") & (cov.category == "legal")].empty


def test_coverage_without_station_requirement():
    t = small_tables()
    cov = ds.menu_coverage(t["doorstep_catalogue"], t["doorstep_menus"], t["units"], t["doorstep_stations"],
                           frequency="Q", last_period="2024-06", require_station=False)
    assert cov_value(cov, C4, "2024Q2") == 4


def test_to_period_is_inclusive():
    t = small_tables()
    t["doorstep_menus"].loc[t["doorstep_menus"]["item_id"].eq("Q1") & t["doorstep_menus"]["community"].eq(C2),
                            "to_period"] = "2024-03"
    cov = ds.menu_coverage(t["doorstep_catalogue"], t["doorstep_menus"], t["units"], t["doorstep_stations"],
                           frequency="Q", last_period="2024-06")
    assert cov_value(cov, C2, "2024Q1", tier="quality") == 1  # still offered in March, the snapshot month
    assert cov_value(cov, C2, "2024Q2", tier="quality") == 0


def test_bottom_line_gaps(built):
    gaps = built["doorstep_gaps"]
    got = set(map(tuple, gaps[["community", "period", "item_id", "reason"]].to_numpy()))
    assert got == {(C3, "2024", "A2", "not_ordered"), (C4, "2024", "A1", "no_station"),
                   (C4, "2024", "A2", "no_station")}


def test_equity_within_and_across(built):
    eq = built["doorstep_equity"]
    row = eq[(eq.level == "subdistrict") & (eq.unit == S1) & (eq.period == "2024Q2")
             & (eq.measure == "coverage_items")].iloc[0]
    x = [6, 3, 2]
    assert row["gini"] == pytest.approx(textbook_gini(x))
    assert row["theil"] == pytest.approx(textbook_theil(x))
    assert row["n"] == 3 and row["mean"] == pytest.approx(11 / 3)
    floor_eq = ds.equity_table(built["doorstep_coverage"], coverage_floor=3)
    r = floor_eq[(floor_eq.unit == S1) & (floor_eq.period == "2024Q2") & (floor_eq.level == "subdistrict")]
    assert r["share_below_floor"].iloc[0] == pytest.approx(1 / 3)  # 2 < 3; 3 is not below
    # across 街镇, weighted by their number of communities: S1 mean 11/3 (3 communities), S2 0 (1)
    d = eq[(eq.level == "district") & (eq.period == "2024Q2") & (eq.measure == "coverage_items")].iloc[0]
    assert d["gini"] == pytest.approx(textbook_gini([11 / 3] * 3 + [0]))
    # usage per resident, weighted by residents: Q2 per-1000 rates C1 20, C2 3, C3 0 with 1000/2000/1000
    u = eq[(eq.level == "subdistrict") & (eq.unit == S1) & (eq.period == "2024Q2") & (eq.measure == "usage_per_1000")]
    replicated = [20.0] * 1 + [3.0] * 2 + [0.0] * 1
    assert u["gini"].iloc[0] == pytest.approx(textbook_gini(replicated))


def test_usage_per_1000(built):
    u = built["doorstep_usage"]

    def val(unit, period, tier="all", category="all"):
        r = u[(u.unit == unit) & (u.period == period) & (u.tier == tier) & (u.category == category)]
        return r["per_1000"].iloc[0]

    assert val(C1, "2024Q1") == pytest.approx(10.0)
    assert val(S1, "2024Q1") == pytest.approx((10 + 4) / 4000 * 1000)
    assert val(S1, "2024Q2") == pytest.approx((20 + 6) / 4000 * 1000)
    assert val(S1, "2024Q2", tier="basic", category="health") == pytest.approx(6.5)
    assert val(S1, "2024Q1", tier="bottom_line") == pytest.approx(3.5)
    row = u[(u.unit == S1) & (u.period == "2024Q2") & (u.tier == "all") & (u.category == "all")].iloc[0]
    assert row["per_1000_year"] == pytest.approx(4 * 6.5) and row["residents_basis"] == "population"


def test_usage_allocates_jiezhen_residents_when_communities_have_none():
    t = small_tables()
    pop = t["population"][t["population"]["code"].isin([S1, S2])]
    u = ds.usage_table(t["doorstep_records"], t["doorstep_catalogue"], t["units"], pop, frequency="Q")
    r = u[(u.unit == C1) & (u.period == "2024Q1") & (u.tier == "all") & (u.category == "all")].iloc[0]
    assert r["residents"] == pytest.approx(4000 / 3) and r["residents_basis"] == "allocated"


def test_meetings_and_evaluations(built):
    m = built["doorstep_meetings"]
    q = m[(m.unit == S1) & (m.level == "subdistrict")].set_index("period")
    assert q.loc["2024Q1", "total"] == 6 and q.loc["2024Q1", "per_community_year"] == pytest.approx(8.0)
    assert q.loc["2024Q2", "total"] == 3 and q.loc["2024Q2", "per_community_year"] == pytest.approx(4.0)
    assert q.loc["2024", "hearing"] == 4 and q.loc["2024", "evaluation"] == 4
    c4 = m[(m.unit == C4) & (m.period == "2024Q1")]
    assert c4["total"].iloc[0] == 0  # a community without meetings counts as 0
    summ = built["doorstep_evaluations_summary"]
    s = summ[(summ.unit == S1) & (summ.period == "2024")].iloc[0]
    ratings = np.array([80.0, 90.0, 72.0])  # p3's two evaluation meetings average to 72
    se = ratings.std(ddof=1) / np.sqrt(3)
    assert s["n_projects"] == 3 and s["mean"] == pytest.approx(ratings.mean())
    assert s["se"] == pytest.approx(se)
    assert s["ci_high"] == pytest.approx(ratings.mean() + stats.t.ppf(0.975, 2) * se)
    never = built["doorstep_unevaluated"]
    assert never[["community", "project_id", "status"]].values.tolist() == [[C3, "p4", "in_progress"]]
    _, never3 = ds.evaluation_summary(small_tables()["doorstep_evaluations"], small_tables()["units"], grace_months=3)
    assert never3["status"].tolist() == ["overdue"]


def test_indicator_observations(built):
    obs = built["observations_doorstep"]
    assert set(obs["source"]) == {"service"}
    v = obs.set_index(["unit", "period", "indicator"])["value"]
    assert v[(S1, "2024", "D5.1")] == 100.0 and v[(S2, "2024", "D5.1")] == 0.0
    assert v[(S1, "2024", "D5.3")] == pytest.approx(100 * 440 / 600)  # ratio of sums
    assert v[(S1, "2024", "D3.5")] == pytest.approx(200 / 3)
    assert v[(S1, "2024Q1", "D5.2")] == pytest.approx(10 / 3)
    assert v[(S1, "2024Q2", "D5.4")] == pytest.approx(4.0)
    assert set(obs.loc[obs.indicator.isin(["D5.2", "D5.4"]), "period"]) == {"2024Q1", "2024Q2"}
    assert set(obs.loc[obs.indicator.isin(["D5.1", "D5.3", "D3.5"]), "period"]) == {"2024"}
    wide = ds.station_indicators(small_tables()["doorstep_stations"], small_tables()["units"],
                                 floor_share="mean_of_ratios")
    assert wide.set_index("unit").loc[S1, "D5.3"] == pytest.approx(100 * (0.75 + 0.5 + 0.8) / 3)


def test_street_section(built):
    tables = dict(built, units=small_tables()["units"])
    sec = ds.street_doorstep_section(tables, S1, "2024")
    cov = sec["coverage"]
    assert cov["period"].iloc[0] == "2024Q2"  # the latest period of the year
    cell = cov[(cov.tier == "basic") & (cov.category == "health")].iloc[0]
    assert cell["items_available"] == pytest.approx(1.0) and cell["district_pct"] == pytest.approx(75.0)
    # lagging: below the floor of 100 items (all of them here) or missing a bottom-line item
    assert set(sec["lagging"]["community"]) == {C1, C2, C3}
    assert sec["lagging"].set_index("community").loc[C3, "bottom_line_missing"] == 1
    assert sec["evaluations"]["unit"].isin([S1, D]).all()
    assert sec["unevaluated"]["project_id"].tolist() == ["p4"]
    with pytest.raises(InputError, match="310115999000"):
        ds.street_doorstep_section(tables, "310115999000", "2024")


# ----------------------------------------------------------------------------------------------- bad input
def problems_of(tables):
    with pytest.raises(ValidationError) as exc:
        ds.validate_doorstep(tables)
    return exc.value.problems


def test_item_not_in_catalogue():
    t = small_tables()
    t["doorstep_menus"].loc[3, "item_id"] = "Z9"
    t["doorstep_records"].loc[1, "item_id"] = "Z8"
    found = {(p.file, p.row, p.column, p.value) for p in problems_of(t)}
    assert ("doorstep_menus", 5, "item_id", "Z9") in found
    assert ("doorstep_records", 3, "item_id", "Z8") in found


def test_community_not_in_registry():
    t = small_tables()
    t["doorstep_evaluations"].loc[0, "community"] = "310115004099"
    t["doorstep_stations"].loc[2, "community"] = S1  # a 街镇, not a community
    found = {(p.file, p.row, p.column, p.value) for p in problems_of(t)}
    assert ("doorstep_evaluations", 2, "community", "310115004099") in found
    assert ("doorstep_stations", 4, "community", S1) in found


def test_duplicated_menu_row():
    t = small_tables()
    t["doorstep_menus"] = pd.concat([t["doorstep_menus"], t["doorstep_menus"].iloc[[7]]], ignore_index=True)
    probs = problems_of(t)
    dup = [p for p in probs if p.file == "doorstep_menus" and "duplicate" in p.expected]
    assert len(dup) == 1 and dup[0].row == len(t["doorstep_menus"]) + 1 and "row 9" in dup[0].expected


def test_record_before_item_was_ordered():
    t = small_tables()
    t["doorstep_records"].loc[2, "date"] = pd.Timestamp("2024-03-01")  # C2 ordered B1 in 2024-05
    probs = problems_of(t)
    assert [(p.file, p.row, p.column) for p in probs] == [("doorstep_records", 4, "date")]
    assert "2024-05" in probs[0].expected
    assert "doorstep_records, row 4, column 'date'" in str(ValidationError(probs))


def test_catalogue_problems():
    t = small_tables()
    cat = t["doorstep_catalogue"]
    cat.loc[1, "tier"] = "premium"
    cat.loc[2, "category"] = "sports"
    cat.loc[3, "item_id"] = "A1"
    cat.loc[4, "department"] = None
    found = {(p.row, p.column) for p in problems_of(t) if p.file == "doorstep_catalogue"}
    assert {(3, "tier"), (4, "category"), (5, "item_id"), (6, "department")} <= found


def test_menu_months_checked():
    t = small_tables()
    t["doorstep_menus"].loc[0, "from_period"] = "2024/01"
    t["doorstep_menus"].loc[1, "to_period"] = "2023-12"  # before from_period
    found = {(p.row, p.column) for p in problems_of(t)}
    assert {(2, "from_period"), (3, "to_period")} <= found


def test_unknown_setting_is_an_error():
    s = load_settings().with_overrides(doorstep={"coverage_flor_items": 90})
    with pytest.raises(ValidationError, match="coverage_flor_items"):
        stage.run(small_tables(), s)


# ----------------------------------------------------------------------------------------------- demo data
@pytest.fixture(scope="module")
def demo():
    from govlib.data.demo import generate_demo_data
    tables = generate_demo_data("small")
    return tables, stage.run(tables, load_settings())


def test_demo_d5_indicators_for_every_jiezhen_and_year(demo):
    tables, out = demo
    obs = out["observations_doorstep"]
    streets = set(tables["units"].loc[tables["units"]["level"] == "community", "parent"])
    years = {str(y) for y in pd.to_numeric(tables["doorstep_stations"]["year"]).unique()}
    for ind in ("D5.1", "D5.2", "D5.3", "D5.4", "D3.5"):
        sub = obs[obs["indicator"] == ind]
        for unit in streets:
            got_years = set(sub.loc[sub["unit"] == unit, "period"].str.slice(0, 4))
            assert years <= got_years, (ind, unit)
    q = obs[obs["indicator"].isin(["D5.2", "D5.4"])]
    assert q["period"].str.contains("Q").all()
    assert obs["value"].notna().all()
    d52 = obs.loc[obs["indicator"] == "D5.2", "value"]
    assert d52.between(0, 147).all()


def test_demo_planted_menu_loss_is_visible(demo):
    tables, out = demo
    gt = tables["ground_truth"]
    ev = gt[gt["kind"] == "doorstep_menu_loss"].iloc[0]
    community, start = ev["unit"], ev["start_period"]
    lost = set(ev["description"].split(": ")[1].split(";"))
    quarter = f"{start[:4]}Q{(int(start[5:7]) - 1) // 3 + 1}"
    prev = str(pd.Period(quarter, freq="Q") - 1)
    cov = out["doorstep_coverage"]
    before = cov_value(cov, community, prev, tier="bottom_line")
    after = cov_value(cov, community, quarter, tier="bottom_line")
    assert before - after == pytest.approx(-ev["magnitude"])  # 6 items lost
    gaps = out["doorstep_gaps"]
    year_gaps = gaps[(gaps["community"] == community) & (gaps["period"] == start[:4])]
    assert set(year_gaps["item_id"]) == lost
    prior = gaps[(gaps["community"] == community) & (gaps["period"] == str(int(start[:4]) - 1))]
    assert prior.empty
    # the street profile lists the community as lagging
    sec = ds.street_doorstep_section(dict(out, units=tables["units"]), community[:9] + "000", start[:4])
    assert community in set(sec["lagging"]["community"])


def test_demo_planted_usage_drop_is_visible(demo):
    tables, out = demo
    gt = tables["ground_truth"]
    ev = gt[gt["kind"] == "doorstep_usage_drop"].iloc[0]
    start = pd.Period(ev["start_period"], freq="M").asfreq("Q")
    u = out["doorstep_usage"]
    c = u[(u.level == "community") & (u.tier == "all") & (u.category == "all") & u["complete"]].copy()
    q = pd.PeriodIndex(c["period"], freq="Q")
    c = c[(q < start) | (q > start)]
    after = pd.PeriodIndex(c["period"], freq="Q") > start
    ratio = c.assign(after=after).groupby(["unit", "after"])["per_1000"].mean().unstack()
    ratio = ratio[True] / ratio[False]
    assert ratio.idxmin() == ev["unit"]
    assert ratio[ev["unit"]] < 1 + ev["magnitude"] + 0.25
