"""Survey sampling error inside the index's Monte Carlo uncertainty (issue 16): values with an SE are redrawn in
every run, jointly with the methodological choices, and Sobol indices split rank variance between sampling and
methodology."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from govlib.index.composite import CompositeIndex
from govlib.index.uncertainty import monte_carlo
from govlib.pipeline.stages.index import run as index_stage

FIXED = dict(normalisations=("minmax",), aggregations=("arithmetic",), imputations=("none",),
             leave_one_out=False, weight_noise=0.0)


def _index(se: float, n_units: int = 5, spacing: float = 10.0, periods=("2024",)):
    """Indicator d (with SE) spaced `spacing` apart; indicator c identical for every unit (no information)."""
    rows = []
    for p in periods:
        for i in range(n_units):
            rows.append((f"u{i}", p, "d", spacing * i, se))
            rows.append((f"u{i}", p, "c", 5.0, np.nan))
    obs = pd.DataFrame(rows, columns=["unit", "period", "indicator", "value", "se"])
    fw = pd.DataFrame({"code": ["I", "c", "d"], "parent": [None, "I", "I"]})
    return CompositeIndex(obs, fw)


def test_rank_swaps_follow_the_sampling_distribution():
    # P(u0 ranks above u1) = P(x0 + e0 > x1 + e1) = Phi(-(x1 - x0) / (se sqrt 2)) with independent normal errors.
    ci = _index(se=10.0)
    res = monte_carlo(ci, replications=1024, seed=3, **FIXED)
    runs = res.runs  # (2N, units): ranks, 1 = best
    swapped = np.mean(runs[:, 0] < runs[:, 1])
    assert swapped == pytest.approx(stats.norm.cdf(-10 / (10 * np.sqrt(2))), abs=0.035)
    # the nominal ranks are the SE-free ones, and the interval of the middle unit widens
    r = res.ranks.set_index("unit")
    assert r.loc["u2", "rank_nominal"] == 3 and r.loc["u2", "rank_p95"] - r.loc["u2", "rank_p05"] >= 2


def test_sampling_is_the_only_source_when_methodology_is_fixed():
    res = monte_carlo(_index(se=10.0), replications=512, seed=1, **FIXED)
    ind = res.indices.query("output == 'unit_rank'").set_index("factor")
    assert ind.loc["sampling", "S1"] == pytest.approx(1.0, abs=0.1)
    assert ind.loc["sampling", "ST"] == pytest.approx(1.0, abs=0.1)
    assert abs(ind.loc["methodology", "ST"]) < 0.02
    assert res.ranks["sampling_ST"].dropna().between(0.8, 1.2).all()


def test_no_se_or_survey_error_off_means_no_sampling_factor():
    a = monte_carlo(_index(se=10.0), replications=64, seed=1, survey_error=False, **FIXED)
    assert "sampling" not in set(a.indices["factor"]) and not a.settings["survey_error"]
    assert (a.ranks["rank_p05"] == a.ranks["rank_p95"]).all()  # nothing varies
    b = monte_carlo(_index(se=np.nan), replications=64, seed=1, **FIXED)
    assert "sampling" not in set(b.indices["factor"])


def test_more_survey_noise_means_a_larger_sampling_share():
    kw = dict(replications=512, seed=2, normalisations=("minmax", "percentile_rank"), aggregations=("arithmetic",),
              imputations=("none",), leave_one_out=True, weight_noise=0.25)
    small = monte_carlo(_index(se=1.0, n_units=12), **kw).indices
    large = monte_carlo(_index(se=20.0, n_units=12), **kw).indices
    pick = lambda t: t.query("output == 'unit_rank' and factor == 'sampling'")["ST"].iloc[0]  # noqa: E731
    assert pick(large) > pick(small) + 0.2


def test_se_goes_through_denomination_and_imputation():
    obs = pd.DataFrame({"unit": ["a", "b", "c", "a", "b", "c"], "period": "2024", "indicator": list("dddeee"),
                        "value": [10.0, 20.0, np.nan, 1, 2, 3], "se": [1.0, 2.0, np.nan, np.nan, np.nan, np.nan]})
    fw = pd.DataFrame({"code": ["I", "d", "e"], "parent": [None, "I", "I"], "denominator": ["", "hh", ""]})
    pop = pd.DataFrame({"code": ["a", "b", "c"], "year": 2024, "hh": [2.0, 4.0, 5.0]})
    ci = CompositeIndex(obs, fw, population=pop, imputation="mean")
    se = ci.se["d"]
    assert se.tolist()[:2] == [0.5, 0.5] and np.isnan(se.iloc[2])  # imputed point: no SE


def test_stage_writes_sensitivity_indices_with_sampling():
    ci_obs = _index(se=10.0, n_units=6, periods=("2023", "2024"))._inputs
    out = index_stage({"observations": ci_obs["observations"], "framework": ci_obs["framework"]}, None)
    t = out["sensitivity_indices"]
    assert list(t.columns) == ["period", "output", "factor", "S1", "ST", "S1_conf", "ST_conf", "evaluations"]
    assert {"sampling", "methodology"} <= set(t["factor"]) and set(t["period"]) == {"2023", "2024"}
    assert {"sampling_S1", "sampling_ST"} <= set(out["uncertainty"].columns)
