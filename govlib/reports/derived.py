"""What reports derive from the processed tables of one build, computed once per process (a warm worker).

A warm report kernel reads the processed tables once (:func:`govlib.reports.setup.report_tables`, keyed by the
build's manifest hash) and hands every report its own copies. Some views are the same for every report of a
period -- the decomposition of every 街镇's score change, the league table, the resolved period -- and cost a
quarter of a second each; :class:`ReportTables` carries a memo shared by all the copies of one build's tables, and
:func:`derived` computes such a view once, from the cached tables themselves (never from a report's copy, which the
report may have changed), and gives each caller its own copy. Without a memo (plain dicts: tests, the workbook, the
portal) :func:`derived` simply computes.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Hashable, Mapping

__all__ = ["ReportTables", "derived"]


class ReportTables(dict):
    """A report's copies of the processed tables, with the memo and the source tables of their build.

    Examples
    --------
    >>> import pandas as pd
    >>> source = {"t": pd.DataFrame({"x": [1, 2]})}
    >>> memo = {}
    >>> a = ReportTables({k: v.copy() for k, v in source.items()}, memo=memo, source=source)
    >>> b = ReportTables({k: v.copy() for k, v in source.items()}, memo=memo, source=source)
    >>> calls = []
    >>> def total(tables):
    ...     calls.append(1)
    ...     return int(tables["t"]["x"].sum())
    >>> a["t"].loc[0, "x"] = 100  # a report changes its copy: the memo is computed from the source
    >>> derived(a, "total", total), derived(b, "total", total), len(calls)
    (3, 3, 1)
    """

    def __init__(self, tables: Mapping[str, Any], memo: dict | None = None, source: Mapping[str, Any] | None = None):
        super().__init__(tables)
        self.memo = {} if memo is None else memo
        self.source = self if source is None else source


def derived(tables: Mapping[str, Any], key: Hashable, compute: Callable[[Mapping[str, Any]], Any]) -> Any:
    """``compute(tables)``, memoised per build when ``tables`` is a :class:`ReportTables` (computed from its source
    tables, returned as a copy: DataFrames with ``.copy()``, anything else with :func:`copy.deepcopy`)."""
    memo = getattr(tables, "memo", None)
    if memo is None:
        return compute(tables)
    if key not in memo:
        memo[key] = compute(tables.source)
    value = memo[key]
    return value.copy() if hasattr(value, "copy") and hasattr(value, "columns") else copy.deepcopy(value)
