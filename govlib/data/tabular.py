"""Small helpers for tidy tables with millions of rows, shared by the engines."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["category_codes"]


def category_codes(values, categories) -> np.ndarray:
    """Position of each value (as text) in ``categories`` (-1 when absent or missing), as int64.

    Values are factorised first and only the distinct values are looked up, so no Python string is made per row
    (tables of tickets and records have millions of rows).

    Examples
    --------
    >>> category_codes(pd.Series(["b", "x", None, "a"]), ["a", "b"]).tolist()
    [1, -1, -1, 0]
    """
    index = categories if isinstance(categories, pd.Index) else pd.Index(list(categories))
    index = pd.Index(np.asarray(index.astype(str), dtype=object))
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    lookup = index.get_indexer(pd.Index(np.asarray(pd.Index(uniques).astype(str), dtype=object)))
    return np.where(codes >= 0, np.append(lookup, -1)[codes], -1).astype(np.int64)
