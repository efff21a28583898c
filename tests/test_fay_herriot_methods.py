"""Fay-Herriot by ML and by the FH moment method (and REML) on the sae 'milk' data against R
(tests/data/survey_r_milk_fh_methods.csv, made by tests/data/survey_make_fh_methods_reference.R: metafor's ML and
Paule-Mandel variance components and the sae::mseFH formulas written out)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.survey.smallarea import METHODS, design_matrix, fay_herriot

DATA = Path(__file__).parent / "data"
REF = pd.read_csv(DATA / "survey_r_milk_fh_methods.csv")


@pytest.mark.parametrize("method", METHODS)
def test_milk_matches_r(reference_dir, method):
    milk = pd.read_csv(reference_dir / "survey" / "milk.csv")
    ref = REF[REF["method"] == method].reset_index(drop=True)
    fit = fay_herriot(milk["yi"].to_numpy(), milk["var"].to_numpy(), design_matrix(milk, factors=["MajorArea"]),
                      method=method)
    assert fit.converged and fit.method == method
    assert fit.refvar == pytest.approx(ref["refvar"].iloc[0], rel=1e-7)
    np.testing.assert_allclose(fit.beta, ref[["beta0", "beta1", "beta2", "beta3"]].iloc[0], rtol=1e-8)
    np.testing.assert_allclose(fit.table["eblup"], ref["eblup"], rtol=1e-8)
    np.testing.assert_allclose(fit.table["mse"], ref["mse"], rtol=1e-7)
    frame = fit.to_frame()
    assert (frame["method"] == method).all() and len(frame) == len(milk)


def test_ml_is_below_reml_and_coefficients_table():
    milk_like = np.random.default_rng(3)
    y = 1 + milk_like.normal(0, 0.2, 30) + milk_like.normal(0, 0.1, 30)
    ml = fay_herriot(y, np.full(30, 0.01), method="ML")
    reml = fay_herriot(y, np.full(30, 0.01), method="REML")
    assert ml.refvar < reml.refvar  # ML ignores the degree of freedom spent on beta
    coef = reml.coefficients()
    assert list(coef.columns) == ["term", "beta", "se", "z", "p"]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_fh_root_solves_the_moment_equation(seed):
    rng = np.random.default_rng(seed)
    psi = rng.uniform(0.01, 0.1, 25)
    y = rng.normal(0, 0.3, 25) + rng.normal(0, np.sqrt(psi))
    fit = fay_herriot(y, psi, method="FH")
    A = fit.refvar
    vi = 1 / (A + psi)
    lhs = np.sum(vi * (y - fit.table["synthetic"]) ** 2)
    if A > 0:
        assert lhs == pytest.approx(25 - 1, rel=1e-8)
    else:
        assert lhs <= 25 - 1 + 1e-9


def test_unknown_method_is_an_input_error():
    with pytest.raises(InputError, match="method"):
        fay_herriot(np.ones(5), np.ones(5), method="EB")
