"""Views computed once per build in a warm kernel (reports.derived) give what computing them per report gives; the
PDF bundle assembled while the pages print waits for them, and writes nothing when a print fails."""
from __future__ import annotations

import pandas as pd
import pytest

from govlib.data.sample_store import build_fake_store
from govlib.reports import narrative, views
from govlib.reports.derived import ReportTables, derived
from govlib.reports.setup import report_tables
from govlib.settings import load_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(root=build_fake_store(tmp_path_factory.mktemp("derived")))


def test_memoised_views_equal_the_views_computed_per_report(settings):
    memo_tables = report_tables(settings, "latest")
    assert isinstance(memo_tables, ReportTables)
    plain = {name: df.copy() for name, df in memo_tables.items()}  # a plain dict: computed every time
    period = views.resolve_period("latest", plain)
    assert views.resolve_period("latest", memo_tables) == period
    pd.testing.assert_frame_equal(views.decomposition(memo_tables, period), views.decomposition(plain, period))
    pd.testing.assert_frame_equal(views.league_table(memo_tables, period, "en"), views.league_table(plain, period, "en"))
    units = views.league_table(plain, period)["code"]
    for unit in units:  # the drivers named in every street summary
        assert narrative.street_facts(memo_tables, unit, period)["drivers"] == \
            narrative.street_facts(plain, unit, period)["drivers"]
    assert ("decompose_change", period, views.previous_period(plain, period), "arithmetic") in memo_tables.memo


def test_each_report_gets_its_own_copy_and_the_memo_comes_from_the_cached_tables(settings):
    first = report_tables(settings, "latest")
    period = views.resolve_period("latest", first)
    league = views.league_table(first, period)
    league.loc[:, "score"] = -1.0  # a report that changes what it got
    first["index_scores"]["score"] = 0.0  # ... and its copy of a table, before the next view is computed
    second = report_tables(settings, "latest")
    assert second.memo is first.memo
    assert (views.league_table(second, period)["score"] > 0).all()
    assert (views.dimension_matrix(second, period).to_numpy() > 0).any()


def test_derived_without_a_memo_just_computes():
    calls = []
    assert derived({"x": 1}, "k", lambda t: calls.append(1) or t["x"]) == 1
    assert derived({"x": 1}, "k", lambda t: calls.append(1) or t["x"]) == 1
    assert len(calls) == 2


def _scores(rows):
    return pd.DataFrame(rows, columns=["unit", "period", "node", "score"])


def test_a_unit_whose_tree_is_scored_differently_is_decomposed_alone():
    # R -> D1 -> (a, b), R -> D2 -> c; unit u2 has no score for c in either period, u1 has
    tree = pd.DataFrame({"code": ["R", "D1", "D2", "a", "b", "c"], "parent": [None, "R", "R", "D1", "D1", "D2"]})
    rows = []
    for period, shift in (("2024", 0.0), ("2025", 1.0)):
        for unit in ("u1", "u2"):
            rows += [(unit, period, "R", 50 + shift), (unit, period, "D1", 50 + shift), (unit, period, "a", 50 + shift),
                     (unit, period, "b", 50.0), (unit, period, "D2", 50.0 + 2 * shift)]
        rows.append(("u1", period, "c", 50 + 2 * shift))
    scores = _scores(rows)
    assert narrative._tree_scored_alike(scores, tree, "u1", "2025", "2024")
    assert not narrative._tree_scored_alike(scores, tree, "u2", "2025", "2024")  # D2 is a leaf for u2 alone
    assert not narrative._tree_scored_alike(scores, tree, "u3", "2025", "2024")  # not in the data


def test_the_bundle_waits_for_parts_still_printing_and_gives_up_when_a_print_fails(tmp_path, monkeypatch):
    import json

    from govlib.reports import pdf as pdf_module

    reports, pdfs = tmp_path / "reports", tmp_path / "pdf"
    reports.mkdir()
    pdfs.mkdir()
    names = ["district_2025_zh", "street_310115004000_2025_zh", "street_310115005000_2025_zh"]
    for name in names:
        (reports / f"{name}.html").write_text("<p>x</p>", encoding="utf-8")
        (reports / f"{name}.json").write_text(json.dumps({"kind": name.split("_")[0], "parameters":
                                                          {"period": "2025", "lang": "zh"}}), encoding="utf-8")
    bundled = []
    monkeypatch.setattr(pdf_module, "bundle_pdf", lambda parts, target, ready: bundled.append(
        [ready(path, True) for _, path in parts]) or target)

    def fails_after_one(jobs, done=None, browser=None, **_):
        (pdfs / "district_2025_zh.pdf").write_bytes(b"%PDF")
        done(pdfs / "district_2025_zh.pdf")
        raise RuntimeError("the browser crashed")

    monkeypatch.setattr(pdf_module, "print_pdfs", fails_after_one)
    with pytest.raises(RuntimeError, match="crashed"):
        pdf_module.write_report_pdfs([reports / f"{n}.html" for n in names], tmp_path, synthetic=True)
    assert len(bundled) == 1 and bundled[0][1:] == [False, False]  # told to give up at the parts never printed

    def prints_all(jobs, done=None, browser=None, **_):
        for _, pdf, _ in jobs:
            pdf.write_bytes(b"%PDF")
            done(pdf)
        return [pdf for _, pdf, _ in jobs]

    bundled.clear()
    monkeypatch.setattr(pdf_module, "print_pdfs", prints_all)
    written = pdf_module.write_report_pdfs([reports / f"{n}.html" for n in names], tmp_path, synthetic=True)
    assert bundled == [[True, True, True]]
    assert written[-1] == pdfs / "bundle_2025_zh.pdf" and len(written) == 4
