"""Aggregation: the OECD/JRC Handbook example, zero handling, coverage, per-node methods, batched weights."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.index.aggregate import (aggregate_children, aggregate_tree, generalised_mean, mpi, weighted_arithmetic,
                              weighted_geometric, weighted_harmonic)
from govlib.errors import InputError


def test_handbook_geometric_vs_arithmetic():
    # OECD/JRC Handbook (2008) pp. 103-104: (21,1,1,1) and (6,6,6,6) share the arithmetic mean 6; geometric
    # means 2.14 and 6.00; raising the second value by one gives 2.54 and 6.23 (the Handbook truncates to 2 dp).
    x = np.array([[21, 1, 1, 1], [6, 6, 6, 6]], dtype=float)
    assert weighted_arithmetic(x).tolist() == [6.0, 6.0]
    geo = weighted_geometric(x)
    assert [math.floor(v * 100) / 100 for v in geo] == [2.14, 6.00]
    raised = x.copy()
    raised[:, 1] += 1
    geo2 = weighted_geometric(raised)
    assert [math.floor(v * 100) / 100 for v in geo2] == [2.54, 6.23]
    np.testing.assert_allclose(geo2, [2.54, 6.23], atol=0.01)
    # The point of the example: the unbalanced unit gains far more from the same +1 under the geometric mean.
    assert (geo2[0] - geo[0]) / geo[0] > (geo2[1] - geo[1]) / geo[1]


def test_means_of_order_p_agree_with_the_named_means():
    x = np.array([[1.0, 4.0, 16.0], [2.0, 3.0, 5.0]])
    w = np.array([1.0, 2.0, 1.0])
    np.testing.assert_allclose(generalised_mean(x, w, p=1), weighted_arithmetic(x, w))
    np.testing.assert_allclose(generalised_mean(x, w, p=0), weighted_geometric(x, w))
    np.testing.assert_allclose(generalised_mean(x, w, p=-1), weighted_harmonic(x, w))
    np.testing.assert_allclose(weighted_geometric(x[:1], w), [(1 * 4 * 4 * 16) ** 0.25])


def test_mpi_uses_population_sd_penalty():
    x = np.array([[90.0, 110.0, 100.0]])
    m, s = x.mean(), x.std(ddof=0)
    assert mpi(x)[0] == pytest.approx(m - s * (s / m))
    assert mpi([[100.0, 100.0]])[0] == 100.0


def test_geometric_over_a_zero_is_refused_or_floored_by_a_named_rule():
    with pytest.raises(InputError, match="<= 0.*zero_rule"):
        weighted_geometric([[0.0, 50.0]])
    with pytest.raises(InputError, match="node D1"):
        aggregate_children([[0.0, 50.0]], method="geometric", node="D1")
    floored = weighted_geometric([[0.0, 50.0]], zero_rule="epsilon", epsilon=1.0)
    assert floored[0] == pytest.approx(math.sqrt(50.0))
    with pytest.raises(InputError, match="<= 0"):
        weighted_harmonic([[0.0, 50.0]])
    # A zero weight or a missing value does not trigger the rule.
    assert weighted_geometric([[0.0, 50.0]], [0.0, 1.0])[0] == pytest.approx(50.0)


def test_missing_children_renormalise_weights_above_the_coverage_threshold():
    v = np.array([[50.0, np.nan, 70.0], [np.nan, np.nan, 70.0]])
    s, cov = aggregate_children(v, [1.0, 1.0, 2.0], coverage_threshold=0.5)
    assert cov.tolist() == [0.75, 0.5]
    assert s[0] == pytest.approx((50 + 2 * 70) / 3) and s[1] == 70.0
    s, _ = aggregate_children(v, [1.0, 1.0, 2.0], coverage_threshold=0.6)
    assert np.isnan(s[1])


def test_children_that_do_not_apply_do_not_reduce_coverage():
    v = np.array([[50.0, np.nan], [60.0, 80.0]])
    app = np.array([[True, False], [True, True]])  # child 2 is an individual indicator of the other peer group
    s, cov = aggregate_children(v, [1.0, 1.0], applicable=app, coverage_threshold=1.0)
    assert cov.tolist() == [1.0, 1.0] and s.tolist() == [50.0, 70.0]


def test_batched_weights_one_set_per_replication():
    v = np.array([[[10.0, 20.0]], [[10.0, 20.0]]])  # (R=2, n=1, k=2)
    w = np.array([[[1.0, 0.0]], [[1.0, 3.0]]])
    s, _ = aggregate_children(v, w)
    assert s[:, 0].tolist() == [10.0, 17.5]


def _tree():
    return pd.DataFrame({
        "code": ["I", "D1", "D2", "a", "b", "c", "ctx"],
        "parent": [None, "I", "I", "D1", "D1", "D2", "D2"],
        "is_leaf": [False, False, False, True, True, True, True],
        "level": [0, 1, 1, 2, 2, 2, 2],
        "direction": [1, 1, 1, 1, 1, 1, 0],
        "weight": [1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 1.0],
        "aggregation": ["geometric", "", "harmonic", "", "", "", ""],
    })


def test_each_node_has_its_own_method():
    data = pd.DataFrame({"a": [20.0, 80.0], "b": [40.0, 20.0], "c": [90.0, 10.0]})
    scores, cov = aggregate_tree(data, _tree())
    d1 = (data["a"] + data["b"]) / 2
    np.testing.assert_allclose(scores["D1"], d1)          # default arithmetic
    np.testing.assert_allclose(scores["D2"], data["c"])   # harmonic of one child; context leaf left out
    np.testing.assert_allclose(scores["I"], d1 ** 0.25 * data["c"] ** 0.75)  # geometric, weights 1:3
    assert "ctx" not in scores.columns
    assert (cov["I"] == 1).all()


def test_generalised_mean_order_from_the_framework():
    nodes = _tree()
    nodes.loc[nodes["code"] == "I", "aggregation"] = "generalised:2"
    data = pd.DataFrame({"a": [20.0], "b": [40.0], "c": [90.0]})
    scores, _ = aggregate_tree(data, nodes)
    assert scores["I"][0] == pytest.approx(math.sqrt((30.0 ** 2 + 3 * 90.0 ** 2) / 4))
    nodes.loc[nodes["code"] == "I", "aggregation"] = "generalised:two"
    with pytest.raises(InputError, match="order p"):
        aggregate_tree(data, nodes)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(1.0, 100.0), min_size=2, max_size=8),
       method=st.sampled_from(["arithmetic", "geometric", "harmonic", "mpi"]))
def test_means_lie_between_min_and_max(values, method):
    x = np.array([values])
    s, _ = aggregate_children(x, method=method)
    assert s[0] <= max(values) + 1e-9
    if method != "mpi":  # the MPI penalty may push below the minimum only when dispersion is large
        assert s[0] >= min(values) - 1e-9
