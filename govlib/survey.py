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

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import InputError, format_value

__all__ = [
    "SurveyDesign", "make_design", "domain_codes", "reduce_domain_sums", "combine_domain_sums",
    "finalize_domain_sums", "estimate", "score_items", "reliability_flags", "LONELY_PSU_OPTIONS", "FPC_KINDS",
    "STATCAN_RULES", "MEASURES",
]

LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")
FPC_KINDS = ("population", "fraction")
STATS = ("mean", "total", "prop", "ratio")
SUM_FIELDS = ("n", "sw", "swy", "swyy")


def _show(values: Iterable[Any], limit: int = 8) -> str:
    values = list(values)
    shown = ", ".join(format_value(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


@dataclass(frozen=True)
class SurveyDesign:
    """A survey design: per-row weights and codes, plus the (small) design structure the variance needs.

    Build it with :func:`make_design`. Row arrays have one entry per respondent row; structure arrays one per
    stratum (``n_psu``, ``fraction1``, ``has_fpc1``) or per PSU (``psu_stratum``, ``n_ssu``, ``fraction2``).
    ``fraction1``/``fraction2`` are sampling fractions (0 where no fpc was given: with-replacement).
    ``calibration`` holds the post-stratification / raking steps applied (see :mod:`govlib.calibrate`).
    """

    weight: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    ssu: np.ndarray | None
    stratum_labels: np.ndarray
    psu_labels: np.ndarray
    psu_stratum: np.ndarray
    n_psu: np.ndarray
    fraction1: np.ndarray
    has_fpc: bool
    n_ssu: np.ndarray | None = None
    fraction2: np.ndarray | None = None
    lonely_psu: str = "fail"
    names: dict = field(default_factory=dict)
    calibration: tuple = ()

    @property
    def n_rows(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_strata(self) -> int:
        return int(self.n_psu.shape[0])

    @property
    def degf(self) -> int:
        """Design degrees of freedom, R's ``degf``: number of PSUs minus number of strata."""
        return int(self.psu_stratum.shape[0] - self.n_strata)

    @property
    def two_stage(self) -> bool:
        """True when the second stage enters the variance (SSUs given and an fpc at both stages, as R)."""
        return self.ssu is not None and self.has_fpc and self.fraction2 is not None

    def with_weights(self, weight: np.ndarray, calibration: tuple | None = None) -> "SurveyDesign":
        """A copy with new weights (and optionally calibration steps); used by :mod:`govlib.calibrate`."""
        return replace(self, weight=np.asarray(weight, dtype=float),
                       calibration=self.calibration if calibration is None else calibration)


def _factorize_sorted(values) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` in O(n): hash first, then sort only the distinct values."""
    codes, uniques = pd.factorize(values, sort=False)
    uniques = np.asarray(uniques)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]


def _column(data: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in data.columns:
        raise InputError(f"{what} column '{name}' not found; columns are: {_show(data.columns, 20)}")
    return data[name]


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()] if "," in value else [value]
    return list(value)


def make_design(data: pd.DataFrame, *, weight: str | None = None, strata: str | None = None,
                clusters: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                fpc_kind: str = "population", lonely_psu: str = "fail") -> SurveyDesign:
    """Describe a stratified one- or two-stage cluster sample, like R's ``svydesign(..., nest=FALSE)``.

    Parameters
    ----------
    data : the respondent rows.
    weight : column of sampling weights (positive). Without it the weights follow from the fpc as in R
        (inverse of the product of the stage sampling fractions), or are 1 when there is no fpc either.
    strata : stratum column (first stage); ``None``: one stratum.
    clusters : PSU column, or [PSU, SSU] for two stages; ``None``: every row is its own PSU.
    fpc : finite population correction per stage (one column, or two for two stages): population sizes
        (``fpc_kind="population"``: PSUs in the stratum, SSUs in the PSU) or sampling fractions
        (``fpc_kind="fraction"``). The second stage enters the variance only with an fpc at both stages (R).
    fpc_kind : ``"population"`` (R's convention) or ``"fraction"``.
    lonely_psu : what to do with a stratum that has a single PSU: ``"fail"`` (default), ``"remove"`` /
        ``"certainty"`` (no contribution), ``"adjust"`` (centred at zero, the population mean of the
        linearised values) or ``"average"`` (the mean of the other strata's variances), as R.

    Returns
    -------
    SurveyDesign

    Examples
    --------
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "w": [2.0, 2.0, 3.0, 3.0], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> d = make_design(df, weight="w", strata="h")
    >>> d.n_strata, d.degf
    (2, 2)
    """
    if fpc_kind not in FPC_KINDS:
        raise InputError(f"fpc_kind={fpc_kind!r}: expected one of {', '.join(FPC_KINDS)}")
    if lonely_psu not in LONELY_PSU_OPTIONS:
        raise InputError(f"lonely_psu={lonely_psu!r}: expected one of {', '.join(LONELY_PSU_OPTIONS)}")
    n = len(data)
    if n == 0:
        raise InputError("the survey data have no rows")
    cluster_cols = _as_list(clusters)
    fpc_cols = _as_list(fpc)
    if len(cluster_cols) > 2:
        raise InputError(f"clusters={cluster_cols}: at most two stages (PSU, SSU) are supported")
    if fpc_cols and len(fpc_cols) not in (1, len(cluster_cols) or 1):
        raise InputError(f"fpc={fpc_cols}: give one fpc column per stage of clusters={cluster_cols}")

    # strata
    if strata is not None:
        s = _column(data, strata, "strata")
        if s.isna().any():
            rows = np.flatnonzero(s.isna().to_numpy())[:8] + 2
            raise InputError(f"strata column '{strata}' has empty values (rows {_show(rows)})")
        stratum, stratum_labels = _factorize_sorted(s)
    else:
        stratum, stratum_labels = np.zeros(n, dtype=np.int64), np.array([1])
    stratum = stratum.astype(np.int64)
    stratum_labels = np.asarray(stratum_labels)

    # PSUs (first stage) -- must be nested in strata (a PSU in two strata is an input error)
    if cluster_cols:
        p = _column(data, cluster_cols[0], "cluster (PSU)")
        if p.isna().any():
            rows = np.flatnonzero(p.isna().to_numpy())[:8] + 2
            raise InputError(f"cluster column '{cluster_cols[0]}' has empty values (rows {_show(rows)})")
        psu, psu_labels = _factorize_sorted(p)
    else:
        psu, psu_labels = np.arange(n, dtype=np.int64), np.arange(1, n + 1)
    psu = psu.astype(np.int64)
    n_psus = len(psu_labels)
    psu_stratum = np.empty(n_psus, dtype=np.int64)
    psu_stratum[psu] = stratum  # O(n); any row disagreeing with its PSU's stratum breaks nesting
    if (psu_stratum[psu] != stratum).any():
        pair = pd.DataFrame({"psu": psu, "stratum": stratum}).drop_duplicates()
        dup = pair[pair["psu"].duplicated(keep=False)]
        bad = dup.groupby("psu")["stratum"].apply(lambda x: sorted(stratum_labels[x].tolist()))
        shown = "; ".join(f"{format_value(psu_labels[k])} in strata {v}" for k, v in list(bad.items())[:6])
        raise InputError(f"cluster column '{cluster_cols[0]}': PSUs must be nested in strata column '{strata}', "
                         f"but {len(bad)} PSU(s) appear in more than one stratum: {shown}")
    n_psu = np.bincount(psu_stratum, minlength=len(stratum_labels)).astype(np.int64)

    # SSUs (second stage), nested in PSUs
    ssu = None
    n_ssu = None
    if len(cluster_cols) == 2:
        q = _column(data, cluster_cols[1], "cluster (SSU)")
        if q.isna().any():
            rows = np.flatnonzero(q.isna().to_numpy())[:8] + 2
            raise InputError(f"cluster column '{cluster_cols[1]}' has empty values (rows {_show(rows)})")
        ssu_key = pd.factorize(pd.MultiIndex.from_arrays([psu, q.to_numpy()]), sort=True)[0]
        ssu = ssu_key.astype(np.int64)
        ssu_psu = np.empty(ssu.max() + 1, dtype=np.int64)
        ssu_psu[ssu] = psu
        n_ssu = np.bincount(ssu_psu, minlength=n_psus).astype(np.int64)

    # fpc: per stage, constant within the stratum (stage 1) or PSU (stage 2)
    fraction1 = np.zeros(len(stratum_labels))
    fraction2 = None
    has_fpc = bool(fpc_cols)
    if fpc_cols:
        groups = [(stratum, n_psu, len(stratum_labels), strata or "(one stratum)", stratum_labels)]
        if len(fpc_cols) == 2:
            groups.append((psu, n_ssu, n_psus, cluster_cols[0], psu_labels))
        fractions = []
        for col, (grp, sampled, k, grp_name, grp_labels) in zip(fpc_cols, groups):
            v = pd.to_numeric(_column(data, col, "fpc"), errors="coerce").to_numpy(dtype=float)
            if np.isnan(v).any():
                rows = np.flatnonzero(np.isnan(v))[:8] + 2
                raise InputError(f"fpc column '{col}' has empty or non-numeric values (rows {_show(rows)})")
            lo = np.full(k, np.inf)
            hi = np.full(k, -np.inf)
            np.minimum.at(lo, grp, v)
            np.maximum.at(hi, grp, v)
            varying = np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi)))
            if varying.size:
                raise InputError(f"fpc column '{col}' must be constant within each {grp_name}; it varies in "
                                 f"{_show(grp_labels[varying])}")
            if fpc_kind == "population":
                bad = np.flatnonzero(lo < sampled)
                if bad.size:
                    raise InputError(
                        f"fpc column '{col}' (fpc_kind='population': population sizes) is smaller than the number "
                        f"of sampled units in {grp_name} {_show(grp_labels[bad])} (values "
                        f"{_show(lo[bad])}, sampled {_show(sampled[bad])}); if the column holds sampling "
                        f"fractions, pass fpc_kind='fraction'")
                frac = sampled / lo
            else:
                bad = np.flatnonzero((lo <= 0) | (lo > 1))
                if bad.size:
                    raise InputError(f"fpc column '{col}' (fpc_kind='fraction') must be in (0, 1]; found "
                                     f"{_show(lo[bad])} in {grp_name} {_show(grp_labels[bad])}; if it holds "
                                     f"population sizes, pass fpc_kind='population'")
                frac = lo
            fractions.append(frac)
        fraction1 = fractions[0]
        if len(fractions) == 2:
            fraction2 = fractions[1]

    # weights
    if weight is not None:
        w = pd.to_numeric(_column(data, weight, "weight"), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(w > 0) | ~np.isfinite(w))
        if bad.size:
            raise InputError(f"weight column '{weight}' must be positive and finite; found "
                             f"{_show(data[weight].to_numpy()[bad])} (rows {_show(bad[:8] + 2)}); drop those "
                             f"respondents before the design, or fix the weights")
    elif has_fpc:
        prob = fraction1[stratum]
        if fraction2 is not None:
            prob = prob * fraction2[psu]
        w = 1.0 / prob
    else:
        w = np.ones(n)

    # lonely PSUs (and lonely SSUs in a second stage that enters the variance)
    lonely = np.flatnonzero((n_psu == 1) & ~(has_fpc & (1 - fraction1 < 1e-7)))
    if lonely.size and lonely_psu == "fail":
        raise InputError(f"strata column '{strata or '(one stratum)'}': {len(lonely)} stratum/strata "
                         f"({_show(stratum_labels[lonely])}) with only one PSU, whose variance cannot be "
                         f"estimated; choose lonely_psu='remove', 'certainty', 'adjust' or 'average' "
                         f"(as R's options(survey.lonely.psu=))")
    if fraction2 is not None and lonely_psu == "fail":
        lonely2 = np.flatnonzero((n_ssu == 1) & (1 - fraction2 >= 1e-7))
        if lonely2.size:
            raise InputError(f"cluster column '{cluster_cols[0]}': PSU {_show(psu_labels[lonely2])} has only one "
                             f"second-stage unit ('{cluster_cols[1]}') but is not a census at stage 2; choose "
                             f"lonely_psu='remove', 'certainty', 'adjust' or 'average'")

    names = {"weight": weight, "strata": strata, "clusters": cluster_cols, "fpc": fpc_cols, "fpc_kind": fpc_kind}
    return SurveyDesign(weight=w, stratum=stratum, psu=psu, ssu=ssu, stratum_labels=stratum_labels,
                        psu_labels=np.asarray(psu_labels), psu_stratum=psu_stratum, n_psu=n_psu,
                        fraction1=fraction1, has_fpc=has_fpc, n_ssu=n_ssu, fraction2=fraction2,
                        lonely_psu=lonely_psu, names=names)


def domain_codes(data: pd.DataFrame, by: str | Sequence[str] | None) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer domain code per row and the table of domain labels (one row per code, sorted).

    Examples
    --------
    >>> codes, labels = domain_codes(pd.DataFrame({"a": ["x", "y", "x"]}), "a")
    >>> codes.tolist(), labels["a"].tolist()
    ([0, 1, 0], ['x', 'y'])
    """
    cols = _as_list(by)
    n = len(data)
    if not cols:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=[0])
    codes = np.zeros(n, dtype=np.int64)
    uniques = []
    for col in cols:
        s = _column(data, col, "domain (by)")
        if s.isna().any():
            rows = np.flatnonzero(s.isna().to_numpy())[:8] + 2
            raise InputError(f"domain column '{col}' has empty values (rows {_show(rows)})")
        c, u = _factorize_sorted(s)
        codes = codes * len(u) + c
        uniques.append(np.asarray(u))
    inverse, present = _factorize_sorted(codes)
    labels = {}
    rest = present.copy()
    for col, u in zip(reversed(cols), reversed(uniques)):
        labels[col] = u[rest % len(u)]
        rest = rest // len(u)
    return inverse.astype(np.int64), pd.DataFrame({c: labels[c] for c in cols})


def reduce_domain_sums(weight: np.ndarray, stratum: np.ndarray, psu: np.ndarray, domain: np.ndarray,
                       values: np.ndarray, ssu: np.ndarray | None = None) -> pd.DataFrame:
    """The reduction: per (stratum, PSU[, SSU], domain) sums of each variable, one pass with ``np.bincount``.

    Parameters
    ----------
    weight : (n,) weights.
    stratum, psu, domain : (n,) integer codes (PSU codes unique across strata; SSU codes unique across PSUs).
    values : (n,) or (n, k) float array, or a list of k (n,) arrays; ``NaN`` marks a row outside that
        variable's domain (missing answer).
    ssu : (n,) SSU codes for a two-stage design whose second stage enters the variance, else ``None``.

    Returns
    -------
    DataFrame with key columns ``stratum``, ``psu`` (, ``ssu``), ``domain`` and, per variable k = 0, 1, ...,
    ``n_k`` (respondents), ``sw_k`` (sum of w), ``swy_k`` (sum of w*y), ``swyy_k`` (sum of w*y*y). Only
    groups with at least one row appear. Results of disjoint row chunks add up (:func:`combine_domain_sums`).

    Examples
    --------
    >>> s = reduce_domain_sums(np.array([1.0, 2.0, 1.0]), np.array([0, 0, 0]), np.array([0, 1, 1]),
    ...                        np.array([0, 0, 0]), np.array([1.0, 2.0, np.nan]))
    >>> s[["psu", "n_0", "sw_0", "swy_0"]].to_numpy().tolist()
    [[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 2.0, 4.0]]
    """
    weight = np.asarray(weight, dtype=float)
    if isinstance(values, np.ndarray):
        values = values[:, None] if values.ndim == 1 else values
        columns = [values[:, k] for k in range(values.shape[1])]
    else:  # a list of 1-D arrays: no (n x k) copy for wide data
        columns = [np.asarray(v, dtype=float) for v in values]
    unit = psu if ssu is None else ssu
    n_dom = int(domain.max()) + 1 if domain.size else 1
    key = unit.astype(np.int64) * n_dom + domain
    # hash-factorize (O(n)) and sort only the few distinct keys
    group, uniq = pd.factorize(key, sort=False)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    group = rank[group]
    uniq = uniq[order]
    g = len(uniq)
    first_unit = uniq // n_dom
    out_domain = uniq % n_dom
    # stratum and PSU of each group from its unit (PSU, or SSU nested in a PSU)
    unit_psu = np.zeros(int(unit.max()) + 1, dtype=np.int64)
    unit_psu[unit] = psu
    psu_str = np.zeros(int(psu.max()) + 1, dtype=np.int64)
    psu_str[psu] = stratum
    out_psu = unit_psu[first_unit]
    out = {"stratum": psu_str[out_psu], "psu": out_psu}
    if ssu is not None:
        out["ssu"] = first_unit
    out["domain"] = out_domain
    for k, y in enumerate(columns):
        valid = ~np.isnan(y)
        y0 = np.where(valid, y, 0.0)
        wv = weight * valid
        wy = wv * y0
        out[f"n_{k}"] = np.bincount(group, weights=valid, minlength=g)
        out[f"sw_{k}"] = np.bincount(group, weights=wv, minlength=g)
        out[f"swy_{k}"] = np.bincount(group, weights=wy, minlength=g)
        out[f"swyy_{k}"] = np.bincount(group, weights=wy * y0, minlength=g)
    return pd.DataFrame(out)


def combine_domain_sums(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Add up reductions of disjoint row chunks (the combine step of a parallel executor).

    Examples
    --------
    >>> a = reduce_domain_sums(np.ones(2), np.zeros(2, int), np.array([0, 1]), np.zeros(2, int), np.ones(2))
    >>> combine_domain_sums([a, a])["sw_0"].tolist()
    [2.0, 2.0]
    """
    frame = pd.concat(list(parts), ignore_index=True)
    keys = [c for c in ("stratum", "psu", "ssu", "domain") if c in frame.columns]
    return frame.groupby(keys, sort=True, as_index=False).sum()


def _n_variables(sums: pd.DataFrame) -> int:
    return sum(1 for c in sums.columns if c.startswith("swyy_"))


def _variance(z: np.ndarray, present: np.ndarray, stratum: np.ndarray, psu: np.ndarray, domain: np.ndarray,
              ssu: np.ndarray | None, design: SurveyDesign, n_domains: int,
              stage2: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Variance of linearised totals, R's ``multistage`` / ``onestrat``, for all domains and columns at once.

    ``z`` is (entries, k): the linearised total of one (PSU[, SSU], domain) entry per column; entries with no
    row are implicitly 0. ``present`` (entries, k) marks entries with respondents (for lonely_psu='average').
    With ``ssu=None`` and a two-stage design, ``stage2=(ss_centred, ss_raw)`` gives, per (PSU, domain) entry
    and column, the SSUs' sum of squared deviations from the PSU mean (all SSUs of the PSU counted) and their
    raw sum of squares. Returns (n_domains, k).
    """
    k = z.shape[1]
    # stage 1: PSU totals per domain
    if ssu is not None:
        key1 = psu.astype(np.int64) * n_domains + domain
        g1, u1 = pd.factorize(key1, sort=True)
        first = np.zeros(len(u1), dtype=np.int64)
        first[g1[::-1]] = np.arange(len(g1))[::-1]
        z1 = np.stack([np.bincount(g1, weights=z[:, j], minlength=len(u1)) for j in range(k)], axis=1)
        pres1 = np.stack([np.bincount(g1, weights=present[:, j], minlength=len(u1)) > 0 for j in range(k)], axis=1)
        psu1, dom1, str1 = psu[first], domain[first], stratum[first]
        if design.two_stage:
            # within each PSU: squared deviations of the SSU totals from the PSU mean, absent SSUs as 0
            m_e = design.n_ssu[psu1].astype(float)
            cnt = np.bincount(g1, minlength=len(u1)).astype(float)
            ss_c = np.empty_like(z1)
            ss_raw = np.empty_like(z1)
            for j in range(k):
                mean_i = z1[:, j] / m_e
                dev = np.bincount(g1, weights=(z[:, j] - mean_i[g1]) ** 2, minlength=len(u1))
                ss_c[:, j] = dev + (m_e - cnt) * mean_i ** 2
                ss_raw[:, j] = np.bincount(g1, weights=z[:, j] ** 2, minlength=len(u1))
            stage2 = (ss_c, ss_raw)
    else:
        z1, pres1, psu1, dom1, str1 = z, present, psu, domain, stratum
    # Only (stratum, domain) pairs that hold a PSU entry contribute (absent pairs have all z = 0), so work on
    # those pairs: strata x domains can be 10^7-10^8 cells (wave x 街镇 strata, community x wave domains).
    hd = str1.astype(np.int64) * n_domains + dom1
    g, pairs = pd.factorize(hd, sort=False)
    h_u = (pairs // n_domains).astype(np.int64)
    d_u = (pairs % n_domains).astype(np.int64)
    n_pairs = len(pairs)
    cnt = np.bincount(g, minlength=n_pairs).astype(float)
    nh_u = design.n_psu[h_u].astype(float)
    lonely_u = (design.n_psu == 1)[h_u]
    census = design.has_fpc & (1.0 - design.fraction1 < 1e-7)
    census_u = np.asarray(census)[h_u] if np.ndim(census) else np.full(n_pairs, bool(census))
    omf_u = (1.0 - design.fraction1[h_u]) if design.has_fpc else np.ones(n_pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_u = np.where(lonely_u, omf_u, omf_u * nh_u / (nh_u - 1))
    out = np.zeros((n_domains, k))
    for j in range(k):
        zj = z1[:, j]
        s1 = np.bincount(g, weights=zj, minlength=n_pairs)
        mean_u = s1 / nh_u
        dev = np.bincount(g, weights=(zj - mean_u[g]) ** 2, minlength=n_pairs)
        ss_centred = dev + (nh_u - cnt) * mean_u ** 2  # absent PSUs of the stratum have z = 0
        v_u = np.where(lonely_u, 0.0, scale_u * ss_centred)
        if design.lonely_psu == "adjust":
            ss_raw = np.bincount(g, weights=zj ** 2, minlength=n_pairs)
            v_u = np.where(lonely_u, omf_u * ss_raw, v_u)
        v_u = np.where(census_u, 0.0, v_u)
        if design.lonely_psu == "average":
            pres_u = np.bincount(g, weights=pres1[:, j], minlength=n_pairs) > 0
            bad = lonely_u & ~census_u & pres_u
            nstrat = np.bincount(d_u, weights=pres_u, minlength=n_domains)
            nok = nstrat - np.bincount(d_u, weights=bad, minlength=n_domains)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, j] = np.bincount(d_u, weights=np.where(bad, 0.0, v_u), minlength=n_domains) * nstrat / nok
        else:
            out[:, j] = np.bincount(d_u, weights=v_u, minlength=n_domains)
    if design.two_stage and stage2 is not None:
        # stage 2 within each PSU: (1 - f2) m/(m-1) sum_j (z_ij - zbar_i)^2, times the stage-1 fraction n_h/N_h
        ss_c_all, ss_raw_all = stage2
        m_g = design.n_ssu[psu1].astype(float)
        f1_g = design.fraction1[str1]
        f2_g = design.fraction2[psu1]
        lonely2 = (m_g == 1) & (1 - f2_g >= 1e-7)
        for j in range(k):
            with np.errstate(divide="ignore", invalid="ignore"):
                v2 = np.where(m_g > 1, (1 - f2_g) * m_g / (m_g - 1) * ss_c_all[:, j], 0.0)
            if design.lonely_psu == "adjust":
                v2 = np.where(lonely2, (1 - f2_g) * ss_raw_all[:, j], v2)
            elif design.lonely_psu == "average":
                v2 = np.where(lonely2, np.nan, v2)
            v2 = np.where(1 - f2_g < 1e-7, 0.0, v2)
            out[:, j] += np.bincount(dom1, weights=v2 * f1_g, minlength=n_domains)
    return out


def finalize_domain_sums(sums: pd.DataFrame, design: SurveyDesign, *, stat: str = "mean",
                         n_domains: int | None = None, ratio_pairs: Sequence[tuple[int, int]] | None = None,
                         combinations: dict[str, dict[int, float]] | None = None,
                         level: float = 0.95, ci: str = "t") -> dict[str, np.ndarray]:
    """The finaliser: estimates, SEs, CIs, deff and effective n from combined domain sums.

    Parameters
    ----------
    sums : output of :func:`reduce_domain_sums` (or :func:`combine_domain_sums` of several).
    design : the design structure (PSUs per stratum, sampling fractions, lonely-PSU rule).
    stat : ``"mean"`` (also proportions of 0/1 variables), ``"total"`` or ``"ratio"``.
    n_domains : number of domain codes (default: max code + 1).
    ratio_pairs : for ``stat="ratio"``, (numerator, denominator) variable indices; each pair gives one column.
    combinations : for ``stat="mean"``, extra columns ``name -> {variable index: coefficient}``: the linear
        combination of domain means (e.g. a composite score), its SE from the combined linearised values.
    level : confidence level.
    ci : ``"t"`` (design df, R's ``degf``) or ``"normal"``.

    Returns
    -------
    dict of (n_domains, m) arrays: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``n``, ``deff``, ``n_eff``,
    ``cv``, plus ``names`` (column labels: variable index, pair or name).

    Examples
    --------
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 4.0]})
    >>> d = make_design(df, strata="h")
    >>> s = reduce_domain_sums(d.weight, d.stratum, d.psu, np.zeros(4, int), df["y"].to_numpy())
    >>> r = finalize_domain_sums(s, d)
    >>> float(r["estimate"][0, 0]), round(float(r["se"][0, 0]), 6)
    (2.5, 0.707107)
    """
    if stat not in ("mean", "total", "ratio"):
        raise InputError(f"stat={stat!r}: expected 'mean', 'total' or 'ratio'")
    if ci not in ("t", "normal"):
        raise InputError(f"ci={ci!r}: expected 't' or 'normal'")
    if not 0 < level < 1:
        raise InputError(f"level={level}: expected a confidence level between 0 and 1")
    k = _n_variables(sums)
    dom = sums["domain"].to_numpy(dtype=np.int64)
    D = int(n_domains if n_domains is not None else (dom.max() + 1 if len(dom) else 1))
    stratum = sums["stratum"].to_numpy(dtype=np.int64)
    psu = sums["psu"].to_numpy(dtype=np.int64)
    ssu = sums["ssu"].to_numpy(dtype=np.int64) if "ssu" in sums.columns else None
    N = np.stack([sums[f"n_{j}"].to_numpy(float) for j in range(k)], axis=1)
    W = np.stack([sums[f"sw_{j}"].to_numpy(float) for j in range(k)], axis=1)
    Y = np.stack([sums[f"swy_{j}"].to_numpy(float) for j in range(k)], axis=1)
    YY = np.stack([sums[f"swyy_{j}"].to_numpy(float) for j in range(k)], axis=1)

    def dsum(a):
        return np.stack([np.bincount(dom, weights=a[:, j], minlength=D) for j in range(a.shape[1])], axis=1)

    n_d, w_d, y_d, yy_d = dsum(N), dsum(W), dsum(Y), dsum(YY)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_d = y_d / w_d
        # svyvar's weighted variance with n/(n-1), per domain
        s2 = (yy_d - mean_d * y_d) / w_d * n_d / (n_d - 1)
    present = N > 0
    if stat == "ratio":
        pairs = list(ratio_pairs or [])
        if not pairs:
            raise InputError("stat='ratio' needs ratio_pairs=[(numerator, denominator), ...]")
        num = np.array([a for a, _ in pairs])
        den = np.array([b for _, b in pairs])
        with np.errstate(divide="ignore", invalid="ignore"):
            est = y_d[:, num] / y_d[:, den]
            z = (Y[:, num] - est[dom] * Y[:, den]) / y_d[dom][:, den]
        pres = present[:, num] | present[:, den]
        n_out = n_d[:, num]
        names = pairs
        deff = np.full_like(est, np.nan)
        var = _variance(z, pres, stratum, psu, dom, ssu, design, D)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            if stat == "mean":
                est = mean_d
                z = (Y - mean_d[dom] * W) / w_d[dom]
            else:
                est = y_d
                z = Y
        z = np.where(np.isfinite(z), z, 0.0)
        names: list = list(range(k))
        n_out = n_d
        pres = present
        with np.errstate(divide="ignore", invalid="ignore"):
            # R svymean/svytotal deff=TRUE: SRS without replacement from a population of size sum(w)
            fsrs = (w_d - n_d) / w_d
            vsrs = s2 / n_d * fsrs if stat == "mean" else s2 * w_d ** 2 / n_d * fsrs
        extra_z, extra_est, extra_n, extra_p, extra_v = [], [], [], [], []
        for name, coefs in (combinations or {}).items():
            if stat != "mean":
                raise InputError("combinations (composite scores) are defined for stat='mean'")
            idx = np.array(list(coefs))
            a = np.array([coefs[i] for i in idx], dtype=float)
            extra_z.append(z[:, idx] @ a)
            extra_est.append(np.nan_to_num(mean_d[:, idx]) @ a
                             + np.where(np.isnan(mean_d[:, idx]).any(axis=1), np.nan, 0.0))
            extra_n.append(n_d[:, idx].max(axis=1))
            extra_p.append(present[:, idx].any(axis=1))
            extra_v.append(np.full(D, np.nan))
            names.append(name)
        if extra_z:
            z = np.column_stack([z] + extra_z)
            pres = np.column_stack([pres] + extra_p)
            est = np.column_stack([est] + extra_est)
            n_out = np.column_stack([n_out] + extra_n)
            vsrs = np.column_stack([vsrs] + extra_v)
        var = _variance(z, pres, stratum, psu, dom, ssu, design, D)
        with np.errstate(divide="ignore", invalid="ignore"):
            deff = var / vsrs
    var = np.where(var < 0, 0.0, var)  # rounding in a census
    var = np.where(n_out > 0, var, np.nan)  # an empty domain has no estimate
    se = np.sqrt(var)
    if ci == "t":
        q = stats.t.ppf(0.5 + level / 2, design.degf) if design.degf > 0 else np.nan
    else:
        q = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = n_out / deff
        cv = se / np.abs(est)
    return {"estimate": est, "se": se, "ci_low": est - q * se, "ci_high": est + q * se, "n": n_out,
            "deff": deff, "n_eff": n_eff, "cv": cv, "names": names, "df": design.degf}


def _variable_values(data: pd.DataFrame, variables: Sequence[str]) -> list[np.ndarray]:
    cols = []
    for v in variables:
        s = _column(data, v, "variable")
        x = pd.to_numeric(s, errors="coerce")
        bad = x.isna() & s.notna()
        if bad.any():
            raise InputError(f"variable column '{v}' must be numeric; found {_show(s[bad].unique())}")
        cols.append(x.to_numpy(dtype=float))
    return cols


def estimate(design: SurveyDesign, data: pd.DataFrame, variables: str | Sequence[str], *,
             by: str | Sequence[str] | None = None, stat: str = "mean", denominator: str | Sequence[str] | None = None,
             composite: dict[str, dict[str, float]] | None = None, level: float = 0.95, ci: str = "t",
             empty: str = "error") -> pd.DataFrame:
    """Domain estimates with linearised SEs, like R's ``svyby(~y, ~by, design, svymean, deff=TRUE)``.

    Parameters
    ----------
    design : from :func:`make_design` (or calibrated by :mod:`govlib.calibrate`); rows align with ``data``.
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
    if stat not in STATS:
        raise InputError(f"stat={stat!r}: expected one of {', '.join(STATS)}")
    if empty not in ("error", "nan"):
        raise InputError(f"empty={empty!r}: expected 'error' or 'nan'")
    if len(data) != design.n_rows:
        raise InputError(f"data have {len(data)} rows but the design was built on {design.n_rows}")
    variables = _as_list(variables)
    if not variables:
        raise InputError("no variables to estimate")
    by_cols = _as_list(by)
    dom, labels = domain_codes(data, by_cols)
    D = len(labels)
    values = _variable_values(data, variables) if stat != "prop" else None
    names = list(variables)
    ratio_pairs = None
    fin_stat = "total" if stat == "total" else "mean"
    combos = None
    if stat == "prop":
        cols, names = [], []
        for j, v in enumerate(variables):
            s = _column(data, v, "variable")
            cats = np.sort(s.dropna().unique())
            for c in cats:
                cols.append(np.where(s.isna(), np.nan, (s == c).astype(float)))
                names.append(f"{v}{c}")
        values = cols
    elif stat == "ratio":
        dens = _as_list(denominator)
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
        combos = {}
        for name, coefs in composite.items():
            unknown = [c for c in coefs if c not in variables]
            if unknown:
                raise InputError(f"composite {name!r} uses {unknown}, which are not among variables={variables}")
            combos[name] = {variables.index(c): float(a) for c, a in coefs.items()}
            names.append(name)
    if design.calibration:
        from .calibrate import calibrated_linearisation  # calibrated designs need row-level residuals
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
    if measure not in MEASURES:
        raise InputError(f"measure={measure!r}: expected one of {', '.join(MEASURES)}")
    for col in ("item", "scale_min", "scale_max"):
        _column(items, col, "survey_items")
    out = {}
    for row in items.itertuples(index=False):
        item = row.item
        lo, hi = float(row.scale_min), float(row.scale_max)
        if not hi > lo:
            raise InputError(f"survey_items: item '{item}' has scale_min={lo} not below scale_max={hi}")
        codes = _missing_codes(getattr(row, "missing_codes", None))
        raw = pd.to_numeric(_column(responses, item, "survey item"), errors="coerce").astype(float).to_numpy()
        is_missing = np.isnan(raw) | np.isin(raw, list(codes))
        bad = ~is_missing & ((raw < lo) | (raw > hi) | (raw != np.round(raw)))
        if bad.any():
            vals = np.unique(raw[bad])
            raise InputError(f"survey item column '{item}': codes {_show(vals)} are outside its scale "
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
