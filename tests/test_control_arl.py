"""Exact ARLs (integral equation) and limits for a target ARL against R spc 0.6.7 (tests/data/control_spc_arl.csv,
made by tests/data/control_make_spc_reference.R) and the published figures of REFERENCES.md."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.trend.control import (arl_cusum, arl_ewma, arl_shewhart, cusum_limit, ewma_limit,
                                 run_length_monte_carlo)

SPC = pd.read_csv(Path(__file__).parent / "data" / "control_spc_arl.csv")


@pytest.mark.parametrize("value,expected", [
    (lambda: arl_cusum(0.5, 4.0, 0.0), 167.68), (lambda: arl_cusum(0.5, 4.0, 1.0), 8.38),
    (lambda: arl_ewma(0.2, 2.860), 371.10), (lambda: arl_ewma(0.1, 2.700), 368.99)])
def test_published_control_chart_figures(value, expected):
    assert round(value(), 2) == expected


def test_arls_match_spc_grid():
    arl = SPC[SPC["what"] == "arl"]
    assert len(arl) > 200
    for row in arl.itertuples():
        if row.chart == "cusum":
            ours = arl_cusum(row.p1, row.p2, row.mu, sided=row.sided, hs=row.hs)
        else:
            ours = arl_ewma(row.p1, row.p2, row.mu, hs=row.hs)
        # ARLs of 10^5 and more come from an ill-conditioned system: both sides agree to 1e-7 there
        assert ours == pytest.approx(row.value, rel=1e-9 if row.value < 1e5 else 1e-6), row


def test_limits_for_target_arl_match_spc_crit():
    crit = SPC[SPC["what"].str.startswith("crit")]
    for row in crit.itertuples():
        target = float(row.what[4:])
        ours = cusum_limit(target, row.p1) if row.chart == "cusum" else ewma_limit(target, row.p1)
        assert ours == pytest.approx(row.value, abs=1e-7), row


def test_exact_arl_agrees_with_monte_carlo():
    arl, se = run_length_monte_carlo("ewma", lam=0.3, L=2.7, shift=0.5, n_runs=20_000, seed=3)
    assert abs(arl - arl_ewma(0.3, 2.7, 0.5)) < 3 * se
    arl, se = run_length_monte_carlo("shewhart", L=2.5, shift=1.0, n_runs=20_000, seed=4)
    assert abs(arl - arl_shewhart(2.5, 1.0)) < 3 * se
    # EWMA with lambda = 1 is the Shewhart chart: the integral equation gives the closed form
    assert arl_ewma(1.0, 3.0, 0.5) == pytest.approx(arl_shewhart(3.0, 0.5), rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(k=st.floats(0.1, 1.0), h=st.floats(1.0, 6.0), mu=st.floats(0.0, 2.0))
def test_cusum_arl_is_symmetric_and_falls_with_the_shift(k, h, mu):
    assert arl_cusum(k, h, mu) == pytest.approx(arl_cusum(k, h, -mu), rel=1e-10)
    assert arl_cusum(k, h, mu + 0.25) < arl_cusum(k, h, mu)
    assert arl_cusum(k, h + 0.5, mu) > arl_cusum(k, h, mu)


@pytest.mark.parametrize("call", [lambda: arl_cusum(0.5, -1), lambda: arl_ewma(1.5, 3), lambda: arl_ewma(0.2, 0),
                                  lambda: cusum_limit(0.5), lambda: arl_cusum(0.5, 4, sided="both")])
def test_bad_parameters_are_input_errors(call):
    with pytest.raises(InputError):
        call()
