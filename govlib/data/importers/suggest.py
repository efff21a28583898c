"""``govlib import KIND FILE --suggest``: a draft mapping from a file's headers and values, every guess marked.

The draft is YAML text with a comment on every line that was guessed (``# GUESS: ...``) or left for the analyst
(``# TODO: ...``): column roles from header words (序号, 提交答卷时间, 街镇, 居委, 权重, 工单编号, 受理时间, ...),
questions matched to survey items by their text, answers to the usual five-point satisfaction scale, 街镇 and
community names to the unit registry (only the names that are not an exact match are listed). Nothing in a draft
is used until the analyst has reviewed it and passes it as ``--mapping``.
"""
from __future__ import annotations

import difflib
import re

import pandas as pd

from .hotline import CATEGORY_WORDS, SATISFACTION_WORDS
from .mapping import option_key
from .names import NameMatcher, clean_text
from .sheets import Sheet, header_key, table_from_sheet

__all__ = ["suggest_mapping", "SATISFACTION_SCALE"]

#: the usual five-point satisfaction wording; "don't know / not applicable" answers are missing
SATISFACTION_SCALE = {"非常满意": 5, "满意": 4, "比较满意": 4, "一般": 3, "不太满意": 2, "不满意": 2, "非常不满意": 1,
                      "很满意": 5, "很不满意": 1, "不清楚": "missing", "不适用": "missing", "说不清": "missing",
                      "不知道": "missing", "不了解": "missing"}
_ROLE_WORDS = {
    "survey": [("respondent_id", ("序号", "答卷编号", "编号")), ("unit_parent", ("街镇", "街道/镇", "所在街道", "所属街镇")),
               ("unit", ("居委", "居村", "村居", "社区", "所在居委")), ("weight", ("权重", "weight")),
               ("fpc1", ("fpc1",)), ("fpc2", ("fpc2",)), ("sex", ("性别",)), ("age_group", ("年龄",))],
    "hotline": [("ticket_id", ("工单编号", "工单号", "编号")), ("created_at", ("受理时间", "来电时间", "登记时间")),
                ("due_at", ("办理时限", "办结时限", "截止时间")), ("closed_at", ("办结时间", "结案时间")),
                ("category", ("诉求类别", "诉求类型", "工单类型")), ("unit_parent", ("所属街镇", "街镇")),
                ("unit", ("所属居村", "居村", "居委", "社区")), ("satisfaction", ("满意度", "回访满意度")),
                ("repeat", ("是否重复", "重复"))],
}
EMPTY = '""'  # an empty YAML string: a value the analyst must fill in
_META = ("提交答卷时间", "所用时间", "来源", "来源详情", "来自IP", "IP", "总分")


def _q(text) -> str:
    """A YAML-safe double-quoted string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _roles(kind: str, labels: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for target, words in _ROLE_WORDS.get(kind, []):
        for pos, label in enumerate(labels):
            key = header_key(label)
            if pos not in found.values() and any(w in key for w in words):
                found[target] = pos
                break
    return found


def _item_guess(label: str, items: pd.DataFrame | None) -> tuple[str | None, float]:
    if items is None or "label_zh" not in items:
        return None, 0.0
    text = re.sub(r"^[QＱ]?\d+[.、．:：]?", "", header_key(label))
    best, score = None, 0.0
    for item, lab in zip(items["item"].astype(str), items["label_zh"].astype(str)):
        ratio = difflib.SequenceMatcher(None, text, clean_text(lab)).ratio()
        if ratio > score:
            best, score = item, ratio
    return best, score


def _name_lines(table, pos: int, units: pd.DataFrame, level: str, title: str) -> list[str]:
    matcher = NameMatcher(units)
    level_codes = set(units.loc[units["level"] == level, "code"].astype(str)) if "level" in units else None
    lines = []
    for name in sorted({clean_text(v) for v in table.data[pos] if clean_text(v)}):
        m = matcher.match_one(name, level_codes)
        if m.how == "exact":
            continue
        if m.code:
            lines.append(f"  {_q(name)}: \"{m.code}\"   # GUESS ({m.how} match: {matcher.name_of(m.code)}): review")
        elif m.candidates:
            lines.append(f"  {_q(name)}: \"\"   # TODO: ambiguous ({', '.join(m.candidates)}): fill in the code")
        else:
            lines.append(f"  {_q(name)}: \"\"   # TODO: no {title} of this name: fill in its 12-digit code")
    return lines


def suggest_mapping(kind: str, sheets: list[Sheet], units: pd.DataFrame, items: pd.DataFrame | None = None) -> str:
    """The text of a draft mapping for ``kind`` (see the module docstring).

    Examples
    --------
    >>> cells = pd.DataFrame([["序号", "所在街镇", "所在居委", "权重", "1. 您对社会保障的满意度"],
    ...                       [1, "陆家嘴街道", "陆家嘴甲居委会", 10.0, "A. 满意"]], dtype=object)
    >>> units = pd.DataFrame({"code": ["310115005000", "310115005001"], "name_zh": ["陆家嘴街道", "陆家嘴甲居委会"],
    ...     "level": ["subdistrict", "community"], "kind": ["街道", "居委"]})
    >>> items = pd.DataFrame({"item": ["q2"], "label_zh": ["您对社会保障的满意度"]})
    >>> text = suggest_mapping("survey", [Sheet("s.csv", "s", cells)], units, items)
    >>> "q2   # GUESS" in text and '"满意": 4' in text
    True
    """
    visible = [s for s in sheets if not s.hidden] or sheets
    lines = [f"# Draft mapping for `govlib import {kind}`, written by --suggest from {visible[0].file}.",
             "# Review every line marked GUESS or TODO, then pass this file as --mapping. See docs/import.md.",
             f"kind: {kind}"]
    if kind == "wide":
        table = table_from_sheet(visible[0], numeric_body=True)
        lines += ["layout: wide            # wide: 街镇 as rows, indicators as columns; long: unit, period, value",
                  "period: sheet_name      # GUESS: the year is in each sheet's name",
                  "unit_column: 1          # GUESS: 街镇 names in the first column",
                  "footnotes: error        # or strip: read 12.3① as 12.3 and list it in the import log",
                  "indicators:             # TODO: the framework code of each column you want (delete the rest)"]
        for label in table.labels[1:]:
            if header_key(label):
                lines.append(f"  {_q(header_key(label))}: \"\"   # TODO: indicator code (header: "
                             f"{_q(label)[1:-1][:60]})")
        lines.append("names:")
        lines += _name_lines(table, 0, units, "subdistrict", "街镇") or ["  {}"]
        return "\n".join(lines) + "\n"
    table = table_from_sheet(visible[0])
    roles = _roles(kind, table.labels)
    lines.append("columns:")
    for target, pos in roles.items():
        lines.append(f"  {target}: {_q(table.labels[pos])}   # GUESS: review")
    if kind == "survey":
        if "wave" not in roles:
            when = [p for p, lab in enumerate(table.labels) if "提交答卷时间" in header_key(lab)]
            lines.append(f"wave: {{from: {_q(table.labels[when[0]])}, frequency: Q}}   # GUESS: quarter of submission"
                         if when else "wave: \"\"   # TODO: the survey wave, e.g. 2024Q3")
        lines.append("questions:")
        answers: set[str] = set()
        used = set(roles.values())
        ignore = []
        for pos, label in enumerate(table.labels):
            if pos in used or not label:
                continue
            if any(m in header_key(label) for m in _META):
                ignore.append(label)
                continue
            values = {option_key(v) for v in table.data[pos] if option_key(v)}
            item, score = _item_guess(label, items)
            if item and score >= 0.6:
                lines.append(f"  {_q(label)}: {item}   # GUESS (text similarity {score:.2f}): review")
                answers |= values
            else:
                lines.append(f"  # {_q(label)}: ?   # TODO: a survey item, or delete (no item's text is close)")
        lines.append("options:")
        lines.append("  default:")
        for answer in sorted(answers):
            value = SATISFACTION_SCALE.get(answer)
            if value is None and re.fullmatch(r"\d+", answer):
                continue  # numeric answers pass as scale points
            lines.append(f"    {_q(answer)}: {value if value is not None else EMPTY}"
                         + ("   # GUESS: review" if value is not None else "   # TODO: a scale point or missing"))
        lines.append("ignore:")
        lines += [f"  - {_q(label)}" for label in ignore] or ["  []"]
        if lines[-1] == "  []":
            lines[-2] = "ignore: []"
            lines.pop()
    else:
        lines.append("options:")
        if "category" in roles:
            lines.append("  category:")
            for value in sorted({option_key(v) for v in table.data[roles["category"]] if option_key(v)}):
                code = CATEGORY_WORDS.get(value)
                lines.append(f"    {_q(value)}: {code or EMPTY}" + ("   # GUESS: review" if code
                                                                    else "   # TODO: consultation, help, complaint, "
                                                                         "suggestion or other"))
        if "satisfaction" in roles:
            lines.append("  satisfaction:")
            for value in sorted({option_key(v) for v in table.data[roles["satisfaction"]] if option_key(v)}):
                if re.fullmatch(r"\d+(\.0)?", value):
                    continue
                point = SATISFACTION_WORDS.get(value)
                lines.append(f"    {_q(value)}: {point if point is not None else EMPTY}"
                             + ("   # GUESS: review" if point is not None else "   # TODO: 1-5 or missing"))
    lines.append("names:")
    name_lines = []
    if "unit_parent" in roles:
        name_lines += _name_lines(table, roles["unit_parent"], units, "subdistrict", "街镇")
    if "unit" in roles:
        name_lines += _name_lines(table, roles["unit"], units, "community", "community")
    if name_lines:
        lines += name_lines
    else:
        lines[-1] = "names: {}"
    return "\n".join(lines) + "\n"
