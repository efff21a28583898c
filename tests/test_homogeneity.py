"""Buishand range, Buishand U and SNHT against R trend 1.1.6's algorithms (tests/data/trend_homogeneity_r.csv, made
by tests/data/trend_make_homogeneity_reference.R from trend's source), including its Monte Carlo p-values."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.trend.homogeneity import homogeneity, homogeneity_table, r_rnorm

REF = Path(__file__).parent.parent.parent / "shared" / "reference" / "trend"
R = pd.read_csv(Path(__file__).parent / "data" / "trend_homogeneity_r.csv", skipinitialspace=True)
NAMES = {"br": "buishand_range", "bu": "buishand_u", "snh": "snht"}


def _series(name):
    if name == "nile":
        return pd.read_csv(REF / "nile.csv")["flow"].to_numpy(float)
    if name == "pages":
        return pd.read_csv(REF / "pettitt1979_pages.csv")["x"].to_numpy(float)
    if name == "nottem_annual":
        return pd.read_csv(REF / "nottem.csv").groupby("year")["temp_f"].mean().to_numpy()
    return None


ROWS = [r for r in R.itertuples() if _series(r.series) is not None]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.series}-{r.test}-{r.seed}" for r in ROWS])
def test_statistic_change_point_and_p_value_match_r_trend(row):
    res = homogeneity(_series(row.series), NAMES[row.test], n_sim=int(row.m), seed=int(row.seed), rng="R")
    assert res["statistic"].iloc[0] == pytest.approx(row.statistic, abs=1e-8, rel=1e-10)
    assert int(res["change_point"].iloc[0]) == row.K
    assert res["p"].iloc[0] == pytest.approx(row.p, abs=1e-12)  # same stream, same replicates: exactly R's p


def test_the_nile_shift_is_after_1898():
    df = pd.read_csv(REF / "nile.csv")
    out = homogeneity_table(df, "year", "flow", n_sim=500, seed=1)
    assert out["change_point"].tolist() == ["1898"] * 3 and (out["shift"] == "shift").all()


def test_r_stream_matches_r_set_seed():
    # R 4.x: set.seed(42); rnorm(5)
    assert np.allclose(r_rnorm(5, 42), [1.37095844714666848, -0.56469817139608869, 0.36312841133733920,
                                        0.63286260496104041, 0.40426832314099903], atol=1e-15)


def test_vectorised_rows_equal_one_at_a_time_with_gaps():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 25)) + np.where(np.arange(25) > 12, 1.0, 0.0)
    x[rng.random(x.shape) < 0.1] = np.nan
    for test in NAMES.values():
        together = homogeneity(x, test, n_sim=0)
        for i in range(len(x)):
            alone = homogeneity(x[i][~np.isnan(x[i])], test, n_sim=0)
            assert together["statistic"].iloc[i] == pytest.approx(alone["statistic"].iloc[0], rel=1e-12)
            assert together["change_point"].iloc[i] == alone["change_point"].iloc[0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=5, max_size=30), st.floats(0.1, 10), st.floats(-50, 50))
def test_statistics_invariant_to_location_and_scale(values, scale, shift):
    x = np.array(values)
    if np.ptp(x) < 1e-6:
        return
    for test in NAMES.values():
        a = homogeneity(x, test, n_sim=0)
        b = homogeneity(x * scale + shift, test, n_sim=0)
        assert b["statistic"].iloc[0] == pytest.approx(a["statistic"].iloc[0], rel=1e-6, abs=1e-9)


def test_plus_one_convention_never_gives_zero_and_short_constant_rows_are_flagged():
    nile = _series("nile")
    r = homogeneity(nile, "snht", n_sim=200, seed=3, p_convention="plus_one")
    assert r["p"].iloc[0] == pytest.approx(1 / 201)
    out = homogeneity([[1.0, 2.0, 3.0, np.nan, np.nan], [2.0] * 5], "buishand_u", n_sim=10, seed=1)
    assert out["test"].tolist() == ["too_short", "constant"] and out["p"].isna().all()


@pytest.mark.parametrize("kwargs", [{"test": "pettitt"}, {"p_convention": "exact"}, {"rng": "R"}, {"n_sim": -1}])
def test_bad_options_are_input_errors(kwargs):
    with pytest.raises(InputError):
        homogeneity(_series("pages"), **{"test": "snht", **kwargs})


@pytest.mark.parametrize("test,printed", [("buishand_range", 2.9518), ("buishand_u", 2.4764), ("snht", 43.219)])
def test_published_nile_values_of_the_trend_vignette(test, printed):
    # R trend 1.1.6 vignette (inst/doc/trend.pdf, section "Change-point detection"): br.test(Nile),
    # bu.test(Nile), snh.test(Nile) print these statistics, K = 28 and p-value < 2.2e-16 (p = 0 of 20000)
    r = homogeneity(_series("nile"), test, n_sim=20_000, seed=1)
    assert round(r["statistic"].iloc[0], 4 if printed < 10 else 3) == printed
    assert r["change_point"].iloc[0] == 28 and r["p"].iloc[0] == 0.0
