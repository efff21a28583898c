"""Count-surge detectors against R surveillance 1.20.3 (golden values) and their invariants."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from govlib.errors import InputError
from govlib.trend.outbreak import calendar_reference_weeks, ears, farrington, farrington_flexible

HERE = Path(__file__).parent
REF = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "trend"
R_CSV = HERE / "data" / "outbreak_reference_r.csv"  # made by tests/data/make_outbreak_reference.R


def _series(name):
    path = REF / ("salmonella_agona.csv" if name == "agona" else "salmonella_newport.csv")
    if not path.exists():
        pytest.skip(f"reference data {path} not available")
    return pd.read_csv(path)["count"].to_numpy(float)


def test_classic_farrington_reproduces_the_published_salmonella_agona_case():
    # REFERENCES.md "Outbreak detection": algo.farrington(b=4, w=3, range=270:312, alpha=0.01), R 1.20.3
    y = _series("agona")
    r = farrington(y, b=4, w=3, alpha=0.01, range_=np.arange(269, 312))
    weeks = np.nonzero(r["alarm"][0])[0] + 1
    assert weeks.tolist() == [284, 285]
    assert y[[283, 284]].tolist() == [7, 6]
    for week, bound in {271: 7.14582, 284: 5.77606, 293: 13.2462, 312: 17.2906}.items():
        assert float(f"{r['upperbound'][0, week - 1]:.6g}") == bound
    for week in [270, 272, 275, 276, 277, 278, 279, 280, 281]:  # low-count rule: bound 0, no alarm
        assert np.nansum(y[week - 4:week]) < 5
        assert r["upperbound"][0, week - 1] == 0 and not r["alarm"][0, week - 1]


CASES = {
    "flex_delta": dict(b=4, w=3, n_periods=1, weights_threshold=1, alpha=0.01, threshold_method="delta",
                       past_excluded=3),
    "noufaily_nb": dict(b=4, w=3, n_periods=10, weights_threshold=2.58, alpha=0.01, threshold_method="nbPlugin",
                        past_excluded=26),
    "noufaily_muan": dict(b=4, w=3, n_periods=10, weights_threshold=2.58, alpha=0.05, threshold_method="muan",
                          past_excluded=26),
}


def _ref_groups():
    ref = pd.read_csv(R_CSV)
    return [(case, series, g) for (case, series), g in ref.groupby(["case", "series"], sort=True)]


@pytest.mark.parametrize("case,series,g", _ref_groups(), ids=lambda x: x if isinstance(x, str) else "")
def test_matches_r_surveillance(case, series, g):
    y = _series(series)
    weeks = g["week"].to_numpy() - 1
    if case == "classic":
        r = farrington(y, b=4, w=3, alpha=0.01, range_=weeks)
    elif case.startswith("ears"):
        r = ears(y, method=case[-2:], range_=weeks)
    else:
        r = farrington_flexible(y, range_=weeks, **CASES[case])
    np.testing.assert_array_equal(r["alarm"][0, weeks].astype(int), g["alarm"].to_numpy())
    np.testing.assert_allclose(r["upperbound"][0, weeks], g["upperbound"].to_numpy(), rtol=1e-6, atol=1e-9)
    if case in CASES:
        for col in ("expected", "pvalue", "phi"):
            np.testing.assert_allclose(r[col][0, weeks], g[col].to_numpy(), rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(r["trend"][0, weeks].astype(int), g["trend"].to_numpy())
    if case == "classic":
        np.testing.assert_array_equal(r["trend"][0, weeks].astype(int), g["trend"].to_numpy())


def test_many_series_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    y = rng.poisson(rng.uniform(2, 30, size=(6, 1)) * (1 + 0.3 * np.sin(np.arange(96) * 2 * np.pi / 12)))
    y = y.astype(float)
    y[2, 90] = 200
    y[4, 40] = np.nan
    together = farrington_flexible(y, freq=12, b=3, w=2, n_periods=4, threshold_method="nbPlugin")
    for i in range(len(y)):
        alone = farrington_flexible(y[i], freq=12, b=3, w=2, n_periods=4, threshold_method="nbPlugin")
        np.testing.assert_allclose(together["upperbound"][i], alone["upperbound"][0], rtol=1e-9)
    assert together["alarm"][2, 90]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(1.5, 40))
def test_bound_rises_with_a_larger_count_history(seed, level):
    # invariant: tripling every count triples the fitted mean and never lowers the upper bound
    # (without trend selection and down-weighting, whose decisions depend on the dispersion)
    rng = np.random.default_rng(seed)
    y = rng.poisson(level, size=60).astype(float) + 1
    kw = dict(freq=12, b=3, w=2, range_=[59], limit54=(0, 4), trend=False, reweight=False, n_periods=3)
    r1 = farrington_flexible(y, **kw)
    r3 = farrington_flexible(y * 3, **kw)
    assert r3["upperbound"][0, 59] >= r1["upperbound"][0, 59] - 1e-9
    assert r3["expected"][0, 59] == pytest.approx(3 * r1["expected"][0, 59], rel=1e-6)


def test_false_alarm_rate_of_flexible_is_near_alpha_on_poisson_data():
    rng = np.random.default_rng(11)
    y = rng.poisson(20, size=(400, 96)).astype(float)
    r = farrington_flexible(y, freq=12, b=3, w=2, n_periods=4, threshold_method="nbPlugin", alpha=0.01)
    rate = r["alarm"][:, 40:].mean()
    assert rate < 0.03


@pytest.mark.parametrize("kwargs,msg", [
    (dict(alpha=1.5), "alpha"), (dict(alpha_sided="both"), "alpha_sided"), (dict(reference="dates"), "reference"),
    (dict(range_=[3]), "range"), (dict(threshold_method="nb"), "threshold_method"), (dict(n_periods=99), "n_periods"),
])
def test_mistakes_are_input_errors(kwargs, msg):
    with pytest.raises(InputError, match=msg):
        farrington_flexible(np.ones(200), freq=12, b=3, w=2, **kwargs)


def test_negative_counts_are_refused():
    with pytest.raises(InputError, match="non-negative"):
        ears([1, 2, -3, 4, 5, 6, 7, 8, 9])


# reference weeks by calendar date (reference="dates"): R on dated weekly sts (tests/data/make_outbreak_reference.R)
R_DATES_CSV = HERE / "data" / "outbreak_dates_reference_r.csv"
R_REFWEEKS_CSV = HERE / "data" / "outbreak_dates_refweeks_r.csv"
DATED_CASES = dict(CASES, flex_b5=dict(b=5, w=2, n_periods=4, weights_threshold=2.58, alpha=0.01,
                                       threshold_method="delta", past_excluded=2))


def _dates(name):
    if name == "agona":  # the R script dates agona weekly from Monday 1990-01-01
        return np.datetime64("1990-01-01") + 7 * np.arange(312)
    path = REF / "salmonella_newport.csv"
    if not path.exists():
        pytest.skip(f"reference data {path} not available")
    return pd.read_csv(path)["date"].to_numpy("datetime64[D]")


@pytest.mark.parametrize("series", ["agona", "newport"])
def test_reference_weeks_by_date_are_rs(series):
    ref = pd.read_csv(R_REFWEEKS_CSV).query("series == @series")
    d = _dates(series)
    ours = calendar_reference_weeks(d, 5)
    theirs = ref.pivot(index="week", columns="years_back", values="ref_week").to_numpy()
    np.testing.assert_array_equal(ours, np.where(np.isnan(theirs), -1, theirs - 1))
    lags = np.arange(len(d))[:, None] - ours
    assert (lags[ours >= 0] != (52 * np.arange(1, 6))[None, :].repeat(len(d), 0)[ours >= 0]).any()


def _dated_groups():
    ref = pd.read_csv(R_DATES_CSV)
    return [(case, series, g) for (case, series), g in ref.groupby(["case", "series"], sort=True)]


def _run(case, y, weeks, **kw):
    if case == "classic":
        return farrington(y, b=4, w=3, alpha=0.01, range_=weeks, **kw)
    return farrington_flexible(y, range_=weeks, **DATED_CASES[case], **kw)


@pytest.mark.parametrize("case,series,g", _dated_groups(), ids=lambda x: x if isinstance(x, str) else "")
def test_dated_series_match_r_surveillance(case, series, g):
    y, d = _series(series), _dates(series)
    weeks = g["week"].to_numpy() - 1
    assert (d[weeks] == g["date"].to_numpy("datetime64[D]")).all()
    r = _run(case, y, weeks, reference="dates", dates=d)
    np.testing.assert_array_equal(r["alarm"][0, weeks].astype(int), g["alarm"].to_numpy())
    np.testing.assert_allclose(r["upperbound"][0, weeks], g["upperbound"].to_numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(r["trend"][0, weeks].astype(int), g["trend"].to_numpy())
    if case != "classic":
        for col in ("expected", "pvalue", "phi"):
            np.testing.assert_allclose(r[col][0, weeks], g[col].to_numpy(), rtol=1e-6, atol=1e-9)
    if case.startswith("noufaily"):
        return  # (the dates-vs-lags check below needs one case per method; it doubles the run time)
    # the convention matters exactly where the calendar moves a reference week off its fixed lag
    lagged = _run(case, y, weeks)
    b = 4 if case == "classic" else DATED_CASES[case]["b"]
    moved = (calendar_reference_weeks(d, b)[weeks] != weeks[:, None] - 52 * np.arange(1, b + 1)).any(axis=1)
    assert moved.any()
    same = ~moved
    np.testing.assert_allclose(r["upperbound"][0, weeks[same]], lagged["upperbound"][0, weeks[same]], rtol=1e-9)
    differs = ~np.isclose(r["upperbound"][0, weeks], lagged["upperbound"][0, weeks], rtol=1e-9, equal_nan=True)
    assert not (differs & same).any() and differs.any()


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2100-01-01").date()))
def test_reference_week_is_the_nearest_with_the_same_weekday(start):
    d = np.datetime64(start, "D") + 7 * np.arange(400)
    refs = calendar_reference_weeks(d, 6)
    k = np.arange(320, 400)  # 6 years back is inside the series
    lags = k[:, None] - refs[k]
    years = np.arange(1, 7)
    assert ((lags == 52 * years) | (lags == 52 * years + 1)).all()  # a year is 52 weeks and 1-2 days
    t = pd.DatetimeIndex(d[k])
    leap_day = (t.month == 2) & (t.day == 29)
    # the same calendar date j years back; R (unlike pandas) takes 29 February to 1 March
    same_date = np.column_stack([(t - pd.DateOffset(years=int(j))).to_numpy("datetime64[D]") + (
        leap_day & ~pd.DatetimeIndex(t - pd.DateOffset(years=int(j))).is_leap_year) for j in years])
    assert (np.abs((d[refs[k]] - same_date).astype(int)) <= 3).all()


@pytest.mark.parametrize("kwargs,msg", [
    (dict(reference="dates"), "needs dates"), (dict(dates=np.datetime64("2001-01-01") + 7 * np.arange(300)), "only"),
    (dict(reference="dates", dates=np.datetime64("2001-01-01") + 7 * np.arange(299)), "one start date"),
    (dict(reference="dates", dates=np.datetime64("2001-01-01") + 6 * np.arange(300)), "7 days apart"),
    (dict(reference="dates", dates=["2001-01-01", "x"] * 150), "dates"),
    (dict(reference="dates", dates=np.datetime64("2001-01-01") + 7 * np.arange(300), range_=[263]), "range"),
    (dict(reference="weeks"), "reference"),
])
def test_date_mistakes_are_input_errors(kwargs, msg):
    with pytest.raises(InputError, match=msg):
        farrington_flexible(np.ones(300), freq=52, b=5, w=3, **kwargs)


def test_dates_are_for_weekly_series():
    with pytest.raises(InputError, match="freq=52"):
        farrington(np.ones(60), freq=12, b=3, w=1, reference="dates",
                   dates=np.datetime64("2001-01-01") + 7 * np.arange(60))
