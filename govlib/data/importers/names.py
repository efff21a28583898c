"""Unit names as people write them -> the registry's 12-digit codes, with every non-exact match recorded.

District files name 街镇 and 居村 the way their authors write them: ``浦东新区陆家嘴街道``, ``陆家嘴``,
``　陆家嘴街道`` (full-width spaces), ``川沙镇`` (before the 2005 merger into 川沙新镇). :class:`NameMatcher` resolves
them in three steps, each a distinct value at a time (a million rows cost as much as their distinct names):

1. **exact** — the registry's ``name_zh`` (or ``name_en``, or the code itself) after trimming spaces (ordinary and
   full-width) and Unicode NFKC;
2. **alias** — a table of other names (:data:`ALIAS_FILE`, historical names after mergers; a mapping file may add
   its own), exact after trimming;
3. **normalised** — both sides without the common prefixes (上海市, 浦东新区, 新区) and suffixes (街道办事处, 街道,
   镇, 居民委员会, 居委会, 村民委员会, 村委会, the demo's ``（示例）`` marker), restricted to the unit kind the written
   suffix implies (``…镇`` never matches a farm). A normalised name that fits two units is ambiguous, not a guess.

Every match that is not exact is returned with how it was made, so an import log can list it for review.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...paths import package_data

__all__ = ["NameMatcher", "normalise_name", "clean_text", "ALIAS_FILE", "MATCH_KINDS"]

#: package data: alias, code, note (historical names after mergers; illustrative, replaceable per import)
ALIAS_FILE = "unit_aliases.csv"
#: how a name was matched, in the order tried
MATCH_KINDS = ("exact", "alias", "normalised")

_PREFIXES = ("上海市", "浦东新区", "新区", "浦东")
# longest first: "街道办事处" before "街道", "居民委员会" before "委员会"
_SUFFIXES = ("街道办事处", "居民委员会", "村民委员会", "居委会", "村委会", "街道", "居委", "村委", "社区", "农场",
             "镇", "乡", "村")
#: the unit kind a written suffix implies (a "…镇" is a town, never a farm of the same stem)
_SUFFIX_KIND = {"街道办事处": "街道", "街道": "街道", "镇": "镇", "乡": "镇", "居民委员会": "居委", "居委会": "居委",
                "居委": "居委", "社区": "居委", "村民委员会": "村委", "村委会": "村委", "村委": "村委", "村": "村委",
                "农场": "农场"}
_MARKERS = re.compile(r"[（(]示例[)）]")
_SPACES = re.compile(r"[\s\u3000]+")


def clean_text(value) -> str:
    """Trim ordinary and full-width spaces (inside too: ``陆 家 嘴`` is 陆家嘴) after Unicode NFKC.

    Examples
    --------
    >>> clean_text("\\u3000陆家嘴街道 ")
    '陆家嘴街道'
    >>> clean_text("迁 入\\nPopulation")
    '迁入Population'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def _strip_prefix(text: str) -> str:
    text = _MARKERS.sub("", clean_text(text))
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix) + 1:
            return text[len(prefix):]
    return text


def normalise_name(name: str) -> tuple[str, str | None]:
    """The stem of a unit name and the kind its suffix implies (``None`` when it has no telling suffix).

    Examples
    --------
    >>> normalise_name("浦东新区陆家嘴街道")
    ('陆家嘴', '街道')
    >>> normalise_name("川沙新镇")
    ('川沙新', '镇')
    >>> normalise_name("芦潮港农场")
    ('芦潮港', '农场')
    >>> normalise_name("潍坊新村锦海居委会（示例）")
    ('潍坊新村锦海', '居委')
    """
    text = _strip_prefix(name)
    kind = None
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text, kind = text[: -len(suffix)], _SUFFIX_KIND[suffix]
            break
    return text, kind


@dataclass(frozen=True)
class Match:
    code: str | None
    how: str | None  # one of MATCH_KINDS, or None when unmatched
    candidates: tuple[str, ...] = ()  # codes of an ambiguous name


class NameMatcher:
    """Match written unit names to registry codes (see the module docstring for the rules).

    Parameters
    ----------
    units : the unit registry (``code``, ``name_zh``, ``level``, ``kind``; ``name_en``, ``parent`` optional).
    aliases : extra ``{written name: code}`` pairs (a mapping file's ``names:`` section), tried before the shipped
        alias table.
    use_shipped_aliases : also use :data:`ALIAS_FILE` (historical names after mergers).

    Examples
    --------
    >>> units = pd.DataFrame({"code": ["310115005000", "310115103000", "310115401000"],
    ...     "name_zh": ["陆家嘴街道", "川沙新镇", "芦潮港农场"], "level": "subdistrict",
    ...     "kind": ["街道", "镇", "农场"]})
    >>> m = NameMatcher(units)
    >>> [(r.code, r.how) for r in m.match_values(["陆家嘴街道", "浦东新区陆家嘴", "川沙镇", "芦潮港镇"])]
    [('310115005000', 'exact'), ('310115005000', 'normalised'), ('310115103000', 'alias'), (None, None)]
    """

    def __init__(self, units: pd.DataFrame, aliases: dict[str, str] | None = None,
                 use_shipped_aliases: bool = True):
        self.units = units.assign(code=units["code"].astype(str)).reset_index(drop=True)
        self.exact: dict[str, str] = {}
        for col in ("code", "name_en", "name_zh"):  # a Chinese name wins over an English name spelled alike
            if col in self.units:
                self.exact.update({clean_text(n): c for n, c in zip(self.units[col], self.units["code"])
                                   if clean_text(n)})
        shipped = {}
        if use_shipped_aliases:
            table = pd.read_csv(package_data(ALIAS_FILE), dtype=str, keep_default_na=False, encoding="utf-8")
            shipped = {clean_text(a): c for a, c in zip(table["alias"], table["code"])}
        known = set(self.units["code"])
        self.aliases = {k: v for k, v in shipped.items() if v in known}
        self.aliases.update({clean_text(k): str(v) for k, v in (aliases or {}).items()})
        stems = [normalise_name(n) for n in self.units["name_zh"]]
        kinds = self.units["kind"].astype(str) if "kind" in self.units else pd.Series([""] * len(self.units))
        self.stems = pd.DataFrame({"stem": [s for s, _ in stems], "kind": kinds.to_numpy(),
                                   "code": self.units["code"].to_numpy()})

    def match_one(self, name, within: set[str] | None = None) -> Match:
        """Match one written name; ``within`` restricts to these codes (e.g. the communities of one 街镇)."""
        key = clean_text(name)
        if not key:
            return Match(None, None)
        code = self.exact.get(key)
        if code is not None and (within is None or code in within):
            return Match(code, "exact")
        code = self.aliases.get(key)
        if code is not None and (within is None or code in within):
            return Match(code, "alias")
        stem, kind = normalise_name(key)
        bare = _strip_prefix(key)
        candidates = self.stems
        if within is not None:
            candidates = candidates[candidates["code"].isin(within)]
        # (a) the written name without its prefix is a registry stem ("潍坊新村" for 潍坊新村街道, whose own
        #     last character would otherwise read as a 村 suffix); (b) stems agree and so do the implied kinds
        for rows in (candidates[candidates["stem"] == bare],
                     candidates[(candidates["stem"] == stem) & ((candidates["kind"] == kind) if kind else True)]):  # noqa: E501
            if len(rows) == 1:
                return Match(str(rows["code"].iloc[0]), "normalised")
            if len(rows) > 1:
                return Match(None, None, tuple(rows["code"].astype(str)))
        return Match(None, None)

    def match_values(self, names, within: set[str] | None = None) -> list[Match]:
        """:meth:`match_one` for each name (distinct names are matched once)."""
        cache: dict[str, Match] = {}
        out = []
        for name in names:
            key = clean_text(name)
            if key not in cache:
                cache[key] = self.match_one(key, within)
            out.append(cache[key])
        return out

    def name_of(self, code: str) -> str:
        """The registry's Chinese name of a code (for logs and messages)."""
        hit = self.units.loc[self.units["code"] == code, "name_zh"]
        return str(hit.iloc[0]) if len(hit) else code
