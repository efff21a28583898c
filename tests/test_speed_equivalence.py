"""The fast paths of issue 20 against the straightforward computations they replace (hypothesis): average ranks
against pandas, sums of separate arrays against numpy's reduction, the Monte Carlo's split aggregation against
``aggregate_children``, row medians against ``np.nanmedian``, change points against a per-series dynamic programme,
sorting within groups against ``np.lexsort``, and the imputation-only replay against a full replay."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from govlib.index.aggregate import aggregate_children
from govlib.index.composite import CompositeIndex
from govlib.index.normalise import _average_ranks, normalise, normalise_array
from govlib.index.uncertainty import _aggregate_split, _ordered_sum
from govlib.trend.changepoint import _nanmedian_rows, change_points
from govlib.trend.mannkendall import _sort_within

# values with ties (few distinct numbers), NaN and signed zeros
_values = st.sampled_from([np.nan, -0.0, 0.0, 1.0, -2.5, 3.25, 1e-300, 7.0])


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 25), st.integers(1, 8)), elements=_values))
def test_average_ranks_equal_pandas(a):
    expected = pd.DataFrame(a).rank(method="average").to_numpy(float)
    assert np.array_equal(_average_ranks(a), expected, equal_nan=True)


def test_normalise_array_is_what_normalise_does_per_method():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, 3.0, (30, 4))
    x[rng.random(x.shape) < 0.1] = np.nan
    fw = pd.DataFrame({"code": list("abcd"), "direction": [1, -1, 1, 1], "goalpost_low": 0.0, "goalpost_high": 20.0,
                       "target": 15.0})
    for method in ("minmax", "zscore", "percentile_rank", "goalposts", "distance_to_target", "fraction_of_max"):
        table = normalise(pd.DataFrame(x, columns=list("abcd")), fw, method=method).to_numpy()
        params = {c: fw[c].to_numpy() for c in ("goalpost_low", "goalpost_high", "target")}
        params["transform"] = np.array(["none"] * 4, dtype=object)
        # (a table's values come out column-major: a mean's summation order, hence its last bit, may differ)
        assert np.allclose(normalise_array(x, method, fw["direction"].to_numpy(), params), table, rtol=1e-13,
                           atol=1e-13, equal_nan=True), method


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 6), st.integers(1, 20)),
              elements=st.floats(-1e6, 1e6, allow_nan=False, width=64)))
def test_ordered_sum_is_numpys_sum_bit_for_bit(a):
    parts = [a[:, j] for j in range(a.shape[1])]
    assert np.array_equal(_ordered_sum(parts), a.sum(axis=1))


@pytest.mark.parametrize("method", ["arithmetic", "geometric", "harmonic", "mpi"])
def test_split_aggregation_equals_aggregate_children(method):
    """One node, children shared by all runs or per run, random weights and drops: the same scores as
    aggregate_children on the stacked arrays (the Monte Carlo's old path)."""
    rng = np.random.default_rng(7)
    R, n, c = 9, 40, 5
    shared = rng.uniform(0.5, 100.0, (n, c))
    shared[rng.random((n, c)) < 0.15] = np.nan
    per_run = rng.uniform(0.5, 100.0, (R, n))
    per_run[:, rng.random(n) < 0.1] = np.nan
    app = rng.random((n, c)) > 0.1
    w = rng.uniform(0.5, 2.0, (R, c))
    w[rng.random((R, c)) < 0.2] = 0.0  # left-out indicators
    wn = np.where(w > 0, rng.uniform(0.5, 2.0, c), 0.0)
    values = [shared[:, j] for j in range(c - 1)] + [per_run]
    stacked = np.stack([np.broadcast_to(v, (R, n)) for v in values], axis=-1)
    avail = [app[:, j] & ~np.isnan(shared[:, j]) for j in range(c - 1)] + [app[:, -1] & ~np.isnan(per_run[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, _ = aggregate_children(stacked, w[:, None, :], method, applicable=app[None], coverage_threshold=0.6,
                                         zero_rule="epsilon", epsilon=1.0, coverage_weights=wn[:, None, :])
        got, node_app = _aggregate_split(values, [app[:, j] for j in range(c)], avail, list(w.T), list(wn.T), method,
                                         0.6, 1.0, {})
    assert np.allclose(got, expected, rtol=0, atol=0, equal_nan=True)
    assert np.array_equal(node_app, (app[None] & (wn[:, None, :] > 0)).any(axis=-1))


@settings(max_examples=60, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 8), st.integers(0, 12)), elements=_values))
def test_row_medians_equal_nanmedian(a):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.nanmedian(a, axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)
    assert np.array_equal(_nanmedian_rows(a), expected, equal_nan=True)


def _one_series_changes(x, penalty, min_size):
    """Optimal partitioning of one series, written out (the reference of the vectorised, length-sorted DP)."""
    x = x[~np.isnan(x)]
    n = len(x)
    c1, c2 = np.concatenate([[0.0], np.cumsum(x)]), np.concatenate([[0.0], np.cumsum(x ** 2)])
    best, last = [-penalty] + [np.inf] * n, [0] * (n + 1)
    for t in range(min_size, n + 1):
        for s in [0] + list(range(min_size, t - min_size + 1)):
            cost = best[s] + (c2[t] - c2[s]) - (c1[t] - c1[s]) ** 2 / (t - s) + penalty
            if cost < best[t]:
                best[t], last[t] = cost, s
    out, t = [], n
    while t > 0 and n >= 2 * min_size:
        s = last[t]
        if s > 0:
            out.append(s)
        t = s
    return sorted(out)


@pytest.mark.parametrize("min_size", [1, 2, 3])
def test_change_points_on_series_of_different_lengths(min_size):
    rng = np.random.default_rng(min_size)
    lengths = rng.integers(0, 30, 40)
    x = np.full((40, 30), np.nan)
    for r, n in enumerate(lengths):
        x[r, :n] = np.round(rng.normal(0, 1, n) + 3 * (np.arange(n) > n // 2), 1)
    pen = rng.uniform(0.5, 4.0, 40)
    got = change_points(x, penalty=pen, min_size=min_size)
    for r in range(40):
        assert got.loc[got["series"] == r, "k"].tolist() == _one_series_changes(x[r], pen[r], min_size), r


def test_sort_within_groups_equals_lexsort():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 300, 50)
    owner = np.repeat(np.arange(50), counts)
    flat = np.round(rng.normal(size=len(owner)), 2)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    assert np.array_equal(_sort_within(flat, owner, counts, starts), flat[np.lexsort((flat, owner))])


def test_treated_with_equals_a_full_replay():
    rng = np.random.default_rng(5)
    fw = pd.DataFrame({"code": ["I", "a", "b", "c"], "parent": [None, "I", "I", "I"]})
    obs = pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(8)], 6), "period": np.tile(["2023", "2024"], 24),
                        "indicator": np.tile(np.repeat(["a", "b", "c"], 2), 8), "value": rng.random(48)})
    obs = obs[rng.random(48) > 0.2]
    ci = CompositeIndex(obs, fw, outliers="winsorise")
    for method in ("mean", "median", "none"):
        pd.testing.assert_frame_equal(ci.treated_with(method), ci.replay(imputation=method).stages["treated"])
