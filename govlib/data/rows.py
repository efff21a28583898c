"""Where a row of a loaded table came from: its file and the row a person sees there.

A raw table can be several files (``hotline_tickets/2023.parquet``, ``hotline_tickets/2024.csv``), and blank lines
are dropped when a CSV or XLSX file is read. Checks that run on the loaded (concatenated) table find offending
*positions*; a :class:`RowMap` turns them back into ``(file, row)`` for messages: ``hotline_tickets/2024.parquet,
row 17``. Rows are counted as in the file: in CSV and XLSX the header is row 1 (the first data row is row 2, and
blank lines count), in Parquet the first record is row 1.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem

__all__ = ["RowMap", "rowmap_of", "locate", "Finding"]


class RowMap:
    """Position in a loaded table -> (file, row in that file).

    Parameters
    ----------
    table : the table's name (used when a position is unknown).
    files : the files, in the order they were concatenated.
    parts : per file, its number of rows and either the row numbers as seen (an array: CSV/XLSX with blank lines
        dropped) or the row of its first record (an int: rows follow on, as in Parquet). Millions of Parquet rows
        cost nothing to map.

    Examples
    --------
    >>> m = RowMap("t", ["t/a.csv", "t/b.parquet"], [np.array([2, 4]), (3, 1)])
    >>> m.locate(1), m.locate(2), m.locate(4)
    (('t/a.csv', 4), ('t/b.parquet', 1), ('t/b.parquet', 3))
    """

    def __init__(self, table: str, files: Sequence[str], parts: Sequence):
        self.table = table
        self.files = list(files)
        self.parts = [np.asarray(p, dtype=np.int64) if not isinstance(p, tuple) else p for p in parts]
        sizes = [len(p) if not isinstance(p, tuple) else p[0] for p in self.parts]
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def locate(self, position: int) -> tuple[str, int | None]:
        position = int(position)
        if not 0 <= position < self.starts[-1]:
            return self.table, None
        f = int(np.searchsorted(self.starts, position, side="right")) - 1
        part, k = self.parts[f], position - int(self.starts[f])
        return self.files[f], int(part[1] + k) if isinstance(part, tuple) else int(part[k])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __deepcopy__(self, memo) -> "RowMap":  # pandas deep-copies attrs on every operation: share, don't copy
        return self

    def __str__(self) -> str:
        return self.files[0] if len(self.files) == 1 else self.table


def rowmap_of(df: pd.DataFrame, table: str) -> RowMap:
    """The table's :class:`RowMap` (kept in ``df.attrs`` while loading), or one counting from row 2."""
    found = df.attrs.get("rowmap") if hasattr(df, "attrs") else None
    if isinstance(found, RowMap) and len(found) == len(df):
        return found
    files = df.attrs.get("files") if hasattr(df, "attrs") else None
    name = files[0] if isinstance(files, list) and len(files) == 1 else table
    return RowMap(table, [name], [(len(df), 2)])


def locate(where, position: int) -> tuple[str, int | None]:
    """``(file, row)`` of ``position`` for a RowMap, or ``(where, position + 2)`` for a plain file name."""
    if isinstance(where, RowMap):
        return where.locate(position)
    return str(where), int(position) + 2


class Finding:
    """The rows of a loaded table that break one check, gathered file by file and named at the end.

    A table folder is checked one file at a time (its files are not kept); the positions found in each file are
    shifted to positions in the whole table and appended, so that the messages are the ones a check on the
    whole table gives: the first ``cap`` rows named by file and row, then one summary of the rest.

    Parameters
    ----------
    key : what was checked (findings with the same key are one check, merged across files).
    column : the column named in the messages.
    positions : 0-based positions of the offending rows.
    values : the offending values of (at least) the first ``cap`` positions.
    expected : what was expected: one text, or one text per shown row.
    summary : the summary's text, with ``{n}`` for the number of rows not shown.
    cap : rows named one by one.
    summary_file : the summary's file (default: the table's, ``str(where)``).

    Examples
    --------
    >>> a = Finding("t.x", "x", np.array([0]), ["A"], "a letter b", "{n} more rows", cap=1)
    >>> b = Finding("t.x", "x", np.array([1, 2]), ["C", "D"], "a letter b", "{n} more rows", cap=1)
    >>> m = RowMap("t", ["t/1.parquet", "t/2.parquet"], [(5, 1), (3, 1)])
    >>> [str(p) for p in a.merged(b, offset=5).problems(m)]
    ["t/1.parquet, row 1, column 'x': value 'A': a letter b", "t, column 'x': 2 more rows"]
    """

    def __init__(self, key: str, column: str, positions, values, expected, summary: str, cap: int,
                 summary_file: str | None = None):
        self.key, self.column, self.summary, self.cap, self.summary_file = key, column, summary, cap, summary_file
        self.positions = np.asarray(positions, dtype=np.int64)
        self.values = list(values)[:cap]
        self.expected = expected if isinstance(expected, str) else list(expected)[:cap]

    def shifted(self, offset: int) -> "Finding":
        """The same rows, at positions that start at ``offset`` in the whole table."""
        return Finding(self.key, self.column, self.positions + offset, self.values, self.expected, self.summary,
                       self.cap, self.summary_file)

    def merged(self, other: "Finding", offset: int) -> "Finding":
        """This finding followed by ``other``'s, whose positions start at ``offset`` in the whole table."""
        room = max(self.cap - len(self.values), 0)
        expected = self.expected if isinstance(self.expected, str) \
            else self.expected + list(other.expected)[:room]
        return Finding(self.key, self.column, np.concatenate([self.positions, other.positions + offset]),
                       self.values + other.values[:room], expected, self.summary, self.cap, self.summary_file)

    def problems(self, where) -> list:
        """The messages: the first ``cap`` rows (file and row as seen), then one summary of the rest."""
        out = [Problem(*locate(where, p), self.column, self.values[k],
                       self.expected if isinstance(self.expected, str) else self.expected[k])
               for k, p in enumerate(self.positions[: self.cap])]
        if len(self.positions) > self.cap:
            out.append(Problem(self.summary_file or str(where), None, self.column, None,
                               self.summary.format(n=len(self.positions) - self.cap)))
        return out
