"""Normalisation methods: conventions, direction, pooling, bad input, and properties (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from scipy import stats as sstats

from govlib.errors import InputError
from govlib.index.normalise import percentile_rank, ratio_to_statistic
from govlib.index.normalise import (ampi, distance_to_reference, distance_to_target, fraction_of_max, goalposts, min_max,
                              normalise, rank_score, z_score)


def test_min_max_to_custom_range_and_constant_column():
    x = np.array([[2.0, 5.0], [4.0, 5.0], [6.0, 5.0]])
    out = min_max(x, low=1, high=100)
    assert out[:, 0].tolist() == [1.0, 50.5, 100.0]
    assert out[:, 1].tolist() == [50.5, 50.5, 50.5]  # a constant column maps to the midpoint


def test_z_score_ddof_is_named_and_matters():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    sample = z_score(x, ddof=1).ravel()
    population = z_score(x, ddof=0).ravel()
    assert sample[-1] == pytest.approx(1.5 / np.std(x, ddof=1))
    assert population[-1] == pytest.approx(1.5 / np.std(x, ddof=0))
    assert z_score(x, direction=-1, ddof=1).ravel()[-1] == pytest.approx(-sample[-1])


def test_goalposts_cap_after_log_transform():
    # UNDP income index: (ln x - ln 100) / (ln 75000 - ln 100), capped at 1.
    x = np.array([[50.0], [100.0], [1000.0], [75000.0], [120000.0]])
    out = goalposts(x, goalpost_low=[100], goalpost_high=[75000], transform=["log"], low=0, high=1).ravel()
    expected = (np.log(1000) - np.log(100)) / (np.log(75000) - np.log(100))
    assert out.tolist()[:2] == [0.0, 0.0] and out[3] == 1.0 and out[4] == 1.0
    assert out[2] == pytest.approx(expected)
    uncapped = goalposts(x, goalpost_low=[100], goalpost_high=[75000], transform=["log"], cap=False, high=1).ravel()
    assert uncapped[4] > 1 and uncapped[0] < 0


def test_goalposts_negative_direction_and_missing_goalposts():
    out = goalposts([[10.0], [30.0]], direction=-1, goalpost_low=[10], goalpost_high=[30], high=100).ravel()
    assert out.tolist() == [100.0, 0.0]
    with pytest.raises(InputError, match="goalpost"):
        goalposts([[1.0]], goalpost_low=[np.nan], goalpost_high=[2])


def test_distance_to_target_and_reference():
    out = distance_to_target([[2.0], [6.0], [10.0], [14.0]], target=[10], high=100).ravel()
    assert out.tolist() == [0.0, 50.0, 100.0, 100.0]
    out = distance_to_target([[2.0], [6.0], [10.0]], direction=-1, target=[4], high=1).ravel()
    np.testing.assert_allclose(out, [1.0, 2 / 3, 0.0])
    ref = distance_to_reference([[50.0], [100.0], [80.0], [40.0]], reference_rows=[False, True, False, True],
                                groups=["a", "a", "b", "b"]).ravel()
    assert ref.tolist() == [50.0, 100.0, 200.0, 100.0]


def test_rank_tie_rules_are_named():
    x = [10.0, 30.0, 30.0, 5.0]
    assert rank_score(x, ties="average").ravel().tolist() == [2.0, 3.5, 3.5, 1.0]
    assert rank_score(x, ties="min").ravel().tolist() == [2.0, 3.0, 3.0, 1.0]
    assert rank_score(x, ties="max").ravel().tolist() == [2.0, 4.0, 4.0, 1.0]
    assert rank_score(x, ties="dense").ravel().tolist() == [2.0, 3.0, 3.0, 1.0]
    assert rank_score(x, direction=-1, ties="min").ravel().tolist() == [3.0, 1.0, 1.0, 4.0]
    np.testing.assert_allclose(percentile_rank(x, ties="average").ravel(), [100 / 3, 250 / 3, 250 / 3, 0.0])
    with pytest.raises(InputError, match="ties"):
        rank_score(x, ties="first-come")


def test_fraction_of_max_refuses_non_positive_values():
    assert fraction_of_max([[2.0], [4.0]], direction=-1).ravel().tolist() == [100.0, 50.0]
    with pytest.raises(InputError, match="positive"):
        fraction_of_max([[0.0], [4.0]])


def test_ampi_reference_is_100_and_range_70_130():
    x = np.array([[10.0], [20.0], [30.0], [40.0], [50.0]])
    out = ampi(x).ravel()  # reference = mean 30
    assert out.tolist() == [70.0, 85.0, 100.0, 115.0, 130.0]
    out = ampi(x, direction=-1).ravel()
    assert out.tolist() == [130.0, 115.0, 100.0, 85.0, 70.0]
    out = ampi(x, reference=[20.0]).ravel()
    assert out[1] == 100.0 and out[-1] == 145.0


def test_pooled_vs_per_period_normalisation():
    idx = pd.MultiIndex.from_product([["a", "b"], ["2023", "2024"]], names=["unit", "period"])
    v = pd.DataFrame({"x": [1.0, 3.0, 2.0, 4.0]}, index=idx)
    fw = pd.DataFrame({"code": ["x"], "direction": [1]})
    pooled = normalise(v, fw)["x"].tolist()
    per = normalise(v, fw, groups=idx.get_level_values("period"))["x"].tolist()
    np.testing.assert_allclose(pooled, [0.0, 200 / 3, 100 / 3, 100.0])  # unit a improves 1 -> 3: a real change
    assert per == [0.0, 0.0, 100.0, 100.0]  # within a period only the order is left


def test_normalise_frame_context_overrides_and_errors():
    v = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 30.0], "c": [5.0, 6.0, 7.0]})
    fw = pd.DataFrame({"code": ["a", "b", "c"], "direction": [1, 0, -1], "normalisation": ["", "", "percentile_rank"],
                       "goalpost_low": np.nan, "goalpost_high": np.nan})
    out = normalise(v, fw, scale=(0, 1))
    assert out["a"].tolist() == [0.0, 0.5, 1.0]
    assert out["b"].isna().all()  # context: shown, never scored
    assert out["c"].tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(InputError, match="unknown method"):
        normalise(v, fw, method="softmax")
    with pytest.raises(InputError, match="not indicators"):
        normalise(v.assign(d=1.0), fw)


# ------------------------------------------------------------------------------------------------ properties
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
columns = arrays(np.float64, st.integers(3, 25), elements=finite)
BOUNDED = ["minmax", "percentile_rank", "distance_to_target"]


def _apply(method, x, direction):
    fw = pd.DataFrame({"code": ["x"], "direction": [direction], "target": [float(np.median(x))]})
    return normalise(pd.DataFrame({"x": x}), fw, method=method, scale=(0, 100))["x"].to_numpy()


@settings(max_examples=60, deadline=None)
@given(x=columns, direction=st.sampled_from([1, -1]),
       method=st.sampled_from(["minmax", "zscore", "percentile_rank", "rank", "ampi", "distance_to_target"]))
def test_normalisation_is_monotone_in_the_direction(x, direction, method):
    out = _apply(method, x, direction)
    order = np.argsort(x * direction, kind="stable")
    assert np.all(np.diff(out[order]) >= -1e-9 * max(1.0, np.abs(out).max()))


@settings(max_examples=60, deadline=None)
@given(x=columns, direction=st.sampled_from([1, -1]), method=st.sampled_from(BOUNDED))
def test_bounded_scores_stay_within_the_scale(x, direction, method):
    out = _apply(method, x, direction)
    assert np.all(out >= -1e-9) and np.all(out <= 100 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(x=columns, perm_seed=st.integers(0, 1000),
       method=st.sampled_from(["minmax", "zscore", "percentile_rank", "ampi"]))
def test_reordering_rows_changes_nothing(x, perm_seed, method):
    perm = np.random.default_rng(perm_seed).permutation(len(x))
    a = _apply(method, x, 1)
    b = _apply(method, x[perm], 1)
    np.testing.assert_allclose(a[perm], b, rtol=1e-12, atol=1e-9)


def test_goalposts_property_log_equals_manual():
    x = np.array([[150.0], [5000.0]])
    out = goalposts(x, goalpost_low=[100], goalpost_high=[75000], transform=["log"], high=1).ravel()
    manual = [(math.log(v) - math.log(100)) / (math.log(75000) - math.log(100)) for v in (150.0, 5000.0)]
    np.testing.assert_allclose(out, manual)


# ---------------------------------------------------------------- issue 16: ratio to a statistic, percentile conventions
_pos = st.lists(st.floats(0.1, 1e4, allow_nan=False), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(_pos, st.floats(0.01, 100))
def test_ratio_to_mean_properties(xs, c):
    x = np.array(xs)
    r = ratio_to_statistic(x).ravel()
    assert np.mean(r) == pytest.approx(100.0)                          # the average unit scores 100
    np.testing.assert_allclose(ratio_to_statistic(c * x).ravel(), r, rtol=1e-9)  # unit-free
    np.testing.assert_allclose(ratio_to_statistic(x, -1).ravel(), 100 * np.mean(x) / x, rtol=1e-12)
    med = ratio_to_statistic(x, statistic="median").ravel()
    np.testing.assert_allclose(med, 100 * x / np.median(x), rtol=1e-12)


def test_ratio_to_statistic_per_group_and_errors():
    x = np.array([[1.0], [3.0], [10.0], [30.0]])
    got = ratio_to_statistic(x, groups=["a", "a", "b", "b"]).ravel()
    np.testing.assert_allclose(got, [50, 150, 50, 150])
    with pytest.raises(InputError, match="<= 0"):
        ratio_to_statistic([[-1.0], [0.5]])
    v = pd.DataFrame({"a": [2.0, 4.0, 6.0]})
    assert normalise(v, method="ratio_to_mean")["a"].tolist() == [50.0, 100.0, 150.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 8), min_size=2, max_size=25))
def test_percentile_conventions_against_scipy(xs):
    x = np.array(xs, dtype=float)
    n = len(x)
    # Handbook rank/n with ties at their highest rank = scipy's percentileofscore(kind="weak") (share <= x).
    weak = np.array([sstats.percentileofscore(x, v, kind="weak") for v in x])
    np.testing.assert_allclose(percentile_rank(x, ties="max", convention="rank/n").ravel(), weak, atol=1e-9)
    # (rank-1)/(n-1) with min ties = dplyr::percent_rank / COINr n_prank.
    expect = 100 * (sstats.rankdata(x, method="min") - 1) / (n - 1)
    np.testing.assert_allclose(percentile_rank(x, ties="min").ravel(), expect, atol=1e-9)


def test_percentile_convention_is_reachable_and_validated():
    v = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    assert normalise(v, method="percentile_rank", percentile="rank/n")["a"].tolist() == [25.0, 50.0, 75.0, 100.0]
    with pytest.raises(InputError, match="convention"):
        percentile_rank([1.0, 2.0], convention="rank/(n+1)")
