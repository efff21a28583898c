"""Unit registry: Pudong's 36 街镇, the 6 non-街镇 statistical units, and synthetic communities.

Codes are the NBS 12-digit statistical division codes and are **strings** everywhere (a code such as
``310115004000`` must never become a number: Excel would print it as ``3.10115E+11``).

- The 36 街镇 (12 街道 + 24 镇) and the 3 farms + 3 development zones come from the packaged table
  ``govlib/data/pudong_jiezhen.csv`` (NBS 2023 codes, Chinese names, English names in pinyin).
- Peer groups follow Pudong's "15-minute service circle" typology: the 12 街道 are ``urban``; 16 towns
  ``urbanising`` and 8 ``outer_suburban``. **Which 8 towns are outer-suburban is not public**: the split used here
  (新场, 大团, 祝桥, 泥城, 宣桥, 书院, 万祥, 老港 — the southern and eastern towns farthest from the centre) is a
  demo assumption, chosen by geography. Replace ``peer_group`` in ``units.csv`` with the real classes when known.
- Communities (居委 residents' committees and 村委 village committees) are **synthetic**: about 910 居委 and 365
  村委 (the January 2021 totals), 街道 having only 居委. Their codes follow the NBS pattern: the first 9 digits of
  the 街镇 code and a 3-digit serial, ``001``-``199`` for 居委 and ``200``-``399`` for 村委.
"""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import InputError, one_of
from ..paths import package_data

__all__ = [
    "DISTRICT_CODE", "SMALL_JIEZHEN", "UNIT_COLUMNS", "COMMUNITY_COUNTS",
    "is_unit_code", "is_jiezhen_code", "parent_code", "jiezhen_table", "statistical_units_table",
    "district_row", "synthetic_communities", "units_table",
]

DISTRICT_CODE = "310115000000"
UNIT_COLUMNS = ["code", "name_zh", "name_en", "level", "parent", "kind", "peer_group"]

# The 4 街镇 of the small demo data set: two 街道 and two towns (one urbanising, one outer-suburban).
SMALL_JIEZHEN = ("310115004000", "310115005000", "310115103000", "310115142000")
SMALL_MAX_COMMUNITIES = 25

# Synthetic numbers of 居委 and 村委 per 街镇 (first 9 digits of the code -> (居委, 村委)). They add up to 910 居委
# and 365 村委, the January 2021 totals; 川沙新镇 has its published 46 committees and 42 villages; the others are
# plausible guesses (more villages in the outer towns).
COMMUNITY_COUNTS: dict[str, tuple[int, int]] = {
    "310115004": (30, 0), "310115005": (32, 0), "310115007": (35, 0), "310115008": (22, 0),
    "310115009": (30, 0), "310115010": (27, 0), "310115011": (30, 0), "310115012": (40, 0),
    "310115013": (35, 0), "310115014": (36, 0), "310115015": (33, 0), "310115016": (30, 0),
    "310115103": (46, 42), "310115104": (30, 8), "310115105": (40, 10), "310115110": (8, 27),
    "310115114": (25, 10), "310115117": (30, 13), "310115120": (20, 3), "310115121": (25, 3),
    "310115123": (14, 8), "310115125": (25, 4), "310115130": (60, 12), "310115131": (40, 27),
    "310115132": (35, 15), "310115133": (12, 20), "310115134": (5, 20), "310115136": (30, 10),
    "310115137": (18, 14), "310115139": (15, 38), "310115140": (12, 18), "310115141": (6, 16),
    "310115142": (7, 20), "310115143": (3, 10), "310115144": (4, 15), "310115145": (20, 2),
}

_CODE_RE = re.compile(r"^\d{12}$")
_NAME_STEMS = list("东南西北金银春秋华新明光和平安康乐福兴盛丰泰祥瑞益民惠德仁义文博雅锦绣园林江海桥湾港塘浦泾溪")


def is_unit_code(code: object) -> bool:
    """True for a 12-digit code given as a string.

    Examples
    --------
    >>> is_unit_code("310115004000"), is_unit_code(310115004000), is_unit_code("3.10115004e+11")
    (True, False, False)
    """
    return isinstance(code, str) and bool(_CODE_RE.match(code))


def is_jiezhen_code(code: object) -> bool:
    """True for the code of one of the 36 街镇 (not a farm, development zone or community).

    Examples
    --------
    >>> is_jiezhen_code("310115004000"), is_jiezhen_code("310115401000"), is_jiezhen_code("310115004001")
    (True, False, False)
    """
    return is_unit_code(code) and code in _jiezhen_codes()


def parent_code(code: str) -> str:
    """The parent of a code: a community's 街镇, a 街镇's district.

    Examples
    --------
    >>> parent_code("310115004012"), parent_code("310115004000")
    ('310115004000', '310115000000')
    """
    if not is_unit_code(code):
        raise InputError(f"parent_code: code {code!r} is not a 12-digit string")
    if code == DISTRICT_CODE:
        raise InputError(f"parent_code: {code} is the district and has no parent in the registry")
    if code.endswith("000"):
        return code[:6] + "000000"
    return code[:9] + "000"


@lru_cache(maxsize=1)
def _reference() -> pd.DataFrame:
    return pd.read_csv(package_data("pudong_jiezhen.csv"), dtype=str, keep_default_na=False, encoding="utf-8")


@lru_cache(maxsize=1)
def _jiezhen_codes() -> frozenset:
    ref = _reference()
    return frozenset(ref.loc[ref["type"].isin(["街道", "镇"]), "code_12"])


def jiezhen_table() -> pd.DataFrame:
    """The 36 街镇: ``code, name_zh, name_en, level='subdistrict', parent, kind (街道/镇), peer_group``.

    Examples
    --------
    >>> t = jiezhen_table()
    >>> len(t), t["kind"].value_counts().to_dict()
    (36, {'镇': 24, '街道': 12})
    >>> t.iloc[0][["code", "name_en", "peer_group"]].tolist()
    ['310115004000', 'Weifang Xincun Subdistrict', 'urban']
    """
    ref = _reference()
    ref = ref[ref["type"].isin(["街道", "镇"])]
    return pd.DataFrame({
        "code": ref["code_12"].to_numpy(), "name_zh": ref["name"].to_numpy(), "name_en": ref["name_en"].to_numpy(),
        "level": "subdistrict", "parent": DISTRICT_CODE, "kind": ref["type"].to_numpy(),
        "peer_group": ref["peer_group"].to_numpy(),
    })[UNIT_COLUMNS].reset_index(drop=True)


def statistical_units_table() -> pd.DataFrame:
    """The 3 farms and 3 development zones: statistical units that are not 街镇 and are never ranked.

    ``level`` is ``subdistrict`` (they sit directly under the district), ``kind`` is ``农场`` or ``开发区`` and
    ``peer_group`` is empty.

    Examples
    --------
    >>> statistical_units_table()["kind"].value_counts().to_dict()
    {'农场': 3, '开发区': 3}
    """
    ref = _reference()
    ref = ref[~ref["type"].isin(["街道", "镇"])]
    kind = np.where(ref["type"].str.contains("农场"), "农场", "开发区")
    return pd.DataFrame({
        "code": ref["code_12"].to_numpy(), "name_zh": ref["name"].to_numpy(), "name_en": ref["name_en"].to_numpy(),
        "level": "subdistrict", "parent": DISTRICT_CODE, "kind": kind, "peer_group": "",
    })[UNIT_COLUMNS].reset_index(drop=True)


def district_row() -> pd.DataFrame:
    """The district itself (浦东新区, ``310115000000``, level ``district``, kind ``区``).

    Examples
    --------
    >>> district_row()["code"].tolist()
    ['310115000000']
    """
    return pd.DataFrame([{"code": DISTRICT_CODE, "name_zh": "浦东新区", "name_en": "Pudong New Area",
                          "level": "district", "parent": "", "kind": "区", "peer_group": ""}])[UNIT_COLUMNS]


def _check_size(size: str) -> None:
    one_of(size, ("small", "full"), "size")


def synthetic_communities(rng: np.random.Generator, size: str = "full") -> pd.DataFrame:
    """Synthetic 居委 and 村委 under the 街镇 (level ``community``), with NBS-style 12-digit codes.

    Parameters
    ----------
    rng : numpy Generator; only the (synthetic, labelled) names are drawn from it, so the codes and counts are
        the same for every seed.
    size : ``"full"`` (all 36 街镇: 910 居委 + 365 村委 = 1,275 communities) or ``"small"`` (the 4 街镇 of
        :data:`SMALL_JIEZHEN`, at most 25 communities each, keeping both kinds in towns).

    Examples
    --------
    >>> c = synthetic_communities(np.random.default_rng(0))
    >>> len(c), c["kind"].value_counts().to_dict()
    (1275, {'居委': 910, '村委': 365})
    >>> c["code"].iloc[0], c["parent"].iloc[0]
    ('310115004001', '310115004000')
    """
    _check_size(size)
    jz = jiezhen_table()
    if size == "small":
        jz = jz[jz["code"].isin(SMALL_JIEZHEN)]
    rows = []
    for code, name_zh, name_en, peer in zip(jz["code"], jz["name_zh"], jz["name_en"], jz["peer_group"]):
        n_res, n_vil = COMMUNITY_COUNTS[code[:9]]
        if size == "small" and n_res + n_vil > SMALL_MAX_COMMUNITIES:
            n_res_new = int(round(SMALL_MAX_COMMUNITIES * n_res / (n_res + n_vil)))
            n_vil = SMALL_MAX_COMMUNITIES - n_res_new if n_vil else 0
            n_res = n_res_new if n_vil else SMALL_MAX_COMMUNITIES
        stems = rng.choice(len(_NAME_STEMS), size=(n_res + n_vil, 2))
        short_zh = name_zh.removesuffix("街道").removesuffix("镇") or name_zh
        short_en = name_en.removesuffix(" Subdistrict").removesuffix(" Town")
        for k in range(n_res + n_vil):
            village = k >= n_res
            serial = 200 + (k - n_res) + 1 if village else k + 1
            stem = _NAME_STEMS[stems[k, 0]] + _NAME_STEMS[stems[k, 1]]
            if village:
                nz, ne = f"{short_zh}{stem}村（示例）", f"{short_en} Village {serial - 200} (synthetic)"
            else:
                nz, ne = f"{short_zh}{stem}居委会（示例）", f"{short_en} Residents' Committee {serial} (synthetic)"
            rows.append((code[:9] + f"{serial:03d}", nz, ne, "community", code, "村委" if village else "居委", peer))
    return pd.DataFrame(rows, columns=UNIT_COLUMNS)


def units_table(rng: np.random.Generator | None = None, size: str = "full") -> pd.DataFrame:
    """The whole registry: the district, the 街镇, the 6 statistical units and the synthetic communities.

    For ``size="small"`` only the 4 街镇 of :data:`SMALL_JIEZHEN` and their communities are kept (plus the
    district and the 6 statistical units).

    Examples
    --------
    >>> u = units_table(np.random.default_rng(0))
    >>> u["level"].value_counts().to_dict()
    {'community': 1275, 'subdistrict': 42, 'district': 1}
    >>> bool(u["code"].map(is_unit_code).all())
    True
    """
    _check_size(size)
    rng = rng if rng is not None else np.random.default_rng(0)
    jz = jiezhen_table()
    if size == "small":
        jz = jz[jz["code"].isin(SMALL_JIEZHEN)]
    return pd.concat([district_row(), jz, statistical_units_table(), synthetic_communities(rng, size)],
                     ignore_index=True)
