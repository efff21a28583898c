"""Replicate-weight variance (JK1, JKn, BRR, Fay, bootstrap; calibrated replicates) against R survey 4.1-1
(tests/data/survey_r_replicate.csv and survey_r_repw_*.csv, made by tests/data/survey_make_replicate_reference.R)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.survey.design import make_design
from govlib.survey.estimate import estimate
from govlib.survey.replicate import (as_replicate_design, replicate_design, replicate_estimate,
                                     replicate_poststratify, replicate_rake)

DATA = Path(__file__).parent / "data"
REF = Path(__file__).parent.parent.parent / "shared" / "reference" / "survey"
R = pd.read_csv(DATA / "survey_r_replicate.csv")


def _load(name):
    df = pd.read_csv(REF / f"{name}.csv")
    return df


def _check(case, rd, df):
    ref = R[R["case"] == case]
    assert len(ref)
    for (stat, domain), grp in ref.groupby(["stat", "domain"]):
        if stat == "scale":
            continue
        by = None if domain == "all" else "stype"
        if stat == "ratio":
            res = replicate_estimate(rd, df, "api00", stat="ratio", denominator="api99", by=by)
        elif stat == "prop":
            res = replicate_estimate(rd, df, "sch.wide", stat="prop", by=by)
        else:
            variables = [v for v in grp["variable"]]
            res = replicate_estimate(rd, df, list(dict.fromkeys(variables)), stat=stat, by=by)
        if by:
            res = res[res["stype"] == domain]
        for row in grp.itertuples():
            got = res[res["variable"] == row.variable].iloc[0]
            assert got["estimate"] == pytest.approx(row.estimate, rel=1e-9), (case, stat, domain, row.variable)
            assert got["se"] == pytest.approx(row.se, rel=1e-8), (case, stat, domain, row.variable)


def test_jk1_from_apiclus1_matches_r():
    df = _load("apiclus1")
    d = make_design(df, weight="pw", clusters="dnum", fpc="fpc")
    _check("clus1_JK1", as_replicate_design(d, "JK1"), df)
    _check("clus1_JK1_mse", as_replicate_design(d, "JK1", mse=True), df)
    _check("clus1nofpc_JK1", as_replicate_design(make_design(df, weight="pw", clusters="dnum")), df)


def test_jkn_from_apistrat_matches_r():
    df = _load("apistrat")
    _check("strat_JKn", as_replicate_design(make_design(df, weight="pw", strata="stype", fpc="fpc"), "JKn"), df)


@pytest.mark.parametrize("case,file,kind,rho", [("pairs_BRR", "brr", "BRR", None), ("pairs_Fay", "fay", "Fay", 0.5)])
def test_brr_and_fay_with_rs_replicate_weights_match_r(case, file, kind, rho):
    df = pd.read_csv(DATA / "survey_r_pairs.csv")
    w = pd.read_csv(DATA / f"survey_r_repw_{file}.csv")
    both = pd.concat([df, w], axis=1)
    rd = replicate_design(both, "r*", weight="w", type=kind, fay_rho=rho)
    _check(case, rd, both)


@pytest.mark.parametrize("kind,rho", [("BRR", 0.0), ("Fay", 0.5)])
def test_brr_from_the_design_gives_rs_variance_of_totals(kind, rho):
    # any fully balanced Hadamard set gives the same variance of a total (ours is Sylvester's, R's another)
    df = pd.read_csv(DATA / "survey_r_pairs.csv")
    rd = as_replicate_design(make_design(df, weight="pw", strata="pair", clusters="snum"), kind, fay_rho=rho)
    ref = R[(R["case"] == f"pairs_{kind}") & (R["stat"] == "total") & (R["domain"] == "all")].iloc[0]
    got = replicate_estimate(rd, df, "enroll", stat="total").iloc[0]
    assert got["se"] == pytest.approx(ref["se"], rel=1e-10)
    # and equals the linearised with-replacement SE of a total exactly
    lin = estimate(make_design(df, weight="pw", strata="pair", clusters="snum"), df, "enroll", stat="total")
    assert got["se"] == pytest.approx(lin["se"].iloc[0], rel=1e-10)
    mean = R[(R["case"] == f"pairs_{kind}") & (R["stat"] == "mean") & (R["domain"] == "all")].iloc[0]
    assert replicate_estimate(rd, df, "api00")["se"].iloc[0] == pytest.approx(mean["se"], rel=0.02)


def test_bootstrap_with_rs_replicates_matches_r():
    df = _load("apistrat")
    w = pd.read_csv(DATA / "survey_r_repw_boot.csv")
    both = pd.concat([df, w], axis=1)
    scale = float(R[(R["case"] == "strat_bootstrap") & (R["stat"] == "scale")]["estimate"].iloc[0])
    _check("strat_bootstrap", replicate_design(both, "r*", weight="w", type="bootstrap", scale=scale), both)


def test_our_bootstrap_is_seeded_and_close_to_the_linearised_se():
    df = _load("apistrat")
    d = make_design(df, weight="pw", strata="stype")
    a = replicate_estimate(as_replicate_design(d, "bootstrap", replicates=2000, seed=1), df, "api00")
    b = replicate_estimate(as_replicate_design(d, "bootstrap", replicates=2000, seed=1), df, "api00")
    assert a["se"].iloc[0] == b["se"].iloc[0]
    assert a["se"].iloc[0] == pytest.approx(estimate(d, df, "api00")["se"].iloc[0], rel=0.06)


def test_bootstrap_with_fpc_follows_rs_pseudo_population():
    df = _load("apistrat")
    d = make_design(df, weight="pw", strata="stype", fpc="fpc")
    se = replicate_estimate(as_replicate_design(d, "bootstrap", replicates=2000, seed=2), df, "api00")["se"].iloc[0]
    assert se == pytest.approx(estimate(d, df, "api00")["se"].iloc[0], rel=0.06)
    census = df.assign(N=df.groupby("stype")["stype"].transform("size"))  # every school sampled: no variance
    dc = make_design(census, weight="pw", strata="stype", fpc="N")
    rd = as_replicate_design(dc, "bootstrap", replicates=20, seed=1)
    assert np.allclose(rd.replicate_weights(), rd.weight[:, None])
    assert replicate_estimate(rd, census, "api00")["se"].iloc[0] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("case", ["clus1_JK1_poststrat", "clus1_JK1_rake"])
def test_calibrated_replicates_match_r(case):
    df = _load("apiclus1")
    rd = as_replicate_design(make_design(df, weight="pw", clusters="dnum", fpc="fpc"), "JK1")
    types = pd.DataFrame({"stype": ["E", "H", "M"], "Freq": [4421, 755, 1018]})
    sch = pd.DataFrame({"sch.wide": ["No", "Yes"], "Freq": [1460, 4734]})
    if case.endswith("poststrat"):
        rd = replicate_poststratify(rd, df, "stype", types)
    else:
        rd = replicate_rake(rd, df, ["stype", "sch.wide"], [types, sch], epsilon=1e-12, max_iter=200)
    for row in R[R["case"] == case].itertuples():
        got = replicate_estimate(rd, df, row.variable, stat=row.stat).iloc[0]
        assert got["estimate"] == pytest.approx(row.estimate, rel=1e-9)
        assert got["se"] == pytest.approx(row.se, rel=1e-7)


def test_factored_weights_equal_the_full_matrix_and_to_frame():
    df = _load("apiclus1")
    rd = as_replicate_design(make_design(df, weight="pw", clusters="dnum", fpc="fpc"), "JK1")
    frame = rd.to_frame()
    assert frame.shape == (len(df), 1 + rd.n_replicates)
    full = replicate_design(pd.concat([df, frame], axis=1), "rep_*", weight="weight", type="JK1", scale=rd.scale)
    a = replicate_estimate(rd, df, "api00", by="stype")
    b = replicate_estimate(full, pd.concat([df, frame], axis=1), "api00", by="stype")
    assert np.allclose(a["se"], b["se"], rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(0, 10_000))
def test_domain_with_missing_values_equals_zeroed_rows(k, seed):
    rng = np.random.default_rng(seed)
    n = 12 * k
    df = pd.DataFrame({"h": np.repeat(np.arange(k), 12), "c": np.arange(n) // 3, "y": rng.normal(size=n),
                       "d": rng.integers(0, 2, n)})
    rd = as_replicate_design(make_design(df, strata="h", clusters="c"), "JKn")
    # NaN (outside the variable's domain) gives the same as a 0/1 domain indicator: domain estimation, not deletion
    masked = df.assign(y=np.where(df["d"] == 1, df["y"], np.nan))
    a = replicate_estimate(rd, masked, "y", stat="total")
    b = replicate_estimate(rd, df.assign(y=df["y"] * df["d"]), "y", stat="total")
    assert a["se"].iloc[0] == pytest.approx(b["se"].iloc[0], rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("call", [
    lambda d, df: as_replicate_design(d, "JK1"),                       # stratified design
    lambda d, df: as_replicate_design(d, "BRR"),                       # not two PSUs per stratum
    lambda d, df: as_replicate_design(d, "Fay", fay_rho=1.5),
    lambda d, df: as_replicate_design(d, "jackknife"),
    lambda d, df: replicate_estimate(as_replicate_design(d), df, "name"),  # text as a variable
    lambda d, df: replicate_design(df, ["api00", "nope"], type="BRR"),
    lambda d, df: replicate_estimate(as_replicate_design(d), df.sort_values("api00"), "api00"),  # re-sorted rows
])
def test_mistakes_are_input_errors(call):
    df = _load("apistrat")
    with pytest.raises(InputError):
        call(make_design(df, weight="pw", strata="stype"), df)


@pytest.mark.parametrize("rule", ["remove", "average", "certainty"])
def test_jkn_lonely_psu_rules_match_r(rule):
    df = _load("apiclus1")
    d = make_design(df, weight="pw", strata="cname", clusters="dnum", lonely_psu=rule)
    ref = R[R["case"] == f"clus1_cname_JKn_{rule}"].iloc[0]
    got = replicate_estimate(as_replicate_design(d, "JKn"), df, "api00").iloc[0]
    assert got["se"] == pytest.approx(ref["se"], rel=1e-9)
