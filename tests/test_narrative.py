"""The summary paragraph: written from the numbers, and no number in it differs from the table under it."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from govlib.data.sample_store import build_fake_store
from govlib.reports import narrative
from govlib.data.processed import load_processed
from govlib.settings import load_settings

TABLES = ["units", "framework", "index_scores", "uncertainty", "trends", "alerts"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    settings = load_settings(root=build_fake_store(tmp_path_factory.mktemp("narrative")))
    return {n: load_processed(n, settings) for n in TABLES}


def _numbers_shown(table: pd.DataFrame) -> set[str]:
    return set(narrative.numbers_in(" ".join(table.astype(str).to_numpy().ravel())))


def test_every_number_of_every_street_summary_is_in_its_table(tables):
    units = tables["units"]
    codes = units.loc[units["kind"].isin(["街道", "镇"]), "code"]
    assert len(codes) == 36
    for code in codes:
        facts = narrative.street_facts(tables, code, "2025", base_period="2018")
        for lang in ("zh", "en"):
            text = narrative.render_street_summary(facts, lang)
            missing = narrative.unmatched_numbers(text, narrative.street_headline_table(facts, lang), facts)
            assert not missing, (code, text, missing)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("period", ["2018", "2021", "2025"])
def test_every_number_of_the_district_summary_is_in_its_table(tables, lang, period):
    facts = narrative.district_facts(tables, period)
    text = narrative.render_district_summary(facts, lang)
    missing = narrative.unmatched_numbers(text, narrative.district_headline_table(facts, lang), facts)
    assert not missing, (text, missing)


def test_street_facts_agree_with_an_independent_computation(tables):
    s = tables["index_scores"]
    code = "310115103000"  # 川沙新镇, a town
    facts = narrative.street_facts(tables, code, "2025", base_period="2018")
    me = s[s["unit"] == code].set_index(["period", "node"])
    assert facts["score"] == pytest.approx(me.loc[("2025", "SGI"), "score"])
    assert facts["rank"] == me.loc[("2025", "SGI"), "rank"]
    assert facts["change_prev"] == pytest.approx(me.loc[("2025", "SGI"), "score"] - me.loc[("2024", "SGI"), "score"])
    assert facts["rank_change"] == me.loc[("2024", "SGI"), "rank"] - me.loc[("2025", "SGI"), "rank"]
    assert facts["change_base"] == pytest.approx(me.loc[("2025", "SGI"), "score"] - me.loc[("2018", "SGI"), "score"])
    ranked = tables["units"][tables["units"]["kind"].isin(["街道", "镇"])]
    peers = ranked.loc[ranked["peer_group"] == "urbanising", "code"]
    assert facts["n_peer"] == len(peers) == 16
    now = s[(s["period"] == "2025") & s["node"].str.match(r"^D\d$")]
    gap = (now[now["unit"] == code].set_index("node")["score"] - now.groupby("node")["score"].median())
    assert facts["strongest"] == gap.idxmax() and facts["weakest"] == gap.idxmin()
    unc = tables["uncertainty"].set_index(["unit", "period"]).loc[(code, "2025")]
    assert (facts["rank_low"], facts["rank_high"]) == (unc["rank_p05"], unc["rank_p95"])


def test_summary_names_the_unit_and_alerts(tables):
    alerts = tables["alerts"]
    code = alerts["unit"].iloc[0]
    facts = narrative.street_facts(tables, code, "2025")
    zh = narrative.render_street_summary(facts, "zh")
    en = narrative.render_street_summary(facts, "en")
    assert facts["name_zh"] in zh and facts["name_en"] in en
    assert "预警" in zh and "alert" in en
    assert "平安法治" in zh  # the alert's node


def test_district_facts(tables):
    f = narrative.district_facts(tables, "2025")
    now = tables["index_scores"].query("period == '2025' and node == 'SGI'")
    assert f["n_ranked"] == 36
    assert f["top"][0]["score"] == pytest.approx(now["score"].max())
    assert f["bottom"][0]["score"] == pytest.approx(now["score"].min())
    assert f["median"] == pytest.approx(now["score"].median())
    assert sum(f["alert_counts"].values()) == len(tables["alerts"])


def test_fmt_rounds_half_away_consistently_and_never_shows_minus_zero():
    assert narrative.fmt(-0.04) == "0.0"
    assert narrative.fmt(2.25, 1) in ("2.2", "2.3")
    assert narrative.fmt(float("inf")) == "–"


finite = st.floats(min_value=0, max_value=100, allow_nan=False)


@hsettings(max_examples=60, deadline=None)
@given(score=finite, prev=finite, base=finite, rank=st.integers(1, 36), rank_prev=st.integers(1, 36),
       low=st.integers(1, 36), width=st.integers(0, 10), gaps=st.lists(st.floats(-30, 30), min_size=2, max_size=6),
       n_alerts=st.integers(0, 3), lang=st.sampled_from(["zh", "en"]))
def test_property_summary_numbers_always_in_table(score, prev, base, rank, rank_prev, low, width, gaps, n_alerts,
                                                  lang):
    dims = [{"node": f"D{i}", "name_zh": f"维度{'甲乙丙丁戊己'[i]}", "name_en": f"Dim {'ABCDEF'[i]}", "score": 50 + g,
             "rank": 1, "district_median": 50.0, "peer_median": 50.0, "gap": g} for i, g in enumerate(gaps)]
    gap_sorted = sorted(dims, key=lambda d: d["gap"])
    facts = {"name_zh": "测试街道", "name_en": "Test", "period": "2025", "prev_period": "2024", "base_period": "2018",
             "score": score, "score_prev": prev, "change_prev": score - prev, "rank": rank, "rank_prev": rank_prev,
             "rank_change": rank_prev - rank, "n_ranked": 36, "peer_rank": 1, "n_peer": 12, "rank_low": low,
             "rank_high": min(36, low + width), "score_base": base, "change_base": score - base, "dimensions": dims,
             "strongest": gap_sorted[-1]["node"], "weakest": gap_sorted[0]["node"],
             "trends": [{"node": "D0", "name_zh": "维度甲", "name_en": "Dim A", "direction": "up", "sen_slope": 1.0,
                         "change_point": None}],
             "alerts": [{"unit": "x", "node": "D0", "level": ["red", "amber", "info"][i % 3], "node_zh": "维度甲",
                         "node_en": "Dim A", "message_zh": "", "message_en": ""} for i in range(n_alerts)]}
    text = narrative.render_street_summary(facts, lang)
    missing = narrative.unmatched_numbers(text, narrative.street_headline_table(facts, lang), facts)
    assert not missing, (text, missing)


def test_street_summary_names_the_two_largest_contributions(tables):
    from govlib.index.decompose import decompose_change

    code = "310115005000"
    facts = narrative.street_facts(tables, code, "2025", base_period="2018")
    d = decompose_change(tables["index_scores"], tables["framework"], "2025", "2024")
    leaves = d[(d["unit"] == code) & (d["kind"] == "leaf")]
    top = leaves.reindex(leaves["contribution"].abs().sort_values(ascending=False).index).head(2)
    assert [x["node"] for x in facts["drivers"]] == top["node"].tolist()
    names = dict(zip(tables["framework"]["code"], tables["framework"]["name_zh"]))
    text = narrative.render_street_summary(facts, "zh")
    for node, c in zip(top["node"], top["contribution"]):
        assert f"{names[node]}（{'+' if c > 0 else ''}{c:.1f}分）" in text
    headline = narrative.street_headline_table(facts, "en")
    assert headline.iloc[:, 0].str.startswith("Contribution to the change").sum() == 2, (facts["drivers"], headline)
    # no previous period: no drivers and no sentence about them
    first = narrative.street_facts(tables, code, "2018")
    assert first["drivers"] == [] and "贡献" not in narrative.render_street_summary(first, "zh")
