"""Treatment: temporal aggregation with SEs, denomination, imputation, screening and outlier treatment."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError
from govlib.index.treat import annualise, denominate, impute, screen_units, skew_kurtosis, treat_outliers


def _wide(values: dict, units, periods):
    idx = pd.MultiIndex.from_product([units, periods], names=["unit", "period"])
    return pd.DataFrame(values, index=idx)


def test_annualise_mean_sum_last_with_standard_errors():
    obs = pd.DataFrame({
        "unit": "u", "indicator": ["m"] * 4 + ["s"] * 4 + ["l"] * 2,
        "period": ["2024Q1", "2024Q2", "2024Q3", "2024Q4"] * 2 + ["2024-01", "2024-12"],
        "value": [1.0, 2.0, 3.0, 6.0, 1.0, 2.0, 3.0, 6.0, 5.0, 7.0],
        "se": [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.2, 0.3]})
    out = annualise(obs, {"m": "mean", "s": "sum", "l": "last"}).set_index("indicator")
    assert out.loc["m", "value"] == 3.0 and out.loc["m", "se"] == pytest.approx(np.sqrt(4.0) / 4)
    assert out.loc["s", "value"] == 12.0 and out.loc["s", "se"] == pytest.approx(1.0)
    assert out.loc["l", "value"] == 7.0 and out.loc["l", "se"] == 0.3
    assert (out["period"] == "2024").all() and out.loc["m", "n_periods"] == 4


def test_annualise_refuses_mixed_frequencies_duplicates_and_bad_periods():
    mixed = pd.DataFrame({"unit": "u", "indicator": "x", "period": ["2024", "2024Q1", "2023Q1"],
                          "value": [1.0, 2.0, 5.0]})
    with pytest.raises(InputError, match="annual and sub-annual"):
        annualise(mixed, prefer_annual=False)
    out = annualise(mixed)  # the annual value wins; 2023 has only a quarter
    assert out.set_index("period")["value"].to_dict() == {"2023": 5.0, "2024": 1.0}
    assert out.attrs["sub_annual_ignored"] == 1
    dup = pd.DataFrame({"unit": "u", "indicator": "x", "period": ["2024", "2024"], "value": [1.0, 2.0]})
    with pytest.raises(InputError, match="duplicate"):
        annualise(dup)
    bad = pd.DataFrame({"unit": "u", "indicator": "x", "period": ["2024-7"], "value": [1.0]})
    with pytest.raises(InputError, match="2024-7"):
        annualise(bad)
    with pytest.raises(InputError, match="temporal_aggregation"):
        annualise(dup.iloc[:1], {"x": "median"})


def test_denominate_by_population_column():
    w = _wide({"x": [50.0, 60.0]}, ["u"], ["2023", "2024"])
    pop = pd.DataFrame({"code": ["u", "u"], "year": [2023, 2024], "residents": [100000, 200000]})
    out = denominate(w, {"x": ("residents", 10000)}, pop)
    assert out["x"].tolist() == [5.0, 3.0]
    assert w["x"].tolist() == [50.0, 60.0]  # input not modified
    with pytest.raises(InputError, match="aged_60_plus"):
        denominate(w, {"x": ("aged_60_plus", 1000)}, pop)
    with pytest.raises(InputError, match="population"):
        denominate(w, {"x": ("residents", 1)}, None)


def test_impute_mean_median_overall_and_by_peer_group():
    w = _wide({"x": [1.0, 3.0, np.nan, 10.0, np.nan]}, ["a", "b", "c", "d", "e"], ["2024"])
    filled, log = impute(w, "mean")
    assert filled["x"].tolist()[2] == pytest.approx(14 / 3)
    assert len(log) == 2 and set(log["method"]) == {"mean"} and log["old_value"].isna().all()
    filled, _ = impute(w, "median")
    assert filled["x"].tolist()[2] == 3.0
    groups = np.array(["g1", "g1", "g1", "g2", "g2"])
    filled, log = impute(w, "mean", peer_group=groups, by_group=True)
    assert filled["x"].tolist() == [1.0, 3.0, 2.0, 10.0, 10.0]
    assert set(log["method"]) == {"mean_by_group"}
    with pytest.raises(InputError, match="peer group"):
        impute(w, "mean", by_group=True)
    with pytest.raises(InputError, match="imputation"):
        impute(w, "knn")


def test_impute_panel_locf_limit_and_linear_interpolation():
    w = _wide({"x": [1.0, np.nan, np.nan, 4.0, np.nan]}, ["a"], ["2020", "2021", "2022", "2023", "2024"])
    filled, log = impute(w, "locf", max_carry=1)
    assert filled["x"].iloc[1] == 1.0 and np.isnan(filled["x"].iloc[2]) and filled["x"].iloc[4] == 4.0
    assert len(log) == 2
    filled, _ = impute(w, "linear")
    assert filled["x"].tolist()[:4] == [1.0, 2.0, 3.0, 4.0]
    assert np.isnan(filled["x"].iloc[4])  # never extrapolates


def test_impute_panel_does_not_cross_units():
    w = _wide({"x": [1.0, np.nan, np.nan, 5.0]}, ["a", "b"], ["2023", "2024"])
    filled, _ = impute(w, "locf", max_carry=3)
    assert filled["x"].tolist()[:2] == [1.0, 1.0] and np.isnan(filled["x"].iloc[2])


def test_screen_units_by_availability():
    w = _wide({"x": [1.0, np.nan, 3.0], "y": [1.0, np.nan, np.nan]}, ["a", "b", "c"], ["2024"])
    kept, dropped = screen_units(w, 0.5)
    assert kept.index.get_level_values("unit").tolist() == ["a", "c"]
    assert dropped.to_dict("records") == [{"unit": "b", "period": "2024", "coverage": 0.0}]
    with pytest.raises(InputError, match="threshold"):
        screen_units(w, 50)


def test_skew_kurtosis_are_the_type2_sample_formulas():
    x = np.array([2.0, 3, 5, 7, 11, 13, 17, 19, 23, 90])
    n = len(x)
    m = x.mean()
    m2, m3, m4 = ((x - m) ** 2).mean(), ((x - m) ** 3).mean(), ((x - m) ** 4).mean()
    g1, g2 = m3 / m2 ** 1.5, m4 / m2 ** 2 - 3
    G1 = g1 * np.sqrt(n * (n - 1)) / (n - 2)
    G2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    s, k = skew_kurtosis(x)
    assert s == pytest.approx(G1) and k == pytest.approx(G2)


def test_winsorise_one_point_at_a_time_until_it_passes():
    x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 60, 100])
    w = _wide({"x": x}, [f"u{i:02d}" for i in range(len(x))], ["2024"])
    s0, k0 = skew_kurtosis(x)
    assert abs(s0) >= 2 and k0 >= 3.5  # fails the check
    treated, log, summary = treat_outliers(w, max_winsorised=5)
    n_w = int(summary.loc["x", "n_winsorised"])
    assert n_w >= 1 and bool(summary.loc["x", "passes"])
    assert len(log) == n_w and set(log["method"]) == {"winsorised"}
    # Winsorising replaces the largest values by the next value inward.
    assert treated["x"].max() < 100 and treated["x"].min() == 1.0
    s1, k1 = skew_kurtosis(treated["x"])
    assert abs(s1) < 2 or k1 < 3.5


def test_log_transform_when_winsorising_is_not_enough():
    x = np.r_[np.ones(30), np.geomspace(10, 1e6, 8)]
    w = _wide({"x": x}, [f"u{i:02d}" for i in range(len(x))], ["2024"])
    treated, log, summary = treat_outliers(w, max_winsorised=1)
    assert bool(summary.loc["x", "log_transformed"]) and int(summary.loc["x", "n_winsorised"]) == 0
    np.testing.assert_allclose(treated["x"], np.log(x - x.min() + 1))
    assert set(log["method"]) == {"log"}
    # Order is preserved by the transform.
    assert (np.argsort(treated["x"].to_numpy(), kind="stable") == np.argsort(x, kind="stable")).all()


def test_passing_indicators_are_untouched():
    w = _wide({"x": np.arange(20.0)}, [f"u{i:02d}" for i in range(20)], ["2024"])
    treated, log, summary = treat_outliers(w)
    assert treated.equals(w) and len(log) == 0 and bool(summary.loc["x", "passes"])
