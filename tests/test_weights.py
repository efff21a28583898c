"""Weighting methods: published reference values (REFERENCES.md), invariants, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from govlib.errors import InputError
from govlib.index.weights import (
    RI_TABLES, WeightSet, ahp_weights, critic_weights, effective_weights, empirical_effective_weights,
    entropy_weights, equal_weights, fixed_weights, pca_weights, random_index,
)

# Saaty (2008), relative consumption of drinks in the US.
DRINKS = ["coffee", "wine", "tea", "beer", "soda", "milk", "water"]
DRINKS_MATRIX = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]
XU_2004 = [[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]]
ZAVADSKAS_2016 = [[3.0, 100, 10, 7], [2.5, 80, 8, 5], [1.8, 50, 20, 11], [2.2, 70, 12, 9]]
TUS_2019 = [[5000, 3, 3, 4, 3, 2], [680, 5, 3, 2, 2, 1], [2000, 3, 2, 3, 4, 3], [600, 4, 3, 1, 2, 2],
            [800, 2, 4, 3, 3, 4]]

NODES = pd.DataFrame({
    "code": ["SGI", "D1", "D2", "a", "b", "c", "d", "ctx"],
    "parent": [None, "SGI", "SGI", "D1", "D1", "D2", "D2", "D2"],
    "weight": [1, 3, 1, 1, 1, 2, 2, 5],
    "direction": [1, 1, 1, 1, -1, 1, 1, 0],
})


# ---------------------------------------------------------------------------------------------------- AHP


def test_ahp_drinks_eigenvector_saaty1980():
    r = ahp_weights(DRINKS_MATRIX, labels=DRINKS)
    assert r.weights.round(3).tolist() == [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert list(r.weights.index) == DRINKS
    assert round(r.lambda_max, 4) == 7.1766
    assert round(r.ci, 4) == 0.0294
    assert round(r.cr, 4) == 0.0223
    assert r.ri == 1.32 and r.n == 7


def test_ahp_drinks_cr_per_table():
    assert round(ahp_weights(DRINKS_MATRIX, ri_table="saaty2005").cr, 4) == 0.0218
    # Chinese textbook RI(7) = 1.36: CR = CI / 1.36 (no published CR; check the table is the one used).
    r = ahp_weights(DRINKS_MATRIX, ri_table="chinese_textbook")
    assert r.ri == 1.36 and r.cr == pytest.approx(r.ci / 1.36)


def test_ahp_drinks_geometric_mean():
    r = ahp_weights(pd.DataFrame(DRINKS_MATRIX, index=DRINKS, columns=DRINKS), method="geometric_mean")
    assert r.weights.round(3).tolist() == [0.179, 0.018, 0.042, 0.116, 0.191, 0.129, 0.324]
    assert list(r.weights.index) == DRINKS
    assert 7 < r.lambda_max < 7.3 and r.cr < 0.1


def test_random_index_tables_as_published():
    assert RI_TABLES["saaty1980"][2:] == (0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49)
    assert RI_TABLES["saaty2005"][2:] == (0.52, 0.89, 1.11, 1.25, 1.35, 1.40, 1.45, 1.49)
    assert RI_TABLES["chinese_textbook"][2:] == (0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49,
                                                 1.52, 1.54, 1.56, 1.58, 1.59)
    assert [random_index(n, t) for n in (1, 2) for t in RI_TABLES] == [0.0] * 6


def test_ahp_two_criteria_cr_zero_and_one_criterion():
    r = ahp_weights([[1, 4], [0.25, 1]])
    assert r.cr == 0.0 and r.weights.tolist() == pytest.approx([0.8, 0.2])
    assert ahp_weights([[1]]).weights.tolist() == [1.0]


def test_ahp_n15_only_with_chinese_table():
    w = np.arange(1, 16, dtype=float)
    consistent = w[:, None] / w[None, :]
    r = ahp_weights(consistent, ri_table="chinese_textbook")
    assert r.ri == 1.59 and r.cr == pytest.approx(0, abs=1e-10)
    with pytest.raises(InputError, match="chinese_textbook"):
        ahp_weights(consistent, ri_table="saaty1980")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 10), min_size=3, max_size=12), st.sampled_from(["eigenvector", "geometric_mean"]))
def test_ahp_consistent_matrix_recovers_weights(raw, method):
    w = np.array(raw)
    r = ahp_weights(w[:, None] / w[None, :], method=method, ri_table="chinese_textbook")
    assert r.weights.to_numpy() == pytest.approx(w / w.sum(), rel=1e-8)
    assert r.lambda_max == pytest.approx(len(w), rel=1e-9) and r.cr == pytest.approx(0, abs=1e-8)


def test_ahp_not_reciprocal_names_cell_and_values():
    bad = [row[:] for row in DRINKS_MATRIX]
    bad[2][4] = 3  # tea vs soda: 3, while soda vs tea stays 4
    with pytest.raises(InputError, match=r"not reciprocal.*\(tea, soda\) = 3.*\(soda, tea\) = 4"):
        ahp_weights(bad, labels=DRINKS)


def test_ahp_rounded_reciprocals_accepted():
    r = ahp_weights([[1, 3, 0.5], [0.333, 1, 0.2], [2, 5, 1]])
    assert r.weights.sum() == pytest.approx(1)


def test_ahp_inconsistent_refused_unless_forced():
    m = [[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]]  # a > b > c > a
    with pytest.raises(InputError, match=r"CR = \d+\.\d+ >= 0.1"):
        ahp_weights(m)
    r = ahp_weights(m, force=True)
    assert r.cr >= 0.10 and r.weights.sum() == pytest.approx(1)


@pytest.mark.parametrize("matrix, message", [
    ([[1, 2, 3], [0.5, 1, 2]], "square"),
    ([[1, -2], [-0.5, 1]], "positive"),
    ([[2, 2], [0.5, 1]], "diagonal"),
])
def test_ahp_bad_shapes_and_values(matrix, message):
    with pytest.raises(InputError, match=message):
        ahp_weights(matrix)


def test_ahp_bad_method_and_table():
    with pytest.raises(InputError, match="method"):
        ahp_weights([[1]], method="power")
    with pytest.raises(InputError, match="ri_table"):
        ahp_weights([[1]], ri_table="saaty1977")


# ---------------------------------------------------------------------------------------------------- entropy


def test_entropy_xu_2004():
    assert entropy_weights(XU_2004).weights.round(4).tolist() == [0.4630, 0.3992, 0.1378, 0.0000]


def test_entropy_zavadskas_podvezko_raw():
    r = entropy_weights(ZAVADSKAS_2016, form="raw")
    assert r.weights.round(4).tolist() == [0.1146, 0.1981, 0.4185, 0.2689]


def test_entropy_zavadskas_podvezko_minmax():
    r = entropy_weights(ZAVADSKAS_2016, form="minmax", directions=["-", "+", "-", "+"])
    assert r.weights.round(4).tolist() == [0.2518, 0.2584, 0.2182, 0.2716]
    # numeric and mapping forms of the directions give the same
    df = pd.DataFrame(ZAVADSKAS_2016, columns=list("pqrs"))
    again = entropy_weights(df, form="minmax", directions={"p": -1, "q": 1, "r": -1, "s": 1})
    assert again.weights.to_numpy() == pytest.approx(r.weights.to_numpy())
    assert list(again.weights.index) == list("pqrs")


def test_entropy_raw_negative_refused():
    x = [[1.0, 2], [-1.0, 3], [2.0, 4]]
    with pytest.raises(InputError, match=r"\['x1'\].*negative"):
        entropy_weights(x, form="raw")
    assert entropy_weights(x, form="minmax").weights.sum() == pytest.approx(1)


def test_entropy_constant_column_gets_zero_and_leaves_others_unchanged():
    x = pd.DataFrame(ZAVADSKAS_2016, columns=list("pqrs"))
    base = entropy_weights(x).weights
    with_const = entropy_weights(x.assign(k=5.0)).weights
    assert with_const["k"] == 0.0
    assert with_const[list("pqrs")].to_numpy() == pytest.approx(base.to_numpy())
    mm = entropy_weights(x.assign(k=5.0), form="minmax").weights
    assert mm["k"] == 0.0 and mm.sum() == pytest.approx(1)
    with pytest.raises(InputError, match="constant"):
        entropy_weights([[1.0, 2], [1.0, 2]])


def test_entropy_missing_values_refused():
    with pytest.raises(InputError, match=r"missing.*\['b'\]"):
        entropy_weights(pd.DataFrame({"a": [1.0, 2], "b": [1.0, np.nan]}))


def test_entropy_bad_form_and_directions():
    with pytest.raises(InputError, match="form"):
        entropy_weights(XU_2004, form="zscore")
    with pytest.raises(InputError, match="directions"):
        entropy_weights(XU_2004, form="minmax", directions=[1, 1, 2, 1])


# ---------------------------------------------------------------------------------------------------- CRITIC


@pytest.mark.parametrize("ddof", [0, 1])
def test_critic_tus_aytac_adali_2019(ddof):
    r = critic_weights(TUS_2019, ddof=ddof)
    assert r.weights.round(3).tolist() == [0.157, 0.249, 0.168, 0.121, 0.154, 0.151]


def test_critic_sigma_uses_ddof():
    x = np.asarray(TUS_2019, dtype=float)
    z = (x - x.min(0)) / np.ptp(x, axis=0)
    assert critic_weights(x, ddof=1).sigma.to_numpy() == pytest.approx(z.std(0, ddof=1))
    assert critic_weights(x, ddof=0).sigma.to_numpy() == pytest.approx(z.std(0, ddof=0))


def test_critic_cost_direction_matters():
    r = critic_weights(TUS_2019, directions=[-1, 1, 1, 1, 1, 1])
    assert r.weights.round(3).tolist() != [0.157, 0.249, 0.168, 0.121, 0.154, 0.151]
    assert r.weights.sum() == pytest.approx(1)


def test_critic_perfectly_correlated_columns_refused():
    with pytest.raises(InputError, match="perfectly correlated"):
        critic_weights([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])


def test_critic_constant_column():
    x = pd.DataFrame(TUS_2019, columns=list("abcdef"))
    r = critic_weights(x.assign(k=1.0))
    assert r.weights["k"] == 0.0
    assert r.weights[list("abcdef")].to_numpy() == pytest.approx(critic_weights(x).weights.to_numpy())


# ---------------------------------------------------------------------------------------------------- PCA


def test_pca_matches_numpy_svd():
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(50, 1))
    x = latent @ np.array([[1.0, 0.8, 0.6, 0.3]]) + rng.normal(scale=0.5, size=(50, 4))
    r = pca_weights(x)
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    assert r.weights.to_numpy() == pytest.approx(vt[0] ** 2)
    assert r.eigenvalue == pytest.approx(s[0] ** 2 / (len(x) - 1))
    assert r.explained == pytest.approx(s[0] ** 2 / (s ** 2).sum())
    assert (r.loadings > 0).all() and r.negative_loadings == []


def test_pca_sign_and_directions():
    rng = np.random.default_rng(4)
    t = rng.normal(size=60)
    x = pd.DataFrame({"a": t + rng.normal(scale=0.3, size=60), "b": t + rng.normal(scale=0.3, size=60),
                      "cost": -t + rng.normal(scale=0.3, size=60)})
    flipped = pca_weights(x, directions={"a": 1, "b": 1, "cost": -1})
    assert (flipped.loadings > 0).all() and flipped.negative_loadings == []
    unflipped = pca_weights(x)
    assert unflipped.negative_loadings == ["cost"]
    assert unflipped.weights.to_numpy() == pytest.approx(flipped.weights.to_numpy())


# ---------------------------------------------------------------------------------------------------- properties

data_matrices = st.integers(4, 9).flatmap(lambda m: st.integers(2, 5).flatmap(
    lambda k: arrays(np.float64, (m, k), elements=st.floats(1, 100, allow_nan=False, allow_infinity=False))))


def _informative(x: np.ndarray) -> bool:
    return bool((np.ptp(x, axis=0) > 1e-3 * x.max(axis=0)).all())


def _method(name):
    return {
        "entropy_raw": lambda x: entropy_weights(x, form="raw").weights,
        "entropy_minmax": lambda x: entropy_weights(x, form="minmax").weights,
        "critic": lambda x: critic_weights(x).weights,
        "pca": lambda x: pca_weights(x).weights,
    }[name]


def _critic_ok(x: np.ndarray) -> bool:
    r = np.corrcoef(x, rowvar=False)
    return bool((1 - r[np.triu_indices(len(r), 1)]).max() > 1e-6)  # not all pairs perfectly correlated


def _pca_gap_ok(x: np.ndarray) -> bool:
    values = np.linalg.eigvalsh(np.corrcoef(x, rowvar=False))
    return bool(values[-1] - values[-2] > 1e-3)


METHODS = ["entropy_raw", "entropy_minmax", "critic", "pca"]


@settings(max_examples=40, deadline=None)
@given(data_matrices, st.sampled_from(METHODS))
def test_weights_sum_to_one_and_non_negative(x, name):
    assume(_informative(x))
    assume(name != "pca" or _pca_gap_ok(x))
    assume(name != "critic" or _critic_ok(x))
    w = _method(name)(x).to_numpy()
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(data_matrices, st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permuting_columns_permutes_weights(x, name, rnd):
    assume(_informative(x))
    assume(name != "pca" or _pca_gap_ok(x))
    assume(name != "critic" or _critic_ok(x))
    perm = list(range(x.shape[1]))
    rnd.shuffle(perm)
    df = pd.DataFrame(x, columns=[f"c{j}" for j in range(x.shape[1])])
    w = _method(name)(df)
    w_perm = _method(name)(df.iloc[:, perm])
    assert list(w_perm.index) == [f"c{j}" for j in perm]
    assert w_perm.to_numpy() == pytest.approx(w.iloc[perm].to_numpy(), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(data_matrices, st.sampled_from(METHODS), st.floats(0.01, 100))
def test_scaling_a_column_leaves_weights_unchanged(x, name, factor):
    # All four are scale-invariant: raw entropy via p_ij = x_ij / sum, min-max/CRITIC via the rescaling, PCA via
    # the correlation matrix.
    assume(_informative(x))
    assume(name != "pca" or _pca_gap_ok(x))
    assume(name != "critic" or _critic_ok(x))
    scaled = x.copy()
    scaled[:, 0] *= factor
    assert _method(name)(scaled).to_numpy() == pytest.approx(_method(name)(x).to_numpy(), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(data_matrices, st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_reordering_units_changes_nothing(x, name, rnd):
    assume(_informative(x))
    assume(name != "pca" or _pca_gap_ok(x))
    assume(name != "critic" or _critic_ok(x))
    rows = list(range(x.shape[0]))
    rnd.shuffle(rows)
    assert _method(name)(x[rows]).to_numpy() == pytest.approx(_method(name)(x).to_numpy(), abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(["eigenvector", "geometric_mean"]))
def test_ahp_relabelling_permutes_priorities(rnd, method):
    perm = list(range(7))
    rnd.shuffle(perm)
    m = np.asarray(DRINKS_MATRIX)[np.ix_(perm, perm)]
    base = ahp_weights(DRINKS_MATRIX, labels=DRINKS, method=method)
    permuted = ahp_weights(m, labels=[DRINKS[i] for i in perm], method=method)
    assert permuted.weights.to_numpy() == pytest.approx(base.weights[[DRINKS[i] for i in perm]].to_numpy())
    assert permuted.cr == pytest.approx(base.cr)


def test_raw_entropy_is_not_shift_invariant_but_minmax_is():
    x = np.asarray(ZAVADSKAS_2016)
    shifted = x + np.array([0, 0, 100, 0])
    assert entropy_weights(shifted).weights.to_numpy() != pytest.approx(entropy_weights(x).weights.to_numpy())
    assert (entropy_weights(shifted, form="minmax").weights.to_numpy()
            == pytest.approx(entropy_weights(x, form="minmax").weights.to_numpy()))


# ---------------------------------------------------------------------------------------------------- framework


def test_equal_weights():
    w = equal_weights(["x", "y", "z"])
    assert w.tolist() == pytest.approx([1 / 3] * 3) and list(w.index) == ["x", "y", "z"]
    with pytest.raises(InputError, match="empty"):
        equal_weights([])
    with pytest.raises(InputError, match="duplicated"):
        equal_weights(["x", "x"])


def test_fixed_weights_normalised_within_parent_and_context_excluded():
    w = fixed_weights(NODES)
    assert w.to_dict() == pytest.approx({"D1": 0.75, "D2": 0.25, "a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5})
    with_ctx = fixed_weights(NODES, exclude_context=False)
    assert with_ctx["ctx"] == pytest.approx(5 / 9)


def test_fixed_weights_bad():
    with pytest.raises(InputError, match="weight"):
        fixed_weights(NODES.assign(weight=[1, 1, 1, -1, 1, 1, 1, 1]))
    with pytest.raises(InputError, match=r"children of \['D1'\]"):
        fixed_weights(NODES.assign(weight=[1, 1, 1, 0, 0, 1, 1, 1]))
    with pytest.raises(InputError, match="root"):
        fixed_weights(NODES.assign(parent=["X"] + list(NODES["parent"][1:])))


def test_effective_weights_product_along_path():
    w = effective_weights(NODES)
    assert w.to_dict() == pytest.approx({"a": 0.375, "b": 0.375, "c": 0.125, "d": 0.125})
    assert w.sum() == pytest.approx(1)


def test_effective_weights_with_node_weights_override():
    ahp = ahp_weights([[1, 3], [1 / 3, 1]], labels=["c", "d"]).weights
    w = effective_weights(NODES, pd.concat([ahp, pd.Series({"D1": 1.0, "D2": 1.0})]))
    assert w.to_dict() == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.375, "d": 0.125})
    as_set = WeightSet("dims_equal_c_ahp", pd.concat([ahp / 2, pd.Series({"D1": 0.25, "D2": 0.25})]), "mixed")
    assert effective_weights(NODES, as_set).to_dict() == pytest.approx(w.to_dict())
    with pytest.raises(InputError, match=r"\['zz'\]"):
        effective_weights(NODES, {"zz": 1.0})


def test_effective_weights_deeper_tree():
    nodes = pd.DataFrame({"code": ["I", "D", "S", "x", "y", "z"], "parent": [None, "I", "D", "S", "S", "I"],
                          "weight": [1, 1, 1, 1, 3, 1]})
    assert effective_weights(nodes).to_dict() == pytest.approx({"x": 0.125, "y": 0.375, "z": 0.5})


def test_empirical_effective_weights_linear_main_effect():
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.random((400, 3)), columns=["a", "b", "c"])
    y = 0.6 * x["a"] + 0.3 * x["b"] + 0.1 * x["c"]
    out = empirical_effective_weights(x, y)
    # independent uniforms: S_i = w_i^2 / sum w^2
    expected = np.array([0.36, 0.09, 0.01]) / 0.46
    assert out["share"].to_numpy() == pytest.approx(expected, abs=0.03)
    assert out["main_effect"].to_numpy() == pytest.approx(out["r"].to_numpy() ** 2)


def test_weight_set_validation():
    ws = ahp_weights(DRINKS_MATRIX, labels=DRINKS).as_weight_set("drinks")
    assert ws.method == "ahp" and ws.diagnostics["cr"] == pytest.approx(0.0223, abs=5e-5)
    with pytest.raises(InputError, match="sum to 1"):
        WeightSet("bad", pd.Series({"a": 0.5, "b": 0.6}), "fixed")
    with pytest.raises(InputError, match="non-negative"):
        WeightSet("bad", pd.Series({"a": 1.5, "b": -0.5}), "fixed")


def test_every_index_result_object_has_a_tidy_to_frame():
    """Issue 16: every result object of the index engines has to_frame() (statsmodels style)."""
    import inspect

    import govlib.index.factor as factor_mod
    import govlib.index.sensitivity as sens_mod
    import govlib.index.uncertainty as unc_mod
    import govlib.index.weights as w_mod
    from govlib.index.composite import CompositeIndex
    from govlib.index.factor import factor_weights
    from govlib.index.uncertainty import monte_carlo

    classes = [c for m in (w_mod, factor_mod, sens_mod, unc_mod) for _, c in inspect.getmembers(m, inspect.isclass)
               if c.__module__ == m.__name__ and (c.__name__.endswith("Result") or c.__name__ == "WeightSet")]
    assert len(classes) == 8 and all(callable(getattr(c, "to_frame", None)) for c in classes + [CompositeIndex])
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.normal(size=(30, 4)), columns=list("abcd"))
    x["b"] += x["a"]
    for res in (w_mod.entropy_weights(x - x.min() + 1), w_mod.critic_weights(x), w_mod.pca_weights(x),
                w_mod.ahp_weights([[1, 3], [1 / 3, 1]], labels=["a", "b"]), factor_weights(x, 1, extraction="pca")):
        f = res.to_frame()
        one = f.drop_duplicates("code" if "code" in f else "indicator")
        key = "code" if "code" in f else "indicator"
        np.testing.assert_allclose(one.set_index(key)["weight"].reindex(res.weights.index), res.weights)
        ws = res.as_weight_set()
        assert ws.to_frame()["weight"].tolist() == res.weights.tolist()
    fw = pd.DataFrame({"code": ["I", "a", "b"], "parent": [None, "I", "I"]})
    obs = pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(5)], 2), "period": "2024",
                        "indicator": ["a", "b"] * 5, "value": rng.random(10)})
    ci = CompositeIndex(obs, fw)
    assert ci.to_frame().equals(ci.scores)
    mc = monte_carlo(ci, replications=16, seed=1)
    assert mc.to_frame().equals(mc.ranks)
