"""Design-based survey estimation: means, totals, proportions and ratios with Taylor-linearised SEs.

The numbers follow R's ``survey`` package (Lumley, version 4.1): ``svydesign`` + ``svymean``/``svytotal``/
``svyratio``/``svyby``, with the same multistage variance (``survey:::multistage``), the same lonely-PSU rules
and the same design effect.

How it is computed (and why it is fast)
---------------------------------------
A domain estimate's linearised variance only needs, for each stratum h, PSU i (and, for two-stage designs, SSU j)
and domain d, the weighted sums ``sum(w)``, ``sum(w*y)`` and ``sum(w*y*y)`` and the count of respondents. The
work is therefore split in two:

1. :func:`reduce_domain_sums` -- the **reduction**. One pass over the respondent rows with ``np.bincount``
   gives a small table with one row per (stratum, PSU[, SSU], domain) present in the data and, per variable,
   the columns ``n_<k>``, ``sw_<k>``, ``swy_<k>``, ``swyy_<k>``. The sums are additive: reductions of disjoint
   chunks of rows are combined with :func:`combine_domain_sums` (a group-by sum on the keys), so a parallel or
   out-of-core executor (Dask) runs the reduction per partition and combines.
2. :func:`finalize_domain_sums` -- the **finaliser**. From the combined table and the design structure
   (:class:`SurveyDesign`: PSUs per stratum, sampling fractions) it forms the linearised PSU totals
   ``z = (Y - ybar*W)/N`` of every domain at once and applies the variance formula per stratum x domain with
   ``np.bincount``. PSUs of a stratum that have no member in a domain contribute ``z = 0`` and are counted in
   ``n_h`` (the "domain SE counts empty PSUs" rule), without being materialised.

Missing values (``NaN``, e.g. "don't know" codes after scoring) are domain estimation, exactly as R's
``svymean(..., na.rm=TRUE)``: the row stays in the design and only leaves the variable's domain.

Conventions (named parameters)
------------------------------
- ``fpc_kind="population"`` (R: fpc holds population sizes) or ``"fraction"`` (sampling fractions).
- ``lonely_psu="fail"`` (R's default) | ``"remove"`` | ``"certainty"`` | ``"adjust"`` | ``"average"``, as
  ``options(survey.lonely.psu=)``; R's ``survey.adjust.domain.lonely`` is FALSE (the R default).
- ``ci="t"`` uses the design degrees of freedom (#PSUs - #strata, R's ``degf``); ``ci="normal"`` the normal
  quantile (R's ``confint`` default).
- ``deff`` is R's ``deff=TRUE`` (SRS without replacement): ``V / (s2/n * (1 - n/N_hat))`` with the weighted
  ``s2`` of ``svyvar``; ``n_eff = n / deff``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, format_value, one_of
# The design and the variance live in their own modules; estimate() is the entry point and re-exports them.
from .design import (FPC_KINDS, LONELY_PSU_OPTIONS, SurveyDesign, category_indicators, column_list, design_column,
                     domain_codes, make_design, show_values)
from .variance import STATS, calibrated_linearisation, combine_domain_sums, finalize_domain_sums, reduce_domain_sums

__all__ = [
    "SurveyDesign", "make_design", "domain_codes", "reduce_domain_sums", "combine_domain_sums", "composite_combinations",
    "finalize_domain_sums", "estimate", "score_items", "reliability_flags", "LONELY_PSU_OPTIONS", "FPC_KINDS",
    "STATCAN_RULES", "MEASURES", "numeric_columns",
]



























def _variable_values(data: pd.DataFrame, variables: Sequence[str]) -> list[np.ndarray]:
    cols = []
    for v in variables:
        s = design_column(data, v, "variable")
        if s.dtype == np.float64:  # already numbers (NaN = missing): nothing to check
            cols.append(s.to_numpy())
            continue
        x = pd.to_numeric(s, errors="coerce")
        bad = x.isna() & s.notna()
        if bad.any():
            raise InputError(f"variable column '{v}' must be numeric; found {show_values(s[bad].unique())}")
        cols.append(x.to_numpy(dtype=float))
    return cols


numeric_columns = _variable_values  # public hook: the same checks for govlib.survey.replicate


def composite_combinations(composite: dict, variables: list[str]) -> dict[str, dict[int, float]]:
    """A composite score's coefficients by variable position (``{name: {position: coefficient}}``), checked.

    Examples
    --------
    >>> composite_combinations({"c": {"q1": 0.5, "q2": 0.5}}, ["q1", "q2"])
    {'c': {0: 0.5, 1: 0.5}}
    """
    combos = {}
    for name, coefs in composite.items():
        unknown = [c for c in coefs if c not in variables]
        if unknown:
            raise InputError(f"composite {name!r} uses {unknown}, which are not among variables={variables}")
        combos[name] = {variables.index(c): float(a) for c, a in coefs.items()}
    return combos


def estimate(design: SurveyDesign, data: pd.DataFrame, variables: str | Sequence[str], *,
             by: str | Sequence[str] | None = None, stat: str = "mean", denominator: str | Sequence[str] | None = None,
             composite: dict[str, dict[str, float]] | None = None, level: float = 0.95, ci: str = "t",
             empty: str = "error") -> pd.DataFrame:
    """Domain estimates with linearised SEs, like R's ``svyby(~y, ~by, design, svymean, deff=TRUE)``.

    Parameters
    ----------
    design : from :func:`make_design` (or calibrated by :mod:`govlib.survey.calibrate`); rows align with ``data``.
    data : the respondent rows the design was built on.
    variables : column(s) to estimate; ``NaN`` = not in that variable's domain (R's ``na.rm=TRUE``).
    by : domain column(s); ``None`` for the whole population.
    stat : ``"mean"``, ``"total"``, ``"prop"`` (each category of the variable: mean of its indicator; named
        ``<variable><category>`` as R) or ``"ratio"`` (``sum(w*variable)/sum(w*denominator)``).
    denominator : for ``stat="ratio"``, one column per variable.
    composite : for ``stat="mean"``, ``{name: {variable: coefficient}}`` -- linear combinations of the
        variables' domain means (composite scores) with linearised SEs.
    level, ci : confidence level; ``"t"`` with the design df or ``"normal"``.
    empty : a domain with no valid response for a variable: ``"error"`` (default) or ``"nan"``.

    Returns
    -------
    DataFrame: the ``by`` columns, ``variable``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``df``, ``n``,
    ``n_eff``, ``deff``, ``cv``.

    Examples
    --------
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "w": [2.0, 2.0, 3.0, 3.0], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> d = make_design(df, weight="w", strata="h")
    >>> r = estimate(d, df, "y")
    >>> float(r["estimate"].iloc[0])
    2.6
    """
    one_of(stat, STATS, "stat")
    one_of(empty, ("error", "nan"), "empty")
    design.check_data(data)
    variables = column_list(variables)
    if not variables:
        raise InputError("no variables to estimate")
    by_cols = column_list(by)
    dom, labels = domain_codes(data, by_cols)
    D = len(labels)
    values = _variable_values(data, variables) if stat != "prop" else None
    names = list(variables)
    ratio_pairs = None
    fin_stat = "total" if stat == "total" else "mean"
    combos = None
    if stat == "prop":
        values, names = category_indicators(data, variables)
    elif stat == "ratio":
        dens = column_list(denominator)
        if len(dens) != len(variables):
            raise InputError(f"stat='ratio' needs one denominator per variable; got variables={variables}, "
                             f"denominator={dens}")
        den_values = _variable_values(data, dens)
        both = [~np.isnan(a) & ~np.isnan(b) for a, b in zip(values, den_values)]
        values = [np.where(ok, a, np.nan) for ok, a in zip(both, values)] + \
            [np.where(ok, b, np.nan) for ok, b in zip(both, den_values)]
        k = len(variables)
        ratio_pairs = [(j, k + j) for j in range(k)]
        names = [f"{v}/{d}" for v, d in zip(variables, dens)]
        fin_stat = "ratio"
    elif composite:
        combos = composite_combinations(composite, variables)
        names += list(combos)
    if design.calibration:
        # calibrated designs need row-level residuals
        res = calibrated_linearisation(design, np.column_stack(values), dom, D, stat=fin_stat, ratio_pairs=ratio_pairs,
                                       combinations=combos, level=level, ci=ci)
    else:
        ssu = design.ssu if design.two_stage else None
        sums = reduce_domain_sums(design.weight, design.stratum, design.psu, dom, values, ssu=ssu)
        res = finalize_domain_sums(sums, design, stat=fin_stat, n_domains=D, ratio_pairs=ratio_pairs,
                                   combinations=combos, level=level, ci=ci)
    return estimate_table(res, names, labels, by_cols, ci, empty)


def estimate_table(res: dict, names: Sequence[str], labels: pd.DataFrame, by_cols: Sequence[str], ci: str,
                   empty: str) -> pd.DataFrame:
    """The output table of :func:`estimate` from the finaliser's arrays (shared by the pandas and Dask paths).

    ``res`` holds (domains x variables) arrays; ``labels`` one row per domain with the ``by_cols`` values.
    """
    D = len(labels)
    m = res["estimate"].shape[1]
    if empty == "error":
        bad_d, bad_v = np.nonzero(res["n"] == 0)
        if bad_d.size:
            shown = "; ".join(
                f"{names[v]} in " + (", ".join(f"{c}={format_value(labels[c].iloc[d])}" for c in by_cols) or "all")
                for d, v in list(zip(bad_d, bad_v))[:6])
            raise InputError(f"no valid responses (all missing) for {len(bad_d)} variable x domain cell(s): "
                             f"{shown}; pass empty='nan' to report them as missing")
    out = labels.loc[labels.index.repeat(m)].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(m))
    out["variable"] = np.tile(np.array(names, dtype=object), D)
    for key in ("estimate", "se", "ci_low", "ci_high"):
        out[key] = res[key].reshape(-1)
    out["df"] = res["df"] if ci == "t" else np.inf
    out["n"] = res["n"].reshape(-1).astype(np.int64)
    out["n_eff"] = res["n_eff"].reshape(-1)
    out["deff"] = res["deff"].reshape(-1)
    out["cv"] = res["cv"].reshape(-1)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Scoring and reliability
# ----------------------------------------------------------------------------------------------------------------

MEASURES = ("score", "top2", "net")

#: Statistics Canada's release rules (CV in proportion), the default flag thresholds.
STATCAN_RULES = {"cv_release": 0.165, "cv_suppress": 0.333, "min_n": 30, "min_n_eff": 30}


def _missing_codes(value) -> set[float]:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return set()
    parts = str(value).replace(",", ";").split(";")
    out = set()
    for p in parts:
        p = p.strip()
        if p:
            try:
                out.add(float(p))
            except ValueError:
                raise InputError(f"survey_items column 'missing_codes': {p!r} is not a numeric code") from None
    return out


def score_items(responses: pd.DataFrame, items: pd.DataFrame, *, measure: str = "score") -> pd.DataFrame:
    """Turn k-point item codes into analysis variables; "don't know"/refused become NaN (domain estimation).

    Parameters
    ----------
    responses : one column per item (as named in ``items['item']``).
    items : ``item``, ``scale_min``, ``scale_max``, ``missing_codes`` (codes such as ``9`` separated by ``;``).
    measure : ``"score"``: ``100 * (x - min) / (max - min)`` (0-100; for a 1..k scale ``100 (x-1)/(k-1)``);
        ``"top2"``: 100 if x is one of the two highest points, else 0 (percent satisfied);
        ``"net"``: +100 top two, -100 bottom two, 0 otherwise (net satisfaction, percentage points).

    Returns
    -------
    DataFrame with one float column per item, aligned with ``responses``; rows stay (no listwise deletion).

    Raises
    ------
    InputError
        A code outside ``[scale_min, scale_max]`` that is not a missing code (names item and values).

    Examples
    --------
    >>> r = pd.DataFrame({"q1": [1, 5, 9, 3]})
    >>> it = pd.DataFrame({"item": ["q1"], "scale_min": [1], "scale_max": [5], "missing_codes": ["9"]})
    >>> score_items(r, it)["q1"].tolist()
    [0.0, 100.0, nan, 50.0]
    >>> score_items(r, it, measure="top2")["q1"].tolist()
    [0.0, 100.0, nan, 0.0]
    """
    one_of(measure, MEASURES, "measure")
    for col in ("item", "scale_min", "scale_max"):
        design_column(items, col, "survey_items")
    out = {}
    for row in items.itertuples(index=False):
        item = row.item
        lo, hi = float(row.scale_min), float(row.scale_max)
        if not hi > lo:
            raise InputError(f"survey_items: item '{item}' has scale_min={lo} not below scale_max={hi}")
        codes = _missing_codes(getattr(row, "missing_codes", None))
        raw = pd.to_numeric(design_column(responses, item, "survey item"), errors="coerce").astype(float).to_numpy()
        is_missing = np.isnan(raw) | np.isin(raw, list(codes))
        bad = ~is_missing & ((raw < lo) | (raw > hi) | (raw != np.round(raw)))
        if bad.any():
            vals = np.unique(raw[bad])
            raise InputError(f"survey item column '{item}': codes {show_values(vals)} are outside its scale "
                             f"{lo:g}..{hi:g} and not among its missing codes {sorted(codes) or '(none)'} "
                             f"({int(bad.sum())} responses)")
        x = np.where(is_missing, np.nan, raw)
        if measure == "score":
            v = 100.0 * (x - lo) / (hi - lo)
        elif measure == "top2":
            v = np.where(np.isnan(x), np.nan, np.where(x >= hi - 1, 100.0, 0.0))
        else:
            v = np.where(np.isnan(x), np.nan, np.where(x >= hi - 1, 100.0, np.where(x <= lo + 1, -100.0, 0.0)))
        out[item] = v
    return pd.DataFrame(out, index=responses.index)


def reliability_flags(estimates: pd.DataFrame, *, cv_release: float = 0.165, cv_suppress: float = 0.333,
                      min_n: int = 30, min_n_eff: float = 30, psu_domain: np.ndarray | None = None) -> pd.Series:
    """Release flags: ``release``, ``caution``, ``suppress`` or ``psu_domain`` (defaults: Statistics Canada).

    A CV up to ``cv_release`` is released, up to ``cv_suppress`` released with caution, above suppressed; fewer
    than ``min_n`` respondents or an effective n below ``min_n_eff`` is suppressed. ``psu_domain`` marks
    domains that are a single PSU without a second-stage variance: their design SE is 0 by construction, so
    they are flagged for small-area estimation instead of released.

    Examples
    --------
    >>> e = pd.DataFrame({"cv": [0.05, 0.2, 0.5, 0.05], "n": [100, 100, 100, 10], "n_eff": [80, 80, 80, 8]})
    >>> reliability_flags(e).tolist()
    ['release', 'caution', 'suppress', 'suppress']
    """
    if not 0 < cv_release <= cv_suppress:
        raise InputError(f"flag thresholds: need 0 < cv_release ({cv_release}) <= cv_suppress ({cv_suppress})")
    cv = estimates["cv"].to_numpy(float)
    n = estimates["n"].to_numpy(float)
    n_eff = estimates["n_eff"].to_numpy(float)
    flag = np.where(cv <= cv_release, "release", np.where(cv <= cv_suppress, "caution", "suppress"))
    flag = np.where(np.isnan(cv), "suppress", flag)
    flag = np.where((n < min_n) | ~(n_eff >= min_n_eff), "suppress", flag)
    if psu_domain is not None:
        flag = np.where(np.asarray(psu_domain, bool), "psu_domain", flag)
    return pd.Series(flag, index=estimates.index, name="flag")
