"""Gini and Theil: textbook values, the formulas written out independently, and invariance properties."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govlib.errors import InputError
from govlib.services.inequality import gini, inequality_by_group, theil


def gini_mean_difference(x, w=None):
    """Textbook Gini: sum_i sum_j w_i w_j |x_i - x_j| / (2 W^2 mean), written as an explicit double loop."""
    w = [1.0] * len(x) if w is None else list(w)
    total_w = sum(w)
    mean = sum(wi * xi for wi, xi in zip(w, x)) / total_w
    acc = 0.0
    for (xi, wi), (xj, wj) in itertools.product(zip(x, w), repeat=2):
        acc += wi * wj * abs(xi - xj)
    return acc / (2 * total_w ** 2 * mean)


def theil_t_textbook(x, w=None):
    w = [1.0] * len(x) if w is None else list(w)
    total_w = sum(w)
    mean = sum(wi * xi for wi, xi in zip(w, x)) / total_w
    return sum((wi / total_w) * (xi / mean) * math.log(xi / mean) for wi, xi in zip(w, x) if xi > 0)


def test_gini_textbook_values():
    # 1..5: mean absolute difference 1.6, mean 3 -> G = 1.6 / (2 * 3) = 4/15
    assert gini([1, 2, 3, 4, 5]) == pytest.approx(4 / 15, abs=1e-12)
    assert gini([7, 7, 7]) == 0.0
    # one of n holds everything: population Gini (n-1)/n, small-sample Gini 1
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert gini([0, 0, 0, 10], small_sample=True) == pytest.approx(1.0)


@pytest.mark.parametrize("x", [[3.0, 5.0, 12.0], [10.0, 0.0, 4.0, 4.0], [147, 120, 98, 133]])
def test_gini_and_theil_match_the_formulas_on_few_communities(x):
    assert gini(x) == pytest.approx(gini_mean_difference(x), rel=1e-12)
    assert theil(x) == pytest.approx(theil_t_textbook(x), rel=1e-12)


def test_weighted_equals_replicated_population():
    x, w = [2.0, 5.0, 9.0], [3, 1, 2]
    replicated = np.repeat(x, w)
    assert gini(x, w) == pytest.approx(gini(replicated), rel=1e-12)
    assert gini(x, w) == pytest.approx(gini_mean_difference(x, w), rel=1e-12)
    assert theil(x, w) == pytest.approx(theil(replicated), rel=1e-12)
    assert theil(x, w) == pytest.approx(theil_t_textbook(x, w), rel=1e-12)


def test_theil_bounds_and_mld():
    # all to one of n: Theil T = ln n (its maximum); MLD is infinite
    assert theil([0, 0, 0, 8]) == pytest.approx(math.log(4))
    assert theil([0, 1], index="L") == math.inf
    x = [1.0, 2.0, 4.0]
    mld = np.mean(np.log(np.mean(x) / np.asarray(x)))
    assert theil(x, index="L") == pytest.approx(mld)


def test_missing_values_dropped_and_degenerate_cases():
    assert gini([1, np.nan, 3]) == pytest.approx(gini([1, 3]))
    assert math.isnan(gini([]))
    assert math.isnan(theil([0, 0]))


@pytest.mark.parametrize("call", [lambda: gini([1, -2, 3]), lambda: theil([1, np.inf]),
                                  lambda: gini([1, 2], weights=[1]), lambda: theil([1, 2], index="X"),
                                  lambda: gini([1, 2], weights=[1, 2], small_sample=True),
                                  lambda: gini([1, 2], weights=[1, -1])])
def test_bad_arguments_raise_input_error(call):
    with pytest.raises(InputError):
        call()


def test_negative_value_message_names_the_values():
    with pytest.raises(InputError, match=r"non-negative.*-2"):
        gini([1, -2, 3])


values = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_subnormal=False), min_size=2,
                  max_size=30)


@settings(max_examples=60, deadline=None)
@given(values, st.floats(min_value=0.01, max_value=100))
def test_scale_and_permutation_invariance(x, k):
    if sum(x) == 0:
        return
    g, t = gini(x), theil(x)
    assert 0 <= g < 1
    assert 0 <= t <= math.log(len(x)) + 1e-9
    assert gini([k * v for v in x]) == pytest.approx(g, abs=1e-9)
    assert theil([k * v for v in x]) == pytest.approx(t, abs=1e-9)
    assert gini(list(reversed(x))) == pytest.approx(g, abs=1e-12)
    # population principle: duplicating everybody changes nothing
    assert gini(x + x) == pytest.approx(g, abs=1e-9)
    assert theil(x + x) == pytest.approx(t, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(min_value=0.1, max_value=1e4),
                          st.integers(min_value=1, max_value=50)), min_size=1, max_size=40))
def test_grouped_equals_one_group_at_a_time(rows):
    df = pd.DataFrame(rows, columns=["g", "x", "w"])
    out = inequality_by_group(df, "g", "x", weight="w", floor=100.0).set_index("g")
    for g, part in df.groupby("g"):
        assert out.loc[g, "gini"] == pytest.approx(gini(part["x"], part["w"]), abs=1e-9)
        assert out.loc[g, "theil"] == pytest.approx(theil(part["x"], part["w"]), abs=1e-9)
        below = part.loc[part["x"] < 100, "w"].sum() / part["w"].sum()
        assert out.loc[g, "share_below_floor"] == pytest.approx(below)
        assert out.loc[g, "n"] == len(part)


def test_grouped_missing_column_is_named():
    with pytest.raises(InputError, match="'nope'|nope"):
        inequality_by_group(pd.DataFrame({"g": [1], "x": [1.0]}), "g", "nope")
