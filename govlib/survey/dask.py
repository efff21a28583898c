"""Survey domain estimation on Dask: the same reduce / combine / finalise as :func:`govlib.survey.estimate.estimate`.

The per stratum x PSU x domain sufficient statistics of :func:`govlib.survey.estimate.reduce_domain_sums` are
computed per partition of a ``dask.dataframe``, added up with :func:`govlib.survey.estimate.combine_domain_sums` in
a tree, and finalised once with :func:`govlib.survey.estimate.finalize_domain_sums` -- so both paths give the same
numbers (to floating-point summation order, ~1e-15 relative). The design structure (PSUs per stratum, fpc) is small
and is gathered first from the distinct design rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, one_of
from ..parallel import COMBINE_FAN_IN, tree_combine
from . import estimate as _survey
from .design import column_list

__all__ = ["SurveyPlan", "survey_plan", "reduce_survey_partition", "estimate_on_dask"]


@dataclass(frozen=True)
class SurveyPlan:
    """What every partition needs to code its rows consistently: label lookups and the variables.

    Built by :func:`survey_plan` from the small distinct design rows and domain labels of the whole data.
    """

    design: _survey.SurveyDesign
    strata: str | None
    clusters: tuple
    weight: str | None
    by: tuple
    domain_labels: pd.DataFrame
    columns: tuple  # value columns, one per reduced variable: (kind, column, category or None)
    ssu_lookup: pd.DataFrame | None
    row_psu: bool  # clusters=None: every row is its own PSU (codes from global row numbers)
    stratum_index: pd.Index | None = None  # hash tables of the labels, built once and shipped with the plan
    psu_index: pd.Index | None = None

    @property
    def n_domains(self) -> int:
        return len(self.domain_labels)


_ROW = "__row__"




def _plain(s: pd.Series) -> pd.Series:
    """Categoricals (e.g. partition columns) as their values, so labels compare by value."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(s.cat.categories.dtype)
    return s


def _code_series(values: pd.Series, labels) -> np.ndarray:
    """Position of each value in ``labels`` (-1 where absent); categoricals are coded via their categories."""
    index = labels if isinstance(labels, pd.Index) else pd.Index(labels)
    if isinstance(values.dtype, pd.CategoricalDtype):  # look up the few categories, not every row's string
        cat_pos = index.get_indexer(values.cat.categories)
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, cat_pos[np.maximum(codes, 0)], -1)
    return index.get_indexer(values)


def _code(values: pd.Series | pd.DataFrame, labels, what: str, column: str) -> np.ndarray:
    """Integer codes of ``values`` in ``labels`` (a sequence, or a DataFrame of label rows for several columns)."""
    if isinstance(values, pd.DataFrame):
        labels = labels.reset_index(drop=True)
        key = np.zeros(len(values), dtype=np.int64)
        label_key = np.zeros(len(labels), dtype=np.int64)
        valid = np.ones(len(values), dtype=bool)
        for col in values.columns:
            uniq = pd.Index(pd.unique(labels[col]))
            c = _code_series(values[col], uniq)
            valid &= c >= 0
            key = key * len(uniq) + c
            label_key = label_key * len(uniq) + uniq.get_indexer(labels[col])
        codes = np.where(valid, pd.Index(label_key).get_indexer(key), -1)
    else:
        codes = _code_series(values, labels)
    if (codes < 0).any():
        bad = values[codes < 0]
        raise InputError(f"{what} column '{column}' has values not seen when the design was built: "
                         f"{bad.head(5).to_numpy().tolist()} (empty values are not allowed)")
    return codes.astype(np.int64)


def _with_row_numbers(part: pd.DataFrame, offset: int) -> pd.DataFrame:
    return part.assign(**{_ROW: np.arange(offset, offset + len(part), dtype=np.int64)})


def survey_plan(ddf, variables: str | Sequence[str], *, weight: str | None = None, strata: str | None = None,
                clusters: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                fpc_kind: str = "population", lonely_psu: str = "fail", by: str | Sequence[str] | None = None,
                stat: str = "mean", denominator: str | Sequence[str] | None = None) -> tuple[SurveyPlan, list, list]:
    """Gather the design structure and domain labels of a dask DataFrame (small ``compute`` calls).

    ``ddf`` may also be a pandas DataFrame: the same plan then drives a chunked in-process reduction
    (:func:`reduce_survey_partition` on row slices).

    Returns ``(plan, names, row_offsets)``: the plan every partition uses, the output column names and the
    global row number of each partition's first row (used when ``clusters=None``).

    The design structure comes from :func:`govlib.survey.estimate.make_design` applied to the *distinct* (stratum, PSU
    [, SSU], fpc) rows, so the lonely-PSU rules, fpc checks and SSU numbering are exactly the in-memory ones.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "p": [1, 2, 3, 4], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> plan, names, _ = survey_plan(dd.from_pandas(df, npartitions=2), "y", strata="h", clusters="p")
    >>> plan.design.n_psu.tolist(), names
    ([2, 2], ['y'])
    """
    import dask

    variables = column_list(variables)
    if not variables:
        raise InputError("no variables to estimate")
    by_cols = column_list(by)
    cluster_cols = column_list(clusters)
    fpc_cols = column_list(fpc)
    missing = [c for c in [weight, strata, *cluster_cols, *fpc_cols, *by_cols, *variables,
                           *column_list(denominator)] if c is not None and c not in ddf.columns]
    if missing:
        raise InputError(f"columns {missing} not found in the survey data; columns are: {list(ddf.columns)[:20]}")
    row_psu = not cluster_cols
    design_cols = list(dict.fromkeys([c for c in [strata] if c] + cluster_cols + fpc_cols))
    in_memory = isinstance(ddf, pd.DataFrame)
    offsets = [0]
    if row_psu and not in_memory:
        lengths = ddf.map_partitions(len).compute().tolist()
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
    elif not in_memory:
        offsets = [0] * ddf.npartitions  # not used: PSU codes come from the PSU column
    if row_psu:
        cluster_cols = [_ROW]
    # One pass over the data: per partition the distinct design rows, domain labels and (prop) categories,
    # then a tree of concat + drop_duplicates (no shuffle: the distinct rows are few).
    column_sets = [design_cols] + ([by_cols] if by_cols else []) + ([[v] for v in variables] if stat == "prop" else [])
    n_tasks = 1 + bool(by_cols)
    if in_memory:
        computed = _distinct_in_partition(ddf, column_sets, 0, row_psu)
    else:
        distinct_d = dask.delayed(_distinct_in_partition, pure=True)
        needed = list(dict.fromkeys(c for cols in column_sets for c in cols))
        projected = ddf[needed] if needed else ddf.iloc[:, :1]  # read only these columns (Parquet projection)
        parts = [distinct_d(p, column_sets, off, row_psu) for p, off in zip(projected.to_delayed(), offsets)]
        (computed,) = dask.compute(tree_combine(parts, _combine_distinct))
    structure = computed[0].reset_index(drop=True)
    structure = structure.apply(_plain) if len(structure.columns) else structure
    if len(structure) == 0:
        raise InputError("the survey data have no rows")
    design = _survey.make_design(structure, weight=None, strata=strata, clusters=cluster_cols, fpc=fpc_cols or None,
                                 fpc_kind=fpc_kind, lonely_psu=lonely_psu)
    if by_cols:
        dom_frame = computed[1].reset_index(drop=True).apply(_plain)
        _, labels = _survey.domain_codes(dom_frame, by_cols)
    else:
        labels = pd.DataFrame(index=[0])
    ssu_lookup = None
    if design.ssu is not None:
        ssu_lookup = pd.DataFrame({"psu": design.psu, "ssu_label": structure[cluster_cols[1]].to_numpy(),
                                   "ssu": design.ssu}).drop_duplicates(["psu", "ssu_label"])
    if stat == "prop":
        columns, names = [], []
        for v, cats in zip(variables, computed[n_tasks:]):
            for c in np.sort(_plain(cats[v]).dropna().unique()):
                columns.append(("cat", v, c))
                names.append(f"{v}{c}")
    elif stat == "ratio":
        dens = column_list(denominator)
        if len(dens) != len(variables):
            raise InputError(f"stat='ratio' needs one denominator per variable; got variables={variables}, "
                             f"denominator={dens}")
        columns = [("num", v, d) for v, d in zip(variables, dens)] + [("den", d, v) for v, d in zip(variables, dens)]
        names = [f"{v}/{d}" for v, d in zip(variables, dens)]
    else:
        columns = [("value", v, None) for v in variables]
        names = list(variables)
    plan = SurveyPlan(design=design, strata=strata, clusters=tuple(cluster_cols), weight=weight, by=tuple(by_cols),
                      domain_labels=labels, columns=tuple(columns), ssu_lookup=ssu_lookup, row_psu=row_psu,
                      stratum_index=pd.Index(design.stratum_labels), psu_index=pd.Index(design.psu_labels))
    return plan, names, offsets


def _distinct_in_partition(part: pd.DataFrame, column_sets: list, row_offset: int, row_psu: bool) -> list:
    """Distinct rows of each column set in one partition (the first set: design rows, with row numbers as PSUs
    when ``row_psu``). Missing values are dropped from single-column sets after the first two (categories)."""
    out = []
    for i, cols in enumerate(column_sets):
        frame = part[cols]
        if i == 0 and row_psu:
            out.append(_with_row_numbers(frame, row_offset))
            continue
        frame = frame.apply(_plain) if len(cols) else frame
        out.append(frame.drop_duplicates())
    return out


def _combine_distinct(parts: list) -> list:
    return [pd.concat(group, ignore_index=True).drop_duplicates().reset_index(drop=True)
            for group in zip(*parts)]


def _numeric(part: pd.DataFrame, col: str) -> np.ndarray:
    """A variable column as floats (``NaN`` = missing); text that is not a number is an input error (as in
    :func:`govlib.survey.estimate.estimate`)."""
    s = part[col]
    x = pd.to_numeric(s, errors="coerce")
    bad = x.isna() & s.notna()
    if bad.any():
        raise InputError(f"variable column '{col}' must be numeric; found {s[bad].unique()[:8].tolist()}")
    return x.to_numpy(dtype=float)


def _partition_values(part: pd.DataFrame, plan: SurveyPlan) -> list[np.ndarray]:
    """One float column per reduced variable (a list: no n x k copy)."""
    cols = []
    cache: dict[str, np.ndarray] = {}

    def numeric(col: str) -> np.ndarray:
        if col not in cache:
            cache[col] = _numeric(part, col)
        return cache[col]

    for kind, col, extra in plan.columns:
        if kind == "value":
            cols.append(numeric(col))
        elif kind == "cat":
            s = _plain(part[col])
            cols.append(np.where(s.isna(), np.nan, (s == extra).astype(float)))
        else:  # ratio: a row counts only where numerator and denominator are both present
            num, den = (numeric(col), numeric(extra)) if kind == "num" else (numeric(extra), numeric(col))
            both = ~np.isnan(num) & ~np.isnan(den)
            cols.append(np.where(both, num if kind == "num" else den, np.nan))
    return cols


def reduce_survey_partition(part: pd.DataFrame, plan: SurveyPlan, row_offset: int = 0) -> pd.DataFrame:
    """Code one partition's rows with the global plan and run :func:`govlib.survey.estimate.reduce_domain_sums` on it.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "p": [1, 2, 3, 4], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> plan, _, _ = survey_plan(dd.from_pandas(df, npartitions=1), "y", strata="h", clusters="p")
    >>> reduce_survey_partition(df.iloc[:2], plan)["swy_0"].tolist()
    [1.0, 3.0]
    """
    d = plan.design
    n = len(part)
    if plan.row_psu:
        part = _with_row_numbers(part, row_offset)
    stratum = (_code(part[plan.strata], plan.stratum_index, "strata", plan.strata) if plan.strata
               else np.zeros(n, dtype=np.int64))
    psu = _code(part[plan.clusters[0]], plan.psu_index, "cluster (PSU)", plan.clusters[0])
    ssu = None
    if plan.ssu_lookup is not None:
        keys = pd.DataFrame({"psu": psu, "ssu_label": _plain(part[plan.clusters[1]]).to_numpy()})
        ssu = _code(keys, plan.ssu_lookup[["psu", "ssu_label"]], "cluster (SSU)", plan.clusters[1])
        ssu = plan.ssu_lookup["ssu"].to_numpy()[ssu]
    if plan.by:
        labels = plan.domain_labels
        domain = (_code(part[plan.by[0]], labels[plan.by[0]], "domain (by)", plan.by[0]) if len(plan.by) == 1
                  else _code(part[list(plan.by)], labels[list(plan.by)], "domain (by)", ", ".join(plan.by)))
    else:
        domain = np.zeros(n, dtype=np.int64)
    if plan.weight is not None:
        w = pd.to_numeric(part[plan.weight], errors="coerce").to_numpy(dtype=float)
        bad = ~(w > 0) | ~np.isfinite(w)
        if bad.any():
            raise InputError(f"weight column '{plan.weight}' must be positive and finite; found "
                             f"{part[plan.weight].to_numpy()[bad][:8].tolist()} (rows "
                             f"{(np.flatnonzero(bad)[:8] + 2 + row_offset).tolist()})")
    elif d.has_fpc:
        prob = d.fraction1[stratum]
        if d.fraction2 is not None:
            prob = prob * d.fraction2[psu]
        w = 1.0 / prob
    else:
        w = np.ones(n)
    values = _partition_values(part, plan)
    return _survey.reduce_domain_sums(w, stratum, psu, domain, values, ssu=ssu if d.two_stage else None)


def estimate_on_dask(ddf, variables: str | Sequence[str], *, weight: str | None = None, strata: str | None = None,
                     clusters: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                     fpc_kind: str = "population", lonely_psu: str = "fail", by: str | Sequence[str] | None = None,
                     stat: str = "mean", denominator: str | Sequence[str] | None = None,
                     composite: dict[str, dict[str, float]] | None = None, level: float = 0.95, ci: str = "t",
                     empty: str = "error", fan_in: int = COMBINE_FAN_IN) -> pd.DataFrame:
    """Domain estimates over a ``dask.dataframe``: the same table as ``estimate(make_design(df, ...), df, ...)``.

    The design arguments are those of :func:`govlib.survey.estimate.make_design` and the estimation arguments those of
    :func:`govlib.survey.estimate.estimate`. The computation runs on the current Dask scheduler (a ``distributed.Client``
    if one is active, else local threads). Calibrated designs (:mod:`govlib.survey.calibrate`) need row-level residuals
    and are not supported here.

    Memory: each task holds one partition plus its sums; the combine tree adds ``fan_in`` partial sums at a time;
    the driver holds the distinct design rows, the domain labels and the final sums (all small).

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "w": [2.0, 2.0, 3.0, 3.0], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> r = estimate_on_dask(dd.from_pandas(df, npartitions=2), "y", weight="w", strata="h")
    >>> float(r["estimate"].iloc[0])
    2.6
    """
    import dask

    one_of(stat, _survey.STATS, "stat")
    one_of(empty, ("error", "nan"), "empty")
    if composite and stat != "mean":
        raise InputError("composite scores are defined for stat='mean'")
    plan, names, offsets = survey_plan(ddf, variables, weight=weight, strata=strata, clusters=clusters, fpc=fpc,
                                       fpc_kind=fpc_kind, lonely_psu=lonely_psu, by=by, stat=stat,
                                       denominator=denominator)
    variables = column_list(variables)
    combos = None
    if composite:
        combos = _survey.composite_combinations(composite, variables)
        names += list(combos)
    plan_d = dask.delayed(plan, pure=True)
    reduce_d = dask.delayed(reduce_survey_partition, pure=True)
    needed = [c for c in dict.fromkeys([weight, strata, *column_list(clusters), *column_list(fpc),
                                        *column_list(by), *variables, *column_list(denominator)])
              if c is not None]
    parts = [reduce_d(p, plan_d, off) for p, off in zip(ddf[needed].to_delayed(), offsets)]
    (sums,) = dask.compute(tree_combine(parts, _survey.combine_domain_sums, fan_in))
    k = len(variables)
    fin_stat = {"total": "total", "ratio": "ratio"}.get(stat, "mean")
    ratio_pairs = [(j, k + j) for j in range(k)] if stat == "ratio" else None
    res = _survey.finalize_domain_sums(sums, plan.design, stat=fin_stat, n_domains=plan.n_domains,
                                       ratio_pairs=ratio_pairs, combinations=combos, level=level, ci=ci)
    return _survey.estimate_table(res, names, plan.domain_labels, list(plan.by), ci, empty)
