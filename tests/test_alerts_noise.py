"""The deterioration rule's noise model: the Brown-Forsythe check of equal noise across units (golden: scipy's
Levene test about the median) and the false-alarm rate of the rule "pooled SD where the units' noise is not shown
unequal, else the larger of pooled and own", simulated with the SDs estimated as the stage estimates them."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import levene

from govlib.trend.deterioration import noise_homogeneity, noise_sd, step_test

J, T, WINDOWS = 36, 8, (1, 2, 3)


def test_noise_homogeneity_is_levenes_test_about_the_median_without_each_series_two_largest_differences():
    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, size=(12, 20)) * np.linspace(1, 2, 12)[:, None]
    x[3, 5] = np.nan  # a gap: the differences across it are skipped
    p = noise_homogeneity(x)
    d = np.abs(np.diff(x, axis=1))
    samples = [np.sort(row[~np.isnan(row)])[:-2] for row in d]
    assert p[0] == pytest.approx(levene(*samples, center="median").pvalue, rel=1e-9)
    assert np.allclose(p, p[0])  # one group: one p for every series


def test_noise_homogeneity_ignores_one_units_planted_step_and_shock():
    rng = np.random.default_rng(12)
    x = rng.normal(0, 1, size=(J, T))
    assert noise_homogeneity(x)[0] > 0.05
    y = x.copy()
    y[0, 5:] -= 6.0  # a step: one large difference
    y[1, 4] -= 6.0  # a shock: two large differences
    assert noise_homogeneity(y)[0] > 0.05  # not "unequal noise": the events are not noise


def test_noise_homogeneity_groups_and_too_short_series():
    rng = np.random.default_rng(13)
    same = rng.normal(0, 1, size=(J, 104))  # monthly: 103 differences a unit see a 1.5x noisier half
    mixed = same * np.where(np.arange(J) < J // 2, 1.0, 1.5)[:, None]
    short = np.where(np.arange(104) < 4, same, np.nan)
    p = noise_homogeneity(np.vstack([same, mixed, short]), np.repeat(["same", "mixed", "short"], J))
    assert p[0] > 0.01 and p[J] < 1e-6
    assert np.isnan(p[2 * J:]).all()  # 3 differences, 1 left after the two largest: no test


def _rule_sigma(x, groups, alpha=0.05):
    ns = noise_sd(x, groups=groups)
    homogeneous = noise_homogeneity(x, groups) >= alpha
    return np.where(homogeneous, ns["pooled"], np.fmax(ns["pooled"], ns["own"]))


def test_rule_false_alarm_rate_with_estimated_sds_in_homogeneous_districts():
    # 36 units x 8 years sharing one noise SD, 2,000 districts; the SDs estimated from the data as in the stage.
    # The pooled SD's own estimation error (36 x 7 differences) makes the test slightly liberal at small budgets:
    # measured 1.2 x far at far = 0.001; bounded here at 1.5 x far
    rng = np.random.default_rng(14)
    G = 2000
    x = rng.normal(size=(G * J, T))
    groups = np.repeat(np.arange(G), J)
    sigma = _rule_sigma(x, groups)
    r = step_test(x, np.ones(len(x)), sigma, windows=WINDOWS, min_history=2)
    years = (~np.isnan(r["p"])).sum()
    for far in (0.01, 0.001):
        rate = (r["p"] < far / len(WINDOWS)).sum() / years
        assert far / 2 < rate <= 1.5 * far + 3 * np.sqrt(far / years), (far, rate)


def test_rule_raises_a_noisy_units_sigma_where_the_units_noise_is_unequal():
    # monthly series, half the units twice as noisy: detected, so each noisy unit's own SD (without its two
    # largest differences: biased low) raises its sigma
    rng = np.random.default_rng(15)
    sd = np.where(np.arange(J) < J // 2, 1.0, 2.0)
    x = rng.normal(size=(J, 96)) * sd[:, None]
    sigma = _rule_sigma(x, np.zeros(J))
    assert np.median(sigma[J // 2:]) > 1.2 * np.median(sigma[: J // 2])
