"""Survey engine: R survey 4.1-1 reference numbers (REFERENCES.md and tests/data/survey_r_reference.csv made by
tests/data/survey_make_reference.R), svy cross-checks, properties and bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.cli import main
from govlib.errors import InputError
from govlib.survey.estimate import (combine_domain_sums, estimate, finalize_domain_sums, make_design, reduce_domain_sums,
                           reliability_flags, score_items)

DATA = Path(__file__).parent / "data"
REL = 1e-6


@pytest.fixture(scope="module")
def api(reference_dir):
    d = reference_dir / "survey"
    return {k: pd.read_csv(d / f"{k}.csv") for k in ("apistrat", "apiclus1", "apiclus2")}


@pytest.fixture(scope="module")
def rref():
    return pd.read_csv(DATA / "survey_r_reference.csv")


def _check(rref, case, got, deff=True):
    r = rref[rref["case"] == case]
    assert len(r) == len(got), case
    np.testing.assert_allclose(got["estimate"].to_numpy(), r["estimate"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["se"].to_numpy(), r["se"].to_numpy(), rtol=1e-9)
    if deff and r["deff"].notna().any():
        np.testing.assert_allclose(got["deff"].to_numpy(), r["deff"].to_numpy(), rtol=1e-8)


# --- REFERENCES.md (published R numbers) -------------------------------------------------------------------

def test_references_dstrat_and_dclus1_api(api):
    st_, c1 = api["apistrat"], api["apiclus1"]
    dstrat = make_design(st_, weight="pw", strata="stype", fpc="fpc")
    r = estimate(dstrat, st_, "api00").iloc[0]
    assert r["estimate"] == pytest.approx(662.287363159, rel=REL)
    assert r["se"] == pytest.approx(9.40894080278, rel=REL)
    r = estimate(make_design(st_, weight="pw", strata="stype"), st_, "api00").iloc[0]
    assert r["se"] == pytest.approx(9.53613229693, rel=REL)
    r = estimate(dstrat, st_, "enroll", stat="total").iloc[0]
    assert (r["estimate"], r["se"]) == (pytest.approx(3687177.53244, rel=REL), pytest.approx(114641.716101, rel=REL))
    dclus1 = make_design(c1, weight="pw", clusters="dnum", fpc="fpc")
    r = estimate(dclus1, c1, "api00").iloc[0]
    assert (r["estimate"], r["se"]) == (pytest.approx(644.169398907, rel=REL), pytest.approx(23.5422406938, rel=REL))
    r = estimate(dclus1, c1, "enroll", stat="total").iloc[0]
    assert (r["estimate"], r["se"]) == (pytest.approx(3404940.13453, rel=REL), pytest.approx(932235.027041, rel=REL))


@pytest.mark.parametrize("args,expected", [
    (["--data", "apistrat.csv", "--var", "api00", "--weight", "pw", "--strata", "stype", "--fpc", "fpc"],
     (662.287363159, 9.40894080278)),
    (["--data", "apistrat.csv", "--var", "api00", "--weight", "pw", "--strata", "stype"],
     (662.287363159, 9.53613229693)),
    (["--data", "apistrat.csv", "--var", "enroll", "--weight", "pw", "--strata", "stype", "--fpc", "fpc",
      "--stat", "total"], (3687177.53244, 114641.716101)),
    (["--data", "apiclus1.csv", "--var", "api00", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc"],
     (644.169398907, 23.5422406938)),
    (["--data", "apiclus1.csv", "--var", "enroll", "--weight", "pw", "--psu", "dnum", "--fpc", "fpc",
      "--stat", "total"], (3404940.13453, 932235.027041)),
])
def test_references_through_cli(reference_dir, tmp_path, args, expected):
    args = list(args)
    args[1] = str(reference_dir / "survey" / args[1])
    out = tmp_path / "o.csv"
    assert main(["survey"] + args + ["--out", str(out)]) == 0
    r = pd.read_csv(out)
    assert list(r.columns) == ["variable", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    assert r["estimate"].iloc[0] == pytest.approx(expected[0], rel=REL)
    assert r["se"].iloc[0] == pytest.approx(expected[1], rel=REL)


def test_cli_by_and_two_stage_without_weights(reference_dir, tmp_path, rref):
    out = tmp_path / "o.csv"
    assert main(["survey", "--data", str(reference_dir / "survey" / "apiclus2.csv"), "--var", "api00",
                 "--psu", "dnum,snum", "--fpc", "fpc1,fpc2", "--by", "stype", "--out", str(out)]) == 0
    r = pd.read_csv(out)
    assert list(r.columns[:2]) == ["stype", "variable"]
    _check(rref, "dclus2_by_stype_mean_api00", r)


def test_cli_user_error_exit_2(reference_dir, tmp_path, capsys):
    rc = main(["survey", "--data", str(reference_dir / "survey" / "apiclus1.csv"), "--var", "api00",
               "--strata", "cname", "--psu", "dnum", "--weight", "pw", "--out", str(tmp_path / "o.csv")])
    assert rc == 2
    assert "only one PSU" in capsys.readouterr().err


# --- R outputs generated here (tests/data/survey_make_reference.R) -----------------------------------------

def test_r_one_stage_and_domains(api, rref):
    st_, c1 = api["apistrat"], api["apiclus1"]
    dstrat = make_design(st_, weight="pw", strata="stype", fpc="fpc")
    dclus1 = make_design(c1, weight="pw", clusters="dnum", fpc="fpc")
    _check(rref, "dstrat_mean_api00", estimate(dstrat, st_, "api00"))
    _check(rref, "dstrat_total_enroll", estimate(dstrat, st_, "enroll", stat="total"))
    _check(rref, "dclus1_mean_api00", estimate(dclus1, c1, "api00"))
    _check(rref, "dclus1_total_enroll", estimate(dclus1, c1, "enroll", stat="total"))
    _check(rref, "dclus1_prop_stype", estimate(dclus1, c1, "stype", stat="prop"))
    _check(rref, "dstrat_ratio_api00_api99", estimate(dstrat, st_, "api00", stat="ratio", denominator="api99"))
    _check(rref, "dstrat_by_schwide_mean_api00", estimate(dstrat, st_, "api00", by="sch.wide"))
    _check(rref, "dclus1_by_stype_mean_api00", estimate(dclus1, c1, "api00", by="stype"))
    _check(rref, "dclus1_by_stype_total_enroll", estimate(dclus1, c1, "enroll", by="stype", stat="total"))
    _check(rref, "dclus1_by_stype_ratio", estimate(dclus1, c1, "api00", by="stype", stat="ratio",
                                                   denominator="api99"))
    # missing values are domain estimation (R na.rm=TRUE)
    _check(rref, "dclus1_mean_acs46_narm", estimate(dclus1, c1, "acs.46"))
    got = estimate(dclus1, c1, "acs.46", by="stype", empty="nan")
    r = rref[rref["case"] == "dclus1_by_stype_mean_acs46_narm"]
    keep = got["n"].to_numpy() > 0
    np.testing.assert_allclose(got["se"][keep], r["se"][keep], rtol=1e-9)
    assert np.isnan(got["estimate"][~keep]).all()


def test_r_two_stage(api, rref):
    c2 = api["apiclus2"]
    dclus2 = make_design(c2, clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    assert dclus2.two_stage
    _check(rref, "dclus2_mean_api00", estimate(dclus2, c2, "api00"))
    _check(rref, "dclus2_total_enroll", estimate(dclus2, c2, "enroll", stat="total"))
    _check(rref, "dclus2_ratio_api00_api99", estimate(dclus2, c2, "api00", stat="ratio", denominator="api99"))
    _check(rref, "dclus2_by_stype_mean_api00", estimate(dclus2, c2, "api00", by="stype"))
    _check(rref, "dclus2_by_stype_total_enroll", estimate(dclus2, c2, "enroll", by="stype", stat="total"))
    # with weights and no fpc: ultimate cluster (with-replacement) variance
    _check(rref, "dclus2w_mean_api00", estimate(make_design(c2, weight="pw", clusters=["dnum", "snum"]), c2, "api00"))


def test_fpc_as_fraction_equals_population(api):
    st_ = api["apistrat"].copy()
    n_h = st_.groupby("stype")["stype"].transform("size")
    st_["frac"] = n_h / st_["fpc"]
    a = estimate(make_design(st_, weight="pw", strata="stype", fpc="fpc"), st_, "api00")
    b = estimate(make_design(st_, weight="pw", strata="stype", fpc="frac", fpc_kind="fraction"), st_, "api00")
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)


@pytest.mark.parametrize("option", ["remove", "certainty", "adjust", "average"])
def test_r_lonely_psu(api, rref, option):
    c1 = api["apiclus1"]
    d = make_design(c1, weight="pw", strata="cname", clusters="dnum", lonely_psu=option)
    _check(rref, f"lonely_{option}_mean_api00", estimate(d, c1, "api00"))
    _check(rref, f"lonely_{option}_by_stype_mean_api00", estimate(d, c1, "api00", by="stype"))


def test_svy_cross_check_random_designs():
    import polars as pl
    import svy

    rng = np.random.default_rng(11)
    for _ in range(3):
        n = 2000
        df = pd.DataFrame({"h": rng.integers(0, 6, n)})
        df["p"] = df["h"] * 100 + rng.integers(0, 10, n)
        df["w"] = rng.uniform(1, 6, n)
        df["y"] = rng.normal(50, 10, n) + df["h"]
        df["d"] = rng.integers(0, 9, n)
        s = svy.Sample(pl.from_pandas(df), svy.Design(stratum="h", psu="p", wgt="w"))
        ref = s.estimation.mean("y", by="d").to_polars().to_pandas().sort_values("d")
        got = estimate(make_design(df, weight="w", strata="h", clusters="p"), df, "y", by="d")
        np.testing.assert_allclose(got["estimate"], ref["est"], rtol=1e-10)
        np.testing.assert_allclose(got["se"], ref["se"], rtol=1e-10)


# --- reduction / finaliser split -----------------------------------------------------------------------------

def test_reduction_of_chunks_combines_to_the_whole(api):
    c1 = api["apiclus1"]
    d = make_design(c1, weight="pw", clusters="dnum", fpc="fpc")
    dom = pd.factorize(c1["stype"], sort=True)[0]
    y = c1[["api00", "api99"]].to_numpy(float)
    whole = reduce_domain_sums(d.weight, d.stratum, d.psu, dom, y)
    parts = [reduce_domain_sums(d.weight[s], d.stratum[s], d.psu[s], dom[s], y[s])
             for s in (slice(0, 70), slice(70, 120), slice(120, None))]
    combined = combine_domain_sums(parts)
    a = finalize_domain_sums(whole, d, n_domains=3)
    b = finalize_domain_sums(combined, d, n_domains=3)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-12)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=1e-12)


def test_composite_is_linear_combination_with_linearised_se(api):
    st_ = api["apistrat"]
    d = make_design(st_, weight="pw", strata="stype", fpc="fpc")
    got = estimate(d, st_, ["api00", "api99"], composite={"avg": {"api00": 0.5, "api99": 0.5}})
    st2 = st_.assign(avg=(st_["api00"] + st_["api99"]) / 2)
    direct = estimate(d, st2, "avg").iloc[0]
    row = got[got["variable"] == "avg"].iloc[0]
    assert row["estimate"] == pytest.approx(direct["estimate"], rel=1e-12)
    assert row["se"] == pytest.approx(direct["se"], rel=1e-10)


# --- properties ----------------------------------------------------------------------------------------------

def _random_design(seed, n=300):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"h": rng.integers(0, 3, n)})
    df["p"] = df["h"] * 50 + rng.integers(0, 6, n)
    df["w"] = rng.uniform(1, 4, n)
    df["y"] = rng.normal(10, 3, n)
    df["d"] = rng.integers(0, 4, n)
    return df


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1000))
def test_scaling_weights_leaves_means_and_ses(seed, scale):
    df = _random_design(seed)
    a = estimate(make_design(df, weight="w", strata="h", clusters="p"), df, "y", by="d")
    df["w2"] = df["w"] * scale
    b = estimate(make_design(df, weight="w2", strata="h", clusters="p"), df, "y", by="d")
    np.testing.assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_census_has_zero_se(seed):
    df = _random_design(seed)
    df["N"] = df.groupby("h")["p"].transform("nunique")  # every PSU sampled
    r = estimate(make_design(df, weight="w", strata="h", clusters="p", fpc="N"), df, "y", by="d")
    np.testing.assert_allclose(r["se"], 0.0, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_partitioning_domains_add_up_to_the_total(seed):
    df = _random_design(seed)
    d = make_design(df, weight="w", strata="h", clusters="p")
    parts = estimate(d, df, "y", by="d", stat="total")
    whole = estimate(d, df, "y", stat="total").iloc[0]
    assert parts["estimate"].sum() == pytest.approx(whole["estimate"], rel=1e-12)


# --- bad input -----------------------------------------------------------------------------------------------

def test_bad_weights_named(api):
    df = api["apistrat"].copy()
    df.loc[[3, 7], "pw"] = [0.0, -2.0]
    with pytest.raises(InputError, match=r"weight column 'pw'.*0\.0.*-2\.0"):
        make_design(df, weight="pw", strata="stype")


def test_lonely_psu_fails_by_default(api):
    with pytest.raises(InputError, match=r"strata column 'cname'.*'Alameda'.*only one PSU"):
        make_design(api["apiclus1"], weight="pw", strata="cname", clusters="dnum")


def test_psu_in_two_strata(api):
    with pytest.raises(InputError, match=r"cluster column 'dnum'.*more than one stratum"):
        make_design(api["apistrat"], weight="pw", strata="stype", clusters="dnum")


def test_all_missing_in_a_domain(api):
    c1 = api["apiclus1"]
    d = make_design(c1, weight="pw", clusters="dnum", fpc="fpc")
    with pytest.raises(InputError, match=r"acs\.46 in stype='H'"):
        estimate(d, c1, "acs.46", by="stype")


def test_fpc_errors(api):
    st_ = api["apistrat"]
    with pytest.raises(InputError, match="fpc_kind='fraction'"):
        make_design(st_.assign(f=0.5), weight="pw", strata="stype", fpc="f")
    with pytest.raises(InputError, match="fpc_kind"):
        make_design(st_, weight="pw", fpc="fpc", fpc_kind="share")


def test_item_outside_scale_and_scoring():
    items = pd.DataFrame({"item": ["q1", "q2"], "scale_min": [1, 1], "scale_max": [5, 4],
                          "missing_codes": ["9;8", ""]})
    ok = pd.DataFrame({"q1": [1, 2, 5, 9, 8], "q2": [1, 4, 2, None, 3]})
    s = score_items(ok, items)
    np.testing.assert_allclose(s["q1"], [0, 25, 100, np.nan, np.nan])
    np.testing.assert_allclose(s["q2"], [0, 100, 100 / 3, np.nan, 200 / 3])
    np.testing.assert_allclose(score_items(ok, items, measure="net")["q1"], [-100, -100, 100, np.nan, np.nan])
    with pytest.raises(InputError, match=r"survey item column 'q2'.*7.*1\.\.4"):
        score_items(ok.assign(q2=[1, 7, 2, 3, 3]), items)


def test_flags_statcan_defaults():
    e = pd.DataFrame({"cv": [0.165, 0.166, 0.333, 0.334, 0.01, 0.01], "n": [50] * 5 + [29],
                      "n_eff": [50, 50, 50, 50, 29, 50]})
    assert reliability_flags(e).tolist() == ["release", "caution", "caution", "suppress", "suppress", "suppress"]
    assert reliability_flags(e, psu_domain=[True] + [False] * 5).iloc[0] == "psu_domain"


def test_data_re_sorted_after_make_design_is_an_error_not_another_answer(reference_dir):
    # seen before the fix: sorting after make_design silently changed an estimate (-0.0176 became 0.0233)
    apistrat = pd.read_csv(reference_dir / "survey" / "apistrat.csv")
    design = make_design(apistrat, weight="pw", strata="stype", fpc="fpc")
    assert estimate(design, apistrat, "api00")["estimate"].iloc[0] == pytest.approx(662.287363159, rel=1e-9)
    with pytest.raises(InputError, match="re-sorted, filtered or changed"):
        estimate(design, apistrat.sort_values("pw"), "api00")
    with pytest.raises(InputError, match="rows but the design was built on"):
        estimate(design, apistrat.iloc[:-1], "api00")
    changed = apistrat.assign(pw=apistrat["pw"] * 1.01)
    with pytest.raises(InputError, match="differ from those the design was made from"):
        estimate(design, changed, "api00")
    # the same rows in the same order in another frame (e.g. a copy with more columns) are fine
    same = apistrat.assign(extra=1.0)
    assert estimate(design, same, "api00")["estimate"].iloc[0] == pytest.approx(662.287363159, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), text=st.booleans())
def test_ssu_codes_are_the_sorted_psu_ssu_pairs(seed, text):
    # make_design numbers (PSU, SSU) pairs by an integer key; the numbering is that of the sorted pairs
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    psu = rng.integers(0, 6, n)
    ssu = rng.integers(0, 9, n)
    df = pd.DataFrame({"h": psu % 2, "p": psu, "s": [f"s{v}" for v in ssu] if text else ssu})
    d = make_design(df, strata="h", clusters=["p", "s"], lonely_psu="remove")
    ref = pd.factorize(pd.MultiIndex.from_arrays([d.psu, df["s"].to_numpy()]), sort=True)[0]
    assert (d.ssu == ref).all()


def test_ssu_labels_that_do_not_sort_together_still_number():
    df = pd.DataFrame({"p": [1, 1, 2, 2], "s": pd.Series([1, "a", 1, "a"], dtype=object)})
    d = make_design(df, clusters=["p", "s"])
    assert sorted(d.ssu.tolist()) == [0, 1, 2, 3] and d.n_ssu.tolist() == [2, 2]


def test_calibration_cells_are_compared_as_text():
    # 1 and "1" are one cell (cells are matched to the population table as text), found without turning every
    # row into text; an absent cell is named in the order the rows show them
    from govlib.survey.calibrate import cell_codes

    data = pd.DataFrame({"g": pd.Series([1, "1", "b", 2.5, "b"], dtype=object), "h": ["x", "x", "x", "y", "x"]})
    pop = pd.DataFrame({"g": ["1", "b", "2.5"], "h": ["x", "x", "y"], "N": [5, 7, 9]})
    codes, freq = cell_codes(data, ["g", "h"], pop)
    assert codes.tolist() == [0, 0, 1, 2, 1] and freq.tolist() == [5.0, 7.0, 9.0]
    with pytest.raises(InputError, match=r"absent from the population table: \('c', 'x'\), \('d', 'x'\)"):
        cell_codes(pd.DataFrame({"g": ["d", "1", "c", "d"], "h": "x"}).iloc[[2, 1, 0, 3]], ["g", "h"], pop)
