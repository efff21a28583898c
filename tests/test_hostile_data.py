"""A hostile or careless user's data (issue 14, data and store half): every case in its own project root, as a new
user would run it, through the CLI. Each bad input gives exit 2 and a message naming file, row, column and value;
the previous processed data stay intact; nothing is accepted silently."""
from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import count
from govlib.cli import main
from govlib.data.store import file_sha256
from govlib.errors import format_value

REPO = Path(__file__).resolve().parents[1]
INTERNAL_NAMES = ("finalise_monthly", "_wstratum", "_wpsu", "Traceback", " _psu", "'_psu'", "'_stratum'", "rowmap")


# ----------------------------------------------------------------------------------------------- project roots
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A small demo project with a finished build (two years of hotline tickets, to keep each case quick; 200 Monte
    Carlo replications of the index's uncertainty, not 1,000, to keep the one real build quick)."""
    root = tmp_path_factory.mktemp("hostile-template")
    settings = (REPO / "govlib.yaml").read_text(encoding="utf-8")
    (root / "govlib.yaml").write_text(settings + "\nindex:\n  uncertainty:\n    replications: 200\n", encoding="utf-8")
    old = os.environ.get("GOVLIB_ROOT")
    os.environ["GOVLIB_ROOT"] = str(root)
    try:
        assert main(["demo-data", "--size", "small"]) == 0
        for p in (root / "data/raw/hotline_tickets").glob("*.parquet"):
            if p.stem not in ("2024", "2025"):
                p.unlink()
        assert main(["build", "--quiet"]) == 0
    finally:
        os.environ.pop("GOVLIB_ROOT") if old is None else os.environ.__setitem__("GOVLIB_ROOT", old)
    return root


@pytest.fixture
def project(template, tmp_path, monkeypatch):
    """A fresh copy of the template project (its own root, its own processed store)."""
    root = tmp_path / "project"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.setenv("GOVLIB_ROOT", str(root))
    return root


@pytest.fixture
def quick_stages(monkeypatch):
    """Builds that skip the stages (the store's behaviour does not depend on them): seconds, not a minute."""
    import govlib.pipeline.build as build_module

    def no_stages(dataset, settings, only=None, on_stage=None, **release):
        tables = dict(dataset.tables)
        tables["framework"] = dataset.framework.nodes.copy()
        return tables, {}
    monkeypatch.setattr(build_module, "run_stages", no_stages)


def raw(root: Path) -> Path:
    return root / "data" / "raw"


def snapshot(root: Path) -> dict[str, str]:
    """Every file of the processed store with its hash, and where `current` points."""
    processed = root / "data" / "processed"
    out = {str(p.relative_to(processed)): file_sha256(p) for p in processed.rglob("*") if p.is_file()
           and not p.is_symlink()}
    out["current ->"] = os.readlink(processed / "current") if (processed / "current").is_symlink() else "?"
    return out


def refused(root: Path, capsys, *needles: str, commands=(("validate",), ("build", "--quiet"))) -> str:
    """Run each command; each must exit 2 with a message holding every needle, the store unchanged."""
    count("adversarial inputs tried")
    before = snapshot(root)
    text = ""
    for cmd in commands:
        code = main(list(cmd))
        out = capsys.readouterr()
        text = out.err + out.out
        assert code == 2, f"govlib {' '.join(cmd)} exited {code}:\n{text}"
        for needle in needles:
            assert needle in text, f"{needle!r} not in the message of govlib {' '.join(cmd)}:\n{text}"
        for name in INTERNAL_NAMES:
            assert name not in text, f"internal name {name!r} in the message:\n{text}"
    assert snapshot(root) == before, "the processed data changed"
    assert not list((root / "data/processed/builds").glob(".staging-*"))
    return text


def edit_csv(path: Path, change) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = change(df)
    df.to_csv(path, index=False)


# ----------------------------------------------------------------------------------------------- unit hierarchy
def _first_community(df):
    return df.index[df["level"] == "community"][0]


def test_a_community_that_is_its_own_parent(project, capsys):
    def change(df):
        i = _first_community(df)
        df.loc[i, "parent"] = df.loc[i, "code"]
        return df
    edit_csv(raw(project) / "units.csv", change)
    code = pd.read_csv(raw(project) / "units.csv", dtype=str).query("level == 'community'")["code"].iloc[0]
    i = int(pd.read_csv(raw(project) / "units.csv", dtype=str).query("level == 'community'").index[0]) + 2
    refused(project, capsys, f"units.csv, row {i}, column 'parent'", code, "other than the unit itself")


def test_a_parent_cycle_between_a_jiezhen_and_its_community(project, capsys):
    def change(df):
        c = _first_community(df)
        j = df.index[df["code"] == df.loc[c, "parent"]][0]
        df.loc[j, "parent"] = df.loc[c, "code"]  # the 街道 now hangs under its own community
        return df
    edit_csv(raw(project) / "units.csv", change)
    refused(project, capsys, "units.csv, row 3, column 'parent'", "loops back")


def test_a_community_of_kind_jiedao_under_another_community(project, capsys):
    def change(df):
        c = df.index[df["level"] == "community"]
        df.loc[c[1], "kind"] = "街道"
        df.loc[c[1], "parent"] = df.loc[c[0], "code"]
        return df
    edit_csv(raw(project) / "units.csv", change)
    refused(project, capsys, "column 'kind'", "'街道'", "a kind of level community", "column 'parent'",
            "is of level community")


def test_merged_parent_cells_in_an_xlsx_units_table(project, capsys):
    from openpyxl import Workbook

    df = pd.read_csv(raw(project) / "units.csv", dtype=str, keep_default_na=False)
    wb = Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(list(row))
    first = int(np.flatnonzero(df["level"] == "community")[0]) + 2
    ws.merge_cells(f"E{first}:E{first + 4}")  # the same 街镇 for five communities, as people lay it out
    (raw(project) / "units.csv").unlink()
    wb.save(raw(project) / "units.xlsx")
    refused(project, capsys, f"units.xlsx, row {first}, column 'parent'", f"merged cells E{first}:E{first + 4}")


# ----------------------------------------------------------------------------------------------- sources and files
def test_a_hidden_stale_first_sheet(project, capsys):
    from openpyxl import Workbook

    df = pd.read_csv(raw(project) / "units.csv", dtype=str, keep_default_na=False)
    wb = Workbook()
    old = wb.active
    old.title = "2019旧版"
    old.append(list(df.columns))
    for row in df.head(5).itertuples(index=False):
        old.append(list(row))
    old.sheet_state = "hidden"
    new = wb.create_sheet("units")
    new.append(list(df.columns))
    for row in df.itertuples(index=False):
        new.append(list(row))
    (raw(project) / "units.csv").unlink()
    wb.save(raw(project) / "units.xlsx")
    refused(project, capsys, "units.xlsx", "the first sheet '2019旧版' is hidden", "'units'")


@pytest.mark.parametrize("second", ["units.xlsx", "units/"])
def test_two_sources_for_one_table(project, capsys, second):
    if second.endswith("/"):
        (raw(project) / "units").mkdir()
        shutil.copy(raw(project) / "units.csv", raw(project) / "units" / "part1.csv")
    else:
        pd.read_csv(raw(project) / "units.csv", dtype=str).to_excel(raw(project) / second, index=False)
    refused(project, capsys, "two sources for table 'units'", "units.csv", second)


def test_a_table_folder_of_gzip_csv_is_read(project, capsys):
    count("adversarial inputs tried")
    folder = raw(project) / "hotline_tickets"
    n = sum(len(pd.read_parquet(p)) for p in folder.glob("*.parquet"))
    for p in folder.glob("*.parquet"):
        with gzip.open(p.with_suffix(".csv.gz"), "wt", encoding="utf-8") as fh:
            pd.read_parquet(p).to_csv(fh, index=False)
        p.unlink()
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert f"{n:,} rows" in out and "hotline_tickets/2024.csv.gz" in out


@pytest.mark.parametrize("stray", ["2023.zip", "notes.txt", "old"])
def test_no_file_in_a_table_folder_is_skipped_silently(project, capsys, stray):
    path = raw(project) / "hotline_tickets" / stray
    path.mkdir() if stray == "old" else path.write_bytes(b"PK\x03\x04")
    refused(project, capsys, f"hotline_tickets/{stray}", "nothing in the folder is skipped")


def test_a_zipped_table_is_named_not_ignored(project, capsys):
    (raw(project) / "population_structure.csv.zip").write_bytes(b"PK\x03\x04")
    refused(project, capsys, "population_structure.csv.zip", "compressed")


def test_ticket_ids_repeated_by_a_csv_correction_are_duplicates(project, capsys):
    tickets = pd.read_parquet(raw(project) / "hotline_tickets/2024.parquet")
    fix = tickets.iloc[10:60].copy()
    fix["ticket_id"] = fix["ticket_id"].astype(str)  # text ids in the CSV, integers in Parquet
    fix.to_csv(raw(project) / "hotline_tickets/2024_corrections.csv", index=False)
    text = refused(project, capsys, "hotline_tickets/2024_corrections.csv, row 2, column 'ticket_id'",
                   str(tickets["ticket_id"].iloc[10]), "also in hotline_tickets/2024.parquet, row 11")
    assert "compared as text" in text


# ----------------------------------------------------------------------------------------------- observations
def _set_obs(root: Path, indicator: str, value: str, row: int | None = None) -> int:
    path = raw(root) / "observations.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = row if row is not None else int(np.flatnonzero((df["indicator"] == indicator) & (df["value"] != ""))[3])
    df.loc[i, "value"] = value
    df.to_csv(path, index=False)
    return i + 2


@pytest.mark.parametrize("value", ["885", "-5", "100.5"])
def test_percent_values_outside_0_100(project, capsys, value):
    row = _set_obs(project, "D1.1", value)
    refused(project, capsys, f"observations.csv, row {row}, column 'value'", "a value from 0 to 100",
            "measured in %")


def test_percent_indicator_given_as_fractions(project, capsys):
    path = raw(project) / "observations.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = (df["indicator"] == "D1.1") & (df["value"] != "")
    df.loc[rows, "value"] = (pd.to_numeric(df.loc[rows, "value"]) / 100).round(4).astype(str)  # Excel percent cells
    df.to_csv(path, index=False)
    refused(project, capsys, "indicator D1.1", "between 0 and 1", "Excel cells formatted as percent")


def test_percent_cells_of_an_xlsx_observations_table(project, capsys):
    from openpyxl import Workbook

    df = pd.read_csv(raw(project) / "observations.csv", dtype=str, keep_default_na=False)
    wb = Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        cells = list(row)
        if row.indicator == "D1.2" and row.value:
            cells[3] = float(row.value) / 100
        ws.append(cells)
        if row.indicator == "D1.2" and row.value:
            ws.cell(ws.max_row, 4).number_format = "0.0%"  # shown as 88.3%, stored as 0.883
    (raw(project) / "observations.csv").unlink()
    wb.save(raw(project) / "observations.xlsx")
    refused(project, capsys, "observations.xlsx", "indicator D1.2", "Excel cells formatted as percent")


@pytest.mark.parametrize("code", ["D1", "SGI"])
def test_observations_for_a_dimension_or_the_index(project, capsys, code):
    path = raw(project) / "observations.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    extra = df.iloc[[0]].assign(indicator=code, period="2019", value="55")
    pd.concat([df, extra]).to_csv(path, index=False)
    refused(project, capsys, f"observations.csv, row {len(df) + 2}, column 'indicator'", f"'{code}'",
            "a leaf of the framework")


@pytest.mark.parametrize("period", ["0000", "9999"])
def test_impossible_periods(project, capsys, period):
    path = raw(project) / "observations.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[5, "period"] = period
    df.to_csv(path, index=False)
    refused(project, capsys, "observations.csv, row 7, column 'period'", f"'{period}'", "years 1900-2100")


# ----------------------------------------------------------------------------------------------- survey, hotline
def _survey(root: Path, change) -> None:
    path = raw(root) / "survey_responses.parquet"
    df = pd.read_parquet(path)
    change(df)
    df.to_parquet(path, index=False)


def test_an_infinite_survey_weight(project, capsys):
    _survey(project, lambda df: df.__setitem__("weight", df["weight"].where(df.index != 16, np.inf)))
    refused(project, capsys, "survey_responses.parquet, row 17, column 'weight'", "inf")


def test_all_zero_weights_in_a_stratum(project, capsys):
    def change(df):
        s = (df["wave"] == "2019Q1") & (df["stratum"] == "310115005000")
        df.loc[s, "weight"] = 0.0
    _survey(project, change)
    df = pd.read_parquet(raw(project) / "survey_responses.parquet")
    first = int(np.flatnonzero(df["weight"].to_numpy() == 0)[0]) + 1
    refused(project, capsys, f"survey_responses.parquet, row {first}, column 'weight'", "a weight above 0")


def test_a_stratum_with_one_psu(project, capsys):
    def change(df):
        s = (df["wave"] == "2020Q2") & (df["psu"] == "310115004003")
        df["stratum"] = df["stratum"].astype(str)
        df.loc[s, "stratum"] = "310115004000x"
    _survey(project, change)
    text = refused(project, capsys, "survey_responses.parquet", "column 'psu'", "stratum 310115004000x",
                   "survey.lonely_psu")
    assert "2020Q2" in text


def test_a_ticket_created_in_the_year_9999(project, capsys):
    path = raw(project) / "hotline_tickets/2025.parquet"
    df = pd.read_parquet(path)
    df["created_at"] = df["created_at"].astype("datetime64[s]")
    df.loc[7, "created_at"] = pd.Timestamp("9999-01-01")
    df.to_parquet(path, index=False)
    refused(project, capsys, "hotline_tickets/2025.parquet, row 8, column 'created_at'", "9999",
            "years 1900-2100")


def test_a_psu_in_two_strata(project, capsys):
    def change(df):
        df["stratum"] = df["stratum"].astype(str)
        rows = np.flatnonzero((df["wave"] == "2021Q1") & (df["psu"] == "310115004002"))
        df.loc[rows[-1], "stratum"] = "310115005000"
    _survey(project, change)
    refused(project, capsys, "survey_responses.parquet, row", "column 'stratum'", "PSUs are nested in strata")


def test_an_fpc_that_varies_within_a_stratum(project, capsys):
    _survey(project, lambda df: df.__setitem__("fpc1", df["fpc1"].where(df.index != 40, 99)))
    refused(project, capsys, "survey_responses.parquet, row 41, column 'fpc1'", "the same fpc1 for every row")


def test_a_ticket_closed_before_it_was_created(project, capsys):
    path = raw(project) / "hotline_tickets/2025.parquet"
    df = pd.read_parquet(path)
    df.loc[16, "closed_at"] = df.loc[16, "created_at"] - pd.Timedelta(days=3)
    df.to_parquet(path, index=False)
    refused(project, capsys, "hotline_tickets/2025.parquet, row 17, column 'closed_at'", "not before created_at")


def test_a_ticket_filed_against_the_district(project, capsys):
    path = raw(project) / "hotline_tickets/2024.parquet"
    df = pd.read_parquet(path)
    df["unit"] = df["unit"].astype(str)
    df.loc[4, "unit"] = "310115000000"
    df.to_parquet(path, index=False)
    refused(project, capsys, "hotline_tickets/2024.parquet, row 5, column 'unit'", "'310115000000'",
            "a community or a 街镇")


# ----------------------------------------------------------------------------------------------- rows as seen
def test_rows_after_a_blank_line_in_csv_are_counted_as_seen(project, capsys):
    path = raw(project) / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[0], "310115999999", 1)  # unknown unit, cross-table check
    lines.insert(5, "")
    lines.insert(6, ",,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(project, capsys, "observations.csv, row 13, column 'unit'", "310115999999")


def test_rows_after_a_blank_row_in_xlsx_are_counted_as_seen(project, capsys):
    from openpyxl import Workbook

    df = pd.read_csv(raw(project) / "observations.csv", dtype=str, keep_default_na=False)
    df.loc[20, "unit"] = "310115999999"
    wb = Workbook()
    ws = wb.active
    ws.append(list(df.columns))
    for k, row in enumerate(df.itertuples(index=False)):
        if k == 3:
            ws.append([None] * len(df.columns))  # a blank row a person left
        ws.append(list(row))
    (raw(project) / "observations.csv").unlink()
    wb.save(raw(project) / "observations.xlsx")
    refused(project, capsys, "observations.xlsx, row 23, column 'unit'", "310115999999")


def test_an_error_in_a_folder_table_names_the_file_and_its_row(project, capsys):
    path = raw(project) / "hotline_tickets/2025.parquet"
    df = pd.read_parquet(path)
    df["unit"] = df["unit"].astype(str)
    df.loc[16, "unit"] = "310115999999"
    df.to_parquet(path, index=False)
    refused(project, capsys, "hotline_tickets/2025.parquet, row 17, column 'unit'", "310115999999")


# ----------------------------------------------------------------------------------------------- huge and damaged
def test_a_nul_filled_csv_is_refused_without_eating_memory(project, capsys):
    size = 256 << 20  # sparse: no disk used; the rest of validate peaks near 20 MiB
    with open(raw(project) / "population_structure.csv", "wb") as fh:
        fh.write(b"code,year\n")
        fh.truncate(size)  # a sparse file of NUL bytes, as a damaged copy leaves
    tracemalloc.start()
    try:
        text = refused(project, capsys, "population_structure.csv, row 2", "NUL bytes", commands=(("validate",),))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 4, f"peak {peak / 2**20:.0f} MiB reading a {size >> 20} MiB file"
    assert len(text) < 2000


def test_a_line_of_several_megabytes_is_refused(project, capsys):
    path = raw(project) / "population_structure.csv"
    path.write_text("code,year,sex,age_group,residents\n310115004000,2024,M,18-34," + "9" * (3 << 20) + "\n")
    refused(project, capsys, "population_structure.csv, row 2", "a line longer than", commands=(("validate",),))


def test_format_value_cuts_before_repr():
    count("adversarial inputs tried")
    cell = "\x00" * (200 << 20)
    tracemalloc.start()
    shown = format_value(cell)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(shown) < 120 and "209,715,200 characters" in shown
    assert peak < 10 << 20


# ----------------------------------------------------------------------------------------------- the processed store
def test_a_rebuild_with_unchanged_inputs_switches_in_one_rename(project, quick_stages, capsys, monkeypatch):
    """A kill at any point of the switch leaves `current` at a complete build (here: at the one moment between
    moving the new folder into place and swapping the link)."""
    import govlib.data.store as store

    count("crash runs survived")
    before = snapshot(project)
    current = (project / "data/processed/current").resolve()

    def killed(*args, **kwargs):
        raise SystemExit(137)
    real_symlink = store.os.symlink
    monkeypatch.setattr(store.os, "symlink", killed)
    with pytest.raises(SystemExit):
        main(["build", "--quiet"])
    monkeypatch.setattr(store.os, "symlink", real_symlink)
    assert (project / "data/processed/current").resolve() == current and (current / "manifest.json").exists()
    assert all(v == before[k] for k, v in snapshot(project).items() if k in before)
    assert main(["provenance"]) == 0
    assert main(["build", "--quiet"]) == 0  # the next build completes and tidies
    capsys.readouterr()
    new = (project / "data/processed/current").resolve()
    assert new.name.startswith(current.name) and new != current and (new / "manifest.json").exists()
    assert not list((project / "data/processed").glob(".current-*"))


def test_a_dangling_current_link_is_recovered_by_readers(project, quick_stages, capsys):
    """What an older govlib left when killed between its two renames: `current` -> a missing folder."""
    count("crash runs survived")
    processed = project / "data/processed"
    target = processed / "current"
    build = target.resolve()
    os.replace(build, processed / "builds" / ".old-killed")
    shutil.copytree(processed / "builds" / ".old-killed", processed / "builds" / "previous")
    assert not target.exists()
    assert main(["provenance"]) == 0
    assert "builds/previous" in capsys.readouterr().out
    assert main(["build", "--quiet"]) == 0
    assert (processed / "current").resolve().is_dir()


def test_current_as_a_plain_folder_is_adopted(project, quick_stages, capsys):
    """A project copied through zip: `current` is a real folder holding the build."""
    count("adversarial inputs tried")
    processed = project / "data/processed"
    build = (processed / "current").resolve()
    (processed / "current").unlink()
    shutil.copytree(build, processed / "current")
    shutil.rmtree(build)
    manifest = json.loads((processed / "current/manifest.json").read_text(encoding="utf-8"))
    assert main(["provenance"]) == 0
    assert main(["build", "--quiet"]) == 0
    capsys.readouterr()
    assert (processed / "current").is_symlink() and (processed / "current").resolve().is_dir()
    assert not list(processed.glob(".current-*"))
    kept = [p for p in (processed / "builds").iterdir() if p.name.startswith("copied-current")]
    assert kept and json.loads((kept[0] / "manifest.json").read_text())["build_id"] == manifest["build_id"]


def test_current_as_a_folder_of_other_files_is_explained(project, capsys):
    processed = project / "data/processed"
    (processed / "current").unlink()
    (processed / "current").mkdir()
    (processed / "current" / "my notes.txt").write_text("mine")
    count("adversarial inputs tried")
    assert main(["build", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is a folder, not the link" in err and "Move it away" in err
    assert (processed / "current" / "my notes.txt").read_text() == "mine"
    assert not list(processed.glob(".current-*")) and not list((processed / "builds").glob(".staging-*"))


@pytest.mark.parametrize("err, words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only"),
                                        (errno.EACCES, "permission denied")])
def test_disk_full_or_read_only_during_a_build(project, quick_stages, capsys, monkeypatch, err, words):
    import govlib.pipeline.build as build_module

    count("adversarial inputs tried")
    # a change, so that the build would make a new version
    text = (project / "govlib.yaml").read_text(encoding="utf-8")
    (project / "govlib.yaml").write_text(text.replace("timeout_seconds: 900", "timeout_seconds: 901"), encoding="utf-8")
    before = snapshot(project)
    calls = {"n": 0}
    real = build_module.write_table

    def failing(df, target):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(err, os.strerror(err), str(target))
        return real(df, target)
    monkeypatch.setattr(build_module, "write_table", failing)
    assert main(["build", "--quiet"]) == 2
    msg = capsys.readouterr().err
    assert words in msg and "still current" in msg and "Traceback" not in msg
    assert snapshot(project) == before
    assert not list((project / "data/processed/builds").glob(".staging-*"))


def test_a_file_where_the_processed_folder_should_be(project, capsys):
    count("adversarial inputs tried")
    text = (project / "govlib.yaml").read_text(encoding="utf-8")
    (project / "govlib.yaml").write_text(text.replace("processed: data/processed", "processed: data/out.parquet"),
                                         encoding="utf-8")
    (project / "data/out.parquet").write_bytes(b"PAR1 mine")
    assert main(["build", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the processed data" in err and "data/out.parquet" in err and "Traceback" not in err
    assert (project / "data/out.parquet").read_bytes() == b"PAR1 mine"


# ----------------------------------------------------------------------------------------------- provenance
def test_demo_data_without_dataset_json_still_say_synthetic(project, quick_stages, capsys):
    count("adversarial inputs tried")
    (raw(project) / "DATASET.json").unlink()
    assert main(["validate"]) == 0
    assert "synthetic" in capsys.readouterr().out
    assert main(["build", "--quiet"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out


def test_real_data_without_dataset_json_have_unknown_provenance(project, capsys):
    count("adversarial inputs tried")
    (raw(project) / "DATASET.json").unlink()
    edit_csv(raw(project) / "units.csv", lambda df: df.assign(
        name_en=df["name_en"].str.replace(" (synthetic)", "", regex=False),
        name_zh=df["name_zh"].str.replace("（示例）", "", regex=False)))
    assert main(["validate"]) == 0
    assert "provenance: unknown" in capsys.readouterr().out


def test_valid_demo_data_pass_without_warnings(project, capsys):
    """The control: the untouched demo validates (exit 0, every table and its file listed), warning-free."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["validate"]) == 0
    out = capsys.readouterr().out
    for name in ("units", "observations", "hotline_tickets", "survey_responses"):
        assert f"  {name} " in out
