"""Synthetic demo data: schema of docs/data.md, determinism, realism checks and ground truth actually present."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govlib.cli import main as cli_main
from govlib.commands.demo_data import write_demo_data
from govlib.data.demo import (
    DEMO_RANGES, MONTHS, QUARTERS, SCOPED_RANGES, SMALL_POPULATION_SCALE, TABLE_NAMES, YEARS, _Context,
    _population, default_framework, generate_demo_data,
)
from govlib.errors import InputError
from govlib.data.units import DISTRICT_CODE, is_unit_code

SEED = 20180507


@pytest.fixture(scope="module")
def demo() -> dict:
    return generate_demo_data("small", SEED)


@pytest.fixture(scope="module")
def written(tmp_path_factory, demo):
    out = tmp_path_factory.mktemp("demo_a")
    write_demo_data(demo, out, "small", SEED)
    return out


def _documented_columns(project_root) -> dict[str, list[str]]:
    """Columns of every input table, parsed from docs/data.md (the authoritative schema)."""
    text = (project_root / "docs" / "data.md").read_text(encoding="utf-8")
    section = text.split("## Inputs", 1)[1].split("### The framework", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.match(r"^\| `(\w+)` \| (.+?) \| .* \|$", line)
        if not m or m.group(2).startswith("see below"):
            continue
        cols = re.sub(r"\([^)]*\)", "", m.group(2))
        names = [c.strip().strip("*").strip() for c in cols.split(",")]
        out[m.group(1)] = [n for n in names if n and n != "one column per item"]
    return out


# ---------------------------------------------------------------------------------------------------- schema

def test_every_documented_table_is_generated_with_its_columns(demo, project_root):
    documented = _documented_columns(project_root)
    assert set(documented) - {"framework"} == set(TABLE_NAMES)
    for name, cols in documented.items():
        df = demo[name]
        extra = set(df.columns) - set(cols)
        if name == "survey_responses":
            assert extra == {f"q{k}" for k in range(1, 9)}
            cols = [c for c in cols if c not in ("demographics",)]
        else:
            assert not extra, f"{name}: undocumented columns {extra}"
        assert set(cols) <= set(df.columns), f"{name}: missing {set(cols) - set(df.columns)}"
        assert len(df) > 0, name


def test_framework_is_the_illustrative_one(demo):
    fw = demo["framework"]
    leaves = [n for n in fw["nodes"] if "." in n["code"]]
    assert len(leaves) == 41 and len(fw["nodes"]) == 48
    assert "illustrative" in fw["description_en"] and "示例" in fw["description_zh"]
    assert {n["code"] for n in leaves} == set(DEMO_RANGES)
    roots = [n for n in fw["nodes"] if n.get("parent") is None]
    assert [r["code"] for r in roots] == ["SGI"]
    for n in leaves:
        assert n["goalpost_low"] < n["goalpost_high"]
        assert n["direction"] in (1, -1, 0) and n["scope"] in ("all", "街道", "镇")
        assert n["frequency"] in ("A", "Q", "M") and n["source"] in ("admin", "survey", "hotline", "service")
        lo, hi = DEMO_RANGES[n["code"]]
        assert n["goalpost_low"] <= lo and n["goalpost_high"] >= hi, n["code"]
    assert {n["code"]: n["transform"] for n in leaves}["D2.1"] == "log"
    assert {n["code"]: n["temporal_aggregation"] for n in leaves}["D3.1"] == "sum"


def test_codes_are_12_digit_strings_with_correct_parents(demo):
    units = demo["units"]
    codes = set(units["code"])
    jz = set(units.loc[units["kind"].isin(["街道", "镇"]), "code"])
    comm = units[units["level"] == "community"]
    assert comm["parent"].isin(jz).all()
    for name, col in [("population", "code"), ("observations", "unit"), ("doorstep_menus", "community"),
                      ("doorstep_stations", "community"), ("doorstep_evaluations", "community")]:
        values = demo[name][col]
        assert values.map(is_unit_code).all(), name
        assert values.isin(codes).all(), name
    assert demo["observations"]["unit"].isin(jz).all()
    sv = demo["survey_responses"]
    unit = sv["unit"].astype(str)
    assert unit.isin(set(comm["code"])).all()
    assert (sv["stratum"].astype(str) == unit.str[:9] + "000").all()
    assert (sv["psu"].astype(str) == unit).all()
    assert demo["hotline_tickets"]["unit"].astype(str).isin(set(comm["code"])).all()


# ---------------------------------------------------------------------------------------------- determinism

def test_same_seed_same_tables_different_seed_different_tables(demo):
    again = generate_demo_data("small", SEED)
    for name in TABLE_NAMES:
        assert demo[name].equals(again[name]), name  # equals: same shape, dtypes and values (NaN == NaN)
        assert (demo[name].dtypes == again[name].dtypes).all(), name
    other = generate_demo_data("small", SEED + 1)
    for name in ["observations", "survey_responses", "hotline_tickets", "doorstep_menus", "ground_truth"]:
        assert not demo[name].equals(other[name]), name


def test_written_files_are_byte_identical_and_labelled_synthetic(tmp_path, written):
    write_demo_data(generate_demo_data("small", SEED), tmp_path, "small", SEED)
    files_a = sorted(p.relative_to(written).as_posix() for p in written.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files_a == files_b
    assert "hotline_tickets/2018.parquet" in files_a and "survey_responses.parquet" in files_a
    for f in files_a:
        assert (written / f).read_bytes() == (tmp_path / f).read_bytes(), f
    info = json.loads((written / "DATASET.json").read_text(encoding="utf-8"))
    assert info["synthetic"] is True and info["seed"] == SEED and info["size"] == "small"
    assert info["population_scale"] == SMALL_POPULATION_SCALE
    readme = (written / "README.md").read_text(encoding="utf-8")
    assert "合成" in readme and "synthetic" in readme
    units = pd.read_csv(written / "units.csv", dtype=str)
    assert units["code"].str.fullmatch(r"\d{12}").all()


def test_cli_writes_to_out_and_refuses_to_overwrite_real_data(tmp_path, capsys):
    out = tmp_path / "raw"
    assert cli_main(["demo-data", "--size", "small", "--seed", "5", "--out", str(out)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert json.loads((out / "DATASET.json").read_text())["seed"] == 5
    assert (out / "framework.yaml").read_text(encoding="utf-8").startswith("# Illustrative")
    assert cli_main(["demo-data", "--seed", "6", "--out", str(out)]) == 0  # a demo folder may be regenerated
    real = tmp_path / "real"
    real.mkdir()
    (real / "observations.csv").write_text("unit,period,indicator,value\n", encoding="utf-8")
    assert cli_main(["demo-data", "--out", str(real)]) == 2
    assert "refusing" in capsys.readouterr().err
    assert not (real / "DATASET.json").exists()


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="size"):
        generate_demo_data("huge")
    with pytest.raises(InputError, match="seed"):
        generate_demo_data("small", seed=-1)


# -------------------------------------------------------------------------------------------------- realism

def test_population_sums_and_ranges():
    ctx = _Context("full", SEED)
    population, structure, _, _ = _population(ctx)
    pop = population.set_index(["code", "year"])["residents"]
    y2020 = population[population["year"] == "2020"].set_index("code")["residents"]
    jz = ctx.jz.set_index("code")
    street = y2020[jz.index[jz["kind"] == "街道"]]
    town = y2020[jz.index[jz["kind"] == "镇"]]
    assert street.between(80_000, 250_000).all() and town.between(30_000, 450_000).all()
    assert 5.5e6 <= y2020[DISTRICT_CODE] <= 5.9e6  # census 2020: 5,681,512
    share60 = population[population["year"] == "2020"].set_index("code")
    assert 20 <= 100 * share60.loc[DISTRICT_CODE, "aged_60_plus"] / y2020[DISTRICT_CODE] <= 24  # census 21.63
    comm_sum = population[population["code"].str[9:] != "000"].groupby(
        [population["code"].str[:9] + "000", "year"])["residents"].sum()
    assert (comm_sum == pop.loc[comm_sum.index]).all()
    adults = structure.groupby(["code", "year"])["residents"].sum()
    ratio = adults / pop.loc[adults.index]
    assert ratio.between(0.84, 0.90).all()
    growth = pop.loc[(DISTRICT_CODE, "2025")] / pop.loc[(DISTRICT_CODE, "2018")]
    assert growth > 1.0 and growth < 1.15


def _outlier_keys(demo):
    gt = demo["ground_truth"]
    out = gt[gt["kind"] == "outlier"]
    return set(zip(out["unit"], out["start_period"], out["indicator"]))


def test_admin_values_within_demo_ranges(demo):
    obs = demo["observations"]
    assert (obs["source"] == "admin").all()
    fw = {n["code"]: n for n in demo["framework"]["nodes"]}
    assert set(obs["indicator"]) == {c for c, n in fw.items() if n.get("source") == "admin"}
    outliers = _outlier_keys(demo)
    keys = zip(obs["unit"], obs["period"], obs["indicator"])
    clean = obs[[k not in outliers for k in keys]].dropna(subset=["value"])
    kind = demo["units"].set_index("code")["kind"]
    for code, g in clean.groupby("indicator"):
        values = g["value"]
        if code == "D3.1":  # quarterly values of a per-year rate: the year's quarters add up to it
            values = g.groupby([g["unit"], g["period"].str[:4]])["value"].sum()
            values = values[g.groupby([g["unit"], g["period"].str[:4]]).size() == 4]
        lo, hi = DEMO_RANGES[code]
        assert values.between(lo, hi).all(), (code, values.min(), values.max())
        if code in SCOPED_RANGES:
            for k, (slo, shi) in SCOPED_RANGES[code].items():
                assert g.loc[g["unit"].map(kind) == k, "value"].between(slo, shi).all(), (code, k)
        scope = fw[code]["scope"]
        if scope != "all":
            assert (g["unit"].map(kind) == scope).all(), code
        expected = {"A": YEARS, "Q": QUARTERS, "M": MONTHS}[fw[code]["frequency"]]
        assert set(obs.loc[obs["indicator"] == code, "period"]) == set(expected), code


def test_missing_values_and_provisional_flags(demo):
    obs = demo["observations"]
    assert 0.012 <= obs["value"].isna().mean() <= 0.04
    prov = obs[obs["flag"] == "provisional"]
    assert len(prov) > 0 and prov["period"].str.startswith("2025").all()
    assert prov["value"].notna().all()
    assert set(obs["flag"]) <= {"", "provisional"}
    latest_annual = obs[obs["period"] == "2025"]
    assert 0.3 <= (latest_annual["flag"] == "provisional").mean() <= 0.9


def test_indicators_correlate_through_the_latent_level():
    ctx = _Context("full", SEED)
    population, *_ = _population(ctx)
    from govlib.data.demo import _observations
    obs, _ = _observations(ctx, population, default_framework())
    wide = obs[obs["period"] == "2019"].pivot(index="unit", columns="indicator", values="value")
    strong = wide[["D1.1", "D1.2", "D1.4"]].corr(method="spearman").to_numpy()[np.triu_indices(3, 1)]
    assert strong.mean() > 0.3
    d2 = wide[["D2.5", "D2.6", "D2.7"]].corr(method="spearman").to_numpy()[np.triu_indices(3, 1)]
    assert d2.mean() > 0.3
    street = wide.index.isin(ctx.jz.loc[ctx.jz["kind"] == "街道", "code"])
    assert wide.loc[street, "D2.1"].mean() > wide.loc[~street, "D2.1"].mean() + 10_000
    assert wide.loc[street, "D2.4"].mean() > wide.loc[~street, "D2.4"].mean()


def _scores(survey: pd.DataFrame) -> pd.DataFrame:
    items = survey[[f"q{k}" for k in range(1, 9)]].astype("float64")
    items = items.where(items != 9)
    return (items - 1) / 4 * 100


def test_survey_design_and_margins(demo):
    sv = demo["survey_responses"]
    units = demo["units"]
    assert set(sv["wave"].astype(str)) == set(QUARTERS)
    n = sv.groupby(["psu", "wave"], observed=True).size()
    assert 26 <= n.mean() <= 34 and n.min() >= 15
    n_comm = units[units["level"] == "community"].groupby("parent").size()
    assert (sv["fpc1"].to_numpy() == sv["stratum"].astype(str).map(n_comm).to_numpy()).all()
    # Design weights: adults of the community / respondents in the community and wave.
    g = sv.groupby(["psu", "wave"], observed=True)
    assert np.allclose(g["weight"].sum(), g["fpc2"].first(), rtol=1e-3)
    # Weighted totals of a wave match the adult population of each 街镇 (population_structure margins).
    struct = demo["population_structure"]
    wave = sv[sv["wave"] == "2021Q2"]
    est = wave.groupby(wave["stratum"].astype(str))["weight"].sum()
    adults = struct[struct["year"] == "2021"].groupby("code")["residents"].sum()
    assert np.allclose(est.sort_index(), adults.loc[est.index].sort_index(), rtol=0.02)
    # Nonresponse: the unweighted sample is too old, so raking to the margins matters.
    pop_65 = struct.loc[struct["age_group"] == "65+", "residents"].sum() / struct["residents"].sum()
    assert (sv["age_group"] == "65+").mean() > pop_65 + 0.03
    assert set(sv["sex"].astype(str)) == {"M", "F"}


def test_survey_items_codes_and_levels(demo):
    sv = demo["survey_responses"]
    items = demo["survey_items"]
    assert items["item"].tolist() == [f"q{k}" for k in range(1, 9)]
    assert items["indicator"].tolist() == [f"D6.{k}" for k in range(1, 9)]
    assert (items["missing_codes"] == "9").all() and (items["scale_min"] == 1).all() and (items["scale_max"] == 5).all()
    for k in range(1, 9):
        col = sv[f"q{k}"]
        assert str(col.dtype) == "Int8"
        assert set(col.dropna().unique()) <= {1, 2, 3, 4, 5, 9}
        assert 0.02 <= (col == 9).mean() <= 0.06
        assert 0.01 <= col.isna().mean() <= 0.03
    scores = _scores(sv).groupby([sv["stratum"].astype(str), sv["year"] if "year" in sv else sv["wave"]],
                                 observed=True).mean()
    means = scores.mean()
    # DOMAIN.md: safety > health > infrastructure (everyday convenience) > social security > environment.
    assert means["q4"] > means["q3"] > means["q1"] > means["q2"] > means["q5"]
    assert means["q7"] == means.min()  # awareness lowest overall
    by_unit = scores.groupby(level=0).mean()
    for k in range(1, 9):
        lo, hi = DEMO_RANGES[f"D6.{k}"]
        assert by_unit[f"q{k}"].between(lo, hi).all(), k


def test_hotline_tickets(demo):
    h = demo["hotline_tickets"]
    assert h["ticket_id"].is_unique
    assert (np.diff(h["created_at"].to_numpy().astype("int64")) >= 0).all()
    mix = h["category"].value_counts(normalize=True)
    assert abs(mix["consultation"] - 0.286) < 0.01 and abs(mix["help"] - 0.228) < 0.01
    assert abs(mix["complaint"] - 0.118) < 0.01
    assert (h["due_at"] > h["created_at"]).all()
    assert (h["due_at"].dt.day_of_week < 5).all()  # due on a working day
    closed = h["closed_at"].dropna()
    assert (closed > h.loc[closed.index, "created_at"]).all()
    assert 0 < h["closed_at"].isna().sum() < 0.01 * len(h)
    assert (h.loc[h["closed_at"].isna(), "created_at"] >= pd.Timestamp("2025-11-01")).all()
    sat = h["satisfaction"].dropna()
    assert set(sat.unique()) <= {1, 2, 3, 4, 5} and 0.45 < len(sat) / len(h) < 0.65
    assert 0.75 <= (sat >= 4).mean() <= 0.95
    assert 0.02 <= h["repeat"].mean() <= 0.15
    ontime = (h["closed_at"] <= h["due_at"]).mean()
    assert 0.85 <= ontime <= 0.99
    pop = demo["population"]
    residents = pop[pop["code"].isin(demo["units"].query("kind in ['街道', '镇']")["code"])]
    per_10k = len(h) / residents["residents"].sum() * 1e4  # tickets per 10k residents per year
    assert 2000 <= per_10k <= 6000


def test_doorstep_catalogue_stations_menus(demo):
    cat = demo["doorstep_catalogue"]
    assert len(cat) == 147 and cat["item_id"].is_unique
    assert cat["tier"].value_counts().to_dict() == {"basic": 84, "bottom_line": 38, "quality": 25}
    assert cat["category"].nunique() == 7 and cat["department"].nunique() == 26
    assert cat["name_zh"].str.contains("示例").all() and cat["name_en"].str.contains("synthetic").all()
    st = demo["doorstep_stations"]
    cover = st.groupby("year")["has_station"].mean()
    assert (cover >= 0.9).all() and cover["2025"] == 1.0
    share = (st["service_area_m2"] / st["floor_area_m2"]).dropna()
    assert share.between(0.49, 0.91).all()
    assert st.groupby("year")["legal_adviser"].mean().between(0.85, 1.0).all()
    menus = demo["doorstep_menus"]
    assert menus["item_id"].isin(set(cat["item_id"])).all()
    assert menus["from_period"].isin(MONTHS).all()
    assert menus["to_period"].isin(MONTHS + [""]).all()

    def available(month):
        on = (menus["from_period"] <= month) & ((menus["to_period"] == "") | (menus["to_period"] >= month))
        return menus[on].groupby("community").size()

    early, late = available("2018-03"), available("2025-12")
    assert 85 <= early.mean() <= 125 and late.max() <= 147
    assert late.mean() >= early.mean() + 15  # menus grow over time
    bottom = set(cat.loc[cat["tier"] == "bottom_line", "item_id"])
    n_bottom = menus[menus["item_id"].isin(bottom) & (menus["to_period"] == "")].groupby("community").size()
    assert (n_bottom >= 30).all() and (n_bottom == 38).mean() > 0.8


def test_doorstep_records_and_evaluations(demo):
    rec = demo["doorstep_records"]
    menus = demo["doorstep_menus"]
    assert (rec["count"] > 0).all()
    month = rec["date"].dt.strftime("%Y-%m")
    assert (rec["date"].dt.day == 1).all() and month.isin(MONTHS).all()
    m = rec.assign(month=month, community=rec["community"].astype(str), item_id=rec["item_id"].astype(str)).merge(
        menus, on=["community", "item_id"], how="left")
    on_menu = (m["from_period"] <= m["month"]) & ((m["to_period"] == "") | (m["to_period"] >= m["month"]))
    assert on_menu.all()  # services are only delivered for ordered items
    ev = demo["doorstep_evaluations"]
    per_year = ev.groupby([ev["community"], ev["date"].str[:4]]).size()
    assert per_year.between(2, 24).all()
    rated = ev["rating"].notna()
    assert (ev.loc[rated, "meeting"] == "evaluation").all() and ev.loc[rated, "rating"].between(0, 100).all()
    assert (ev["meeting"] == "evaluation").sum() == rated.sum()
    meetings = ev.groupby("project_id")["meeting"].agg(set)
    # every project has a hearing, except the broken chains planted for the conformity checks (#18)
    planted = demo["ground_truth"]["description"].str.extract(r"project (\S+): missing_hearing")[0].dropna()
    assert len(planted) >= 1 and not meetings[planted].map(lambda s: "hearing" in s).any()
    assert meetings.drop(planted).map(lambda s: "hearing" in s).all()
    never = meetings.map(lambda s: "evaluation" not in s)
    assert 0 < never.sum() < 0.1 * len(meetings)  # a few projects never evaluated


# --------------------------------------------------------------------------------------------- ground truth

def _series(obs, unit, indicator):
    s = obs[(obs["unit"] == unit) & (obs["indicator"] == indicator)].set_index("period")["value"]
    return s.sort_index()


def test_ground_truth_table(demo):
    gt = demo["ground_truth"]
    assert gt["event_id"].is_unique
    kinds = set(gt["kind"])
    assert {"trend", "step", "shock", "outlier", "survey_drop", "doorstep_menu_loss", "doorstep_usage_drop"} <= kinds
    units = set(demo["units"]["code"])
    assert gt["unit"].isin(units).all()
    steps = gt[(gt["kind"] == "step") & (gt["unit"] != DISTRICT_CODE)]
    assert (steps["magnitude_sd"].abs() >= 1.5).sum() >= 2 and (steps["magnitude_sd"].abs() < 1.5).any()


def test_planted_steps_trends_shocks_are_in_the_observations(demo):
    obs, gt = demo["observations"], demo["ground_truth"]
    for ev in gt[gt["unit"] != DISTRICT_CODE].itertuples():
        if ev.kind not in ("trend", "step", "shock"):
            continue
        s = _series(obs, ev.unit, ev.indicator)
        assert s.notna().all(), ev.event_id  # event series carry no missing values
        sd = abs(ev.magnitude / ev.magnitude_sd)
        if ev.kind == "step":
            after = s.index >= ev.start_period
            diff = s[after].mean() - s[~after].mean()
            se = sd * np.sqrt(1 / after.sum() + 1 / (~after).sum())
            assert abs(diff - ev.magnitude) < 3.5 * se + 0.05 * sd, (ev.event_id, diff, ev.magnitude)
        elif ev.kind == "shock":
            others = s.drop(ev.start_period)
            dev = s[ev.start_period] - others.mean()
            assert abs(dev - ev.magnitude) < 3.5 * sd, (ev.event_id, dev, ev.magnitude)
            assert np.sign(dev) == np.sign(ev.magnitude)
        else:
            from govlib.periods import decimal_time
            t = decimal_time(pd.Series(s.index))
            slope_all = np.polyfit(t, s.to_numpy(), 1)[0]
            assert np.sign(slope_all) == np.sign(ev.magnitude), ev.event_id
            part = s[s.index >= ev.start_period]
            tp = decimal_time(pd.Series(part.index))
            slope, _ = np.polyfit(tp, part.to_numpy(), 1)
            se = sd / np.sqrt(((tp - tp.mean()) ** 2).sum())
            assert abs(slope - ev.magnitude) < 4 * se, (ev.event_id, slope, ev.magnitude)


def test_district_wide_events_are_in_every_series(demo):
    obs, gt = demo["observations"], demo["ground_truth"]
    district = gt[gt["unit"] == DISTRICT_CODE].set_index("indicator")
    d45 = obs[obs["indicator"] == "D4.5"]
    after = d45["period"] >= "2019Q3"
    assert abs(d45.loc[after, "value"].mean() - d45.loc[~after, "value"].mean() - district.loc["D4.5", "magnitude"]) < 3
    for code in ["D2.2", "D2.3", "D2.4"]:
        g = obs[obs["indicator"] == code].dropna(subset=["value"])
        g = g[~g["unit"].isin(gt.loc[gt["kind"] == "outlier", "unit"]) | (g["indicator"] != code)]
        slope = np.polyfit(g["period"].astype(int), g["value"], 1)[0]
        assert abs(slope - district.loc[code, "magnitude"]) < 0.3 * abs(district.loc[code, "magnitude"]), code


def test_planted_outliers_are_at_the_stated_rows(demo):
    obs, gt = demo["observations"], demo["ground_truth"]
    out = gt[gt["kind"] == "outlier"]
    assert len(out) >= 3
    for ev in out.itertuples():
        s = _series(obs, ev.unit, ev.indicator)
        value = s[ev.start_period]
        ratio = value / s.drop(ev.start_period).median()
        assert ev.magnitude / 2 < ratio < ev.magnitude * 2, (ev.event_id, ratio)
        row = obs[(obs["unit"] == ev.unit) & (obs["period"] == ev.start_period) & (obs["indicator"] == ev.indicator)]
        assert len(row) == 1 and row["flag"].iloc[0] == ""


def test_planted_survey_drops(demo):
    sv, gt = demo["survey_responses"], demo["ground_truth"]
    drops = gt[gt["kind"] == "survey_drop"]
    assert len(drops) >= 2
    items = demo["survey_items"].set_index("indicator")["item"]
    scores = _scores(sv)
    for ev in drops.itertuples():
        mine = (sv["unit"].astype(str) == ev.unit).to_numpy()
        item = items[ev.indicator]
        wave = sv.loc[mine, "wave"].astype(str)
        after = (wave >= ev.start_period).to_numpy()
        s = scores.loc[mine, item]
        diff, se = _mean_difference(s[after], s[~after])
        assert abs(diff - ev.magnitude) < 4 * se, (ev.event_id, diff, se, ev.magnitude)
        # The other communities of the 街镇 show no such drop.
        neighbours = (sv["stratum"].astype(str) == ev.unit[:9] + "000").to_numpy() & ~mine
        wave_n = (sv.loc[neighbours, "wave"].astype(str) >= ev.start_period).to_numpy()
        s_n = scores.loc[neighbours, item]
        diff_n, se_n = _mean_difference(s_n[wave_n], s_n[~wave_n])
        assert abs(diff_n) < 4 * se_n + 1.5, (ev.event_id, diff_n)


def _mean_difference(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    a, b = a.dropna(), b.dropna()
    return a.mean() - b.mean(), float(np.sqrt(a.var() / len(a) + b.var() / len(b)))


def test_planted_doorstep_events(demo):
    gt, menus, rec = demo["ground_truth"], demo["doorstep_menus"], demo["doorstep_records"]
    loss = gt[gt["kind"] == "doorstep_menu_loss"].iloc[0]
    lost = loss["description"].split(": ")[1].split(";")
    mine = menus[menus["community"] == loss["unit"]].set_index("item_id")
    last = (pd.Period(loss["start_period"], "M") - 1).strftime("%Y-%m")
    assert (mine.loc[lost, "to_period"] == last).all()
    assert len(lost) == -loss["magnitude"]
    usage = gt[gt["kind"] == "doorstep_usage_drop"].iloc[0]
    # Compare the same items (those on the menu all the time from a year before the drop to the end), so that
    # menu growth does not blur the ratio.
    window_start = (pd.Period(usage["start_period"], "M") - 12).strftime("%Y-%m")
    menu = menus[(menus["community"] == usage["unit"]) & (menus["from_period"] <= window_start)
                 & (menus["to_period"] == "")]
    r = rec[(rec["community"].astype(str) == usage["unit"]) & rec["item_id"].astype(str).isin(set(menu["item_id"]))]
    monthly = r.groupby(r["date"].dt.strftime("%Y-%m"))["count"].sum().reindex(MONTHS, fill_value=0)
    after = monthly.index >= usage["start_period"]
    before = ~after & (monthly.index >= window_start)
    ratio = monthly[after].mean() / monthly[before].mean()
    assert abs(ratio - (1 + usage["magnitude"])) < 0.2, ratio
    others = rec[(rec["community"].astype(str) != usage["unit"])]
    o = others.groupby(others["date"].dt.strftime("%Y-%m"))["count"].sum().reindex(MONTHS, fill_value=0)
    assert o[after].mean() / o[before].mean() > 0.9  # no such drop elsewhere


@settings(max_examples=3, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1))
def test_any_seed_gives_consistent_ground_truth_and_ranges(seed):
    """Property: whatever the seed, the planted events are present and the values stay in the demo ranges."""
    tables = generate_demo_data("small", seed)
    test_admin_values_within_demo_ranges(tables)
    test_planted_steps_trends_shocks_are_in_the_observations(tables)
    test_planted_outliers_are_at_the_stated_rows(tables)
    test_planted_survey_drops(tables)
    test_planted_doorstep_events(tables)
    test_ground_truth_table(tables)
