"""Progress to target (Eurostat rule) and direction-aware trend status."""
from __future__ import annotations

import numpy as np
import pytest

from govlib.trend.progress import cagr, progress_to_target, trend_status


def test_cagr_definition():
    assert cagr(100.0, 121.0, 2) == pytest.approx(0.1)
    assert np.isnan(cagr(0.0, 5.0, 3)) and np.isnan(cagr(5.0, 6.0, 0))


def test_eurostat_categories_at_their_thresholds():
    # required CAGR: from 100 to 200 in 10 years; actual CAGR chosen as a share of it
    req = 2 ** 0.1 - 1
    shares = [1.0, 0.95, 0.94, 0.6, 0.59, 0.0, -0.2]
    current = [100 * (1 + s * req) ** 5 for s in shares]
    r = progress_to_target(100.0, 2020, current, 2025, 200.0, 2030)
    assert r["ratio"].to_numpy() == pytest.approx(shares, abs=1e-12)
    assert r["status"].tolist() == ["on track", "on track", "moderate progress", "moderate progress",
                                    "insufficient progress", "insufficient progress", "moving away"]


def test_lower_is_better_targets_and_met_and_not_assessable():
    r = progress_to_target([20.0, 20.0, 20.0, 0.0], 2018, [15.0, 22.0, 9.0, 12.0], 2023, 10.0, 2030, direction=-1)
    assert r["status"].tolist() == ["on track", "moving away", "target met", "not assessable"]


def test_trend_status_is_direction_aware():
    s = trend_status([2.5, 2.5, -2.5, 2.5, 2.5], [0.01, 0.01, 0.01, 0.2, 0.01], [1, -1, -1, 1, 0], fdr=0.05)
    assert s.tolist() == ["significant improvement", "significant deterioration", "significant improvement",
                          "no significant change", "context"]
