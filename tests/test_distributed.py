"""Dask executors give the same results as the single-process paths (a real LocalCluster of worker processes)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import dask.dataframe as dd

from govlib.services import hotline_stream as hs
from govlib.survey import dask as sd
from govlib.services import hotline
from govlib.survey import estimate as survey
from govlib.errors import InputError

TOL = 1e-12
NUMERIC = ["estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff", "cv", "df"]


@pytest.fixture(scope="module")
def client():
    """One LocalCluster of two worker processes on loopback for the whole module."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                           dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def demo():
    from govlib.data.demo import generate_demo_data

    return generate_demo_data("small")


def synthetic_survey(seed: int = 7, n_strata: int = 6, psus: int = 5, ssus: int = 3, per_ssu: int = 6) -> pd.DataFrame:
    """A stratified two-stage sample with fpc at both stages, domains cutting across PSUs and missing answers."""
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(n_strata):
        for i in range(psus):
            for j in range(ssus):
                for _ in range(per_ssu):
                    rows.append((f"S{h}", f"S{h}P{i}", f"Q{j}", 40 + 2 * h, 12))
    df = pd.DataFrame(rows, columns=["stratum", "psu", "ssu", "fpc1", "fpc2"])
    n = len(df)
    df["weight"] = rng.uniform(5, 30, n)
    df["sex"] = rng.choice(["F", "M"], n)
    df["age"] = rng.choice(["18-34", "35-59", "60+"], n)
    df["y"] = rng.normal(60, 15, n)
    df["z"] = rng.integers(1, 6, n).astype(float)
    df["x"] = rng.uniform(1, 3, n)
    df.loc[rng.random(n) < 0.1, "y"] = np.nan
    df.loc[rng.random(n) < 0.05, "z"] = np.nan
    return df


def assert_same(got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    g = got.assign(**{k: got[k].astype(str) for k in keys}).sort_values(keys + ["variable"]).reset_index(drop=True)
    w = want.assign(**{k: want[k].astype(str) for k in keys}).sort_values(keys + ["variable"]).reset_index(drop=True)
    for k in keys + ["variable"]:
        assert g[k].astype(str).tolist() == w[k].astype(str).tolist()
    for col in NUMERIC:
        a, b = g[col].to_numpy(float), w[col].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), col
        ok = ~np.isnan(a) & np.isfinite(a)
        np.testing.assert_allclose(a[ok], b[ok], rtol=TOL, atol=TOL, err_msg=col)


DESIGNS = {
    "two_stage_fpc": dict(weight="weight", strata="stratum", clusters=["psu", "ssu"], fpc=["fpc1", "fpc2"]),
    "one_stage": dict(weight="weight", strata="stratum", clusters="psu"),
}


@pytest.mark.parametrize("design_name", sorted(DESIGNS))
def test_survey_on_dask_equals_pandas_on_a_synthetic_design(client, design_name):
    df = synthetic_survey()
    kw = DESIGNS[design_name]
    design = survey.make_design(df, **kw)
    ddf = dd.from_pandas(df, npartitions=5)
    cases = [
        dict(variables=["y", "z"], by=["sex", "age"], stat="mean", composite={"yz": {"y": 0.5, "z": 0.5}}),
        dict(variables="y", by="stratum", stat="total"),
        dict(variables="z", by="sex", stat="prop"),
        dict(variables="y", by="age", stat="ratio", denominator="x"),
    ]
    for case in cases:
        want = survey.estimate(design, df, **case)
        got = sd.estimate_on_dask(ddf, **kw, **case)
        assert_same(got, want, sd.column_list(case["by"]))


def test_survey_on_dask_with_row_psus_and_lonely_strata(client):
    df = synthetic_survey(seed=3).iloc[:300].copy()
    df.loc[df.index[:5], "stratum"] = "lonely"  # a stratum of... five row PSUs; and one of a single row:
    df.loc[df.index[5], "stratum"] = "single"
    kw = dict(weight="weight", strata="stratum", lonely_psu="adjust")
    want = survey.estimate(survey.make_design(df, **kw), df, "y", by="sex")
    got = sd.estimate_on_dask(dd.from_pandas(df, npartitions=4), "y", by="sex", **kw)
    assert_same(got, want, ["sex"])


def test_survey_on_dask_equals_pandas_on_the_demo_data(client, demo):
    resp = demo["survey_responses"].copy()
    items = ["q1", "q7", "q8"]
    for q in items:  # 9 = don't know: outside the item's domain
        resp[q] = resp[q].astype("float64").where(resp[q].astype("float64") != 9)
    ddf = dd.from_pandas(resp, npartitions=4)
    kw = dict(weight="weight", strata="stratum", clusters="psu", fpc="fpc1")
    want = survey.estimate(survey.make_design(resp, **kw), resp, items, by=["wave", "stratum"])
    got = sd.estimate_on_dask(ddf, items, by=["wave", "stratum"], **kw)
    assert_same(got, want, ["wave", "stratum"])
    assert len(got) == len(items) * resp["wave"].nunique() * resp["stratum"].nunique()
    # one wave with the two-stage design (fpc2 is the community's households that year)
    wave = resp[resp["wave"] == resp["wave"].iloc[-1]].reset_index(drop=True)
    kw2 = dict(weight="weight", strata="stratum", clusters=["psu", "respondent_id"], fpc=["fpc1", "fpc2"])
    want = survey.estimate(survey.make_design(wave, **kw2), wave, "q8", by="unit")
    got = sd.estimate_on_dask(dd.from_pandas(wave, npartitions=3), "q8", by="unit", **kw2)
    assert_same(got, want, ["unit"])


@hsettings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=540), max_size=6), seed=st.integers(0, 10_000))
def test_any_split_into_partitions_gives_the_in_memory_estimate(cuts, seed):
    """The partition reduction + combine is independent of where the rows are cut (no cluster needed)."""
    df = synthetic_survey(seed=seed)
    kw = DESIGNS["two_stage_fpc"]
    want = survey.estimate(survey.make_design(df, **kw), df, ["y", "z"], by="age")
    plan, names, _ = sd.survey_plan(df, ["y", "z"], by="age", **kw)
    bounds = sorted({0, len(df), *cuts})
    parts = [sd.reduce_survey_partition(df.iloc[a:b], plan) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    res = survey.finalize_domain_sums(survey.combine_domain_sums(parts), plan.design, n_domains=plan.n_domains)
    np.testing.assert_allclose(res["estimate"].reshape(-1), want["estimate"].to_numpy(), rtol=TOL)
    np.testing.assert_allclose(res["se"].reshape(-1), want["se"].to_numpy(), rtol=TOL)


def test_survey_on_dask_reports_user_mistakes():
    df = synthetic_survey()
    with pytest.raises(InputError, match="nope"):
        sd.estimate_on_dask(dd.from_pandas(df, npartitions=2), "nope", strata="stratum")
    one = df[df["stratum"] == "S0"].assign(stratum=lambda d: np.where(d["psu"] == "S0P0", "A", "B"))
    with pytest.raises(InputError, match="only one PSU"):
        sd.estimate_on_dask(dd.from_pandas(one, npartitions=2), "y", strata="stratum", clusters="psu")


# ---------------------------------------------------------------------------------------------- hotline
def _normalised(m: pd.DataFrame) -> pd.DataFrame:
    return m.sort_values(["level", "unit", "period"]).reset_index(drop=True)


def test_hotline_streaming_and_dask_equal_the_in_memory_aggregation(client, demo, tmp_path):
    tickets = demo["hotline_tickets"]
    units, population = demo["units"], demo["population"]
    want = _normalised(hotline.aggregate_tickets(tickets, units, population))
    folder = tmp_path / "hotline_tickets"
    folder.mkdir()
    year = tickets["created_at"].dt.year
    for y, part in tickets.groupby(year):
        part.to_parquet(folder / f"{y}.parquet", row_group_size=7_000)
    streamed = _normalised(hs.aggregate_ticket_files(folder, units, population, batch_rows=5_000, combine_every=3))
    pd.testing.assert_frame_equal(streamed, want, check_dtype=False)
    on_dask = _normalised(hs.aggregate_tickets_on_dask(folder, units, population, blocksize="256KiB"))
    pd.testing.assert_frame_equal(on_dask, want, check_dtype=False)
    assert int(want.loc[want["level"] == "district", "n_tickets"].sum()) == 2 * len(tickets)  # months + years


def test_hotline_streaming_names_the_file_and_row_of_a_bad_ticket(demo, tmp_path):
    from govlib.errors import ValidationError

    t = demo["hotline_tickets"].iloc[:50].copy()
    t["unit"] = t["unit"].astype(str)
    t.loc[t.index[33], "unit"] = "999999999999"
    t.to_parquet(tmp_path / "2018.parquet", row_group_size=20)
    with pytest.raises(ValidationError) as err:
        hs.aggregate_ticket_files(tmp_path, demo["units"], batch_rows=20)
    text = str(err.value)
    assert "2018.parquet" in text and "999999999999" in text and "35" in text  # row 35 = header + 34th ticket
