"""The survey build stage on the synthetic demo data (a few waves, to stay fast)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError, ValidationError
from govlib.settings import load_settings
from govlib.pipeline.stages import survey as stage


@pytest.fixture(scope="module")
def demo():
    from govlib.data.demo import generate_demo_data

    d = generate_demo_data("small")
    r = d["survey_responses"]
    waves = sorted(r["wave"].astype(str).unique())[:2]
    d = dict(d)
    d["survey_responses"] = r[r["wave"].astype(str).isin(waves)].reset_index(drop=True)
    return d


@pytest.fixture(scope="module")
def out(demo):
    return stage.run(demo, load_settings())


def test_outputs_and_contracts(out, demo):
    obs = out["observations_survey"]
    assert list(obs.columns) == ["unit", "period", "indicator", "value", "se", "flag", "source"]
    assert set(obs["source"]) == {"survey"} and set(obs["flag"]) <= {"", "suppressed"}
    assert obs["value"].between(0, 100).all() and (obs["se"] > 0).all()
    items = demo["survey_items"]
    n_jz = demo["survey_responses"].groupby("wave", observed=True)["stratum"].nunique().sum()
    assert len(obs) == n_jz * len(items)
    est = out["survey_estimates"]
    for col in ["level", "unit", "period", "item", "indicator", "estimate", "se", "ci_low", "ci_high", "n",
                "n_eff", "deff", "cv", "flag"]:
        assert col in est.columns
    assert set(est["level"]) == {"district", "jiezhen", "community"}
    assert (est["ci_low"] <= est["estimate"]).all()
    sae = out["survey_sae"]
    assert {"direct", "eblup", "eblup_se", "gamma", "recommended"} <= set(sae.columns)
    assert (sae["eblup_se"] <= sae["direct_se"] + 1e-9).mean() > 0.9  # borrowing strength


def test_raking_hits_population_margins(demo):
    from govlib.survey.estimate import make_design

    r = demo["survey_responses"]
    frame = pd.DataFrame({"_wave": r["wave"].astype(str), "_stratum": r["stratum"].astype(str),
                          "sex": r["sex"].astype(str), "age_group": r["age_group"].astype(str),
                          "weight": r["weight"].to_numpy()})
    d = make_design(frame, weight="weight")
    cal = stage._calibrate(d, frame, demo["population_structure"], dict(stage.DEFAULTS))
    frame["w"] = cal.weight
    got = frame.groupby(["_wave", "_stratum", "sex"])["w"].sum()
    pop = demo["population_structure"].assign(code=lambda p: p["code"].astype(str),
                                              year=lambda p: p["year"].astype(int))
    for (wave, code, sex), value in got.items():
        want = pop[(pop["code"] == code) & (pop["year"] == int(wave[:4])) & (pop["sex"] == sex)]["residents"].sum()
        assert value == pytest.approx(want, rel=1e-3)  # R's rake stops at epsilon=1 (absolute)


def test_composite_and_item_missing_codes(out):
    est = out["survey_estimates"]
    comp = est[(est["item"] == "composite") & (est["level"] == "jiezhen")]
    items = est[(est["item"] != "composite") & (est["level"] == "jiezhen") & (est["measure"] == "score")]
    assert len(comp) > 0
    # the composite of equally weighted item means lies within the items' range
    merged = items.groupby(["unit", "period"])["estimate"].agg(["min", "max"]).join(
        comp.set_index(["unit", "period"])["estimate"])
    assert ((merged["estimate"] >= merged["min"]) & (merged["estimate"] <= merged["max"])).all()


def test_unknown_setting_named(demo):
    with pytest.raises(ValidationError, match="survey.rakeing: unknown key"):
        stage.run(demo, load_settings().with_overrides(survey={"rakeing": True}))


def test_one_stage_design_flags_psu_domains_and_routes_to_sae(demo):
    cfg = {"fpc": [], "calibration": "none", "measures": ["score"]}
    out = stage.run(demo, load_settings().with_overrides(survey=cfg))
    est = out["survey_estimates"]
    com = est[(est["level"] == "community")]
    assert (com["flag"] == "psu_domain").all()
    np.testing.assert_allclose(com["se"], 0.0, atol=1e-9)  # the trap: a PSU as its own domain has SE 0
    assert (est.loc[est["level"] == "jiezhen", "flag"] != "psu_domain").all()
    sae = out["survey_sae"]
    assert len(sae) == len(com[com["item"] != "composite"])
    assert (sae["eblup_se"] > 0).all() and (sae["recommended"] == "eblup").all()
