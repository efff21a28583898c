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
from .derived import ReportTables

__all__ = ["ReportContext", "start_report", "table_html", "warm_session", "reset_session", "report_tables"]

#: the state of a warm kernel after its imports (see :func:`warm_session`)
_BASELINE: dict[str, Any] = {}
#: processed tables already read in this process: (project root, manifest hash, period) -> tables
_TABLES: dict[tuple, dict[str, pd.DataFrame]] = {}
#: views derived from those tables, one memo per key of _TABLES (see govlib.reports.derived)
_MEMOS: dict[tuple, dict] = {}


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
    from ..data.processed import provenance

    install_strict_glyphs()  # a chart with a missing glyph fails the report instead of drawing boxes
    settings = settings or load_settings()
    return ReportContext(lang=lang, settings=settings, tables=report_tables(settings, period),
                         prov=provenance(settings))


def report_tables(settings: Settings, period: str | None = None) -> dict[str, pd.DataFrame]:
    """:func:`govlib.reports.views.load_report_tables`, cached in this process by the build's manifest hash (a new
    build is a new key), so a warm kernel reads the processed store once for all its reports. Each call gets its
    own copies: a report that changes a table in place cannot change the next report's.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> report_tables(load_settings(root=pathlib.Path(tempfile.mkdtemp())))
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: no manifest at ...; run `govlib build` first
    """
    from .views import load_report_tables
    from ..data.processed import manifest_hash

    key = (str(settings.processed_dir.resolve()), manifest_hash(settings), period)
    if key not in _TABLES:
        if len(_TABLES) >= 4:  # a few periods or builds at most; the oldest goes first
            _MEMOS.pop(next(iter(_TABLES)), None)
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = load_report_tables(settings, period=period)
    # the views every report of this build derives alike are memoised beside the tables (reports.derived)
    return ReportTables({name: df.copy() for name, df in _TABLES[key].items()}, memo=_MEMOS.setdefault(key, {}),
                        source=_TABLES[key])


def warm_session() -> None:
    """Record the state a report may change -- matplotlib's rcParams and the warning filters -- as it is after the
    imports (run once in a warm kernel; :func:`reset_session` restores it)."""
    import warnings

    import matplotlib

    _BASELINE["rc"] = dict(matplotlib.rcParams)
    _BASELINE["warnings"] = list(warnings.filters)


def reset_session() -> None:
    """Between two reports in one warm kernel: clear the user namespace (IPython ``reset``; the execution count
    starts at 1 again), close every figure, restore rcParams and the warning filters recorded by
    :func:`warm_session`. Imported modules and the table cache stay."""
    import warnings

    import matplotlib
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True, aggressive=False)
    if "matplotlib.pyplot" in __import__("sys").modules:
        import matplotlib.pyplot as plt

        plt.close("all")
    if "rc" in _BASELINE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # restoring deprecated keys warns
            matplotlib.rcParams.update(_BASELINE["rc"])
    if "warnings" in _BASELINE:
        warnings.filters[:] = _BASELINE["warnings"]
        warnings.filterwarnings("default", message="^govlib-reset$")  # mutating the filters clears every
        warnings.filters.pop(0)                                      # module's "already shown" registry
