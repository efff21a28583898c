"""The one setup call every report notebook starts with (it was a ~25-line cell repeated in four notebooks).

    from govlib.reports.setup import start_report
    R = start_report(lang, period)
    settings, tables, prov, zh, t, show_table = R.settings, R.tables, R.prov, R.zh, R.t, R.show_table

It checks the language, makes a chart with a missing glyph an error, reads the processed tables (the period's year
only for the big tables), and gives the two helpers every notebook used: ``t(zh, en)`` picks the report language's
text, ``show_table(df)`` displays a table with numbers formatted and ranks as integers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from ..errors import InputError
from ..settings import Settings, load_settings

__all__ = ["ReportContext", "start_report", "table_html"]


def table_html(df: pd.DataFrame, digits: int = 1, index: bool = False) -> str:
    """A table as HTML: floats with ``digits`` decimals, whole-number rank columns as integers, ``–`` for missing.

    Examples
    --------
    >>> html = table_html(pd.DataFrame({"排名": [1.0, 2.0], "得分": [71.234, None]}))
    >>> "<td>1</td>" in html and "71.2" in html and "–" in html
    True
    """
    from .views import integer_ranks

    shown = integer_ranks(df)
    for col in shown.columns[list(shown.dtypes.astype(str) == "Int64")]:
        shown[col] = shown[col].astype(object).where(shown[col].notna(), "–")  # to_html's na_rep skips <NA>
    return shown.to_html(index=index, na_rep="–", float_format=lambda x: f"{x:.{digits}f}", escape=True)


@dataclass
class ReportContext:
    """What a report notebook needs: language, settings, processed tables and provenance."""

    lang: str
    settings: Settings
    tables: dict[str, pd.DataFrame]
    prov: Mapping[str, Any] = field(default_factory=dict)

    @property
    def zh(self) -> bool:
        return self.lang == "zh"

    def t(self, zh_text: str, en_text: str) -> str:
        """The text in the report language."""
        return zh_text if self.zh else en_text

    def show_table(self, df: pd.DataFrame, digits: int = 1, index: bool = False) -> None:
        """Display a table (see :func:`table_html`)."""
        from IPython.display import HTML, display

        display(HTML(table_html(df, digits, index)))

    def show_html(self, html: str) -> None:
        from IPython.display import HTML, display

        display(HTML(html))


def start_report(lang: str = "zh", period: str | None = None, settings: Settings | None = None) -> ReportContext:
    """Check the language, install the strict-glyph rule and load the report tables (see the module docstring).

    Examples
    --------
    >>> start_report("fr")
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: lang must be 'zh' or 'en', got 'fr'
    """
    if lang not in ("zh", "en"):
        raise InputError(f"lang must be 'zh' or 'en', got {lang!r}")
    from .fonts import install_strict_glyphs
    from .views import load_report_tables
    from ..data.processed import provenance

    install_strict_glyphs()  # a chart with a missing glyph fails the report instead of drawing boxes
    settings = settings or load_settings()
    tables = load_report_tables(settings, period=period)
    return ReportContext(lang=lang, settings=settings, tables=tables, prov=provenance(settings))
