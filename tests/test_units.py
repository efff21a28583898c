"""Unit registry: the 36 街镇 against the published NBS list, statistical units, synthetic communities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govlib.errors import InputError
from govlib.data.units import (
    COMMUNITY_COUNTS, DISTRICT_CODE, SMALL_JIEZHEN, UNIT_COLUMNS, is_jiezhen_code, is_unit_code, jiezhen_table,
    parent_code, statistical_units_table, synthetic_communities, units_table,
)


@pytest.fixture(scope="module")
def reference_units(reference_dir) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "units" / "pudong_jiezhen.csv", dtype=str, keep_default_na=False)


def test_jiezhen_match_the_published_nbs_list(reference_units):
    ref = reference_units[reference_units["type"].isin(["街道", "镇"])]
    t = jiezhen_table()
    assert list(t.columns) == UNIT_COLUMNS
    assert t["code"].tolist() == ref["code_12"].tolist()
    assert t["name_zh"].tolist() == ref["name"].tolist()
    assert t["kind"].tolist() == ref["type"].tolist()
    assert len(t) == 36 and (t["kind"] == "街道").sum() == 12 and (t["kind"] == "镇").sum() == 24
    assert (t["level"] == "subdistrict").all() and (t["parent"] == DISTRICT_CODE).all()


def test_jiezhen_english_names_in_pinyin():
    t = jiezhen_table().set_index("name_zh")["name_en"]
    assert t["潍坊新村街道"] == "Weifang Xincun Subdistrict"
    assert t["川沙新镇"] == "Chuansha New Town"
    assert t["唐镇"] == "Tang Town"
    assert t.is_unique and t.str.match(r"^[A-Z][A-Za-z ]+$").all()


def test_peer_groups_12_urban_16_urbanising_8_outer():
    t = jiezhen_table()
    assert t["peer_group"].value_counts().to_dict() == {"urbanising": 16, "urban": 12, "outer_suburban": 8}
    assert ((t["kind"] == "街道") == (t["peer_group"] == "urban")).all()
    outer = set(t.loc[t["peer_group"] == "outer_suburban", "name_zh"])
    assert {"书院镇", "万祥镇", "老港镇", "泥城镇", "大团镇"} <= outer


def test_statistical_units_are_the_3_farms_and_3_zones(reference_units):
    s = statistical_units_table()
    assert s["code"].tolist() == [f"310115{k}000" for k in (401, 402, 403, 501, 502, 503)]
    assert s["kind"].tolist() == ["农场"] * 3 + ["开发区"] * 3
    assert (s["peer_group"] == "").all()
    assert not s["code"].map(is_jiezhen_code).any()
    ref = reference_units[~reference_units["type"].isin(["街道", "镇"])]
    assert s["name_zh"].tolist() == ref["name"].tolist()


def test_full_registry_has_about_1300_communities():
    c = synthetic_communities(np.random.default_rng(1), "full")
    assert len(c) == 1275
    assert c["kind"].value_counts().to_dict() == {"居委": 910, "村委": 365}
    assert c["code"].is_unique
    assert sum(a + b for a, b in COMMUNITY_COUNTS.values()) == 1275
    chuansha = c[c["parent"] == "310115103000"]["kind"].value_counts().to_dict()
    assert chuansha == {"居委": 46, "村委": 42}  # published figure


def test_community_codes_follow_the_nbs_pattern():
    c = synthetic_communities(np.random.default_rng(2), "full")
    assert c["code"].map(is_unit_code).all()
    assert (c["code"].str[:9] == c["parent"].str[:9]).all()
    assert c["parent"].map(is_jiezhen_code).all()
    serial = c["code"].str[9:].astype(int)
    res = c["kind"] == "居委"
    assert serial[res].between(1, 199).all() and serial[~res].between(200, 399).all()
    kinds = c.merge(jiezhen_table()[["code", "kind"]], left_on="parent", right_on="code", suffixes=("", "_jz"))
    assert (kinds.loc[kinds["kind_jz"] == "街道", "kind"] == "居委").all()  # 街道 have only 居委
    assert (c["level"] == "community").all()
    assert c["name_zh"].str.contains("示例").all() and c["name_en"].str.contains("synthetic").all()


def test_codes_do_not_depend_on_the_seed():
    a = synthetic_communities(np.random.default_rng(1))
    b = synthetic_communities(np.random.default_rng(99))
    assert a["code"].tolist() == b["code"].tolist()
    assert a["name_zh"].tolist() != b["name_zh"].tolist()


def test_small_registry():
    c = synthetic_communities(np.random.default_rng(0), "small")
    assert set(c["parent"]) == set(SMALL_JIEZHEN)
    sizes = c.groupby("parent").size()
    assert (sizes <= 25).all() and (sizes >= 20).all()
    kinds = c.groupby("parent")["kind"].nunique()
    assert kinds["310115103000"] == 2 and kinds["310115004000"] == 1
    u = units_table(np.random.default_rng(0), "small")
    assert (u["kind"].isin(["街道", "镇"])).sum() == 4


def test_units_table_levels_and_types():
    u = units_table(np.random.default_rng(0))
    assert list(u.columns) == UNIT_COLUMNS
    assert u["level"].value_counts().to_dict() == {"community": 1275, "subdistrict": 42, "district": 1}
    assert u["code"].is_unique
    assert u["code"].map(type).eq(str).all()
    assert u.loc[u["level"] == "district", "code"].tolist() == [DISTRICT_CODE]
    assert u.loc[u["level"] != "district", "parent"].isin(set(u["code"])).all()


def test_bad_size_is_an_input_error():
    with pytest.raises(InputError, match="size"):
        synthetic_communities(np.random.default_rng(0), "medium")
    with pytest.raises(InputError, match="310115004"):
        parent_code("310115004")


@pytest.mark.parametrize("bad", [310115004000, 3.10115004e11, "310115004000.0", "3.10115004e+11", "31011500400",
                                 None])
def test_codes_that_lost_their_form_are_not_unit_codes(bad):
    assert not is_unit_code(bad)
    assert not is_jiezhen_code(bad)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(COMMUNITY_COUNTS)), st.integers(1, 399))
def test_parent_of_a_community_is_its_jiezhen(prefix, serial):
    code = f"{prefix}{serial:03d}"
    assert parent_code(code) == prefix + "000"
    assert is_jiezhen_code(parent_code(code))
    assert parent_code(parent_code(code)) == DISTRICT_CODE


# ----------------------------------------------------------------------------------------------- hierarchy rules
from govlib.data.rules import validate_units  # noqa: E402


def _registry(n_jz: int, per_jz: list[int]) -> pd.DataFrame:
    rows = [("310115000000", "district", "区", "")]
    for j in range(n_jz):
        jz = f"310115{100 + j:03d}000"
        rows.append((jz, "subdistrict", "街道" if j % 2 else "镇", "310115000000"))
        for k in range(per_jz[j]):
            rows.append((f"{jz[:9]}{k + 1:03d}", "community", "居委", jz))
    return pd.DataFrame(rows, columns=["code", "level", "kind", "parent"])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, 5), min_size=n, max_size=n))),
       st.data())
def test_valid_hierarchies_pass_and_any_loop_is_found(shape, data):
    from conftest import count

    count("adversarial inputs tried")
    units = _registry(*shape)
    assert validate_units(units) == []
    # Point a unit's parent at itself or at one of its descendants (or the district at anyone): a loop.
    i = data.draw(st.integers(0, len(units) - 1))
    code = units.loc[i, "code"]
    below = units.index[(units["code"] == code) | (units["parent"] == code)
                        | units["parent"].isin(units.loc[units["parent"] == code, "code"])]
    j = data.draw(st.sampled_from(list(below)))
    bad = units.copy()
    bad.loc[i, "parent"] = units.loc[j, "code"]
    found = validate_units(bad)
    assert any(p.row == i + 2 and p.column == "parent" for p in found), [str(p) for p in found]
