"""Multiple change points: exact optimum (brute force), against ruptures PELT (jump=1), NaN handling."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import ruptures as rpt

from govlib.trend.changepoint import change_points, robust_sigma
from govlib.errors import InputError


def _cost(x, bks, pen):
    b = [0] + list(bks) + [len(x)]
    return sum(((x[a:c] - x[a:c].mean()) ** 2).sum() for a, c in zip(b[:-1], b[1:])) + pen * len(bks)


def _brute_force(x, pen, min_size):
    n = len(x)
    best, best_b = np.inf, ()
    for k in range(0, n // min_size):
        for bks in itertools.combinations(range(min_size, n - min_size + 1), k):
            seg = np.diff((0,) + bks + (n,))
            if (seg < min_size).any():
                continue
            c = _cost(x, bks, pen)
            if c < best - 1e-12:
                best, best_b = c, bks
    return list(best_b)


def test_optimal_partitioning_is_exact_on_small_series():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 10))
    x[:20, 5:] += 3
    res = change_points(x, penalty=2.0, min_size=2)
    for i, row in enumerate(x):
        assert res.loc[res.series == i, "k"].tolist() == _brute_force(row, 2.0, 2)


def test_never_worse_than_ruptures_pelt_and_usually_identical():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 30))[:120]
    x[:60, 12:] += 3
    x[30:90, 20:] -= 2
    res = change_points(x, penalty=4.0, min_size=3)
    same = 0
    for i, row in enumerate(x):
        theirs = rpt.Pelt(model="l2", min_size=3, jump=1).fit(row).predict(pen=4.0)[:-1]
        ours = res.loc[res.series == i, "k"].tolist()
        assert _cost(row, ours, 4.0) <= _cost(row, theirs, 4.0) + 1e-9
        same += ours == theirs
    assert same >= 114  # ruptures' pruning with min_size can miss the optimum (seen: 1 of 200 series)


def test_nan_is_dropped_not_misread_and_positions_refer_to_observed_values():
    x = np.array([0, 0.1, np.nan, -0.1, 0, 5, 5.1, 4.9, 5.0])
    r = change_points(x, penalty=1.0)
    assert r["k"].tolist() == [4] and r["shift"].iloc[0] == pytest.approx(5.0 - 0.0, abs=0.01)


def test_bic_penalty_finds_a_planted_step_and_nothing_in_noise():
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(300, 40))
    found_in_noise = change_points(noise)["series"].nunique() / 300
    step = noise + np.where(np.arange(40) >= 20, 2.0, 0.0)
    hits = change_points(step)
    recall = hits[(hits.k >= 18) & (hits.k <= 22)]["series"].nunique() / 300
    assert found_in_noise < 0.25 and recall > 0.9
    # a larger factor means fewer changes
    assert change_points(noise, bic_factor=4)["series"].nunique() / 300 < found_in_noise / 2


def test_robust_sigma_and_bad_arguments():
    rng = np.random.default_rng(0)
    assert robust_sigma(rng.normal(0, 2, size=(1, 5000)))[0] == pytest.approx(2.0, rel=0.05)
    with pytest.raises(InputError, match="min_size"):
        change_points([1.0, 2.0, 3.0], min_size=0)
    with pytest.raises(InputError, match="penalty"):
        change_points([1.0, 2.0, 3.0], penalty="aic")
