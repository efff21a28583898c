"""The change decomposition (govlib.index.decompose): hand-made golden cases and the exact-sum invariant."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.index.decompose import decompose_change, largest_contributions, log_mean


def _scores(values: dict[str, tuple[float, float]], unit: str = "u") -> pd.DataFrame:
    rows = [(unit, p, node, v[i]) for node, v in values.items() for i, p in enumerate(("2024", "2025"))]
    return pd.DataFrame(rows, columns=["unit", "period", "node", "score"])


def _by_node(d: pd.DataFrame) -> dict[str, float]:
    return dict(zip(d["node"], d["contribution"].round(12)))


def test_arithmetic_two_levels_by_hand():
    # R = (D1 + D2) / 2; D1 = (1 a + 3 b) / 4; D2 = c.  a: 40 -> 60, b: 60 -> 56, c: 30 -> 33.
    tree = pd.DataFrame({"code": ["R", "D1", "a", "b", "D2", "c"], "parent": [None, "R", "D1", "D1", "R", "D2"],
                         "weight": [1, 1, 1, 3, 1, 1]})
    d1 = (55.0, (60 + 3 * 56) / 4)   # 55 -> 57
    r = ((55 + 30) / 2, (57 + 33) / 2)  # 42.5 -> 45
    d = decompose_change(_scores({"R": r, "D1": d1, "a": (40, 60), "b": (60, 56), "D2": (30, 33), "c": (30, 33)}),
                         tree, "2025", "2024")
    got = _by_node(d)
    # hand: a = 20 * 1/4 * 1/2 = 2.5; b = -4 * 3/4 * 1/2 = -1.5; c = 3 * 1/2 = 1.5; D1 = 1; D2 = 1.5; R = 2.5
    assert got == {"R": 2.5, "D1": 1.0, "a": 2.5, "b": -1.5, "D2": 1.5, "c": 1.5}
    assert set(d["kind"]) == {"root", "node", "leaf"}
    assert largest_contributions(d, "u")["node"].tolist() == ["a", "b"]


def test_geometric_lmdi_by_hand():
    # R = sqrt(a b); a: 4 -> 9, b: 1 -> 1: R 2 -> 3, all of the change is a's.
    tree = pd.DataFrame({"code": ["R", "a", "b"], "parent": [None, "R", "R"], "aggregation": ["geometric", "", ""]})
    d = decompose_change(_scores({"R": (2, 3), "a": (4, 9), "b": (1, 1)}), tree, "2025", "2024")
    assert _by_node(d) == {"R": 1.0, "a": 1.0, "b": 0.0}
    # a: 1 -> 4, b: 4 -> 1: R stays at 2, and the parts are +-L(2, 2) * 0.5 * ln 4 = +-ln 4
    d = decompose_change(_scores({"R": (2, 2), "a": (1, 4), "b": (4, 1)}), tree, "2025", "2024")
    got = _by_node(d)
    assert got["a"] == pytest.approx(math.log(4)) and got["b"] == pytest.approx(-math.log(4))
    assert d["method"].iloc[1] == "geometric"


def test_a_child_missing_in_one_period_shows_as_coverage():
    # 2024: R = mean(a, b) = 50; 2025: b is missing, R = a = 70. Common child a: +20 * 1 (renormalised).
    tree = pd.DataFrame({"code": ["R", "a", "b"], "parent": [None, "R", "R"]})
    scores = _scores({"R": (50, 70), "a": (50, 70), "b": (50, np.nan)})
    got = _by_node(decompose_change(scores, tree, "2025", "2024"))
    assert got == {"R": 20.0, "a": 20.0, "b": 0.0}
    # now a falls: 2024 mean(a=60, b=40) = 50; 2025 only a=55 -> R 55: a explains -5, coverage +10
    scores = _scores({"R": (50, 55), "a": (60, 55), "b": (40, np.nan)})
    got = _by_node(decompose_change(scores, tree, "2025", "2024"))
    assert got == {"R": 5.0, "a": -5.0, "b": 0.0, "R:coverage": 10.0}


def test_other_methods_are_not_decomposed_and_errors_are_clear():
    tree = pd.DataFrame({"code": ["R", "a", "b"], "parent": [None, "R", "R"], "aggregation": ["mpi", "", ""]})
    d = decompose_change(_scores({"R": (50, 52), "a": (50, 54), "b": (50, 50)}), tree, "2025", "2024")
    assert _by_node(d) == {"R": 2.0, "a": 0.0, "b": 0.0, "R:coverage": 2.0}
    assert set(d.loc[d["kind"] != "root", "method"]) == {"not decomposed"}
    with pytest.raises(InputError, match="one root"):
        decompose_change(_scores({"R": (1, 2)}), pd.DataFrame({"code": ["R", "S"], "parent": [None, None]}),
                         "2025", "2024")
    with pytest.raises(InputError, match="default_method"):
        decompose_change(_scores({"R": (1, 2)}), tree, "2025", "2024", default_method="median")


def test_log_mean():
    assert log_mean([math.e], [1.0])[0] == pytest.approx((math.e - 1) / 1.0)
    assert np.isnan(log_mean([0.0], [1.0])[0])


values = st.floats(min_value=1.0, max_value=100.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(values, values, st.floats(0.1, 5.0)), min_size=2, max_size=6),
       st.lists(st.tuples(values, values, st.floats(0.1, 5.0)), min_size=1, max_size=4),
       st.sampled_from(["arithmetic", "geometric"]), st.sampled_from(["arithmetic", "geometric"]))
def test_contributions_add_up_exactly_to_the_change(first, second, top_method, dim_method):
    """Random two-dimension trees aggregated as declared: leaves and dimensions each add up to the root's change."""
    def agg(xs, ws, method):
        ws = np.asarray(ws) / np.sum(ws)
        return float(np.sum(ws * xs)) if method == "arithmetic" else float(np.prod(np.power(xs, ws)))

    codes, parents, weights, aggs, vals = ["R", "D1", "D2"], [None, "R", "R"], [1.0, 1.0, 2.0], \
        [top_method, dim_method, dim_method], {}
    for dim, leaves in (("D1", first), ("D2", second)):
        for i, (x0, x1, w) in enumerate(leaves):
            code = f"{dim}.{i}"
            codes.append(code), parents.append(dim), weights.append(w), aggs.append("")
            vals[code] = (x0, x1)
        ws = [w for _, _, w in leaves]
        vals[dim] = tuple(agg(np.array([lv[k] for lv in leaves]), ws, dim_method) for k in (0, 1))
    vals["R"] = tuple(agg(np.array([vals["D1"][k], vals["D2"][k]]), [1.0, 2.0], top_method) for k in (0, 1))
    tree = pd.DataFrame({"code": codes, "parent": parents, "weight": weights, "aggregation": aggs})
    d = decompose_change(_scores(vals), tree, "2025", "2024")
    change = vals["R"][1] - vals["R"][0]
    assert d.loc[d["kind"] == "root", "contribution"].iloc[0] == pytest.approx(change, abs=1e-9)
    assert d.loc[d["level"] == 1, "contribution"].sum() == pytest.approx(change, abs=1e-9)
    assert d.loc[d["level"] == 2, "contribution"].sum() == pytest.approx(change, abs=1e-9)
    assert not (d["kind"] == "coverage").any()


def test_a_node_whose_children_have_no_scores_is_a_leaf():
    # only the root and the dimensions were kept: the dimensions are the leaves, no coverage rows
    tree = pd.DataFrame({"code": ["R", "D1", "a", "D2", "b"], "parent": [None, "R", "D1", "R", "D2"]})
    d = decompose_change(_scores({"R": (50, 52), "D1": (40, 46), "D2": (60, 58)}), tree, "2025", "2024")
    assert dict(zip(d["node"], d["kind"])) == {"R": "root", "D1": "leaf", "D2": "leaf"}
    assert _by_node(d) == {"R": 2.0, "D1": 3.0, "D2": -1.0}
