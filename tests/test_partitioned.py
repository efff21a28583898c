"""Partitioned processed datasets: ASCII 街镇-code folders, string keys, atomic writes, per-街镇 reads."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from govlib.data import partitioned as gp
from govlib.errors import InputError
from govlib.settings import load_settings
from govlib.data.store import begin_build, commit_build, write_json

UNITS = pd.DataFrame({
    "code": ["310115000000", "310115004000", "310115005000", "310115004001", "310115004002", "310115005001"],
    "name_zh": ["浦东新区", "潍坊新村街道", "陆家嘴街道", "社区一", "社区二", "社区三"],
    "level": ["district", "subdistrict", "subdistrict", "community", "community", "community"],
    "parent": [None, "310115000000", "310115000000", "310115004000", "310115004000", "310115005000"],
})


def scores() -> pd.DataFrame:
    rows = []
    for unit in UNITS["code"]:
        for period in ["2024", "2024Q3", "2024-07", "2025"]:
            rows.append((unit, period, "SGI", float(len(rows)), "中文说明"))
    return pd.DataFrame(rows, columns=["unit", "period", "node", "score", "note_zh"])


def test_folders_are_ascii_codes_and_keys_come_back_as_strings(tmp_path):
    path = gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    folders = sorted(p.name for p in path.iterdir())
    assert folders == ["jiezhen=310115000000", "jiezhen=310115004000", "jiezhen=310115005000"]
    assert all(name.isascii() for _, dirs, files in os.walk(path) for name in dirs + files)
    back = gp.read_partitioned("index_scores", folder=tmp_path)
    assert back["unit"].map(type).eq(str).all() and back["period"].map(type).eq(str).all()
    assert back["jiezhen"].map(type).eq(str).all()
    assert set(back["period"]) == {"2024", "2024Q3", "2024-07", "2025"}  # "2024" stays text, not 2024
    assert set(back["note_zh"]) == {"中文说明"}
    want = scores().sort_values(["unit", "period"]).reset_index(drop=True)
    got = back.sort_values(["unit", "period"]).reset_index(drop=True)[want.columns]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_a_unit_slice_holds_the_jiezhen_and_its_communities_only(tmp_path):
    gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    part = gp.read_unit_slice("index_scores", "310115004000", folder=tmp_path)
    assert sorted(part["unit"].unique()) == ["310115004000", "310115004001", "310115004002"]
    assert len(part) == 3 * 4
    only = gp.read_unit_slice("index_scores", "310115004000", folder=tmp_path, periods=["2024Q3"])
    assert set(only["period"]) == {"2024Q3"} and len(only) == 3


def test_a_unit_slice_reads_only_its_folder(tmp_path):
    path = gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    # Make another 街镇's files unreadable garbage: a read of one 街镇 must not open them.
    for f in (path / "jiezhen=310115005000").rglob("*.parquet"):
        f.write_bytes(b"not parquet")
    assert len(gp.read_unit_slice("index_scores", "310115004000", folder=tmp_path)) == 12
    with pytest.raises(Exception):
        gp.read_partitioned("index_scores", folder=tmp_path)


def test_read_unit_slice_goes_through_settings_and_the_current_build(tmp_path):
    settings = load_settings(root=tmp_path)
    staging = begin_build(settings.processed_dir)
    gp.write_partitioned(scores(), staging, "index_scores", UNITS)
    write_json(staging / "manifest.json", {"tables": {}})
    commit_build(settings.processed_dir, staging, "b1")
    part = gp.read_unit_slice("index_scores", "310115005000", settings)
    assert sorted(part["unit"].unique()) == ["310115005000", "310115005001"]
    assert gp.list_partitions("index_scores", settings) == ["310115000000", "310115004000", "310115005000"]


def test_user_mistakes_are_named(tmp_path):
    gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    with pytest.raises(InputError, match="no partition for 街镇 code '310115999000'.*310115004000"):
        gp.read_unit_slice("index_scores", "310115999000", folder=tmp_path)
    with pytest.raises(InputError, match="not found"):
        gp.read_unit_slice("nope", "310115004000", folder=tmp_path)
    bad = scores().assign(unit=lambda d: d["unit"].where(d.index != 3, "310115777001"))
    with pytest.raises(InputError, match="310115777001"):
        gp.write_partitioned(bad, tmp_path, "t2", UNITS)
    with pytest.raises(InputError, match="ASCII"):
        gp.write_partitioned(scores().assign(period="二〇二四"), tmp_path, "t3")
    with pytest.raises(InputError, match="column 'period'"):
        gp.write_partitioned(scores().drop(columns="period"), tmp_path, "t4")


def test_a_failed_write_leaves_the_previous_dataset_and_no_temp_folder(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    before = gp.read_partitioned("index_scores", folder=tmp_path)

    def broken(*args, **kwargs):
        Path(args[1], "jiezhen=x").mkdir(parents=True)  # half written, then the disk "fails"
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_to_dataset", broken)
    with pytest.raises(OSError, match="disk full"):
        gp.write_partitioned(scores().assign(score=-1.0), tmp_path, "index_scores", UNITS)
    pd.testing.assert_frame_equal(gp.read_partitioned("index_scores", folder=tmp_path), before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index_scores"]


def test_rewriting_a_dataset_replaces_it_whole(tmp_path):
    gp.write_partitioned(scores(), tmp_path, "index_scores", UNITS)
    fewer = scores()[scores()["unit"].str.startswith("310115004")]
    gp.write_partitioned(fewer, tmp_path, "index_scores", UNITS)
    assert gp.list_partitions("index_scores", folder=tmp_path) == ["310115004000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index_scores"]


def test_write_partitioned_tables_picks_tables_with_unit_and_period(tmp_path):
    tables = {"index_scores": scores(), "units": UNITS, "obs": scores().rename(columns={"node": "indicator"})}
    written = gp.write_partitioned_tables(tables, tmp_path, UNITS)
    assert sorted(p.name for p in written) == ["index_scores", "obs"]
    with pytest.raises(InputError, match="no tables"):
        gp.write_partitioned_tables(tables, tmp_path, UNITS, names=["trends"])


@hsettings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(UNITS["code"])), st.sampled_from(["2023", "2024Q1", "2024-12"]),
                          st.floats(-1e6, 1e6)), min_size=1, max_size=40))
def test_round_trip_and_slices_partition_the_table(tmp_path_factory, rows):
    df = pd.DataFrame(rows, columns=["unit", "period", "value"])
    folder = tmp_path_factory.mktemp("p")
    gp.write_partitioned(df, folder, "t", UNITS)
    whole = gp.read_partitioned("t", folder=folder)
    assert len(whole) == len(df)
    slices = [gp.read_unit_slice("t", code, folder=folder) for code in gp.list_partitions("t", folder=folder)]
    assert sum(len(s) for s in slices) == len(df)
    key = ["unit", "period", "value"]
    got = pd.concat(slices)[key].sort_values(key).reset_index(drop=True)
    np.testing.assert_array_equal(got.to_numpy(), df[key].sort_values(key).to_numpy())
