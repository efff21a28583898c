"""12345 hotline ticket exports with Chinese headers -> ``hotline_tickets``.

A ticket export names its columns 工单编号, 受理时间, 诉求类别, 所属街镇, 所属居村, 办理时限, 办结时间, 满意度,
是否重复 (or alike): the mapping says which is which, how categories and ratings map to govlib's vocabulary, and
community names are matched to codes within their 街镇 (every non-exact match goes to the import log).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import Problem, ValidationError
from .common import ImportResult, capped, map_options, resolve_units, start_import
from .names import NameMatcher
from .sheets import Sheet, text_column

__all__ = ["import_hotline", "CATEGORY_WORDS", "SATISFACTION_WORDS", "YES_NO", "parse_datetimes", "DATETIME_FORMATS"]

#: categories as 12345 exports commonly write them (a mapping's options.category adds or overrides)
CATEGORY_WORDS = {"咨询": "consultation", "求助": "help", "投诉": "complaint", "建议": "suggestion",
                  "其他": "other", "表扬": "other", "举报": "complaint"}
SATISFACTION_WORDS = {"非常满意": 5, "满意": 4, "基本满意": 3, "一般": 3, "不满意": 2, "非常不满意": 1,
                      "未评价": "missing", "未回访": "missing"}
YES_NO = {"是": True, "否": False, "Y": True, "N": False, "1": True, "0": False, "TRUE": True, "FALSE": False,
          "True": True, "False": False}
_CATEGORIES = ("consultation", "help", "complaint", "suggestion", "other")


#: date-time spellings tried in turn, each vectorised (``format="mixed"`` parses element by element: minutes for a
#: year of tickets); what none of them reads is tried with the mixed parser, then reported
DATETIME_FORMATS = ("ISO8601", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S",
                    "%Y年%m月%d日")


def parse_datetimes(text: pd.Series) -> pd.Series:
    """Date-times from text in any of :data:`DATETIME_FORMATS` (NaT for empty or unreadable cells).

    Examples
    --------
    >>> parse_datetimes(pd.Series(["2024-07-01 09:30:00", "2024/7/2 10:00", "", "昨天"])).dt.day.tolist()
    [1.0, 2.0, nan, nan]
    """
    when = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.ne("") & text.notna()
    for fmt in DATETIME_FORMATS:
        if not todo.any():
            break
        got = pd.to_datetime(text[todo], errors="coerce", format=fmt)
        when[got.index] = got
        todo &= when.isna()
    if todo.any():
        when[todo] = pd.to_datetime(text[todo], errors="coerce", format="mixed")
    return when


def _datetimes(table, values: pd.Series, column: str, problems: list[Problem], required: bool) -> pd.Series:
    text = text_column(values)
    when = parse_datetimes(text)
    bad = when.isna() & ((text != "") | required)
    for i in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(table.sheet.file, int(table.rows[i]), column, values.iloc[i],
                                "a date and time (e.g. 2024-07-01 09:30:00)" + (" (required)" if required else "")))
    return when.astype("datetime64[ms]")


def import_hotline(sheet: Sheet, mapping: dict, units: pd.DataFrame) -> ImportResult:
    """Turn one ticket export sheet into ``hotline_tickets`` rows (all problems at once).

    The ticket's ``unit`` is its community (居村), matched by name within the 街镇 column when ``unit_parent`` is
    mapped; ``due_at`` comes from the export's deadline column (办理时限) when there is one — without it, on-time
    closure cannot be judged and the ticket counts as "not judged", as in :mod:`govlib.services.hotline`.
    """
    table, log, problems, cols = start_import(sheet, mapping)
    columns = dict(mapping["columns"])
    if problems:
        raise ValidationError(capped(problems))
    data = table.data
    out = pd.DataFrame(index=range(len(data)))
    ids = data[cols["ticket_id"]].pipe(text_column).replace("", None)
    ids = ids.str.replace(r"\.0$", "", regex=True)
    for i in np.flatnonzero(ids.isna().to_numpy() | (ids == "").to_numpy()):
        problems.append(Problem(sheet.file, int(table.rows[i]), columns["ticket_id"], None, "a ticket number"))
    out["ticket_id"] = ids.astype("int64") if ids.str.fullmatch(r"\d{1,18}").all() else ids
    matcher = NameMatcher(units, mapping["names"])
    parents = None
    if "unit_parent" in cols:
        parents = resolve_units(table, data[cols["unit_parent"]], matcher, log, problems, columns["unit_parent"],
                                "subdistrict")
    out["unit"] = resolve_units(table, data[cols["unit"]], matcher, log, problems, columns["unit"], "community",
                                parents)
    out["created_at"] = _datetimes(table, data[cols["created_at"]], columns["created_at"], problems, True)
    for target in ("due_at", "closed_at"):
        if target in cols:
            out[target] = _datetimes(table, data[cols[target]], columns[target], problems, False)
    opts = mapping["options"]
    out["category"] = map_options(table, data[cols["category"]], {**CATEGORY_WORDS, **opts.get("category", {})},
                                  columns["category"], problems, pass_through=_CATEGORIES)
    if "satisfaction" in cols:
        sat = map_options(table, data[cols["satisfaction"]], {**SATISFACTION_WORDS, **opts.get("satisfaction", {})},
                          columns["satisfaction"], problems, numeric_ok=(1, 5), missing_value=None)
        out["satisfaction"] = pd.array([None if v is None else int(float(v)) for v in sat], dtype="Int8")
    if "repeat" in cols:
        rep = map_options(table, data[cols["repeat"]], {**YES_NO, **opts.get("repeat", {})}, columns["repeat"],
                          problems)
        out["repeat"] = pd.array([None if v is None else bool(v) for v in rep], dtype="boolean")
    used = set(cols.values())
    for pos, label in enumerate(table.labels):
        if pos not in used and label:
            log.add(sheet.file, None, label, None, None,
                    "ignored (listed under ignore:)" if label in set(map(str, mapping["ignore"]))
                    else "column not imported (not in the mapping)")
    if problems:
        raise ValidationError(capped(problems))
    return ImportResult({"hotline_tickets": out}, log.frame())
