"""Errors that govlib reports to people.

Every mistake a user can make (a bad file, a wrong parameter, a framework that does not add up) raises a
:class:`GovlibError`. The CLI prints its message and exits with status 2, without a traceback. Validation
collects *all* problems of an input before raising, as a list of :class:`Problem`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["GovlibError", "InputError", "Problem", "ValidationError", "format_value", "expected_one_of", "one_of"]


def format_value(value: Any, limit: int = 60) -> str:
    """Show a cell value the way a person would recognise it in the file, cut to about ``limit`` characters.

    Examples
    --------
    >>> format_value("abc"), format_value(None), format_value(float("nan"))
    ("'abc'", '(empty)', '(empty)')
    >>> format_value("\\x00" * 10**9)[-28:]
    '… (1,000,000,000 characters)'
    """
    if value is None:
        return "(empty)"
    if isinstance(value, (str, bytes)) and len(value) > limit:
        # cut before repr(): a cell of a damaged file can be a gigabyte long
        return repr(value[: limit - 1])[: limit - 1] + f"… ({len(value):,} characters)"
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) > 10 * limit:
        text = text[: 10 * limit]
    if text in ("nan", "NaN", "None", "<NA>", "NaT"):
        return "(empty)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GovlibError(Exception):
    """A mistake in the user's input or request; the CLI shows the message and exits with status 2."""


class InputError(GovlibError, ValueError):
    """Invalid argument or data passed to an engine function (names the argument or column and the value)."""


@dataclass(frozen=True)
class Problem:
    """One problem in one input file.

    ``row`` is the 1-based line number a person sees in a spreadsheet or text editor (the header is row 1),
    or ``None`` when the problem concerns the whole file or a whole column.
    """

    file: str
    row: int | None
    column: str | None
    value: Any
    expected: str

    def __post_init__(self) -> None:
        # a file given as an object that knows it (govlib.data.rows.RowMap) is stored as the name a person reads
        if not isinstance(self.file, str):
            object.__setattr__(self, "file", str(self.file))

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        shown = format_value(self.value)
        if self.value is None or shown == "(empty)" and self.row is None:
            return f"{where}: {self.expected}"
        return f"{where}: value {shown}: {self.expected}"


class ValidationError(GovlibError):
    """All problems found in one or more inputs. ``problems`` keeps them for programs; ``str()`` for people."""

    def __init__(self, problems: Iterable[Problem], limit: int = 50):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"... and {more} more problems of the same kinds")
        head = f"{len(self.problems)} problem(s) in the input; nothing was written:"
        super().__init__("\n".join([head] + ["  - " + line for line in lines]))


def expected_one_of(choices: Iterable[Any]) -> str:
    """The words every "one of these choices" message uses: ``expected one of a, b, c``.

    Examples
    --------
    >>> expected_one_of(["zh", "en"])
    'expected one of zh, en'
    """
    return "expected one of " + ", ".join(map(str, choices))


def one_of(value: Any, choices: Iterable[Any], name: str) -> Any:
    """``value`` if it is one of ``choices``; else an :class:`InputError` naming the argument, the value and the
    choices. The one check for "one of these choices" across govlib (engines, stages, commands).

    Examples
    --------
    >>> one_of("zscore", ("minmax", "zscore"), "normalisation")
    'zscore'
    >>> one_of("foo", ("minmax", "zscore"), "normalisation")
    Traceback (most recent call last):
    ...
    govlib.errors.InputError: normalisation: 'foo' is not allowed; expected one of minmax, zscore
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except (TypeError, ValueError):  # arrays and incomparable values are simply not among the choices
        ok = False
    if not ok:
        raise InputError(f"{name}: {format_value(value)} is not allowed; {expected_one_of(choices)}")
    return value
