"""The framework format: YAML and tables with the same fields, validated all at once."""
from __future__ import annotations

import pandas as pd
import pytest

from govlib.errors import ValidationError
from govlib.data.framework import framework_from_records, load_framework
from govlib.paths import package_data

BASE = [
    {"code": "SGI", "parent": None, "name_en": "Index"},
    {"code": "D1", "parent": "SGI", "weight": 1},
    {"code": "D2", "parent": "SGI", "weight": 3},
    {"code": "a", "parent": "D1", "frequency": "A", "source": "admin", "goalpost_low": 0, "goalpost_high": 10},
    {"code": "b", "parent": "D1", "frequency": "Q", "source": "survey", "direction": -1},
    {"code": "c", "parent": "D2", "frequency": "M", "source": "hotline", "direction": 0},
]


def records(**changes):
    out = [dict(r) for r in BASE]
    for code, fields in changes.items():
        for r in out:
            if r["code"] == code:
                r.update(fields)
    return out


def problems(recs):
    from conftest import count

    count("adversarial inputs tried")
    with pytest.raises(ValidationError) as info:
        framework_from_records(recs)
    return info.value.problems


def test_tree_helpers():
    fw = framework_from_records(BASE)
    assert fw.root == "SGI"
    assert fw.leaves == ["a", "b", "c"]
    assert fw.scored_leaves == ["a", "b"]
    assert fw.children("D1") == ["a", "b"]
    assert fw.nodes.set_index("code")["level"].to_dict() == {"SGI": 0, "D1": 1, "a": 2, "b": 2, "D2": 1, "c": 2}
    w = fw.normalised_weights()
    assert w["D2"] == pytest.approx(0.75) and w["a"] == pytest.approx(0.5)


def test_framework_cycle():
    recs = records(D1={"parent": "a"})
    found = problems(recs)
    assert any("cycle" in p.expected for p in found)


def test_orphan_parent():
    recs = records(b={"parent": "D9"})
    p = next(p for p in problems(recs) if "orphan" in p.expected)
    assert p.row == 5 and p.column == "parent" and p.value == "D9"


def test_two_roots():
    recs = records(D2={"parent": None})
    assert any("roots" in p.expected for p in problems(recs))


def test_non_positive_weight():
    p = next(p for p in problems(records(D2={"weight": 0})) if p.column == "weight")
    assert p.row == 3 and "positive" in p.expected


def test_negative_weight():
    p = next(p for p in problems(records(a={"weight": -1})) if p.column == "weight")
    assert p.value == -1


def test_reversed_goalposts():
    p = next(p for p in problems(records(a={"goalpost_low": 10, "goalpost_high": 0})) if p.column == "goalpost_low")
    assert p.row == 4 and "below" in p.expected


def test_direction_out_of_range():
    p = next(p for p in problems(records(a={"direction": 2})) if p.column == "direction")
    assert "1 (higher is better)" in p.expected


def test_leaf_frequency_and_source_optional_unless_required():
    # A generic index needs only code, parent, direction and weight (issue 16); a build can still require them.
    fw = framework_from_records(records(a={"frequency": None, "source": ""}))
    assert fw.leaves == ["a", "b", "c"]
    from govlib.data.framework import validate_nodes

    _, found = validate_nodes(pd.DataFrame(records(a={"frequency": None, "source": ""})),
                              require=("frequency", "source"))
    assert {p.column for p in found} >= {"frequency", "source"}
    bad = problems(records(a={"frequency": "W"}))  # a value that is given must still be allowed
    assert [p.column for p in bad] == ["frequency"]


def test_bad_scope():
    p = next(p for p in problems(records(a={"scope": "村"})) if p.column == "scope")
    assert p.value == "村"


def test_duplicate_code():
    recs = BASE + [{"code": "a", "parent": "D2", "frequency": "A", "source": "admin"}]
    p = next(p for p in problems(recs) if "duplicate" in p.expected)
    assert p.row == 7


def test_friendly_aliases():
    fw = framework_from_records(records(a={"direction": "+", "type": "主观"}, b={"direction": "−"}))
    n = fw.nodes.set_index("code")
    assert n.loc["a", "direction"] == 1 and n.loc["b", "direction"] == -1 and n.loc["a", "type"] == "subjective"


def test_csv_and_yaml_give_the_same_framework(tmp_path):
    fw = framework_from_records(BASE)
    cols = [c for c in fw.nodes.columns if c not in ("level", "is_leaf", "path")]
    fw.nodes[cols].to_csv(tmp_path / "f.csv", index=False)
    fw.nodes[cols].to_excel(tmp_path / "f.xlsx", index=False)
    for path in (tmp_path / "f.csv", tmp_path / "f.xlsx"):
        other = load_framework(path)
        pd.testing.assert_frame_equal(other.nodes.reset_index(drop=True), fw.nodes.reset_index(drop=True),
                                      check_dtype=False)


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "fw.yaml"
    path.write_text("nodes: [\n  {code: a\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_framework(path)
    assert info.value.problems[0].file == "fw.yaml"


def test_shipped_illustrative_framework_is_valid():
    fw = load_framework(package_data("framework_sgi.yaml"))
    dims = fw.children(fw.root)
    assert len(dims) == 6
    assert len(fw.leaves) == 41
    assert fw.meta["scale"] == [0, 100]
    n = fw.nodes.set_index("code")
    assert (n.loc[fw.leaves, "name_zh"] != "").all() and (n.loc[fw.leaves, "name_en"] != "").all()
    assert set(n.loc[fw.leaves, "scope"]) == {"all", "街道", "镇"}
