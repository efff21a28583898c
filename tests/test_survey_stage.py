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


@pytest.mark.parametrize("lonely,crossing", [("fail", False), ("average", False), ("fail", True)])
def test_blocked_calibrated_variance_equals_row_level_residuals(lonely, crossing):
    # Strata x cells nested (the build's layout: wave x 街镇 strata, raked by 街镇 x age and 街镇 x sex), domains
    # crossing PSUs and strata, a second stage of single rows: the per-block cell algebra equals R's literal
    # row-level residualisation (ten raking sweeps), in one chunk and in many.
    from scipy import sparse
    from govlib.survey.calibrate import rake
    from govlib.survey.estimate import make_design
    from govlib.survey.variance import _blocked_variance, _rowlevel_variance

    rng = np.random.default_rng(11)
    n = 600
    h = rng.integers(0, 4, n)
    df = pd.DataFrame({"h": h, "psu": h * 10 + rng.integers(0, 3, n), "id": np.arange(n),
                       "age": rng.choice(["a", "b", "c"], n), "sex": rng.choice(["M", "F"], n),
                       "w": rng.uniform(5, 15, n)})
    df["f1"] = 5
    df["f2"] = df.groupby("psu")["id"].transform("size") * 4
    d = make_design(df, weight="w", strata="h", clusters=["psu", "id"], fpc=["f1", "f2"], lonely_psu=lonely)
    df["h2"] = np.where(df["h"] < 2, 0, 1)  # crossing: the age margin spans strata (blocks of strata 0-1, 2-3)
    margins = [["h2" if crossing else "h", "age"], ["h", "sex"]]
    pops = [df.groupby(m).size().mul(20.0).rename("Freq").reset_index() for m in margins]
    pops[0]["Freq"] *= rng.uniform(0.8, 1.2, len(pops[0]))
    rk = rake(d, df, margins, pops)
    dom = rng.integers(0, 5, n)
    x = rng.normal(size=(n, 3)) * rk.weight[:, None]
    X = sparse.csr_matrix((x.ravel(), (np.repeat(np.arange(n), 3), (dom[:, None] * 3 + [0, 1, 2]).ravel())),
                          shape=(n, 15))
    ref = _rowlevel_variance(rk, X, 3, 5, rk.ssu)
    assert (ref > 0).all()
    np.testing.assert_allclose(_blocked_variance(rk, x, dom, 5), ref, rtol=1e-10)
    np.testing.assert_allclose(_blocked_variance(rk, x, dom, 5, chunk_entries=7), ref, rtol=1e-10)


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_fay_herriot_by_group_sums_equals_the_matrix_fit(method):
    # the stage's closed form (intercept + 街镇 factor by group sums) is the same fit as the explicit X
    from govlib.survey.smallarea import design_matrix, fay_herriot

    rng = np.random.default_rng(3)
    g = rng.integers(0, 6, 300)
    psi = rng.uniform(4, 40, 300)
    y = 60 + 3 * g + rng.normal(0, 3, 300) + rng.normal(0, np.sqrt(psi))
    a = fay_herriot(y, psi, design_matrix(pd.DataFrame({"g": g}), factors=["g"]), method=method)
    b = fay_herriot(y, psi, groups=g, method=method)
    assert a.iterations == b.iterations and a.refvar > 0
    assert b.refvar == pytest.approx(a.refvar, rel=1e-12)
    for col in ("eblup", "mse", "gamma", "synthetic", "g2"):
        np.testing.assert_allclose(b.table[col], a.table[col], rtol=1e-12)
    np.testing.assert_allclose(b.beta, a.beta, rtol=1e-10)
    np.testing.assert_allclose(b.beta_se, a.beta_se, rtol=1e-10)


def test_a_waves_subset_of_the_design_gives_the_whole_designs_estimates(demo):
    # the stage estimates one wave at a time: a subset of whole strata and calibration cells keeps the design's
    # structure and degrees of freedom, so its domains' estimates, SEs and CIs are the whole design's
    from govlib.survey.estimate import estimate, make_design, score_items

    r = demo["survey_responses"]
    frame = pd.DataFrame({"_wave": r["wave"].astype(str), "_stratum": r["stratum"].astype(str),
                          "_psu": r["wave"].astype(str) + r["psu"].astype(str), "id": r["respondent_id"],
                          "sex": r["sex"].astype(str), "age_group": r["age_group"].astype(str),
                          "weight": r["weight"].to_numpy(), "fpc1": r["fpc1"], "fpc2": r["fpc2"]})
    frame["_h"] = frame["_wave"] + frame["_stratum"]
    frame = frame.join(score_items(r, demo["survey_items"]))
    d = make_design(frame, weight="weight", strata="_h", clusters=["_psu", "id"], fpc=["fpc1", "fpc2"])
    cal = stage._calibrate(d, frame, demo["population_structure"], dict(stage.DEFAULTS))
    whole = estimate(cal, frame, ["q1", "q2"], by=["_wave", "_stratum"])
    rows = np.flatnonzero(frame["_wave"] == frame["_wave"].max())
    part = frame.iloc[rows].reset_index(drop=True)
    one = estimate(cal.subset(rows, part), part, ["q1", "q2"], by=["_wave", "_stratum"])
    ref = whole[whole["_wave"] == frame["_wave"].max()].reset_index(drop=True)
    assert len(one) == len(ref) > 0 and (one["df"] == ref["df"]).all()
    for col in ("estimate", "se", "ci_low", "deff"):
        np.testing.assert_allclose(one[col], ref[col], rtol=1e-12)
    with pytest.raises(InputError, match="whole strata"):
        cal.subset(rows[:-1])


def test_streaming_waves_in_chunks_gives_the_one_pass_outputs(demo, monkeypatch):
    # the stage estimates whole waves a chunk at a time; a chunk per wave and one chunk for all give the same
    # tables (same rows, order and dtypes; numbers to rounding)
    monkeypatch.setattr(stage, "WAVE_CHUNK_ROWS", 10 ** 9)
    whole = stage.run(demo, load_settings())
    monkeypatch.setattr(stage, "WAVE_CHUNK_ROWS", 1)
    assert len(stage.wave_chunks(demo["survey_responses"]["wave"], 1)) == 2
    chunked = stage.run(demo, load_settings())
    for name, a in whole.items():
        b = chunked[name]
        assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all() and len(a) == len(b) > 0
        for col in a.columns:
            if a[col].dtype == np.float64:
                np.testing.assert_allclose(b[col], a[col], rtol=1e-12, equal_nan=True, err_msg=f"{name}.{col}")
            else:
                assert (a[col].astype(str) == b[col].astype(str)).all(), (name, col)


@given(st.lists(st.integers(1, 60), min_size=1, max_size=12), st.integers(1, 200), st.randoms())
@settings(max_examples=60, deadline=None)
def test_wave_chunks_are_whole_waves_in_order(sizes, chunk, rnd):
    waves = np.repeat([f"w{i:02d}" for i in range(len(sizes))], sizes)
    rnd.shuffle(waves)
    chunks = stage.wave_chunks(pd.Series(waves), chunk)
    rows = np.concatenate(chunks)
    assert sorted(rows.tolist()) == list(range(len(waves)))  # every row once
    seen = [sorted(set(waves[c])) for c in chunks]
    flat = [w for s in seen for w in s]
    assert flat == sorted(set(waves))  # whole waves, in sorted order, none split across chunks
    for c, s in zip(chunks, seen):  # bounded: beyond its first wave, a chunk holds fewer than `chunk` rows
        assert len(c) - (waves[c] == s[0]).sum() < chunk


def test_a_bad_item_code_is_named_from_the_whole_table_though_waves_stream(demo, monkeypatch):
    # codes outside the scale in two waves: the error (raised while scoring the first wave's chunk) names both
    # codes and counts all their responses
    monkeypatch.setattr(stage, "WAVE_CHUNK_ROWS", 1)
    d = dict(demo)
    r = d["survey_responses"].copy()
    waves = sorted(r["wave"].astype(str).unique())
    first = np.flatnonzero((r["wave"].astype(str) == waves[0]).to_numpy())[:2]
    last = np.flatnonzero((r["wave"].astype(str) == waves[-1]).to_numpy())[:3]
    q1 = r["q1"].astype(float).to_numpy().copy()
    q1[first], q1[last] = 7, 8
    r["q1"] = q1
    d["survey_responses"] = r
    with pytest.raises(InputError, match=r"'q1': codes 7.0, 8.0 are outside .* \(5 responses\)"):
        stage.run(d, load_settings())
