"""A survey design: weights, strata, clusters (one or two stages), fpc and the lonely-PSU rule, over its data.

:func:`make_design` checks the design columns once and codes them; :class:`SurveyDesign` keeps the coded structure
(and a fingerprint of the data's rows, so estimating on re-sorted or other data is an error, not a silent change of
answer). Conventions are those of R ``survey::svydesign`` (see :mod:`govlib.survey.estimate`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError, format_value, one_of

__all__ = ["SurveyDesign", "make_design", "domain_codes", "design_column", "category_indicators", "design_columns", "design_fingerprint", "column_list", "show_values",
           "LONELY_PSU_OPTIONS", "FPC_KINDS"]


LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")


FPC_KINDS = ("population", "fraction")


def show_values(values: Iterable[Any], limit: int = 8) -> str:
    values = list(values)
    shown = ", ".join(format_value(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


@dataclass(frozen=True)
class SurveyDesign:
    """A survey design: per-row weights and codes, plus the (small) design structure the variance needs.

    Build it with :func:`make_design`. Row arrays have one entry per respondent row; structure arrays one per
    stratum (``n_psu``, ``fraction1``, ``has_fpc1``) or per PSU (``psu_stratum``, ``n_ssu``, ``fraction2``).
    ``fraction1``/``fraction2`` are sampling fractions (0 where no fpc was given: with-replacement).
    ``calibration`` holds the post-stratification / raking steps applied (see :mod:`govlib.survey.calibrate`).
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
    fingerprint: str = ""  # of the design columns' values in row order (see :func:`design_fingerprint`)

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

    def check_data(self, data: pd.DataFrame) -> None:
        """Raise :class:`~govlib.errors.InputError` unless ``data`` has the rows the design was made from, in order.

        Estimates pair row ``i`` of ``data`` with row ``i`` of the design: data re-sorted or filtered after
        :func:`make_design` would silently give another answer, so the design columns are fingerprinted.

        Examples
        --------
        >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "w": [1.0, 2.0, 3.0, 4.0]})
        >>> d = make_design(df, weight="w", strata="h")
        >>> d.check_data(df.sort_values("w", ascending=False))
        Traceback (most recent call last):
        ...
        govlib.errors.InputError: the data's design columns (w, h) differ from those the design was made from: ...
        """
        if len(data) != self.n_rows:
            raise InputError(f"data have {len(data)} rows but the design was built on {self.n_rows}")
        present = all(c in data.columns for c in design_columns(self.names))
        if self.fingerprint and present and design_fingerprint(data, self.names) != self.fingerprint:
            cols = ", ".join(design_columns(self.names))
            raise InputError(f"the data's design columns ({cols}) differ from those the design was made from: the "
                             f"rows were re-sorted, filtered or changed after make_design; estimate with the same "
                             f"data frame, or make the design again (to estimate for a subset, use by= domains)")

    def subset(self, rows: np.ndarray, data: pd.DataFrame | None = None) -> "SurveyDesign":
        """The design on some of its rows, which must be whole strata and whole calibration cells.

        The structure (PSUs per stratum, fractions, degrees of freedom) stays the whole design's, so every
        estimate for a domain within these rows equals the whole design's: the build estimates one wave at a
        time this way (its strata and calibration cells nest in waves). ``data``: the subset's rows of the data,
        for the row-order check of :meth:`check_data`.

        Examples
        --------
        >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 4.0]})
        >>> d = make_design(df, strata="h")
        >>> part = d.subset(np.array([2, 3]), df.iloc[2:])
        >>> part.n_rows, part.degf == d.degf
        (2, True)
        >>> d.subset(np.array([1, 2]))
        Traceback (most recent call last):
        ...
        govlib.errors.InputError: a design subset must hold whole strata; 2 stratum/strata are cut
        """
        rows = np.asarray(rows)
        groups = [("strata", self.stratum)]
        for step in self.calibration:
            groups += [("calibration cells", step[1])] if step[0] == "poststrat" else \
                [("calibration cells", codes) for codes, _ in step[1]]
        for what, codes in groups:
            whole = np.bincount(codes)
            part = np.bincount(codes[rows], minlength=len(whole))
            cut = np.flatnonzero((part > 0) & (part < whole))
            if cut.size:
                raise InputError(f"a design subset must hold whole {what}; {cut.size} stratum/strata are cut"
                                 if what == "strata" else f"a design subset must hold whole {what}; "
                                 f"{cut.size} cell(s) are cut")
        steps = tuple((step[0], step[1][rows], step[2][rows], step[3][rows]) if step[0] == "poststrat"
                      else (step[0], tuple((codes[rows], w[rows]) for codes, w in step[1]))
                      for step in self.calibration)
        return replace(self, weight=self.weight[rows], stratum=self.stratum[rows], psu=self.psu[rows],
                       ssu=None if self.ssu is None else self.ssu[rows], calibration=steps,
                       fingerprint=design_fingerprint(data, self.names) if data is not None else "")

    def with_weights(self, weight: np.ndarray, calibration: tuple | None = None) -> "SurveyDesign":
        """A copy with new weights (and optionally calibration steps); used by :mod:`govlib.survey.calibrate`."""
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


def design_columns(names: dict) -> list[str]:
    """The data columns a design was made from: weight, strata, clusters, fpc (those given)."""
    cols = [names.get("weight"), names.get("strata"), *(names.get("clusters") or []), *(names.get("fpc") or [])]
    return list(dict.fromkeys(c for c in cols if c))


def design_fingerprint(data: pd.DataFrame, names: dict) -> str:
    """A digest of the design columns' values in row order ("" for a design with no columns: order is free).

    A frame that lacks the design columns (e.g. scored items aligned to the design's frame) cannot be checked.
    """
    import hashlib

    cols = [c for c in design_columns(names) if c in data.columns]
    if not cols:
        return ""
    rows = pd.util.hash_pandas_object(data[cols], index=False).to_numpy()
    return hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest()


def design_column(data: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in data.columns:
        raise InputError(f"{what} column '{name}' not found; columns are: {show_values(data.columns, 20)}")
    return data[name]


def category_indicators(data: pd.DataFrame, variables: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    """One 0/1 column per observed category of each variable (NaN where the variable is missing), named
    ``<variable><category>`` as R's ``svymean`` of a factor: what proportions are estimated from.

    >>> vals, names = category_indicators(pd.DataFrame({"q": ["b", "a", None]}), ["q"])
    >>> names, vals[0].tolist()
    (['qa', 'qb'], [0.0, 1.0, nan])
    """
    values, names = [], []
    for v in variables:
        s = design_column(data, v, "variable")
        for c in np.sort(s.dropna().unique()):
            values.append(np.where(s.isna(), np.nan, (s == c).astype(float)))
            names.append(f"{v}{c}")
    return values, names


def column_list(value: str | Sequence[str] | None) -> list[str]:
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
    one_of(fpc_kind, FPC_KINDS, "fpc_kind")
    one_of(lonely_psu, LONELY_PSU_OPTIONS, "lonely_psu")
    n = len(data)
    if n == 0:
        raise InputError("the survey data have no rows")
    cluster_cols = column_list(clusters)
    fpc_cols = column_list(fpc)
    if len(cluster_cols) > 2:
        raise InputError(f"clusters={cluster_cols}: at most two stages (PSU, SSU) are supported")
    if fpc_cols and len(fpc_cols) not in (1, len(cluster_cols) or 1):
        raise InputError(f"fpc={fpc_cols}: give one fpc column per stage of clusters={cluster_cols}")

    # strata
    if strata is not None:
        s = design_column(data, strata, "strata")
        if s.isna().any():
            rows = np.flatnonzero(s.isna().to_numpy())[:8] + 2
            raise InputError(f"strata column '{strata}' has empty values (rows {show_values(rows)})")
        stratum, stratum_labels = _factorize_sorted(s)
    else:
        stratum, stratum_labels = np.zeros(n, dtype=np.int64), np.array([1])
    stratum = stratum.astype(np.int64)
    stratum_labels = np.asarray(stratum_labels)

    # PSUs (first stage) -- must be nested in strata (a PSU in two strata is an input error)
    if cluster_cols:
        p = design_column(data, cluster_cols[0], "cluster (PSU)")
        if p.isna().any():
            rows = np.flatnonzero(p.isna().to_numpy())[:8] + 2
            raise InputError(f"cluster column '{cluster_cols[0]}' has empty values (rows {show_values(rows)})")
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
        q = design_column(data, cluster_cols[1], "cluster (SSU)")
        if q.isna().any():
            rows = np.flatnonzero(q.isna().to_numpy())[:8] + 2
            raise InputError(f"cluster column '{cluster_cols[1]}' has empty values (rows {show_values(rows)})")
        try:  # (PSU, SSU) pairs numbered in sorted order, by an integer key (a MultiIndex of 10^6 rows is slow)
            q_code, q_uniq = _factorize_sorted(q)
            ssu = _factorize_sorted(psu * len(q_uniq) + q_code)[0].astype(np.int64)
        except TypeError:  # SSU labels that do not sort together (e.g. numbers and text)
            ssu = pd.factorize(pd.MultiIndex.from_arrays([psu, q.to_numpy()]), sort=True)[0].astype(np.int64)
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
            v = pd.to_numeric(design_column(data, col, "fpc"), errors="coerce").to_numpy(dtype=float)
            if np.isnan(v).any():
                rows = np.flatnonzero(np.isnan(v))[:8] + 2
                raise InputError(f"fpc column '{col}' has empty or non-numeric values (rows {show_values(rows)})")
            lo = np.full(k, np.inf)
            hi = np.full(k, -np.inf)
            np.minimum.at(lo, grp, v)
            np.maximum.at(hi, grp, v)
            varying = np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi)))
            if varying.size:
                raise InputError(f"fpc column '{col}' must be constant within each {grp_name}; it varies in "
                                 f"{show_values(grp_labels[varying])}")
            if fpc_kind == "population":
                bad = np.flatnonzero(lo < sampled)
                if bad.size:
                    raise InputError(
                        f"fpc column '{col}' (fpc_kind='population': population sizes) is smaller than the number "
                        f"of sampled units in {grp_name} {show_values(grp_labels[bad])} (values "
                        f"{show_values(lo[bad])}, sampled {show_values(sampled[bad])}); if the column holds sampling "
                        f"fractions, pass fpc_kind='fraction'")
                frac = sampled / lo
            else:
                bad = np.flatnonzero((lo <= 0) | (lo > 1))
                if bad.size:
                    raise InputError(f"fpc column '{col}' (fpc_kind='fraction') must be in (0, 1]; found "
                                     f"{show_values(lo[bad])} in {grp_name} {show_values(grp_labels[bad])}; if it holds "
                                     f"population sizes, pass fpc_kind='population'")
                frac = lo
            fractions.append(frac)
        fraction1 = fractions[0]
        if len(fractions) == 2:
            fraction2 = fractions[1]

    # weights
    if weight is not None:
        w = pd.to_numeric(design_column(data, weight, "weight"), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(w > 0) | ~np.isfinite(w))
        if bad.size:
            raise InputError(f"weight column '{weight}' must be positive and finite; found "
                             f"{show_values(data[weight].to_numpy()[bad])} (rows {show_values(bad[:8] + 2)}); drop those "
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
                         f"({show_values(stratum_labels[lonely])}) with only one PSU, whose variance cannot be "
                         f"estimated; choose lonely_psu='remove', 'certainty', 'adjust' or 'average' "
                         f"(as R's options(survey.lonely.psu=))")
    if fraction2 is not None and lonely_psu == "fail":
        lonely2 = np.flatnonzero((n_ssu == 1) & (1 - fraction2 >= 1e-7))
        if lonely2.size:
            raise InputError(f"cluster column '{cluster_cols[0]}': PSU {show_values(psu_labels[lonely2])} has only one "
                             f"second-stage unit ('{cluster_cols[1]}') but is not a census at stage 2; choose "
                             f"lonely_psu='remove', 'certainty', 'adjust' or 'average'")

    names = {"weight": weight, "strata": strata, "clusters": cluster_cols, "fpc": fpc_cols, "fpc_kind": fpc_kind}
    return SurveyDesign(weight=w, stratum=stratum, psu=psu, ssu=ssu, stratum_labels=stratum_labels,
                        psu_labels=np.asarray(psu_labels), psu_stratum=psu_stratum, n_psu=n_psu,
                        fraction1=fraction1, has_fpc=has_fpc, n_ssu=n_ssu, fraction2=fraction2,
                        lonely_psu=lonely_psu, names=names, fingerprint=design_fingerprint(data, names))


def domain_codes(data: pd.DataFrame, by: str | Sequence[str] | None) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer domain code per row and the table of domain labels (one row per code, sorted).

    Examples
    --------
    >>> codes, labels = domain_codes(pd.DataFrame({"a": ["x", "y", "x"]}), "a")
    >>> codes.tolist(), labels["a"].tolist()
    ([0, 1, 0], ['x', 'y'])
    """
    cols = column_list(by)
    n = len(data)
    if not cols:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=[0])
    codes = np.zeros(n, dtype=np.int64)
    uniques = []
    for col in cols:
        s = design_column(data, col, "domain (by)")
        if s.isna().any():
            rows = np.flatnonzero(s.isna().to_numpy())[:8] + 2
            raise InputError(f"domain column '{col}' has empty values (rows {show_values(rows)})")
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
