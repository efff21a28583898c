"""Hotline tickets checked and reduced one file at a time (issue 20): the same problems and counts as the whole table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.commands.demo_data import write_demo_data
from govlib.data.demo import generate_demo_data
from govlib.data.schema import load_raw
from govlib.errors import ValidationError
from govlib.services.hotline import combine_counts, reduce_tickets
from govlib.services.hotline_stream import TicketCounts

UNITS = ["310115004001", "310115004002", "310115005001"]


def random_tickets(n: int, seed: int) -> pd.DataFrame:
    """Tickets of 2024 with open ones due before and after the last time stamp (so as_of matters)."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 365 * 86400, n)), unit="s")
    due = created + pd.to_timedelta(rng.integers(1, 30 * 86400, n), unit="s")
    closed = created + pd.to_timedelta(rng.integers(60, 2 * 86400, n), unit="s")  # due dates run later
    closed = pd.Series(closed).where(rng.random(n) > 0.2)  # a fifth still open
    return pd.DataFrame({
        "ticket_id": np.arange(n) + 1, "unit": pd.Categorical(rng.choice(UNITS, n)),
        "created_at": created, "due_at": pd.Series(due).where(rng.random(n) > 0.1), "closed_at": closed,
        "category": pd.Categorical(rng.choice(["consultation", "help", "complaint", "suggestion", "other"], n)),
        "satisfaction": pd.array(np.where(rng.random(n) < 0.5, rng.integers(1, 6, n), 0), dtype="Int8"),
        "repeat": rng.random(n) < 0.1,
    }).assign(satisfaction=lambda d: d["satisfaction"].mask(d["satisfaction"] == 0))


@pytest.mark.parametrize("as_of", [None, "2024-12-20"])
@pytest.mark.parametrize("cuts", [[2000], [300, 1111, 1999], [0, 1, 1500]])
def test_ticket_counts_file_by_file_equal_the_whole_table(as_of, cuts):
    t = random_tickets(2000, seed=len(cuts))
    acc = TicketCounts(as_of=as_of)
    for lo, hi in zip([0] + cuts, cuts + [len(t)]):
        if hi > lo:
            acc(t.iloc[lo:hi].reset_index(drop=True))
    latest = max(t["created_at"].max(), t["closed_at"].max())
    whole = combine_counts([reduce_tickets(t, UNITS, as_of=pd.Timestamp(as_of) if as_of else latest)])
    got = acc.counts()
    assert got["n_pending"].sum() > 0 and got["n_late"].sum() > 0  # the as_of split is exercised
    pd.testing.assert_frame_equal(got.reset_index(drop=True), whole.reset_index(drop=True))
    assert acc.rows == len(t)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream-raw")
    write_demo_data(generate_demo_data("small", seed=11), folder, "small", 11)
    for p in folder.glob("hotline_tickets/*.parquet"):
        if p.stem not in ("2023", "2024", "2025"):
            p.unlink()
    return folder


def problems(folder, **kw) -> list[str]:
    with pytest.raises(ValidationError) as err:
        load_raw(folder, **kw)
    return [str(p) for p in err.value.problems]


def test_problems_of_a_table_read_file_by_file_are_those_of_the_whole_table(raw, tmp_path):
    """Rules between tables (closed before created, a ticket of the district, an unknown unit), beyond the
    50-row cap and across files: the same messages, rows named in their files, the same summaries."""
    import shutil

    folder = tmp_path / "raw"
    shutil.copytree(raw, folder)
    for year, rows in (("2023", range(5, 45)), ("2025", range(3, 33))):
        path = folder / f"hotline_tickets/{year}.parquet"
        df = pd.read_parquet(path)
        df["unit"] = df["unit"].astype(str)
        df.loc[list(rows), "closed_at"] = df.loc[list(rows), "created_at"] - pd.Timedelta(hours=1)
        df.loc[60, "unit"] = "310115000000"  # the district
        df.to_parquet(path, index=False)
    whole = problems(folder)
    streamed = problems(folder, sinks={"hotline_tickets": False})
    assert streamed == whole
    assert any("hotline_tickets/2025.parquet, row 4, column 'closed_at'" in p for p in whole)
    assert any("20 more tickets with closed_at before created_at" in p for p in whole)
    assert any("hotline_tickets/2025.parquet, row 61, column 'unit'" in p for p in whole)

    path = folder / "hotline_tickets/2024.parquet"  # an unknown unit: the references, checked file by file
    df = pd.read_parquet(path)
    df["unit"] = df["unit"].astype(str)
    df.loc[7, "unit"] = "310115999999"
    df.to_parquet(path, index=False)
    whole = problems(folder)
    assert problems(folder, sinks={"hotline_tickets": False}) == whole
    assert any("hotline_tickets/2024.parquet, row 8, column 'unit'" in p and "310115999999" in p for p in whole)


def test_a_table_read_file_by_file_is_counted_not_kept(raw):
    seen = []
    ds = load_raw(raw, sinks={"hotline_tickets": seen.append})
    assert "hotline_tickets" not in ds.tables
    assert ds.rows["hotline_tickets"] == sum(len(p) for p in seen) > 0
    assert len(seen) == 3 and ds.sources["hotline_tickets"] == [f"hotline_tickets/{y}.parquet"
                                                                for y in (2023, 2024, 2025)]
    whole = load_raw(raw).tables["hotline_tickets"]
    pd.testing.assert_frame_equal(pd.concat(seen, ignore_index=True)[["ticket_id"]],
                                  whole[["ticket_id"]])
