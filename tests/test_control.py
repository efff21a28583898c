"""Control charts: in-control and shifted ARLs against R spc 0.6.7 (REFERENCES.md) by seeded Monte Carlo."""
from __future__ import annotations

import numpy as np
import pytest

from govlib.trend.control import cusum, ewma, robust_standardise, run_length_monte_carlo, shewhart
from govlib.errors import InputError


@pytest.mark.parametrize("shift,spc_arl,runs", [(0.0, 167.68, 20_000), (1.0, 8.38, 20_000)])
def test_cusum_arl_matches_spc(shift, spc_arl, runs):
    # spc::xcusum.arl(k=0.5, h=4, mu=shift, sided="two")
    arl, se = run_length_monte_carlo("cusum", k=0.5, h=4.0, shift=shift, n_runs=runs, seed=42)
    assert abs(arl - spc_arl) < 3 * se


@pytest.mark.parametrize("lam,L,spc_arl", [(0.2, 2.860, 371.10), (0.1, 2.700, 368.99)])
def test_ewma_arl_matches_spc_with_fixed_asymptotic_limits(lam, L, spc_arl):
    # spc::xewma.arl(l, c, sided="two") with its default limits="fix": asymptotic limits
    arl, se = run_length_monte_carlo("ewma", lam=lam, L=L, limits="fixed", n_runs=40_000, seed=7)
    assert abs(arl - spc_arl) < 3 * se


def test_exact_limits_do_not_reproduce_spc():
    # the time-varying ("exact") limits give a shorter in-control ARL: this is why "fixed" is the named default
    arl, se = run_length_monte_carlo("ewma", lam=0.1, L=2.7, limits="exact", n_runs=40_000, seed=7)
    assert arl < 368.99 - 3 * se


def test_charts_vectorised_over_series_equal_one_at_a_time_and_skip_nan():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(20, 30)) + np.where(np.arange(30) >= 15, 1.5, 0)
    z[rng.random(z.shape) < 0.1] = np.nan
    for chart in (lambda a: cusum(a, k=0.5, h=4), lambda a: ewma(a, lam=0.2, L=2.86), shewhart):
        together = chart(z)["first_signal"]
        alone = [int(chart(row)["first_signal"][0]) for row in z]
        assert together.tolist() == alone
    r = cusum([[0.0, np.nan, 3.0, np.nan, 3.0]], k=0.5, h=4.0)
    assert r["upper"][0].tolist() == [0.0, 0.0, 2.5, 2.5, 5.0] and r["first_signal"][0] == 5


def test_robust_standardise_baseline_and_flat_series():
    z, info = robust_standardise([[10.0, 12, 8, 10, 11, 30], [5, 5, 5, 5, 5, 9], [1, 2, np.nan, np.nan, np.nan, 3]],
                                 baseline=5)
    assert info["status"].tolist() == ["ok", "flat_baseline", "ok"]
    assert z[0, -1] == pytest.approx((30 - 10) / (1.4826 * 1.0))
    assert np.isnan(z[1]).all()
    z2, info2 = robust_standardise([[1.0, 2.0, np.nan]], baseline=5)
    assert info2["status"].iloc[0] == "short_baseline"


def test_bad_parameters():
    with pytest.raises(InputError, match="lam"):
        ewma([0.0, 1.0], lam=0.0)
    with pytest.raises(InputError, match="limits"):
        ewma([0.0, 1.0], limits="asymptotic")
    with pytest.raises(InputError, match="chart"):
        run_length_monte_carlo("xbar")
