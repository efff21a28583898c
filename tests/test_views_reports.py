"""Display helpers for issue #17: alerts new/continuing, integer ranks, units and flags in the report language,
annualised sub-annual rates labelled, the Sobol table or nothing, change tables that add up."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govlib.reports import views
from govlib.reports.setup import table_html


def _alerts(rows):
    return pd.DataFrame(rows, columns=["unit", "period", "node", "level", "message_zh", "message_en"])


def test_alert_status_is_derived_from_the_previous_period_when_the_table_has_none():
    tables = {"alerts": _alerts([
        ("u1", "2024", "D1", "red", "a", "a"), ("u1", "2025", "D1", "red", "a", "a"),      # continuing
        ("u2", "2024", "D2", "amber", "b", "b"), ("u2", "2025", "D2", "red", "b", "b"),    # level rose: new
        ("u3", "2025", "D3", "info", "c", "c"), ("u4", "2023", "D4", "red", "d", "d"),     # new; old one gone
        ("u4", "2025", "D4", "amber", "d", "d")])}
    a = views.alerts_with_status(tables, "2025")
    assert a[["unit", "status"]].values.tolist() == [["u2", "new"], ["u4", "new"], ["u3", "new"],
                                                     ["u1", "continuing"]]
    assert a.loc[a["status"] == "new", "first_seen"].eq("2025").all()


def test_alert_status_columns_from_the_build_are_used_and_resolved_ones_left_out():
    al = _alerts([("u1", "2025", "D1", "red", "a", "a"), ("u2", "2025", "D2", "amber", "b", "b"),
                  ("u3", "2025", "D3", "red", "c", "c")])
    al["status"] = ["continuing", "new", "resolved"]
    al["first_seen"] = ["2023", "2025", "2024"]
    a = views.alerts_with_status({"alerts": al}, "2025")
    assert a[["unit", "status", "first_seen"]].values.tolist() == [["u2", "new", "2025"],
                                                                   ["u1", "continuing", "2023"]]


def test_integer_ranks_print_as_integers():
    df = pd.DataFrame({"排名": [1.0, 2.0, np.nan], "排名变化": [-1.0, 0.0, 2.0], "得分": [71.25, 60.5, 1.5],
                       "rank_low": [1.5, 2.0, 3.0]})
    html = table_html(df)
    assert "<td>1</td>" in html and "<td>-1</td>" in html and "<td>0</td>" in html and "<td>1.0</td>" not in html
    assert "<td>1.5</td>" in html and "<td>71.2</td>" in html  # a fractional "rank" is left as it is
    assert "<td>–</td>" in html and "NA" not in html


def test_units_and_flags_in_the_report_language():
    assert views.unit_text("per 10k per year", "zh") == "每万人每年"
    assert views.unit_text("items", "zh") == "项"
    flags = views.value_text(pd.Series(["release", "suppress", "eblup", "direct", "composite"]), "zh")
    assert not any(f in " ".join(flags) for f in ("release", "suppress", "eblup", "direct", "composite"))
    assert views.value_text(pd.Series(["suppress"]), "en").tolist() == ["not published"]


def _framework(freq="Q"):
    return pd.DataFrame({"code": ["SGI", "D5", "D5.4"], "parent": [None, "SGI", "D5"],
                         "name_zh": ["指数", "自治", "每居村年“三会”次数"], "name_en": ["Index", "Self", "Meetings"],
                         "unit": ["score 0-100", "score 0-100", "meetings per year"], "source": ["", "", "service"],
                         "frequency": ["", "", freq]})


def test_sub_annual_rates_say_they_are_annualised_and_provisional_values_say_so():
    obs = pd.DataFrame({"unit": "u", "period": ["2025Q1", "2025Q2", "2025Q3", "2025Q4"], "indicator": "D5.4",
                        "value": [15.2, 17.7, 7.6, 1.3], "flag": ["", "", "", "provisional"]})
    tables = {"framework": _framework(), "observations": obs,
              "index_scores": pd.DataFrame({"unit": ["u"], "period": ["2025"], "node": ["SGI"], "score": [1.0]})}
    zh = views.source_table(tables, "u", "2025", "service", "zh")
    assert zh.index[0] == "每居村年“三会”次数（次/年，按季年化）"
    assert zh.iloc[0].tolist() == ["15.2", "17.7", "7.6", "1.3（初步）"]
    en = views.source_table(tables, "u", "2025", "service", "en")
    assert en.index[0] == "Meetings (meetings per year, annualised from the quarter)"
    assert en.iloc[0, 3] == "1.3 (provisional)"


def test_sensitivity_table_or_nothing():
    assert views.sensitivity_table({}, "2025", "zh").empty
    s = pd.DataFrame({"period": ["2025", "2025", "2024"], "output": "mean_abs_rank_shift",
                      "factor": ["weights", "survey_sampling", "weights"], "S1": [0.1, 0.5, 0.9],
                      "ST": [0.2, 0.6, 0.95]})
    zh = views.sensitivity_table({"sensitivity_indices": s}, "2025", "zh")
    assert zh.iloc[:, 1].tolist() == ["调查抽样误差", "权重"] and zh.iloc[:, 3].tolist() == [0.6, 0.2]
    en = views.sensitivity_table({"sensitivity_indices": s}, "2025", "en")
    assert list(en.columns) == ["Output", "Factor", "First-order S1", "Total-order ST"]


def test_change_table_adds_up_to_the_new_score():
    tables = {"framework": pd.DataFrame({"code": ["SGI", "D1", "D2", "a", "b"],
                                         "parent": [None, "SGI", "SGI", "D1", "D2"],
                                         "name_zh": ["指数", "甲", "乙", "a", "b"], "name_en": ["I", "A", "B", "a", "b"]}),
              "index_scores": pd.DataFrame({"unit": "u", "period": ["2024"] * 5 + ["2025"] * 5,
                                            "node": ["SGI", "D1", "D2", "a", "b"] * 2,
                                            "score": [50, 40, 60, 40, 60, 53, 44, 62, 44, 62]})}
    d = views.decomposition(tables, "2025")
    steps = views.change_table(d, tables, "u", "zh")
    assert steps["kind"].tolist() == ["start", "dimension", "dimension", "end"]
    assert steps["contribution"].tolist() == pytest.approx([50, 2, 1, 53])
    assert steps["cumulative"].iloc[-2] == pytest.approx(53) and steps["cumulative"].iloc[-1] == 53
    top = views.indicator_contributions(d, tables, "u", "zh", n=1)
    assert top["name"].tolist() == ["a"] and top["contribution"].iloc[0] == pytest.approx(2)
    assert views.decomposition(tables, "2024").empty  # no previous period


def test_trend_annotations_by_unit_and_by_node():
    tables = {"framework": _framework(), "index_scores": pd.DataFrame({"unit": ["u"], "period": ["2025"],
                                                                      "node": ["SGI"], "score": [1.0]}),
              "trends": pd.DataFrame({"unit": ["u", "v"], "node": ["SGI", "SGI"], "sen_slope": [1.5, -0.2],
                                      "p": [0.001, 0.5], "q": [0.002, 0.6], "change_point": ["2021", None]})}
    notes, cps = views.trend_annotations(tables, unit="u", lang="zh")
    assert notes == {"指数": "↑ +1.50/年, p=0.001"} and cps == {"指数": "2021"}
    notes, cps = views.trend_annotations(tables, node="SGI", lang="en", panel_names={"u": "U", "v": "V"})
    assert notes["V"] == "→ -0.20/yr, p=0.500" and cps["V"] is None
