"""Importers: the files a district office actually has -> govlib's documented raw tables.

Three kinds (``govlib import KIND FILE --mapping MAP.yaml``), each with a mapping file that says what the source's
columns, answers, categories and names mean (``docs/import.md``):

- ``survey``: questionnaire-platform exports (问卷星 / Wenjuanxing) -> ``survey_responses``
  (:func:`govlib.data.importers.survey.import_survey`);
- ``hotline``: 12345 ticket exports with Chinese headers -> ``hotline_tickets``
  (:func:`govlib.data.importers.hotline.import_hotline`);
- ``wide``: statistical-yearbook sheets (街镇 x indicators, one sheet per year) and department spreadsheets
  (one indicator, 街镇 name and year columns) -> ``observations`` (:func:`govlib.data.importers.wide.import_wide`).

Every problem is reported at once (file [sheet], row, column, value, what was expected); nothing is guessed
silently: every non-exact match is in the import log. :func:`import_file` is pure apart from reading the source
file; writing is the CLI's job (``govlib.commands.import_``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import Problem, ValidationError
from .common import ImportResult
from .mapping import KINDS, check_mapping, load_mapping
from .sheets import read_sheets

__all__ = ["KINDS", "TARGET_TABLE", "import_file", "load_mapping", "check_mapping", "ImportResult"]

#: the raw table each kind of import writes
TARGET_TABLE = {"survey": "survey_responses", "hotline": "hotline_tickets", "wide": "observations"}


def _one_sheet(sheets, mapping: dict, file: str):
    wanted = mapping.get("sheet")
    visible = [s for s in sheets if not s.hidden]
    if wanted is None:
        if not visible:
            raise ValidationError([Problem(file, None, None, None, "a visible sheet (every sheet is hidden)")])
        return visible[0]
    for pos, s in enumerate(sheets, start=1):
        if str(s.name) == str(wanted) or wanted == pos:
            return s
    raise ValidationError([Problem(file, None, "sheet", wanted,
                                   f"a sheet of the file: {', '.join(repr(s.name) for s in sheets)}")])


def import_file(kind: str, path: str | Path, mapping: dict, units: pd.DataFrame,
                items: pd.DataFrame | None = None) -> ImportResult:
    """Read ``path`` and turn it into raw tables with ``mapping`` (checked by :func:`check_mapping`).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "gp.csv")
    >>> _ = open(p, "w", encoding="utf-8").write("街镇,年份,全科医生数\\n　陆家嘴街道,2023,3.1\\n合计,2023,3.0\\n")
    >>> units = pd.DataFrame({"code": ["310115000000", "310115005000"], "name_zh": ["浦东新区", "陆家嘴街道"],
    ...     "level": ["district", "subdistrict"], "kind": ["区", "街道"], "parent": [None, "310115000000"]})
    >>> m = check_mapping({"layout": "long", "indicator": "D1.1",
    ...     "columns": {"unit": "街镇", "period": "年份", "value": "全科医生数"}}, "wide")
    >>> import_file("wide", p, m, units).tables["observations"].values.tolist()
    [['310115005000', '2023', 'D1.1', 3.1, nan, None, 'admin']]
    """
    if kind not in KINDS:
        raise ValidationError([Problem("govlib import", None, "kind", kind, f"one of {', '.join(KINDS)}")])
    sheets = read_sheets(path)
    if kind == "wide":
        from .wide import import_wide

        return import_wide(sheets, mapping, units)
    sheet = _one_sheet(sheets, mapping, Path(path).name)
    if kind == "survey":
        from .survey import import_survey

        return import_survey(sheet, mapping, units, items)
    from .hotline import import_hotline

    return import_hotline(sheet, mapping, units)
