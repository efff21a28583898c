"""Calibration vs R survey 4.1-1 postStratify / rake (tests/data/survey_make_reference.R)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govlib.survey.calibrate import poststratify, rake, trim_weights
from govlib.errors import InputError
from govlib.survey.estimate import estimate, make_design

DATA = Path(__file__).parent / "data"
POP_TYPES = pd.DataFrame({"stype": ["E", "H", "M"], "Freq": [4421, 755, 1018]})
POP_SCHWIDE = pd.DataFrame({"sch.wide": ["No", "Yes"], "Freq": [1072, 5122]})


@pytest.fixture(scope="module")
def clus1(reference_dir):
    c1 = pd.read_csv(reference_dir / "survey" / "apiclus1.csv")
    return c1, make_design(c1, weight="pw", clusters="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def rref():
    return pd.read_csv(DATA / "survey_r_reference.csv")


def _check(rref, case, got):
    r = rref[rref["case"] == case]
    np.testing.assert_allclose(got["estimate"].to_numpy(), r["estimate"].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(got["se"].to_numpy(), r["se"].to_numpy(), rtol=1e-9)


def test_poststratify_matches_r(clus1, rref):
    c1, d = clus1
    ps = poststratify(d, c1, "stype", POP_TYPES)
    assert ps.weight.sum() == pytest.approx(6194)
    _check(rref, "dclus1_poststrat_mean_api00", estimate(ps, c1, "api00"))
    _check(rref, "dclus1_poststrat_total_enroll", estimate(ps, c1, "enroll", stat="total"))
    _check(rref, "dclus1_poststrat_by_schwide_mean_api00", estimate(ps, c1, "api00", by="sch.wide"))


def test_rake_matches_r(clus1, rref):
    c1, d = clus1
    rk = rake(d, c1, ["stype", "sch.wide"], [POP_TYPES, POP_SCHWIDE])
    r_w = pd.read_csv(DATA / "survey_r_rake_weights.csv")["w"].to_numpy()
    np.testing.assert_allclose(rk.weight, r_w, rtol=1e-10)
    _check(rref, "dclus1_rake_mean_api00", estimate(rk, c1, "api00"))
    _check(rref, "dclus1_rake_total_enroll", estimate(rk, c1, "enroll", stat="total"))
    _check(rref, "dclus1_rake_by_compimp_mean_api00", estimate(rk, c1, "api00", by="comp.imp"))
    _check(rref, "dclus1_rake_by_stype_mean_api00", estimate(rk, c1, "api00", by="stype"))


def test_trim_weights_bounds_and_total(clus1):
    c1, d = clus1
    rk = rake(d, c1, ["stype", "sch.wide"], [POP_TYPES, POP_SCHWIDE])
    t = trim_weights(rk, lower=20, upper=40, strict=True)
    assert t.weight.min() >= 20 - 1e-9 and t.weight.max() <= 40 + 1e-9
    assert t.weight.sum() == pytest.approx(rk.weight.sum())


def test_calibration_errors(clus1):
    c1, d = clus1
    with pytest.raises(InputError, match=r"absent from the population table: 'M'"):
        poststratify(d, c1, "stype", POP_TYPES.iloc[:2])
    with pytest.raises(InputError, match="no respondent"):
        poststratify(d, c1, "stype", pd.concat([POP_TYPES, pd.DataFrame({"stype": ["X"], "Freq": [5]})]))


def test_two_stage_calibrated_matches_r(reference_dir, rref):
    c2 = pd.read_csv(reference_dir / "survey" / "apiclus2.csv")
    d = make_design(c2, clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    ps = poststratify(d, c2, "stype", POP_TYPES)
    _check(rref, "dclus2_poststrat_mean_api00", estimate(ps, c2, "api00"))
    _check(rref, "dclus2_poststrat_by_schwide_mean_api00", estimate(ps, c2, "api00", by="sch.wide"))
    rk = rake(d, c2, ["stype", "sch.wide"], [POP_TYPES, POP_SCHWIDE])
    _check(rref, "dclus2_rake_mean_api00", estimate(rk, c2, "api00"))
    _check(rref, "dclus2_rake_by_stype_mean_api00", estimate(rk, c2, "api00", by="stype"))


def test_aggregated_and_row_level_residuals_agree(reference_dir):
    # the cell-level algebra (used when SSUs are single rows) equals R's literal row-level residualisation
    from govlib.survey.variance import _blocked_variance, _rowlevel_variance
    from scipy import sparse

    c2 = pd.read_csv(reference_dir / "survey" / "apiclus2.csv")
    d = make_design(c2, clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    rk = rake(poststratify(d, c2, "stype", POP_TYPES), c2, ["stype", "sch.wide"], [POP_TYPES, POP_SCHWIDE])
    rng = np.random.default_rng(5)
    dom = rng.integers(0, 4, len(c2))
    x = rng.normal(size=(len(c2), 2)) * rk.weight[:, None]
    X = sparse.csr_matrix((x.ravel(), (np.repeat(np.arange(len(c2)), 2), (dom[:, None] * 2 + [0, 1]).ravel())),
                          shape=(len(c2), 8))
    b = _rowlevel_variance(rk, X, 2, 4, rk.ssu)
    np.testing.assert_allclose(_blocked_variance(rk, x, dom, 4), b, rtol=1e-9)
    np.testing.assert_allclose(_blocked_variance(rk, x, dom, 4, chunk_entries=3), b, rtol=1e-9)  # chunked
