"""Factor-analysis weights with varimax rotation (OECD/JRC Handbook 2008, 6.1) against R on the Handbook's TAI
data: stats::factanal (maximum likelihood) and eigen + stats::varimax (principal components).
Reference values: tests/data/index_make_factanal_reference.R -> tests/data/index_r_factanal_tai23.csv."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.index.factor import factor_weights, varimax

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def tai(reference_dir):
    return pd.read_csv(reference_dir / "composite" / "tai23.csv", index_col=0)


@pytest.fixture(scope="module")
def ref():
    return pd.read_csv(DATA / "index_r_factanal_tai23.csv")


def _match_columns(a: np.ndarray, b: np.ndarray) -> float:
    """Largest loading difference after matching b's columns to a's (factor order and sign are arbitrary)."""
    worst = 0.0
    for j in range(a.shape[1]):
        worst = max(worst, min(min(np.abs(a[:, j] - s * b[:, i]).max() for s in (1, -1)) for i in range(b.shape[1])))
    return worst


@pytest.mark.parametrize("extraction, k, tol", [("ml", 2, 1e-4), ("ml", 3, 1e-4), ("ml", 4, 1e-4),
                                                ("pca", 2, 1e-10), ("pca", 3, 1e-10), ("pca", 4, 1e-10)])
def test_factor_weights_match_r(tai, ref, extraction, k, tol):
    g = ref[(ref["extraction"] == extraction) & (ref["n_factors"] == k)]
    one = g.drop_duplicates("indicator").set_index("indicator")
    res = factor_weights(tai, k, extraction=extraction)
    np.testing.assert_allclose(res.weights.reindex(one.index), one["weight"], atol=tol)
    np.testing.assert_allclose(res.uniqueness.reindex(one.index), one["uniqueness"], atol=10 * tol)
    r_load = g.pivot(index="indicator", columns="factor", values="loading").reindex(one.index).to_numpy()
    assert _match_columns(r_load, res.loadings.reindex(one.index).to_numpy()) < 10 * tol
    assert res.weights.sum() == pytest.approx(1.0)
    # the grouping is R's, up to the factors' labels
    pairs = set(zip(res.assigned.reindex(one.index), one["assigned"]))
    assert len(pairs) == len(set(one["assigned"]))


def test_default_number_of_factors_is_kaiser(tai):
    eig = np.linalg.eigvalsh(tai.corr().to_numpy())
    assert factor_weights(tai, extraction="pca").loadings.shape[1] == int((eig > 1).sum()) == 2


def test_to_frame_and_weight_set(tai):
    res = factor_weights(tai, 3)
    f = res.to_frame()
    assert len(f) == 8 * 3 and f["assigned"].sum() == 8
    np.testing.assert_allclose(f.groupby("factor")["scaled_squared_loading"].sum(), 1.0)
    assert res.as_weight_set().weights.equals(res.weights)


def test_too_many_factors_and_bad_data_are_input_errors(tai):
    with pytest.raises(InputError, match="too many"):
        factor_weights(tai, 5)
    with pytest.raises(InputError, match="constant"):
        factor_weights(tai.assign(Patents=1.0), 2)
    with pytest.raises(InputError, match="extraction"):
        factor_weights(tai, 2, extraction="minres")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_varimax_keeps_communalities_and_is_orthogonal(seed):
    L = np.random.default_rng(seed).normal(size=(7, 3))
    R = varimax(L)
    np.testing.assert_allclose((R ** 2).sum(axis=1), (L ** 2).sum(axis=1), rtol=1e-9)
    T = np.linalg.lstsq(L, R, rcond=None)[0]
    np.testing.assert_allclose(T @ T.T, np.eye(3), atol=1e-8)


def test_scale_invariance(tai):
    a = factor_weights(tai, 2, extraction="pca").weights
    b = factor_weights(tai * np.arange(1, 9), 2, extraction="pca").weights
    np.testing.assert_allclose(a, b, atol=1e-12)
