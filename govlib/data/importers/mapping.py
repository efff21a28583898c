"""Mapping files: how the columns, answers, categories and names of a source file become govlib's raw tables.

A mapping is a small YAML file an analyst writes once per kind of export (``govlib import KIND FILE --suggest``
drafts one). Its keys, by kind, are documented in ``docs/import.md``; :func:`check_mapping` reports every problem
at once (key path, value, what was expected). Answer and category values are matched after trimming spaces and the
option letters questionnaire platforms put in front of answers (``A. 满意``, ``B、一般``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ...errors import Problem, ValidationError
from .names import clean_text

__all__ = ["KINDS", "load_mapping", "check_mapping", "option_key", "MISSING", "COMMON_KEYS"]

KINDS = ("survey", "hotline", "wide")
#: the word a mapping uses for "this answer is a missing value" (the item's first missing code is written)
MISSING = "missing"
COMMON_KEYS = {"kind", "sheet", "sheets", "header_row", "header_rows", "names", "ignore", "options"}
_KEYS = {
    "survey": COMMON_KEYS | {"columns", "questions", "wave", "design", "multi_select"},
    "hotline": COMMON_KEYS | {"columns"},
    "wide": COMMON_KEYS | {"layout", "period", "unit_column", "indicators", "indicator", "columns", "skip_rows",
                           "footnotes", "source", "scale"},
}
_REQUIRED_COLUMNS = {
    "survey": ("respondent_id", "unit", "weight"),
    "hotline": ("ticket_id", "unit", "created_at", "category"),
}
_TARGETS = {
    "survey": {"respondent_id", "wave", "unit", "unit_parent", "stratum", "psu", "weight", "fpc1", "fpc2", "sex",
               "age_group"},
    "hotline": {"ticket_id", "unit", "unit_parent", "created_at", "due_at", "closed_at", "category", "satisfaction",
                "repeat"},
    "wide": {"unit", "period", "value", "se"},
}
_LETTER = re.compile(r"^[A-Za-z][.、．:：)）]\s*")


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice (the second would silently win)."""


def _no_duplicates(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def option_key(value) -> str:
    """An answer or category as a mapping key: spaces trimmed, a leading option letter removed.

    Examples
    --------
    >>> option_key(" A. 非常满意"), option_key("B、一般"), option_key("不清楚")
    ('非常满意', '一般', '不清楚')
    """
    return _LETTER.sub("", clean_text(value))


def load_mapping(path: str | Path, kind: str) -> dict:
    """Read and check a mapping file; raise one ValidationError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError([Problem(str(path), None, None, None,
                                       f"a mapping file (not found; draft one with `govlib import {kind} FILE "
                                       f"--suggest --mapping {path.name}`)")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        raise ValidationError([Problem(path.name, mark.line + 1 if mark else None, None, None,
                                       f"valid YAML ({getattr(exc, 'problem', None) or exc})")]) from None
    return check_mapping(data, kind, path.name)


def check_mapping(data: Any, kind: str, file: str = "mapping") -> dict:
    """Check a mapping's structure for ``kind``; return it with defaults filled in.

    Examples
    --------
    >>> check_mapping({"kind": "hotline", "columns": {"ticket_id": "工单编号", "unit": "所属居村",
    ...     "created_at": "受理时间", "category": "诉求类别"}}, "hotline")["options"]
    {}
    >>> check_mapping({"kind": "hotline", "colums": {}}, "hotline")
    Traceback (most recent call last):
    ...
    govlib.errors.ValidationError: 2 problem(s) in the input; nothing was written:
      - mapping, column 'colums': a known key: one of columns, header_row, header_rows, ignore, kind, names, options, sheet, sheets
      - mapping, column 'columns': the source column of each of ticket_id, unit, created_at, category
    """
    problems: list[Problem] = []

    def bad(key: str, value: Any, expected: str) -> None:
        problems.append(Problem(file, None, key, value, expected))

    if not isinstance(data, dict):
        raise ValidationError([Problem(file, None, None, None, "a YAML mapping of keys (kind, columns, ...)")])
    if kind not in KINDS:
        raise ValidationError([Problem(file, None, "kind", kind, f"one of {', '.join(KINDS)}")])
    if data.get("kind", kind) != kind:
        bad("kind", data.get("kind"), f"{kind!r} (this mapping is for another kind of file)")
    for key in sorted(set(data) - _KEYS[kind]):
        bad(key, None, f"a known key: one of {', '.join(sorted(_KEYS[kind]))}")
    out = dict(data)
    out.setdefault("columns", {})
    out.setdefault("options", {})
    out.setdefault("names", {})
    out.setdefault("ignore", [])
    for key in ("columns", "options", "names"):
        if not isinstance(out[key], dict):
            bad(key, out[key], "a mapping of keys to values")
            out[key] = {}
    if not isinstance(out["ignore"], list):
        bad("ignore", out["ignore"], "a list of source column names")
        out["ignore"] = []
    for target in out["columns"]:
        if target not in _TARGETS[kind]:
            bad(f"columns.{target}", None, f"a target column: one of {', '.join(sorted(_TARGETS[kind]))}")
    required = _REQUIRED_COLUMNS.get(kind, ())
    if kind == "wide" and out.get("layout", "wide") == "long":
        required = ("unit", "period", "value")
    missing = [c for c in required if not out["columns"].get(c)]
    if missing:
        bad("columns", None, f"the source column of each of {', '.join(missing)}")
    for name, code in out["names"].items():
        if not re.fullmatch(r"\d{12}", str(code)):
            bad(f"names.{name}", code, "a 12-digit unit code (as text, in quotes)")
    for col, table in out["options"].items():
        if not isinstance(table, dict):
            bad(f"options.{col}", table, "a mapping of answer text to a value")
    if kind == "survey":
        out.setdefault("questions", {})
        if not isinstance(out["questions"], dict) or not out["questions"]:
            bad("questions", out.get("questions"), "a mapping of question headers to survey item names (q1, ...)")
            out["questions"] = {}
        out.setdefault("design", {"stratum": "parent", "psu": "unit"})
        out.setdefault("multi_select", "ignore")
        wave = out.get("wave")
        if wave is None and not out["columns"].get("wave"):
            bad("wave", None, "the survey wave: a fixed wave such as '2024Q3', columns.wave, or "
                              "{from: <date column>, frequency: Q}")
        elif isinstance(wave, dict) and (set(wave) - {"from", "frequency"} or "from" not in wave or
                                         wave.get("frequency", "Q") not in ("A", "Q", "M")):
            bad("wave", wave, "{from: <date column>, frequency: A, Q or M}")
    if kind == "wide":
        layout = out.setdefault("layout", "wide")
        if layout not in ("wide", "long"):
            bad("layout", layout, "wide (units as rows, indicators as columns) or long (unit, period, value)")
        if layout == "wide" and not isinstance(out.get("indicators"), dict):
            bad("indicators", out.get("indicators"), "a mapping of column headers to indicator codes")
        if layout == "long" and not out.get("indicator"):
            bad("indicator", None, "the indicator code the sheet holds")
        out.setdefault("period", "sheet_name")
        out.setdefault("skip_rows", ["合计", "总计", "全区", "全区合计", "浦东新区", "全新区", "小计"])
        if out.setdefault("footnotes", "error") not in ("error", "strip"):
            bad("footnotes", out["footnotes"], "error (report cells such as 12.3①) or strip (read 12.3, list it in "
                                               "the import log)")
        out.setdefault("source", "admin")
        out.setdefault("scale", {})
    if problems:
        raise ValidationError(problems)
    return out
