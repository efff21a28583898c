"""Monte Carlo uncertainty and sensitivity of ranks: reproducibility, degenerate cases, sensitivity attribution."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError
from govlib.index.composite import CompositeIndex
from govlib.index.uncertainty import FACTORS, _ordinal_ranks, monte_carlo

FW = pd.DataFrame({"code": ["I", "D1", "D2", "a", "b", "c", "d"], "parent": [None, "I", "I", "D1", "D1", "D2", "D2"]})


def _obs(n_units=8, periods=("2023", "2024"), seed=3):
    rng = np.random.default_rng(seed)
    rows = [{"unit": f"u{u}", "period": p, "indicator": i, "value": float(rng.normal(50, 10))}
            for u in range(n_units) for p in periods for i in "abcd"]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def ci():
    return CompositeIndex(_obs(), FW)


def test_seeded_and_reproducible(ci):
    a = monte_carlo(ci, replications=32, seed=7)
    b = monte_carlo(ci, replications=32, seed=7)
    np.testing.assert_array_equal(a.runs, b.runs)
    pd.testing.assert_frame_equal(a.ranks, b.ranks)
    c = monte_carlo(ci, replications=32, seed=8)
    assert not np.array_equal(a.runs, c.runs)


def test_rank_distribution_shape_and_order(ci):
    res = monte_carlo(ci, replications=64, seed=1)
    r = res.ranks
    assert len(r) == 8 * 2 and res.runs.shape == (128, 16)
    assert (r["rank_p05"] <= r["rank_median"]).all() and (r["rank_median"] <= r["rank_p95"]).all()
    assert (r["rank_min"] >= 1).all() and (r["rank_max"] <= 8).all()
    # Each run is a permutation of 1..8 within each period.
    runs = res.runs.reshape(128, 8, 2)
    assert (np.sort(runs, axis=1) == np.arange(1, 9)[None, :, None]).all()
    assert set(res.sensitivity["factor"]) == set(FACTORS)
    assert set(res.design.columns) == {"normalisation", "aggregation", "imputation", "left_out"}


def test_no_uncertainty_gives_the_nominal_ranks(ci):
    res = monte_carlo(ci, replications=16, seed=0, normalisations=("minmax",), aggregations=("arithmetic",),
                      imputations=("none",), leave_one_out=False, weight_noise=0.0)
    r = res.ranks
    assert (r["rank_p05"] == r["rank_nominal"]).all() and (r["rank_p95"] == r["rank_nominal"]).all()
    assert res.sensitivity["S1"].isna().all()  # no variance: indices undefined, reported as NaN


def test_only_the_varied_factor_gets_sensitivity(ci):
    res = monte_carlo(ci, replications=256, seed=2, normalisations=("minmax",), aggregations=("arithmetic",),
                      imputations=("none",), leave_one_out=False, weight_noise=0.5)
    s = res.sensitivity[res.sensitivity["output"] == "mean_abs_rank_shift"].set_index(["period", "factor"])
    for period in ("2023", "2024"):
        assert s.loc[(period, "weights"), "ST"] == pytest.approx(1.0, abs=0.15)
        for f in ("normalisation", "aggregation", "imputation", "leave_one_out"):
            assert s.loc[(period, f), "ST"] == pytest.approx(0.0, abs=1e-12)


def test_leaving_out_an_indicator_is_a_factor(ci):
    res = monte_carlo(ci, replications=64, seed=4, normalisations=("minmax",), aggregations=("arithmetic",),
                      imputations=("none",), leave_one_out=True, weight_noise=0.0)
    assert set(res.design["left_out"]) <= {"", "a", "b", "c", "d"} and len(set(res.design["left_out"])) > 2
    s = res.sensitivity[res.sensitivity["output"] == "unit_rank"].set_index(["period", "factor"])
    assert s.loc[("2024", "leave_one_out"), "ST"] > 0.9


def test_geometric_alternative_uses_the_epsilon_floor(ci):
    # min-max to [0, 100] gives zeros; the Monte Carlo floors them at 1 % of the scale instead of failing.
    res = monte_carlo(ci, replications=16, seed=0, normalisations=("minmax",), aggregations=("geometric",),
                      leave_one_out=False, weight_noise=0.0)
    assert res.settings["epsilon"] == 1.0
    assert np.isfinite(res.runs).all()


def test_unranked_units_get_no_rank():
    units = pd.DataFrame({"code": [f"u{i}" for i in range(8)], "level": ["subdistrict"] * 7 + ["benchmark"],
                          "kind": "街道"})
    ci = CompositeIndex(_obs(), FW, units=units)
    res = monte_carlo(ci, replications=16, seed=0)
    assert "u7" not in set(res.ranks["unit"])
    assert res.ranks["rank_max"].max() <= 7


def test_ordinal_ranks_helper():
    s = np.array([[[3.0], [np.nan], [5.0], [1.0]]])
    r = _ordinal_ranks(s, np.array([True, True, True, False]))
    assert r[0, :, 0].tolist()[0] == 2.0 and np.isnan(r[0, 1, 0]) and r[0, 2, 0] == 1.0 and np.isnan(r[0, 3, 0])


def test_bad_arguments(ci):
    with pytest.raises(InputError, match="normalisations"):
        monte_carlo(ci, replications=8, normalisations=("softmax",))
    with pytest.raises(InputError, match="aggregations"):
        monte_carlo(ci, replications=8, aggregations=())
    with pytest.raises(InputError, match="replications"):
        monte_carlo(ci, replications=1)
    with pytest.raises(InputError, match="weight_noise"):
        monte_carlo(ci, replications=8, weight_noise=1.5)
