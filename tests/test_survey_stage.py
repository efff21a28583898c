"""The survey build stage on the synthetic demo data (a few waves, to stay fast)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError, ValidationError
from govlib.settings import load_settings
from govlib.pipeline.stages import survey as stage
from govlib.survey.estimate import reliability_flags
from hypothesis import given, settings, strategies as st


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


def test_composite_and_item_missing_codes(out, demo):
    est = out["survey_estimates"]
    comp = est[(est["item"] == "composite") & (est["level"] == "jiezhen")]
    items = est[(est["item"] != "composite") & (est["level"] == "jiezhen") & (est["measure"] == "score")]
    assert len(comp) > 0
    # the composite of equally weighted item means lies within the items' range
    merged = items.groupby(["unit", "period"])["estimate"].agg(["min", "max"]).join(
        comp.set_index(["unit", "period"])["estimate"])
    assert ((merged["estimate"] >= merged["min"]) & (merged["estimate"] <= merged["max"])).all()
    # missing codes (9 = don't know) are not responses: n counts only the codes on the item's scale
    r, it = demo["survey_responses"], demo["survey_items"]
    coded = [row for row in it.itertuples() if str(row.missing_codes or "").strip()]
    assert coded
    for row in coded:
        codes = [float(c) for c in str(row.missing_codes).replace(",", ";").split(";") if c.strip()]
        x = pd.to_numeric(r[row.item], errors="coerce").astype(float)
        assert x.isin(codes).any(), f"the demo has no missing code in {row.item}: the test would prove nothing"
        valid = x.between(row.scale_min, row.scale_max)
        want = valid.groupby([r["wave"].astype(str), r["stratum"].astype(str)]).sum()
        got = items[items["item"] == row.item].set_index(["period", "unit"])["n"]
        assert got.sort_index().tolist() == want.sort_index().tolist()
    assert items["estimate"].between(0, 100).all()  # a 9 scored as an answer would give 200
    # the composite's flag follows from its own n, n_eff and CV (n_eff is computed, not NaN)
    assert comp["n_eff"].gt(0).all() and np.isfinite(comp["deff"]).all()
    all_comp = est[est["item"] == "composite"]
    again = reliability_flags(all_comp, psu_domain=(all_comp["flag"] == "psu_domain").to_numpy())
    assert (again.to_numpy() == all_comp["flag"].to_numpy()).all()
    district = est[(est["item"] == "composite") & (est["level"] == "district")]
    assert (district["flag"] == "release").all()  # thousands of respondents, CV far below 16.5%


@settings(max_examples=200, deadline=None)
@given(cv=st.floats(0, 1) | st.just(float("nan")), n=st.integers(0, 500),
       n_eff=st.floats(0, 500) | st.just(float("nan")))
def test_a_flag_follows_from_its_inputs(cv, n, n_eff):
    flag = reliability_flags(pd.DataFrame({"cv": [cv], "n": [n], "n_eff": [n_eff]})).iloc[0]
    if n < 30 or not n_eff >= 30 or np.isnan(cv) or cv > 0.333:
        assert flag == "suppress"
    else:
        assert flag == ("release" if cv <= 0.165 else "caution")


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


def test_an_all_missing_item_gives_missing_estimates_without_numpy_warnings(demo):
    import warnings

    d = dict(demo)
    r = d["survey_responses"].copy()
    r = r[r["wave"].astype(str) == sorted(r["wave"].astype(str).unique())[0]].reset_index(drop=True)
    r["q3"] = pd.array([pd.NA] * len(r), dtype="Int8")
    d["survey_responses"] = r
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw RuntimeWarning would be printed to the user
        out = stage.run(d, load_settings().with_overrides(survey={"measures": ["score"], "sae": False}))
    est = out["survey_estimates"]
    assert est.loc[est["item"] == "q3", "estimate"].isna().all()
    assert est.loc[est["item"] == "q1", "estimate"].notna().all()
