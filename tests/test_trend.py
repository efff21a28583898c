"""Trend tests: R `trend` 1.1.6 on the Nile (REFERENCES.md), Pettitt (1979), pymannkendall agreement, properties,
bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pymannkendall as pmk
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import theilslopes

from govlib.errors import InputError
from govlib.trend.mannkendall import (benjamini_hochberg, hamed_rao, make_panel, mann_kendall, pettitt, seasonal_mann_kendall,
                          seasonal_sens_slope, sens_slope, trend_table)


@pytest.fixture(scope="module")
def nile(reference_dir):
    return pd.read_csv(reference_dir / "trend" / "nile.csv")


# ------------------------------------------------------------------------------------------- R trend: Nile
def test_nile_mann_kendall_matches_r_trend(nile):
    r = mann_kendall(nile["flow"].to_numpy()).iloc[0]
    assert r["s"] == -1387
    assert r["var_s"] == pytest.approx(112728.33, abs=0.005)
    assert r["z"] == pytest.approx(-4.1280665, abs=5e-8)
    assert r["p"] == pytest.approx(3.658263e-05, rel=1e-6)
    assert r["tau_b"] == pytest.approx(-0.2807413, abs=5e-8)
    assert r["tau_a"] == pytest.approx(-0.2802020, abs=5e-8)
    assert r["p_method"] == "normal" and r["trend"] == "decreasing"


def test_nile_sen_slope_matches_r_and_scipy(nile):
    r = sens_slope(nile["flow"], times=nile["year"]).iloc[0]
    assert r["sen_slope"] == pytest.approx(-2.6, abs=1e-12)
    assert r["sen_low"] == pytest.approx(-3.627907, abs=5e-7)
    assert r["sen_high"] == pytest.approx(-1.428571, abs=5e-7)
    ref = theilslopes(nile["flow"], nile["year"], alpha=0.95)
    assert (r["sen_low"], r["sen_high"]) == pytest.approx((ref.low_slope, ref.high_slope), abs=1e-12)


def test_nile_pettitt_matches_r_trend(nile):
    r = pettitt(nile["flow"]).iloc[0]
    assert r["pettitt_u"] == 1617
    assert r["pettitt_p"] == pytest.approx(3.591022e-07, rel=1e-6)
    assert r["pettitt_k"] == 28
    assert nile["year"].iloc[int(r["pettitt_k"]) - 1] == 1898


def test_nile_through_trend_table(nile):
    r = trend_table(nile, "year", "flow").iloc[0]
    assert (r["n"], r["s"], r["change_point"], r["trend"]) == (100, -1387, "1898", "decreasing")
    assert r["sen_slope"] == pytest.approx(-2.6)


def test_pettitt_1979_published_example(reference_dir):
    # Pettitt (1979), Applied Statistics 28(2), section 4: max |U| = 232 after observation 17, approximate
    # significance 2 exp(-6 U^2/(T^3+T^2)) = 0.0146 (also R trend::pettitt.test(PagesData)).
    x = pd.read_csv(reference_dir / "trend" / "pettitt1979_pages.csv")["x"]
    r = pettitt(x).iloc[0]
    assert (r["pettitt_u"], r["pettitt_k"]) == (232, 17)
    assert r["pettitt_p"] == pytest.approx(0.01456, abs=5e-6)


# --------------------------------------------------------------------------------------- pymannkendall
def test_agrees_with_pymannkendall_on_1000_series_with_ties():
    rng = np.random.default_rng(20240611)
    n = rng.integers(11, 40, size=1000)
    x = np.full((1000, 40), np.nan)
    for i, ni in enumerate(n):  # building the fixture only
        x[i, :ni] = np.round(rng.normal(size=ni) * 2 + rng.normal() * np.arange(ni) / 10)
    ours = mann_kendall(x, exact_max_n=0)
    ref = [pmk.original_test(row[~np.isnan(row)]) for row in x]
    np.testing.assert_array_equal(ours["s"], [r.s for r in ref])
    np.testing.assert_array_equal(ours["var_s"], [r.var_s for r in ref])
    np.testing.assert_array_equal(ours["z"], [r.z for r in ref])
    np.testing.assert_allclose(ours["p"], [r.p for r in ref], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["tau_a"], [r.Tau for r in ref], rtol=0, atol=1e-15)
    assert list(ours["trend"]) == [r.trend for r in ref]
    # Sen's slope with unit spacing equals pymannkendall's
    np.testing.assert_allclose(sens_slope(x)["sen_slope"], [pmk.sens_slope(row[~np.isnan(row)]).slope for row in x],
                               rtol=0, atol=1e-12)


def test_hamed_rao_agrees_with_pymannkendall_and_guard_never_negative():
    rng = np.random.default_rng(7)
    walks = np.cumsum(rng.normal(size=(100, 30)), axis=1)
    noisy_ties = np.round(rng.integers(0, 8, size=(100, 25)) + np.arange(25) * 0.1 * rng.integers(0, 2, (100, 1)))
    for x in (walks, noisy_ties):
        ours = hamed_rao(x)
        with np.errstate(all="ignore"):
            ref = np.array([pmk.hamed_rao_modification_test(row).var_s for row in x])
        valid = ref > 0
        np.testing.assert_allclose(ours["var_s"][valid], ref[valid], rtol=1e-12)
        # where pymannkendall's variance is <= 0 the guard keeps the uncorrected variance
        assert (ours["hr_guard"].to_numpy() == ~valid).all()
        assert (ours["var_s"] > 0).all()


def test_hamed_rao_guard_on_a_series_where_pymannkendall_goes_negative():
    x = np.array([1, 7, 1, 7, 0, 8, 1, 8, 5, 5, 2, 2, 7, 2, 1, 4, 4, 5, 5, 2, 3, 4, 4, 5, 3], dtype=float)
    with np.errstate(all="ignore"):
        assert pmk.hamed_rao_modification_test(x).var_s < 0  # the problem the guard exists for
    r = hamed_rao(x).iloc[0]
    assert r["hr_guard"] and r["hr_factor"] == 1.0
    assert r["var_s"] == mann_kendall(x).iloc[0]["var_s"] == 1785.0 and r["p"] == pytest.approx(0.8870687, abs=1e-7)


def test_seasonal_agrees_with_pymannkendall(reference_dir):
    nott = pd.read_csv(reference_dir / "trend" / "nottem.csv")
    ours = seasonal_mann_kendall(nott["temp_f"], seasons=nott["month"]).iloc[0]
    ref = pmk.seasonal_test(nott["temp_f"].to_numpy(), period=12)
    assert (ours["s"], ours["var_s"]) == (ref.s, pytest.approx(ref.var_s, rel=1e-14))
    assert ours["z"] == pytest.approx(ref.z, rel=1e-14)
    sen = seasonal_sens_slope(nott["temp_f"], seasons=nott["month"], times=nott["year"]).iloc[0]
    assert sen["sen_slope"] == pytest.approx(pmk.seasonal_sens_slope(nott["temp_f"].to_numpy(), 12).slope, abs=1e-12)
    assert sen["sen_low"] <= sen["sen_slope"] <= sen["sen_high"]


def test_seasonal_cli_frame_matches_array_api(reference_dir):
    nott = pd.read_csv(reference_dir / "trend" / "nottem.csv")
    r = trend_table(nott, "year", "temp_f", season="month").iloc[0]
    assert r["s"] == 224 and np.isnan(r["tau_b"])


# ------------------------------------------------------------------------------------------- small n, exact
def test_exact_p_small_n_without_ties_matches_enumeration():
    x = np.array([3.0, 1.0, 4.0, 5.0, 9.0, 2.0, 6.0])
    r = mann_kendall(x).iloc[0]
    assert r["p_method"] == "exact"
    n = len(x)
    s_all = [sum(np.sign(p[j] - p[i]) for i in range(n) for j in range(i + 1, n))
             for p in itertools.permutations(range(n))]
    expected = np.mean(np.abs(s_all) >= abs(r["s"]))
    assert r["p"] == pytest.approx(expected, abs=1e-12)


def test_ties_or_long_series_use_normal_p_and_short_series_no_test():
    assert mann_kendall([1.0, 2, 2, 3, 4, 5]).iloc[0]["p_method"] == "normal"
    assert mann_kendall(np.arange(11.0)).iloc[0]["p_method"] == "normal"
    r = mann_kendall([[1.0, 2.0, 3.0, np.nan], [1, 2, 3, 4]])
    assert list(r["test"]) == ["too_short", "ok"]
    assert np.isnan(r.loc[0, "s"]) and r.loc[0, "trend"] == "no test"


# ------------------------------------------------------------------------------------------- properties
series = st.lists(st.integers(-20, 20), min_size=4, max_size=30).map(lambda v: np.array(v, dtype=float))


@settings(max_examples=40, deadline=None)
@given(series)
def test_reversing_time_flips_s_and_slope(x):
    a, b = mann_kendall(x).iloc[0], mann_kendall(x[::-1]).iloc[0]
    assert a["s"] == -b["s"] and a["var_s"] == b["var_s"]
    sa, sb = sens_slope(x).iloc[0], sens_slope(x[::-1]).iloc[0]
    assert sa["sen_slope"] == -sb["sen_slope"]


@settings(max_examples=40, deadline=None)
@given(series, st.integers(-1000, 1000))
def test_adding_a_constant_changes_nothing(x, c):
    cols = ["s", "var_s", "z", "p", "tau_b", "tau_a"]
    pd.testing.assert_frame_equal(mann_kendall(x)[cols], mann_kendall(x + c)[cols])
    pd.testing.assert_frame_equal(pettitt(x), pettitt(x + c))
    np.testing.assert_allclose(sens_slope(x)[["sen_slope", "sen_low", "sen_high"]],
                               sens_slope(x + c)[["sen_slope", "sen_low", "sen_high"]], atol=1e-9)


def test_adding_a_constant_changes_nothing_in_the_table(nile):
    shifted = nile.assign(flow=nile["flow"] + 1000)
    cols = ["s", "var_s", "z", "p", "tau_b", "sen_slope", "sen_low", "sen_high", "pettitt_u", "change_point"]
    pd.testing.assert_frame_equal(trend_table(nile, "year", "flow")[cols], trend_table(shifted, "year", "flow")[cols])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=4, max_size=40, unique=True))
def test_strictly_increasing_gives_maximal_s(values):
    x = np.sort(np.array(values))
    r = mann_kendall(x).iloc[0]
    n = len(x)
    assert r["s"] == n * (n - 1) / 2 and r["tau_b"] == pytest.approx(1.0)


def test_uneven_spacing_and_gaps_give_per_year_slope():
    periods = ["2018", "2019", "2021", "2024"]
    df = pd.DataFrame({"period": periods, "v": [10.0, 12.0, 16.0, 22.0]})
    assert trend_table(df, "period", "v").iloc[0]["sen_slope"] == pytest.approx(2.0)
    q = pd.DataFrame({"period": ["2020Q1", "2020Q2", "2020Q4", "2021Q1", "2021Q2"], "v": [0, 1, 3, 4, 5.0]})
    assert trend_table(q, "period", "v").iloc[0]["sen_slope"] == pytest.approx(4.0)  # 1 per quarter
    x = np.array([[1.0, np.nan, 3.0, 4.0, 5.0]])
    assert mann_kendall(x).iloc[0]["n"] == 4 and sens_slope(x, times=[[0, 1, 2, 3, 4]]).iloc[0]["sen_slope"] == 1


def test_vectorised_rows_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=(50, 20)), 1)
    x[rng.random(x.shape) < 0.1] = np.nan
    together = mann_kendall(x, chunk_elements=500)
    alone = pd.concat([mann_kendall(row) for row in x], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone)
    pd.testing.assert_frame_equal(pettitt(x), pd.concat([pettitt(row) for row in x], ignore_index=True))


def test_benjamini_hochberg_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05, 0.5), "BH") = 0.06 0.06 0.06 0.06 0.06 0.50
    q = benjamini_hochberg([0.01, 0.02, 0.03, 0.04, 0.05, 0.5])
    np.testing.assert_allclose(q, [0.06, 0.06, 0.06, 0.06, 0.06, 0.5])
    assert np.isnan(benjamini_hochberg([np.nan, 0.1])[0])


# ------------------------------------------------------------------------------------------- bad input
def test_unsorted_input_is_sorted_by_time(nile):
    shuffled = nile.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(trend_table(shuffled, "year", "flow"), trend_table(nile, "year", "flow"))


def test_duplicated_time_stamps_are_an_error():
    df = pd.DataFrame({"g": ["a", "a", "a", "a", "a"], "year": [2020, 2021, 2021, 2022, 2023], "v": [1, 2, 3, 4, 5]})
    with pytest.raises(InputError, match=r"duplicated time stamps in column 'year'.*a / 2021"):
        trend_table(df, "year", "v", by=["g"])


def test_non_numeric_values_are_named():
    df = pd.DataFrame({"year": [2020, 2021, 2022, 2023], "v": ["1", "2", "three", "4"]})
    with pytest.raises(InputError, match=r"column 'v': non-numeric values \['three'\]"):
        trend_table(df, "year", "v")
    with pytest.raises(InputError, match="non-numeric"):
        mann_kendall(np.array(["a", "b", "c", "d"], dtype=object))


def test_missing_column_and_bad_time_are_named():
    df = pd.DataFrame({"year": ["2020", "20x1", "2022", "2023"], "v": [1, 2, 3, 4]})
    with pytest.raises(InputError, match=r"columns \['flow'\] not found"):
        trend_table(df, "year", "flow")
    with pytest.raises(InputError, match=r"column 'year': time values \['20x1'\]"):
        trend_table(df, "year", "v")


def test_constant_and_all_nan_series_are_documented_results():
    df = pd.DataFrame({"g": ["const"] * 6 + ["empty"] * 6, "t": list(range(6)) * 2,
                       "v": [5.0] * 6 + [np.nan] * 6})
    r = trend_table(df, "t", "v", by=["g"]).set_index("g")
    c = r.loc["const"]
    assert (c["s"], c["var_s"], c["z"], c["p"], c["trend"]) == (0, 0, 0, 1, "no trend")
    assert math.isnan(c["tau_b"]) and c["sen_slope"] == 0
    e = r.loc["empty"]
    assert e["n"] == 0 and e["test"] == "too_short" and e["trend"] == "no test" and np.isnan(e["p"])
    assert pd.isna(e["change_point"])


def test_make_panel_pads_series():
    df = pd.DataFrame({"g": ["b", "a", "a"], "year": ["2021", "2021", "2020"], "v": [5.0, 2.0, 1.0]})
    p = make_panel(df, "year", "v", by=["g"])
    assert p.keys["g"].tolist() == ["a", "b"]
    assert p.labels[0].tolist() == ["2020", "2021"] and p.n.tolist() == [2, 1]


def test_date_time_column_gives_per_year_slope_and_iso_labels():
    df = pd.DataFrame({"d": pd.date_range("2020-01-01", periods=12, freq="MS"), "v": np.arange(12.0)})
    r = trend_table(df, "d", "v").iloc[0]
    assert r["sen_slope"] == pytest.approx(12.0, rel=0.02) and r["change_point"] == "2020-06-01"


def test_hirsch_slack_1984_covariance_matches_pymannkendall_correlated_seasonal(reference_dir):
    nott = pd.read_csv(reference_dir / "trend" / "nottem.csv")
    r = seasonal_mann_kendall(nott["temp_f"], nott["month"], nott["year"], covariance="hirsch_slack_1984",
                              continuity=False).iloc[0]
    ref = pmk.correlated_seasonal_test(nott["temp_f"].to_numpy(), period=12)
    assert (r["s"], r["var_s"], r["z"]) == (ref.s, pytest.approx(ref.var_s, rel=1e-14), pytest.approx(ref.z, rel=1e-14))
    # quarterly series with ties and a gap: the year with the gap is dropped, as pymannkendall's 'skip'
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=(20, 60)) * 2) + np.arange(60) * 0.05
    x[3, 10] = np.nan
    years = np.tile(np.repeat(np.arange(2000.0, 2015.0), 4), (20, 1))
    ours = seasonal_mann_kendall(x, np.tile(np.arange(60) % 4, (20, 1)), years, covariance="hirsch_slack_1984",
                                 continuity=False)
    with np.errstate(all="ignore"):
        theirs = [pmk.correlated_seasonal_test(row, period=4) for row in x]
    np.testing.assert_array_equal(ours["s"], [t.s for t in theirs])
    np.testing.assert_allclose(ours["var_s"], [t.var_s for t in theirs], rtol=1e-13)
    with pytest.raises(InputError, match="covariance"):
        seasonal_mann_kendall(x, np.tile(np.arange(60) % 4, (20, 1)), years, covariance="hs84")
