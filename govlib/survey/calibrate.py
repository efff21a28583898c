"""Calibration of survey weights: post-stratification, raking and bounded trimming -- as R's ``survey``.

- :func:`poststratify` is ``postStratify(design, ~cells, population)``.
- :func:`rake` is ``rake(design, list(~m1, ~m2), list(pop1, pop2))`` with R's defaults (``max_iter=10``,
  ``epsilon=1``: stop when no weight changes by 1 or more between passes).
- :func:`trim_weights` is ``trimWeights(design, upper, lower, strict)``.

Standard errors after calibration are R's: the linearised values are replaced by their calibration residuals
before the variance formula (``survey:::svyrecvar``). For a post-stratification this is the weighted residual
from the cell means; for raking R applies ten sweeps of ``x - w_m * ave(x / w_m, margin)`` over the margins with
the weights ``w_m`` recorded after each margin's last adjustment -- reproduced here exactly. Every step is
``x <- x - g * C a`` with cell means ``a``; :func:`calibrated_linearisation` carries the accumulated cell
corrections at cell level (cell x cell cross-tables) and expands the squares for the second stage, so the
residuals of thousands of domains are never materialised row by row (a literal row-level version is kept for
SSUs spanning several rows and is tested equal).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .design import SurveyDesign, column_list, design_column, show_values

__all__ = ["poststratify", "rake", "trim_weights", "cell_codes"]


def _cells(data: pd.DataFrame, cols: Sequence[str], population: pd.DataFrame, design: SurveyDesign, what: str):
    """Cell code per row and population count per cell (aligned), for the rows the design was made from."""
    design.check_data(data)
    return cell_codes(data, cols, population, what)


def cell_codes(data: pd.DataFrame, cols: str | Sequence[str], population: pd.DataFrame,
               what: str = "calibration") -> tuple[np.ndarray, np.ndarray]:
    """Cell code per row of ``data`` and the population count per cell (aligned), with every check.

    ``population`` has the cell columns and exactly one count column. Errors name the cells: sample cells absent
    from the population, population cells without respondents, repeated cells, bad counts, empty cell values.

    Examples
    --------
    >>> codes, freq = cell_codes(pd.DataFrame({"g": ["b", "a", "b"]}), "g", pd.DataFrame({"g": ["a", "b"], "N": [5, 7]}))
    >>> codes.tolist(), freq.tolist()
    ([1, 0, 1], [5.0, 7.0])
    """
    cols = column_list(cols)
    missing = [c for c in cols if c not in population.columns]
    if missing:
        raise InputError(f"{what}: population table lacks the cell column(s) {missing}")
    counts = [c for c in population.columns if c not in cols]
    if len(counts) != 1:
        raise InputError(f"{what}: the population table must have the cell columns {cols} and exactly one count "
                         f"column; found extra columns {counts}")
    count_col = counts[0]
    for c in cols:
        design_column(data, c, f"{what} cell")
        if data[c].isna().any():
            rows = np.flatnonzero(data[c].isna().to_numpy())[:8] + 2
            raise InputError(f"{what}: cell column '{c}' has empty values (rows {show_values(rows)})")
    group, first = _text_groups(data, cols)
    key_data = pd.MultiIndex.from_frame(data[cols].iloc[first].astype(str))  # one row per distinct cell
    pop = population.copy()
    pop_key = pd.MultiIndex.from_frame(pop[cols].astype(str))
    if pop_key.duplicated().any():
        raise InputError(f"{what}: population cells repeated: {show_values(pop_key[pop_key.duplicated()].tolist())}")
    freq = pd.to_numeric(pop[count_col], errors="coerce").to_numpy(float)
    if np.isnan(freq).any() or (freq < 0).any():
        raise InputError(f"{what}: population count column '{count_col}' must be non-negative numbers; found "
                         f"{show_values(pop[count_col][np.isnan(freq) | (freq < 0)].tolist())}")
    codes = pop_key.get_indexer(key_data)
    if (codes < 0).any():
        absent = [k[0] if len(k) == 1 else k for k in dict.fromkeys(key_data[codes < 0].tolist())]
        raise InputError(f"{what}: sample cells {cols} absent from the population table: {show_values(absent)}")
    codes = codes[group]
    in_sample = np.bincount(codes, minlength=len(pop_key)) > 0
    only_pop = ~in_sample & (freq > 0)
    if only_pop.any():
        empty = [k[0] if len(k) == 1 else k for k in pop_key[only_pop].tolist()]
        raise InputError(f"{what}: population cells {cols} with no respondent (cannot be calibrated; merge them "
                         f"with a neighbouring cell): {show_values(empty)}")
    return codes, freq


def _text_groups(data: pd.DataFrame, cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by ``data[cols].astype(str)`` (cells are compared as text), and each group's first row.

    Groups are numbered in order of first appearance. Only the distinct values of each column are turned into
    text: converting a million rows' values is most of the cost of calibrating otherwise.
    """
    group = np.zeros(len(data), dtype=np.int64)
    for c in cols:
        codes, uniques = pd.factorize(data[c])
        text = pd.Index(np.asarray(uniques, dtype=object)).astype(str)
        text_code = pd.factorize(text)[0]  # 1 and "1" are one cell, as with astype(str)
        group = pd.factorize(group * len(text) + text_code[codes])[0].astype(np.int64)
    first = np.zeros(int(group.max()) + 1 if len(group) else 0, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group))[::-1]  # the last write (the first row) wins
    return group, first


def _poststrat_weights(w: np.ndarray, codes: np.ndarray, freq: np.ndarray) -> np.ndarray:
    sample = np.bincount(codes, weights=w, minlength=len(freq))
    with np.errstate(divide="ignore", invalid="ignore"):
        reweight = freq / sample
    return w * reweight[codes]


def poststratify(design: SurveyDesign, data: pd.DataFrame, cells: str | Sequence[str],
                 population: pd.DataFrame) -> SurveyDesign:
    """Post-stratify the weights to known population cell counts (R ``postStratify``).

    Parameters
    ----------
    design, data : the design and the rows it was built on.
    cells : column(s) defining the post-strata.
    population : the cell columns and one count column (e.g. ``Freq`` or ``residents``).

    Returns
    -------
    SurveyDesign with calibrated weights; its SEs use the post-stratification residuals.

    Examples
    --------
    >>> from govlib.survey.estimate import make_design, estimate
    >>> df = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 3.0, 5.0]})
    >>> d = poststratify(make_design(df), df, "g", pd.DataFrame({"g": ["a", "b"], "Freq": [30, 10]}))
    >>> float(d.weight.sum()), float(estimate(d, df, "y")["estimate"].iloc[0])
    (40.0, 2.125)
    """
    codes, freq = _cells(data, cells, population, design, "poststratify")
    old = design.weight
    new = _poststrat_weights(old, codes, freq)
    step = ("poststrat", codes, old.copy(), new.copy())
    return design.with_weights(new, design.calibration + (step,))


def rake(design: SurveyDesign, data: pd.DataFrame, margins: Sequence[str | Sequence[str]],
         populations: Sequence[pd.DataFrame], *, epsilon: float = 1.0, max_iter: int = 10,
         on_nonconvergence: str = "ignore") -> SurveyDesign:
    """Rake the weights to population margins by iterative proportional fitting (R ``rake``).

    Parameters
    ----------
    design, data : the design and its rows.
    margins : one column or list of columns per margin, e.g. ``[["jiezhen", "age_group"], ["jiezhen", "sex"]]``.
    populations : one table per margin: its cell columns and one count column.
    epsilon : stop when no cell of the table crossing all margin variables changes its weighted count by
        this much over a full pass (R default 1; below 1 it is relative to the sum of the weights, as R).
    max_iter : at most this many passes (R default 10).
    on_nonconvergence : not converged within ``max_iter`` passes: ``"ignore"`` (default; the weights of the
        last pass), ``"warn"`` (a ``RuntimeWarning``, as R's "Raking did not converge") or ``"error"``
        (:class:`~govlib.errors.InputError`).

    Examples
    --------
    >>> from govlib.survey.estimate import make_design
    >>> df = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["u", "v", "u", "v"]})
    >>> d = rake(make_design(df), df, ["a", "b"], [pd.DataFrame({"a": ["x", "y"], "Freq": [60, 40]}),
    ...                                           pd.DataFrame({"b": ["u", "v"], "Freq": [50, 50]})])
    >>> np.round(d.weight, 6).tolist()
    [30.0, 30.0, 20.0, 20.0]
    """
    if len(margins) != len(populations) or not margins:
        raise InputError(f"rake: give one population table per margin ({len(margins)} margins, "
                         f"{len(populations)} tables)")
    if not (epsilon > 0 and max_iter >= 1):
        raise InputError(f"rake: epsilon={epsilon} must be > 0 and max_iter={max_iter} >= 1")
    if on_nonconvergence not in ("ignore", "warn", "error"):
        raise InputError(f"on_nonconvergence={on_nonconvergence!r}: expected 'ignore', 'warn' or 'error'")
    cells = [_cells(data, m, p, design, f"rake margin {m!r}") for m, p in zip(margins, populations)]
    # R: convergence is judged on the weighted table crossing all margin variables; epsilon < 1 is relative
    all_cols = list(dict.fromkeys(c for m in margins for c in column_list(m)))
    joint = _text_groups(data, all_cols)[0]
    tol = epsilon * design.weight.sum() if epsilon < 1 else epsilon
    w = design.weight.copy()
    old_table = np.bincount(joint, weights=w)
    recorded = []
    converged = False
    change = np.inf
    for _ in range(max_iter):
        recorded = []
        for codes, freq in cells:
            w = _poststrat_weights(w, codes, freq)
            recorded.append((codes, w.copy()))
        table = np.bincount(joint, weights=w, minlength=len(old_table))
        change = float(np.max(np.abs(old_table - table)))
        if change < tol:
            converged = True
            break
        old_table = table
    if not converged and on_nonconvergence != "ignore":
        message = (f"rake: not converged in max_iter={max_iter} passes (a cell's weighted count still changed by "
                   f"{change:.4g} >= epsilon {tol:.4g}); raise max_iter or check that the margins agree")
        if on_nonconvergence == "error":
            raise InputError(message)
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=2)
    step = ("raking", tuple(recorded))
    return design.with_weights(w, design.calibration + (step,))


def trim_weights(design: SurveyDesign, *, lower: float = -np.inf, upper: float = np.inf,
                 strict: bool = False) -> SurveyDesign:
    """Bound the weights to [lower, upper], spreading the trimmed amount over the other weights (R ``trimWeights``).

    With ``strict=True`` the redistribution is repeated until no weight is outside the bounds.

    Examples
    --------
    >>> from govlib.survey.estimate import make_design
    >>> df = pd.DataFrame({"w": [1.0, 1.0, 1.0, 9.0]})
    >>> trim_weights(make_design(df, weight="w"), upper=5).weight.tolist()
    [2.3333333333333335, 2.3333333333333335, 2.3333333333333335, 5.0]
    """
    if not lower < upper:
        raise InputError(f"trim_weights: lower={lower} must be below upper={upper}")
    pw = design.weight
    total = pw.sum()
    for _ in range(100 if strict else 1):
        outside = (pw < lower) | (pw > upper)
        if not outside.any():
            break
        trimmed = np.clip(pw, lower, upper)
        inside = ~outside
        if not inside.any():
            raise InputError(f"trim_weights: every weight is outside [{lower}, {upper}]")
        trimmed[inside] = trimmed[inside] * (total - trimmed[outside].sum()) / trimmed[inside].sum()
        pw = trimmed
    return design.with_weights(pw)














