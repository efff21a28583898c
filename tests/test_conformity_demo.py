"""The demo's planted non-conformities and broken chains are found by the build (the small test project), and the
conformity tables reach the street report's section, the workbook and the portal."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from govlib.data.processed import has_table, load_processed
from govlib.reports import conformity as view
from govlib.services import conformity as cf
from govlib.settings import load_settings


@pytest.fixture(scope="module")
def settings():
    s = load_settings()
    if not has_table("conformity_stations", s):
        pytest.skip("the test project has no conformity tables (rebuild it: REBUILD=1)")
    return s


@pytest.fixture(scope="module")
def tables(settings):
    from govlib.reports import views

    return {**view.load_conformity_tables(settings), **views.load_report_tables(settings)}


def test_planted_events_are_all_found(settings):
    truth = pd.read_csv(settings.raw_dir / "ground_truth.csv", dtype=str)
    res = cf.score_planted(truth, *(load_processed(n, settings) for n in (
        "conformity_requirements", "conformity_chains", "conformity_alerts", "conformity_visits")))
    nc, ch = res["nonconformities"], res["chains"]
    assert nc["planted"] >= 4 and nc["recall"] == 1.0, nc["missed"]
    assert nc["red_planted"] >= 2 and nc["red_alerted"] == nc["red_planted"]
    assert nc["low_station_listed"] == nc["low_station_planted"] == 1
    assert ch["planted"] >= 5 and ch["recall"] == 1.0, ch["missed"]
    assert ch["precision"] == 1.0  # the demo's other chains are well-formed: nothing else is broken
    planted_rules = truth.loc[truth["kind"] == "conformity_broken_chain", "description"].str.extract(r": (\w+)")[0]
    assert set(planted_rules) == set(cf.CHAIN_RULES)


def test_red_alerts_are_few_and_planted(settings):
    alerts = load_processed("conformity_alerts", settings)
    truth = pd.read_csv(settings.raw_dir / "ground_truth.csv", dtype=str)
    red = truth[(truth["kind"] == "conformity_nonconformity") & (truth["magnitude"].astype(float) == 1)]
    units = load_processed("units", settings).set_index("code")["parent"]
    assert set(zip(alerts["unit"], alerts["period"])) == set(zip(red["unit"].map(units), red["start_period"]))


def test_evaluate_reports_conformity(settings, capsys):
    from govlib.cli import main

    assert main(["evaluate"]) == 0
    out = capsys.readouterr().out
    assert "PASS  planted broken chains found" in out and "PASS  planted non-conformities found" in out
    assert json.loads(out[out.index('{\n  "conformity"'):out.index("PASS  planted")])["conformity"]["chains"]["recall"] == 1


def test_conformity_relates_to_ratings_in_the_demo(settings):
    rel = load_processed("conformity_relation", settings)
    pooled_sign = (rel["r"] > 0).mean()
    assert pooled_sign >= 0.75  # the demo draws both from the same latent level
    assert (rel["ci_low"] <= rel["r"]).all() and (rel["r"] <= rel["ci_high"]).all()


def test_street_section_workbook_and_portal(settings, tables):
    unit = str(tables["conformity_jiezhen"].query("level == 'subdistrict'")["unit"].iloc[0])
    for lang, first in (("zh", "家门口规范符合度：站点排名"), ("en", "Standard conformity: stations ranked")):
        sec = view.street_section(tables, unit, "2025", lang)
        assert first in sec and all(len(t) for t in sec.values())
    ranked = view.stations_ranked(tables, unit, "2025", "zh")
    assert ranked["符合度得分"].is_monotonic_decreasing
    sheets = view.workbook_sheets("2025", settings, tables)
    assert "家门口规范符合度" in sheets and len(sheets["家门口规范符合度"][0]) == len(
        tables["conformity_stations"].query("period == '2025'"))
    from govlib.reports.excel import workbook_sheets
    assert "家门口规范符合度" in workbook_sheets("2025", settings, tables)
    from govlib.reports.portal import portal_html
    page, _ = portal_html("2025", settings, tables)  # the page and its explorer data
    assert 'id="conformity"' in page


def test_reports_tolerate_a_build_without_conformity():
    assert view.street_section({}, "310115004000", "2025") == {}
    assert view.workbook_sheets("2025", None, {n: pd.DataFrame() for n in view.CONFORMITY_TABLES}) == {}
