"""Reporting periods as strings: ``2024`` (year), ``2024Q3`` (quarter), ``2024-07`` (month).

Periods stay strings in tables (they sort correctly and survive CSV/Parquet round trips); these helpers turn
them into pandas Periods, check them, and map them to coarser frequencies.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["PERIOD_PATTERNS", "frequency_of", "is_valid_period", "to_period", "to_year", "period_index",
           "decimal_time"]

PERIOD_PATTERNS = {
    "A": re.compile(r"^\d{4}$"),
    "Q": re.compile(r"^\d{4}Q[1-4]$"),
    "M": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
}


def frequency_of(period: str) -> str | None:
    """``'A'``, ``'Q'`` or ``'M'`` for a valid period string, else ``None``.

    Examples
    --------
    >>> frequency_of("2024"), frequency_of("2024Q3"), frequency_of("2024-07"), frequency_of("2024-7")
    ('A', 'Q', 'M', None)
    """
    if not isinstance(period, str):
        return None
    for freq, pattern in PERIOD_PATTERNS.items():
        if pattern.match(period):
            return freq
    return None


def is_valid_period(period: str) -> bool:
    """True for ``2024``, ``2024Q3`` or ``2024-07``."""
    return frequency_of(period) is not None


def to_period(period: str) -> pd.Period:
    """The pandas Period of a period string.

    >>> to_period("2024Q3")
    Period('2024Q3', 'Q-DEC')
    """
    freq = frequency_of(period)
    if freq is None:
        raise ValueError(f"not a period: {period!r} (expected 2024, 2024Q3 or 2024-07)")
    return pd.Period(period, freq={"A": "Y", "Q": "Q", "M": "M"}[freq])


def to_year(periods: pd.Series) -> pd.Series:
    """The year (as a period string) of each period string.

    >>> to_year(pd.Series(["2024Q3", "2023-12", "2022"])).tolist()
    ['2024', '2023', '2022']
    """
    return periods.astype(str).str.slice(0, 4)


def decimal_time(periods: pd.Series) -> np.ndarray:
    """Period strings as decimal years at the period's start (2024Q3 -> 2024.5, 2024-07 -> 2024.5).

    Used as the time axis for trend slopes so that a slope is always *per year*, whatever the frequency.

    >>> decimal_time(pd.Series(["2024", "2024Q3", "2024-07"])).tolist()
    [2024.0, 2024.5, 2024.5]
    """
    s = periods.astype(str)
    year = s.str.slice(0, 4).astype(float).to_numpy()
    out = year.copy()
    q = s.str.contains("Q", regex=False).to_numpy()
    m = s.str.contains("-", regex=False).to_numpy()
    if q.any():
        out[q] += (s[q].str.slice(5, 6).astype(float).to_numpy() - 1) / 4
    if m.any():
        out[m] += (s[m].str.slice(5, 7).astype(float).to_numpy() - 1) / 12
    return out


def period_index(periods) -> pd.Index:
    """Sorted unique period strings (chronological)."""
    uniq = pd.unique(pd.Series(list(periods), dtype="object").astype(str))
    return pd.Index(sorted(uniq, key=lambda p: (decimal_time(pd.Series([p]))[0], len(p))))
