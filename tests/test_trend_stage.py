"""The trend build stage on synthetic frames built here (index scores, mixed-frequency observations, survey)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError, ValidationError
from govlib.settings import load_settings
from govlib.pipeline.stages.trend import TREND_DEFAULTS, run

UNITS = pd.DataFrame({"code": ["310115004000", "310115005000", "310115103000"],
                      "name_zh": ["花木街道", "陆家嘴街道", "川沙新镇"],
                      "name_en": ["Huamu Subdistrict", "Lujiazui Subdistrict", "Chuansha New Town"]})
FRAMEWORK = pd.DataFrame({
    "code": ["SGI", "D6", "D3.1", "D4.4", "D2.4", "D6.8"], "parent": [None, "SGI", "SGI", "SGI", "SGI", "D6"],
    "name_zh": ["社会治理指数", "居民满意度", "每万人刑事警情数", "城运案件结案率", "60岁及以上人口占比", "总体满意度"],
    "name_en": ["Social Governance Index", "Resident satisfaction", "Criminal incidents per 10k",
                "City-operations cases closed", "Residents aged 60+", "Overall satisfaction"],
    "direction": [1, 1, -1, 1, 0, 1], "target": [np.nan, np.nan, 8.0, 97.0, np.nan, np.nan],
    "frequency": [None, None, "Q", "M", "A", "Q"]})
YEARS = [str(y) for y in range(2016, 2026)]


def _tables(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in UNITS["code"]:
        for node in ("SGI", "D6"):
            score = 75 + rng.normal(0, 1.0, len(YEARS))
            if u == "310115004000" and node == "D6":
                score[7:] -= 10  # planted drop in 2023
            rows += [{"unit": u, "period": p, "node": node, "score": s} for p, s in zip(YEARS, score)]
    scores = pd.DataFrame(rows)
    obs = []
    quarters = [f"{y}Q{q}" for y in range(2018, 2026) for q in range(1, 5)]
    months = [f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13)]
    for i, u in enumerate(UNITS["code"]):
        crime = 12 + np.tile([0.5, -0.5, 1.0, -1.0], 8) + rng.normal(0, 0.3, 32)
        if i == 1:
            crime += np.linspace(0, 6, 32)  # rising crime: lower is better -> deterioration
        obs += [{"unit": u, "period": p, "indicator": "D3.1", "value": v} for p, v in zip(quarters, crime)]
        closed = 90 + rng.normal(0, 1.0, 96)
        obs += [{"unit": u, "period": p, "indicator": "D4.4", "value": v} for p, v in zip(months, closed)]
        obs += [{"unit": u, "period": y, "indicator": "D2.4", "value": 20 + k} for k, y in enumerate(YEARS)]
    obs = pd.DataFrame(obs)
    survey = pd.DataFrame({"level": ["district", "subdistrict", "subdistrict"], "unit": ["310115000000",
                           "310115004000", "310115005000"], "period": "2025Q4", "item": "q8", "indicator": "D6",
                           "estimate": [80.0, 74.0, 79.5], "se": [0.5, 1.5, 1.5], "flag": "release"})
    return {"index_scores": scores, "observations": obs, "survey_estimates": survey, "framework": FRAMEWORK,
            "units": UNITS}


@pytest.fixture(scope="module")
def result():
    return run(_tables(), load_settings())


def test_outputs_and_columns(result):
    assert set(result) == {"trends", "alerts", "progress_to_target", "change_points"}
    tr = result["trends"]
    for col in ["unit", "node", "source", "frequency", "n", "s", "var_s", "z", "p", "q", "tau_b", "sen_slope",
                "sen_low", "sen_high", "pettitt_u", "pettitt_p", "change_point", "trend", "status", "fdr"]:
        assert col in tr.columns
    from govlib.trend.alerts import ALERT_COLUMNS
    assert list(result["alerts"].columns) == ALERT_COLUMNS
    assert {"status", "first_seen"} <= set(ALERT_COLUMNS)
    # one series per unit x node/indicator at its own frequency; the false-alarm budget is in the report
    assert len(tr) == 3 * 2 + 3 * 3
    assert set(tr["frequency"]) == {"A", "Q", "M"} and (tr["fdr"] == TREND_DEFAULTS["fdr"]).all()
    assert result["alerts"].duplicated(["unit", "node", "period"]).sum() == 0


def test_slopes_are_per_year_and_seasonal_for_subannual(result):
    tr = result["trends"].set_index(["unit", "node"])
    rising = tr.loc[("310115005000", "D3.1")]
    assert rising["sen_slope"] == pytest.approx(6 / 31 * 4, rel=0.15)  # per year, not per quarter
    assert np.isnan(rising["tau_b"])  # seasonal test: tau-b not defined
    assert rising["status"] == "significant deterioration"  # direction -1: rising crime is worse
    assert tr.loc[("310115004000", "D2.4"), "status"] == "context"


def test_planted_drop_gives_one_bilingual_alert_with_all_reasons(result):
    al = result["alerts"]
    hit = al[(al["unit"] == "310115004000") & (al["node"] == "D6") & (al["period"] == "2023")]
    assert len(hit) == 1
    row = hit.iloc[0]
    assert {"sharp_drop", "downward_shift"} <= set(row["rules"].split(";"))
    assert row["message_zh"].startswith("花木街道 D6 居民满意度 2023 年得分")
    assert "较上期下降" in row["message_zh"] and "Huamu Subdistrict D6 Resident satisfaction" in row["message_en"]
    cp = result["change_points"]
    assert ((cp["unit"] == "310115004000") & (cp["node"] == "D6") & (cp["period"] == "2023")
            & (cp["effect"] == "deterioration")).any()


def test_survey_below_district_uses_the_se(result):
    al = result["alerts"]
    survey = al[al["rules"].str.contains("survey_below_district")]
    assert survey[["unit", "node", "period"]].values.tolist() == [["310115004000", "D6", "2025Q4"]]
    assert "z=-4.00" in survey["message_en"].iloc[0]


def test_progress_to_target_and_trend_fallback(result):
    pr = result["progress_to_target"].set_index(["unit", "node"])
    assert pr.loc[("310115005000", "D3.1"), "status"] == "moving away"
    assert pr.loc[("310115004000", "D3.1"), "method"] == "target"
    assert pr.loc[("310115004000", "D6"), "method"] == "trend"
    assert pr.loc[("310115004000", "D6"), "base_period"] == "2018"  # periods.base_period


def test_no_false_red_alerts_on_stationary_noise():
    rng = np.random.default_rng(1)
    units = [f"3101151{i:02d}000" for i in range(40)]
    scores = pd.DataFrame([{"unit": u, "period": p, "node": "D6", "score": 75 + rng.normal(0, 2)}
                           for u in units for p in YEARS])
    out = run({"index_scores": scores, "framework": FRAMEWORK}, load_settings())
    red = out["alerts"][out["alerts"]["level"] == "red"]
    assert len(red) / (len(units) * len(YEARS)) <= 0.05


def test_settings_keys_are_checked_and_fdr_is_used():
    s = load_settings()
    with pytest.raises(ValidationError, match=r"trend.fdrr: unknown key; did you mean fdr\?"):
        run(_tables(), s.with_overrides(trend={"fdrr": 0.1}))
    with pytest.raises(ValidationError, match=r"trend.fdr: value 5: expected a number in \(0, 1\)"):
        run(_tables(), s.with_overrides(trend={"fdr": 5}))
    strict = run(_tables(), s.with_overrides(trend={"fdr": 1e-12}))
    assert (strict["trends"]["status"].isin(["no significant change", "context", "no test"])).all()
    custom = run(_tables(), s.with_overrides(alerts={"rules": [
        {"name": "under_80", "kind": "level_below", "threshold": 80, "level": "red"}]}))
    assert set(custom["alerts"]["rules"]) == {"under_80"}
    with pytest.raises(ValidationError, match="alerts.rules.*unknown kind"):
        run(_tables(), s.with_overrides(alerts={"rules": [{"name": "x", "kind": "nope", "level": "red"}]}))


def test_missing_inputs_are_named():
    with pytest.raises(InputError, match="framework"):
        run({"index_scores": _tables()["index_scores"]}, load_settings())
    with pytest.raises(InputError, match="neither index_scores nor observations"):
        run({"framework": FRAMEWORK}, load_settings())
