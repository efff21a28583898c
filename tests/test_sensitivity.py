"""Sobol' sensitivity estimators: Ishigami analytic values, SALib agreement, discrete factors, vectorised outputs."""
from __future__ import annotations

import numpy as np
import pytest

from govlib.errors import InputError
from govlib.index.sensitivity import saltelli_sample, sobol_indices

# Ishigami & Homma (1990), a = 7, b = 0.1, x_i ~ U(-pi, pi): analytic indices (Saltelli et al. 2008, Table 4.x).
ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def ishigami(u: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[..., 0]) + a * np.sin(x[..., 1]) ** 2 + b * x[..., 2] ** 4 * np.sin(x[..., 0])


def test_ishigami_against_the_closed_form_partial_variances():
    # V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2 and its parts (Ishigami & Homma 1990), computed here rather than
    # copied: govlib's estimates of the total variance and of every S1/ST must reproduce them.
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * np.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    assert v == pytest.approx(a ** 2 / 8 + b * np.pi ** 4 / 5 + b ** 2 * np.pi ** 8 / 18 + 0.5)
    assert [round(v1 / v, 4), round(v2 / v, 4)] == ISHIGAMI_S1[:2]  # the published table agrees
    d = saltelli_sample(3, 2 ** 15, seed=11)
    r = sobol_indices(ishigami(d.A, a, b), ishigami(d.B, a, b), ishigami(d.AB, a, b))
    assert float(r.variance[0]) == pytest.approx(v, rel=0.01)
    assert r.S1[:, 0] == pytest.approx([v1 / v, v2 / v, 0.0], abs=0.01)
    assert r.ST[:, 0] == pytest.approx([(v1 + v13) / v, v2 / v, v13 / v], abs=0.01)


@pytest.mark.parametrize("sampling, n, tol", [("sobol", 2 ** 14, 0.02), ("random", 2 ** 15, 0.04)])
def test_ishigami_indices(sampling, n, tol):
    d = saltelli_sample(3, n, seed=2024, sampling=sampling)
    r = sobol_indices(ishigami(d.A), ishigami(d.B), ishigami(d.AB))
    assert r.S1.shape == (3, 1)
    assert r.S1[:, 0] == pytest.approx(ISHIGAMI_S1, abs=tol)
    assert r.ST[:, 0] == pytest.approx(ISHIGAMI_ST, abs=tol)


def test_bootstrap_interval_covers_truth():
    d = saltelli_sample(3, 2 ** 12, seed=7)
    r = sobol_indices(ishigami(d.A), ishigami(d.B), ishigami(d.AB), n_bootstrap=200, seed=1)
    assert (r.S1_conf > 0).all() and (r.ST_conf > 0).all()
    # ~95% intervals; with 6 indices allow generous slack (3 half-widths)
    assert (np.abs(r.S1[:, 0] - ISHIGAMI_S1) < 3 * r.S1_conf[:, 0] + 1e-3).all()
    assert (np.abs(r.ST[:, 0] - ISHIGAMI_ST) < 3 * r.ST_conf[:, 0] + 1e-3).all()
    frame = r.to_frame()
    assert list(frame.columns) == ["factor", "output", "S1", "ST", "S1_conf", "ST_conf"] and len(frame) == 3


def test_same_as_salib_on_the_same_runs():
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}
    u = salib_sample.sample(problem, 1024, calc_second_order=False, seed=11)
    y = ishigami(u)
    theirs = salib_sobol.analyze(problem, y, calc_second_order=False, num_resamples=10, seed=1)
    # SALib's layout: per base row, k + 2 rows: A, AB_1 .. AB_k, B.
    k = 3
    blocks = y.reshape(-1, k + 2)
    r = sobol_indices(blocks[:, 0], blocks[:, -1], blocks[:, 1:-1].T)
    assert r.S1[:, 0] == pytest.approx(theirs["S1"], abs=1e-12)
    assert r.ST[:, 0] == pytest.approx(theirs["ST"], abs=1e-12)


def test_uncentred_estimator_is_the_textbook_formula():
    d = saltelli_sample(3, 256, seed=4)
    fa, fb, fab = ishigami(d.A) + 10, ishigami(d.B) + 10, ishigami(d.AB) + 10
    v = np.var(np.r_[fa, fb])
    s1 = np.array([np.mean(fb * (fab[i] - fa)) / v for i in range(3)])
    st = np.array([0.5 * np.mean((fa - fab[i]) ** 2) / v for i in range(3)])
    raw = sobol_indices(fa, fb, fab, center=False)
    assert raw.S1[:, 0] == pytest.approx(s1, rel=1e-12) and raw.ST[:, 0] == pytest.approx(st, rel=1e-12)
    # centring: adding a constant to the output no longer moves S1
    centred = sobol_indices(fa, fb, fab)
    assert centred.S1[:, 0] == pytest.approx(sobol_indices(fa - 10, fb - 10, fab - 10).S1[:, 0], abs=1e-12)
    assert not np.allclose(raw.S1[:, 0], centred.S1[:, 0])


def test_discrete_factor_analytic():
    # y = g[level] + x2, level uniform over 3 values, x2 ~ U(0, 1): additive, S1 = ST = V_i / V.
    g = np.array([0.0, 1.0, 3.0])
    v1, v2 = g.var(), 1 / 12
    d = saltelli_sample([3, None], 2 ** 14, seed=5)
    assert set(np.unique(d.A[:, 0])) == {0.0, 1.0, 2.0}
    counts = np.bincount(d.A[:, 0].astype(int))
    assert counts.min() > 0.3 * len(d.A)  # roughly equal levels

    def f(x):
        return g[x[..., 0].astype(int)] + x[..., 1]

    r = sobol_indices(f(d.A), f(d.B), f(d.AB), factor_names=["choice", "noise"])
    expected = [v1 / (v1 + v2), v2 / (v1 + v2)]
    assert r.S1[:, 0] == pytest.approx(expected, abs=0.02)
    assert r.ST[:, 0] == pytest.approx(expected, abs=0.02)


def test_design_structure_and_stacking():
    d = saltelli_sample([None, 4, None], 32, seed=3)
    assert d.A.shape == (32, 3) and d.B.shape == (32, 3) and d.AB.shape == (3, 32, 3)
    for i in range(3):
        others = [j for j in range(3) if j != i]
        assert (d.AB[i][:, i] == d.B[:, i]).all() and (d.AB[i][:, others] == d.A[:, others]).all()
    assert not np.allclose(d.A, d.B)
    rows = d.stacked()
    assert rows.shape == (32 * 5, 3)
    f_A, f_B, f_AB = d.split(rows @ np.array([1.0, 2.0, 3.0]))
    assert f_A == pytest.approx(d.A @ [1, 2, 3]) and f_AB[2] == pytest.approx(d.AB[2] @ [1, 2, 3])
    again = saltelli_sample([None, 4, None], 32, seed=3)
    assert (again.A == d.A).all() and (again.B == d.B).all()


def test_vectorised_outputs_match_one_at_a_time():
    d = saltelli_sample(3, 512, seed=9)
    scales = np.array([1.0, 2.0, 0.5, 3.0])

    def many(x):  # (N, 4): four outputs with different structure
        y = ishigami(x)
        return np.stack([y, y * scales[1], x[..., 0] + 0.1 * x[..., 2], x[..., 1] ** 2], axis=-1)

    fa, fb, fab = many(d.A), many(d.B), many(d.AB)
    together = sobol_indices(fa, fb, fab)
    assert together.S1.shape == (3, 4)
    for j in range(4):
        alone = sobol_indices(fa[:, j], fb[:, j], fab[..., j])
        assert together.S1[:, j] == pytest.approx(alone.S1[:, 0])
        assert together.ST[:, j] == pytest.approx(alone.ST[:, 0])
    # scaling an output changes nothing
    assert together.S1[:, 1] == pytest.approx(together.S1[:, 0])


def test_constant_output_gives_nan_without_warning():
    d = saltelli_sample(2, 64, seed=1)
    fa = np.stack([d.A[:, 0], np.full(64, 5.0)], axis=1)
    fb = np.stack([d.B[:, 0], np.full(64, 5.0)], axis=1)
    fab = np.stack([d.AB[..., 0], np.full((2, 64), 5.0)], axis=-1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sobol_indices(fa, fb, fab, n_bootstrap=20, seed=0)
    assert np.isnan(r.S1[:, 1]).all() and np.isnan(r.ST[:, 1]).all()
    assert np.isfinite(r.S1[:, 0]).all()


def test_bad_input():
    with pytest.raises(InputError, match="f_AB"):
        sobol_indices(np.zeros(10), np.ones(10), np.zeros((2, 9)))
    with pytest.raises(InputError, match="f_A and f_B"):
        sobol_indices(np.zeros(10), np.ones(11), np.zeros((2, 10)))
    with pytest.raises(InputError, match="missing"):
        sobol_indices(np.r_[np.nan, np.zeros(9)], np.ones(10), np.zeros((2, 10)))
    with pytest.raises(InputError, match="factors"):
        saltelli_sample([None, 0], 8)
    with pytest.raises(InputError, match="n"):
        saltelli_sample(2, 1)
    with pytest.raises(InputError, match="sampling"):
        saltelli_sample(2, 8, sampling="lhs")


def test_fast_nanquantile_matches_numpy():
    import warnings

    from govlib.index.sensitivity import _nanquantile

    rng = np.random.default_rng(0)
    x = rng.random((101, 4, 6))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[:, 0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for q in (0.025, 0.5, 0.975):
            assert np.allclose(_nanquantile(x, q), np.nanquantile(x, q, axis=0), equal_nan=True)
