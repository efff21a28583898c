"""Hotline aggregation: hand-made tickets with known counts, streaming = one pass, bad input, the demo data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govlib.errors import ValidationError
from govlib.services.hotline import (aggregate_tickets, combine_counts, finalise_monthly,
                            hotline_observations, reduce_tickets)
from govlib.settings import load_settings
from govlib.pipeline.stages import hotline as stage

S1, S2 = "310115004000", "310115005000"
C1, C2, C3 = "310115004001", "310115004002", "310115005001"
UNITS = pd.DataFrame({
    "code": ["310115000000", S1, S2, C1, C2, C3],
    "level": ["district", "subdistrict", "subdistrict", "community", "community", "community"],
    "parent": [None, "310115000000", "310115000000", S1, S1, S2],
})
POP = pd.DataFrame({"code": [S1, S2, S1], "year": [2024, 2024, 2023], "residents": [20000, 60000, 19000]})


def tickets():
    """Ten tickets in S1 (July 2024) and two in S2, with outcomes chosen by hand."""
    rows = [
        # id, unit, created, due, closed, category, satisfaction, repeat
        (1, C1, "2024-07-01 09:00", "2024-07-05", "2024-07-04", "complaint", 5, True),   # on time
        (2, C1, "2024-07-02 10:00", "2024-07-05", "2024-07-08", "complaint", 4, False),  # late
        (3, C1, "2024-07-03 11:00", "2024-07-10", None, "complaint", None, True),        # open, due before as_of
        (4, C2, "2024-07-04 12:00", "2024-08-10", None, "help", None, False),             # open, due after as_of
        (5, C2, "2024-07-05", "2024-07-09", "2024-07-06", "help", 3, True),               # on time; repeat non-complaint
        (6, C2, "2024-07-06", None, "2024-07-07", "consultation", 1, False),              # no due date: not judged
        (7, C2, "2024-07-07", "2024-07-12", "2024-07-12", "suggestion", 2, False),        # closed at due: on time
        (8, C1, "2024-07-08", "2024-07-15", "2024-07-09", "other", 5, False),
        (9, C1, "2024-07-09", "2024-07-15", "2024-07-10", "complaint", None, False),
        (10, C1, "2024-07-31 23:59", "2024-08-02", "2024-08-01", "help", 4, False),
        (11, C3, "2024-08-01", "2024-08-05", "2024-08-02", "complaint", 5, True),
        (12, C3, "2023-12-15", "2023-12-20", "2023-12-30", "help", 2, False),
    ]
    return pd.DataFrame(rows, columns=["ticket_id", "unit", "created_at", "due_at", "closed_at", "category",
                                       "satisfaction", "repeat"])


AS_OF = pd.Timestamp("2024-08-03")


def test_counts_by_hand():
    c = reduce_tickets(tickets(), UNITS, as_of=AS_OF)
    m = finalise_monthly(c, UNITS, POP)
    s1 = m[(m.unit == S1) & (m.period == "2024-07")].iloc[0]
    assert s1["n_tickets"] == 10
    assert (s1["n_complaint"], s1["n_help"], s1["n_consultation"], s1["n_suggestion"], s1["n_other"]) == (4, 3, 1, 1, 1)
    # judged: 1,2,3,5,7,8,9,10 (4 pending, 6 has no due date) -> on time 1,5,7,8,9,10
    assert (s1["n_timed"], s1["n_on_time"], s1["n_late"], s1["n_pending"]) == (8, 6, 2, 1)
    assert s1["on_time_pct"] == pytest.approx(75.0)
    # rated: 1,2,5,6,7,8,10 -> satisfied (4-5): 1,2,8,10
    assert s1["satisfaction_pct"] == pytest.approx(100 * 4 / 7)
    # repeat complaints: complaints 1,2,3,9; repeat 1,3
    assert s1["repeat_pct"] == pytest.approx(50.0)
    # D4.1: 10 tickets in a month, 20,000 residents -> 10/20000*1e4*12 = 60 per 10k per year
    assert s1["requests_per_10k_year"] == pytest.approx(60.0)
    # community rows add up to the 街镇
    comm = m[(m.level == "community") & (m.period == "2024-07")]
    assert comm["n_tickets"].sum() == 10
    # the year row sums the months; residents of 2023 are used for 2023
    y = m[(m.unit == S1) & (m.period == "2024")].iloc[0]
    assert y["n_tickets"] == 10 and y["requests_per_10k_year"] == pytest.approx(10 / 20000 * 1e4)
    d = m[(m.level == "district") & (m.period == "2024")].iloc[0]
    assert d["n_tickets"] == 11


def test_as_of_none_counts_open_tickets_as_late_and_repeat_base_all():
    m = finalise_monthly(reduce_tickets(tickets(), UNITS, as_of=None), UNITS, POP, repeat_base="all")
    s1 = m[(m.unit == S1) & (m.period == "2024-07")].iloc[0]
    assert (s1["n_timed"], s1["n_on_time"], s1["n_pending"]) == (9, 6, 0)
    assert s1["repeat_pct"] == pytest.approx(100 * 3 / 10)  # repeats 1, 3, 5 of all 10


def test_population_year_missing_is_carried_and_flagged():
    m = finalise_monthly(reduce_tickets(tickets(), UNITS, as_of=AS_OF), UNITS, POP)
    s2 = m[(m.unit == S2) & (m.period == "2023-12")].iloc[0]
    assert s2["residents"] == 60000 and bool(s2["residents_carried"])
    obs = hotline_observations(m, min_denominator=1)
    row = obs[(obs.unit == S2) & (obs.period == "2023-12") & (obs.indicator == "D4.1")].iloc[0]
    assert row["flag"] == "carried"
    assert row["value"] == pytest.approx(1 / 60000 * 1e4 * 12)


def test_observations_values_se_and_flags():
    m = finalise_monthly(reduce_tickets(tickets(), UNITS, as_of=AS_OF), UNITS, POP)
    obs = hotline_observations(m, min_denominator=5)
    assert set(obs["unit"]) == {S1, S2}  # 街镇 only
    assert set(obs["source"]) == {"hotline"}
    s1 = obs[(obs.unit == S1) & (obs.period == "2024-07")].set_index("indicator")
    assert s1.loc["D4.2", "value"] == pytest.approx(75.0)
    assert s1.loc["D4.2", "se"] == pytest.approx(100 * np.sqrt(0.75 * 0.25 / 8))
    assert s1.loc["D4.2", "flag"] == "provisional"  # ticket 4 still pending
    assert s1.loc["D3.3", "flag"] == "provisional"  # 4 complaints < 5
    assert s1.loc["D4.3", "flag"] == ""
    assert s1.loc["D4.1", "se"] == pytest.approx(60.0 / np.sqrt(10))
    months = hotline_observations(m, periods="month")
    assert months["period"].str.len().eq(7).all()


def test_chunked_equals_one_pass():
    rng = np.random.default_rng(3)
    n = 3000
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h")
    t = pd.DataFrame({
        "ticket_id": np.arange(n), "unit": rng.choice([C1, C2, C3], n), "created_at": created,
        "due_at": created + pd.to_timedelta(rng.integers(1, 10, n), unit="D"),
        "closed_at": created + pd.to_timedelta(rng.integers(0, 14 * 24, n), unit="h"),
        "category": rng.choice(["consultation", "help", "complaint", "suggestion", "other"], n),
        "satisfaction": np.where(rng.random(n) < 0.5, rng.integers(1, 6, n), np.nan),
        "repeat": rng.random(n) < 0.1})
    t.loc[rng.random(n) < 0.05, "closed_at"] = pd.NaT
    whole = aggregate_tickets(t, UNITS, POP, as_of=pd.Timestamp("2024-12-20"))
    chunked = aggregate_tickets(t, UNITS, POP, as_of=pd.Timestamp("2024-12-20"), chunk_rows=701)
    pd.testing.assert_frame_equal(whole, chunked)
    # combining is order-free
    parts = [reduce_tickets(t.iloc[i:i + 500], UNITS) for i in range(0, n, 500)]
    pd.testing.assert_frame_equal(combine_counts(parts), combine_counts(parts[::-1]))
    # an independent straightforward pandas computation of D4.3 per 街镇 and month
    tt = t.assign(parent=t["unit"].map(dict(zip(UNITS.code, UNITS.parent))),
                  period=t["created_at"].dt.strftime("%Y-%m"))
    rated = tt[tt["satisfaction"].notna()]
    expect = rated.groupby(["parent", "period"])["satisfaction"].apply(lambda s: 100 * (s >= 4).mean())
    got = whole[whole.level == "subdistrict"].set_index(["unit", "period"])["satisfaction_pct"]
    pd.testing.assert_series_equal(got.reindex(expect.index), expect, check_names=False)


def row_problems(exc):
    return {(p.row, p.column) for p in exc.value.problems}


def test_bad_tickets_are_reported_with_rows():
    t = tickets()
    t.loc[2, "unit"] = "310115999001"        # not in the registry -> row 4
    t.loc[4, "category"] = "praise"          # row 6
    t.loc[5, "satisfaction"] = 7             # row 7
    t.loc[6, "closed_at"] = "2024-07-01"     # before created -> row 8
    t.loc[7, "ticket_id"] = 1                # duplicate id -> row 9
    t.loc[8, "created_at"] = "yesterday"     # unreadable -> row 10
    with pytest.raises(ValidationError) as exc:
        reduce_tickets(t, UNITS)
    assert {(4, "unit"), (6, "category"), (7, "satisfaction"), (8, "closed_at"), (9, "ticket_id"),
            (10, "created_at")} <= row_problems(exc)
    assert all(p.file == "hotline_tickets" for p in exc.value.problems)
    assert "310115999001" in str(exc.value)
    # a later chunk of the same file names the file's row
    with pytest.raises(ValidationError) as exc:
        reduce_tickets(t.iloc[2:3], UNITS, row_offset=2)
    assert (4, "unit") in row_problems(exc)


def test_missing_required_column():
    with pytest.raises(ValidationError, match="created_at"):
        reduce_tickets(tickets().drop(columns="created_at"), UNITS)


def test_stage_settings_are_checked():
    s = load_settings().with_overrides(hotline={"repeat_base": "everything"})
    with pytest.raises(ValidationError, match="repeat_base"):
        stage.run({"hotline_tickets": tickets(), "units": UNITS}, s)
    s = load_settings().with_overrides(hotline={"as_off": "2024-01-01"})
    with pytest.raises(ValidationError, match="as_off"):
        stage.run({"hotline_tickets": tickets(), "units": UNITS}, s)


@pytest.fixture(scope="module")
def demo():
    from govlib.data.demo import generate_demo_data
    return generate_demo_data("small")


def test_demo_data_gives_every_indicator_for_every_jiezhen_and_month(demo):
    out = stage.run(demo, load_settings())
    obs = out["observations_hotline"]
    jz = demo["units"].loc[demo["units"]["level"] == "subdistrict", "code"]
    streets = set(demo["units"].loc[demo["units"]["level"] == "community", "parent"])
    assert set(obs["unit"]) == streets and streets <= set(jz)
    months = {f"{y}-{m:02d}" for y in range(2018, 2026) for m in range(1, 13)}
    for ind in ("D3.3", "D4.1", "D4.2", "D4.3"):
        sub = obs[obs["indicator"] == ind]
        for unit in streets:
            periods = set(sub.loc[sub["unit"] == unit, "period"])
            assert months <= periods, (ind, unit)
            assert {str(y) for y in range(2018, 2026)} <= periods
    # the ticket-level shares re-computed directly from the tickets for one 街镇-year
    t = demo["hotline_tickets"]
    parent = demo["units"].set_index("code")["parent"]
    unit = sorted(streets)[0]
    sel = t[t["unit"].astype(str).map(parent).eq(unit) & (t["created_at"].dt.year == 2022)]
    sat = sel["satisfaction"].dropna().astype(float)
    got = obs[(obs.unit == unit) & (obs.period == "2022") & (obs.indicator == "D4.3")]["value"].iloc[0]
    assert got == pytest.approx(100 * (sat >= 4).mean())
    compl = sel[sel["category"] == "complaint"]
    got = obs[(obs.unit == unit) & (obs.period == "2022") & (obs.indicator == "D3.3")]["value"].iloc[0]
    assert got == pytest.approx(100 * compl["repeat"].mean())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([C1, C2, C3]), st.integers(0, 400), st.integers(0, 10),
                          st.one_of(st.none(), st.integers(0, 20)),
                          st.sampled_from(["consultation", "help", "complaint", "suggestion", "other"]),
                          st.one_of(st.none(), st.integers(1, 5)), st.booleans()), min_size=1, max_size=60),
       st.integers(1, 7))
def test_counts_are_consistent_and_chunking_never_matters(rows, chunk):
    base = pd.Timestamp("2024-01-01")
    t = pd.DataFrame({
        "ticket_id": range(len(rows)), "unit": [r[0] for r in rows],
        "created_at": [base + pd.Timedelta(days=r[1]) for r in rows],
        "due_at": [base + pd.Timedelta(days=r[1] + r[2]) for r in rows],
        "closed_at": [pd.NaT if r[3] is None else base + pd.Timedelta(days=r[1] + r[3]) for r in rows],
        "category": [r[4] for r in rows], "satisfaction": [np.nan if r[5] is None else r[5] for r in rows],
        "repeat": [r[6] for r in rows]})
    as_of = base + pd.Timedelta(days=200)
    c = reduce_tickets(t, UNITS, as_of=as_of)
    assert c["n_tickets"].sum() == len(t)
    assert (c[[f"n_{k}" for k in ("consultation", "help", "complaint", "suggestion", "other")]].sum(axis=1)
            == c["n_tickets"]).all()
    assert (c["n_on_time"] + c["n_late"] == c["n_timed"]).all()
    assert (c["n_timed"] + c["n_pending"] == c["n_tickets"]).all()  # every ticket here has a due date
    assert (c["n_satisfied"] <= c["n_rated"]).all() and (c["n_complaint_repeat"] <= c["n_complaint"]).all()
    parts = [reduce_tickets(t.iloc[i:i + chunk], UNITS, as_of=as_of) for i in range(0, len(t), chunk)]
    pd.testing.assert_frame_equal(combine_counts(parts).reset_index(drop=True),
                                  combine_counts([c]).reset_index(drop=True))
