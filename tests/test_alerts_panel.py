"""The deterioration rule as a two-way panel (unit level + the district's period effect): false-alarm rate,
power against a one-unit step, robustness of the period effect, and the stage's switch and guard."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.errors import InputError
from govlib.pipeline.stages.trend import run
from govlib.settings import load_settings
from govlib.trend.deterioration import noise_sd, period_effects, step_test

J, T, WINDOWS = 36, 8, (1, 2, 3)  # 36 街镇, 8 annual periods, the default windows


def _panels(rng, n_panels, common_sd, noise=1.0):
    """n_panels independent districts of J units x T years: unit level + common year effect + noise."""
    level = rng.normal(50, 10, size=(n_panels, J, 1))
    year = rng.normal(0, common_sd, size=(n_panels, 1, T))
    x = level + year + rng.normal(0, noise, size=(n_panels, J, T))
    groups = np.repeat(np.arange(n_panels), J)
    labels = np.tile(np.array([str(2018 + t) for t in range(T)]), (n_panels * J, 1))
    return x.reshape(n_panels * J, T), groups, labels


def _panel_test(x, groups, labels):
    common = period_effects(x, labels, groups)
    ns = noise_sd(x - common, groups=groups)
    sigma = np.fmax(ns["pooled"], ns["own"])
    return step_test(x, np.ones(len(x)), sigma, windows=WINDOWS, min_history=2, common=common)


def _own_test(x, groups):
    ns = noise_sd(x, groups=groups)
    return step_test(x, np.ones(len(x)), np.fmax(ns["pooled"], ns["own"]), windows=WINDOWS, min_history=2)


def test_panel_false_alarm_rate_per_series_year_is_at_most_far_with_a_common_year_effect():
    # in-control panels whose year-to-year noise is mostly common to the units (year effect SD 2, own noise 1):
    # the rule's threshold far / (windows x periods per year), strict count (every period that fires)
    rng = np.random.default_rng(15)
    far = 0.01
    x, groups, labels = _panels(rng, 600, common_sd=2.0)
    r = _panel_test(x, groups, labels)
    fired = r["p"] < far / len(WINDOWS)
    years = (~np.isnan(r["p"])).sum()
    rate = fired.sum() / years
    assert rate <= far + 3 * np.sqrt(far / years)
    assert rate > far / 10  # not vacuous: the test fires at about its budget


def test_panel_catches_a_one_unit_step_of_1_5_year_to_year_sds_that_the_own_history_test_misses():
    # the issue's detection target: a step of 1.5 x the series' year-to-year SD in one unit. With a common year
    # effect of SD 2 and own noise 1, the year-to-year SD is sqrt(5): the own-history test cannot see the step
    # through the common noise; the panel test removes it
    rng = np.random.default_rng(16)
    far = 0.01
    n = 400
    x, groups, labels = _panels(rng, n, common_sd=2.0)
    first = np.arange(n) * J  # one unit per district
    x[first, 5:] -= 1.5 * np.sqrt(5.0)
    hit_panel = (_panel_test(x, groups, labels)["p"][first, 5] < far / len(WINDOWS)).mean()
    hit_own = (_own_test(x, groups)["p"][first, 5] < far / len(WINDOWS)).mean()
    assert hit_panel > 0.5 and hit_own < 0.25, (hit_panel, hit_own)


def test_period_effect_ignores_one_entry_error_and_one_units_event():
    rng = np.random.default_rng(3)
    x, groups, labels = _panels(rng, 1, common_sd=2.0)
    clean = period_effects(x, labels, groups)
    y = x.copy()
    y[0, 4] *= 10  # a value typed x10
    y[1, 5:] -= 8.0  # a planted step in another unit
    moved = np.abs(period_effects(y, labels, groups) - clean)[2:]
    assert np.nanmax(moved) < 0.35  # a fraction of the noise SD (1), not 450 / 36


def test_period_effect_needs_enough_units_and_aligns_by_label():
    x = np.array([[1.0, 2.0, np.nan], [2.0, 3.0, 4.0]])
    lab = np.array([["2024", "2025", ""], ["2023", "2024", "2025"]])  # the first series starts a year later
    c = period_effects(x, lab, min_units=2, trim=0.0)
    # centred: series 0 on 1.5 -> 2024: -0.5, 2025: 0.5; series 1 on 3 -> 2023: -1, 2024: 0, 2025: 1
    assert c[0, 0] == pytest.approx(-0.25) and c[1, 1] == pytest.approx(-0.25)
    assert np.isnan(c[1, 0])  # one unit in 2023: no effect in a panel group, cell not tested
    assert (period_effects(x, lab, min_units=3) == 0)[~np.isnan(x)].all()  # too few units: no period effect
    with pytest.raises(InputError):
        period_effects(x, lab[:, :2])


def test_step_test_with_common_tests_the_unit_specific_change_and_gives_the_expected_level():
    x = np.array([[10.0, 10.0, 10.0, 10.0, 10.0, 10.0]])
    common = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 3.0]])  # the district rose by 3 in the last period
    r = step_test(x, np.array([1.0]), np.array([0.5]), windows=(1,), min_history=2, common=common)
    assert r["z"][0, -1] == pytest.approx(-3 / (0.5 * np.sqrt(1 + 1 / 5)))
    assert r["recent"][0, -1] == 10.0 and r["history"][0, -1] == pytest.approx(13.0)


def _district(rng, drop_unit):
    """36 units x 8 years of one indicator whose year-to-year noise is mostly common (SD 2 against 0.5 own)."""
    units = [f"3101151{k:02d}000" for k in range(J)]
    years = [str(y) for y in range(2018, 2026)]
    year = rng.normal(0, 2.0, len(years))
    rows = []
    for u in units:
        v = 60 + rng.normal(0, 5) + year + rng.normal(0, 0.5, len(years))
        if u == drop_unit:
            v[-1] -= 3.0  # 1.5 x the year-to-year SD (about 2)
        rows.append(pd.DataFrame({"unit": u, "period": years, "indicator": "D1.1", "value": v}))
    fw = pd.DataFrame({"code": ["SGI", "D1", "D1.1"], "parent": [None, "SGI", "D1"], "name_zh": ["指数", "一", "一一"],
                       "name_en": ["Index", "One", "One one"], "direction": [1, 1, 1]})
    return {"observations": pd.concat(rows, ignore_index=True), "framework": fw}


def _amber(tables, tmp_path, effect):
    path = tmp_path / f"govlib-{effect}.yaml"
    path.write_text(f"alerts:\n  deterioration:\n    period_effect: {effect}\n")
    a = run(tables, load_settings(path, root=tmp_path))["alerts"]
    return a[(a["rule"] == "worse_than_own_history") & (a["status"] == "new")]


def test_stage_period_effect_finds_a_one_unit_drop_through_common_noise(tmp_path):
    tables = _district(np.random.default_rng(21), drop_unit="310115101000")
    a = _amber(tables, tmp_path, "trimmed_mean")
    assert set(zip(a["unit"], a["period"])) == {("310115101000", "2025")}  # and no other warning
    b = _amber(tables, tmp_path, "none")
    assert not (b["unit"] == "310115101000").any()  # through the common noise the own-history test misses it
