"""Questionnaire-platform exports (问卷星 / Wenjuanxing and alike) -> ``survey_responses``.

An export has one row per respondent: metadata (序号, 提交答卷时间, 所用时间, 来源, 来自IP, ...), the analyst's
design columns (community, weight, ...), then one column per question headed by the question text, answers as
option text ("非常满意", "A. 满意"), multi-select questions spread over several columns. The mapping names which
column is what, which question is which survey item, and what every answer means; anything else in the file is
listed in the import log as not imported — nothing is dropped silently.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import Problem, ValidationError
from ...periods import is_valid_period
from ..readers import parse_numbers
from .common import (
    ImportLog,
    ImportResult,
    capped,
    find_columns,
    map_options,
    resolve_units,
    start_import,
)
from .hotline import parse_datetimes
from .names import NameMatcher
from .sheets import Sheet, text_column

__all__ = ["import_survey", "DEFAULT_SEX", "DEFAULT_AGE"]

DEFAULT_SEX = {"男": "M", "女": "F", "M": "M", "F": "F"}
DEFAULT_AGE = {"18-34岁": "18-34", "35-49岁": "35-49", "50-64岁": "50-64", "65岁及以上": "65+", "65岁以上": "65+"}


def _wave(table, mapping, cols, problems) -> np.ndarray:
    wave = mapping.get("wave")
    n = len(table.data)
    if isinstance(wave, dict):
        src = find_columns(table, {"wave": wave["from"]}, ImportLog(), problems)
        if "wave" not in src:
            return np.full(n, None, dtype=object)
        when = parse_datetimes(text_column(table.data[src["wave"]]))
        for i in np.flatnonzero(when.isna().to_numpy()):
            problems.append(Problem(table.sheet.file, int(table.rows[i]), str(wave["from"]),
                                    table.data[src["wave"]].iloc[i], "a date and time (e.g. 2024-07-01 09:30:00)"))
        freq = wave.get("frequency", "Q")
        text = when.dt.to_period({"A": "Y", "Q": "Q", "M": "M"}[freq]).astype(str)
        return text.where(when.notna(), None).to_numpy(dtype=object)
    if "wave" in cols:
        values = text_column(table.data[cols["wave"]])
    else:
        values = pd.Series([str(wave)] * n)
    ok = values.map({v: is_valid_period(v) for v in values.unique()}).to_numpy(dtype=bool)
    for i in np.flatnonzero(~ok):
        problems.append(Problem(table.sheet.file, int(table.rows[i]) if "wave" in cols else None,
                                mapping["columns"].get("wave", "wave"), values.iloc[i],
                                "a period such as 2024, 2024Q3 or 2024-07"))
    return values.to_numpy(dtype=object)


def import_survey(sheet: Sheet, mapping: dict, units: pd.DataFrame, items: pd.DataFrame | None) -> ImportResult:
    """Turn one export sheet into ``survey_responses`` rows (all problems at once).

    Parameters
    ----------
    sheet : from :func:`govlib.data.importers.sheets.read_sheets`.
    mapping : from :func:`govlib.data.importers.mapping.load_mapping` (kind ``survey``).
    units : the unit registry; communities are matched by name (within their 街镇 when ``columns.unit_parent``
        is mapped).
    items : ``survey_items`` (item, scale_min, scale_max, missing_codes): answers are checked against each item's
        scale, and an answer mapped to ``missing`` becomes the item's first missing code.
    """
    table, log, problems, cols = start_import(sheet, mapping)
    columns = dict(mapping["columns"])
    qcols = find_columns(table, {h: h for h in mapping["questions"]}, log, problems, what="questions")
    item_info = {}
    if items is not None:
        for row in items.itertuples(index=False):
            codes = [c for c in str(getattr(row, "missing_codes", "") or "").replace(",", ";").split(";") if c.strip()]
            item_info[str(row.item)] = (float(row.scale_min), float(row.scale_max),
                                        int(float(codes[0])) if codes else None)
    for header, item in mapping["questions"].items():
        if items is not None and str(item) not in item_info:
            problems.append(Problem(sheet.file, None, str(header), item,
                                    f"a survey item of survey_items ({', '.join(item_info)})"))
    if problems:
        raise ValidationError(capped(problems))
    data = table.data
    n = len(data)
    out = pd.DataFrame(index=range(n))
    out["respondent_id"] = data[cols["respondent_id"]].pipe(text_column).replace("", None)
    if out["respondent_id"].str.fullmatch(r"\d+(\.0)?").all():
        out["respondent_id"] = out["respondent_id"].str.replace(r"\.0$", "", regex=True).astype("int64")
    out["wave"] = _wave(table, mapping, cols, problems)
    parents = None
    if "unit_parent" in cols:
        parents = resolve_units(table, data[cols["unit_parent"]], NameMatcher(units, mapping["names"]), log,
                                problems, columns["unit_parent"], "subdistrict")
    matcher = NameMatcher(units, mapping["names"])
    unit = resolve_units(table, data[cols["unit"]], matcher, log, problems, columns["unit"], "community", parents)
    out["unit"] = unit
    parent_of = dict(zip(units["code"].astype(str), units.get("parent", pd.Series(dtype=str)).astype(str)))
    design = mapping.get("design") or {}
    for target in ("stratum", "psu"):
        rule = design.get(target, "parent" if target == "stratum" else "unit")
        if target in cols:
            out[target] = data[cols[target]].astype(str).str.strip()
        elif rule == "parent":
            out[target] = [parent_of.get(u) if u is not None else None for u in unit]
        elif rule == "unit":
            out[target] = unit
        else:
            problems.append(Problem(sheet.file, None, f"design.{target}", rule,
                                    "parent (the 街镇 of the respondent's community), unit, or a column under columns:"))
    for target in ("weight", "fpc1", "fpc2"):
        if target in cols:
            values, bad, _ = parse_numbers(data[cols[target]].pipe(text_column).replace("", None))
            for i in np.flatnonzero(bad | (np.isnan(values) if target == "weight" else np.zeros(n, bool))):
                problems.append(Problem(sheet.file, int(table.rows[i]), columns[target], data[cols[target]].iloc[i],
                                        "a positive number"))
            out[target] = values
    opts = mapping["options"]
    if "sex" in cols:
        out["sex"] = map_options(table, data[cols["sex"]], opts.get("sex", DEFAULT_SEX), columns["sex"], problems)
    if "age_group" in cols:
        out["age_group"] = map_options(table, data[cols["age_group"]], opts.get("age_group", DEFAULT_AGE),
                                       columns["age_group"], problems, pass_through=tuple(DEFAULT_AGE.values()))
    for header, item in mapping["questions"].items():
        lo, hi, missing_code = item_info.get(str(item), (-np.inf, np.inf, None))
        table_opts = opts.get(str(item), opts.get(header, opts.get("default", {})))
        values = map_options(table, data[qcols[header]], table_opts, str(header), problems, numeric_ok=(lo, hi),
                             missing_value=missing_code if missing_code is not None else np.nan)
        out[str(item)] = pd.array([np.nan if v is None else float(v) for v in values], dtype="Float64").astype("Int64")
    used = set(cols.values()) | set(qcols.values())
    ignored = {str(c) for c in mapping["ignore"]}
    for pos, label in enumerate(table.labels):
        if pos not in used and label:
            how = "ignored (listed under ignore:)" if label in ignored else (
                "multi-select option column not imported" if mapping.get("multi_select") == "ignore"
                and ("多选" in label or ":" in label or "：" in label) else "column not imported (not in the mapping)")
            log.add(sheet.file, None, label, None, None, how)
    if problems:
        raise ValidationError(capped(problems))
    return ImportResult({"survey_responses": out}, log.frame())
