"""Data preparation for a composite index: temporal aggregation, denomination, imputation, unit screening and
outlier treatment (pure functions; every changed point is returned in a log table).

Wide tables here are DataFrames indexed by ``(unit, period)`` with one column per indicator code.

Conventions:

* **Temporal aggregation** (:func:`annualise`): sub-annual observations (``2024Q3``, ``2024-07``) become one
  annual value per the framework's ``temporal_aggregation``: ``mean`` (SE ``sqrt(sum se^2) / k``), ``sum`` (SE
  ``sqrt(sum se^2)``) or ``last`` (the latest period's value and SE). Annual and sub-annual values of the same
  unit, year and indicator together are refused.
* **Imputation** (:func:`impute`): ``none``; ``mean`` / ``median`` of the same indicator in the same period (within
  the unit's peer group with ``by_group=True``); ``locf`` carries a unit's last value forward at most
  ``max_carry`` periods; ``linear`` interpolates linearly between a unit's observed periods (never extrapolates).
* **Screening** (:func:`screen_units`): a unit-period whose share of available scored indicators is below
  ``min_coverage`` is dropped.
* **Outliers** (:func:`treat_outliers`): per indicator, sample (type-2, bias-corrected) skewness ``G1`` and excess
  kurtosis ``G2`` (Excel's SKEW/KURT, ``scipy.stats.skew/kurtosis(bias=False)``). An indicator *passes* if
  ``|G1| < 2`` or ``G2 < 3.5``. A failing one is winsorised one point at a time (the most extreme value on the side
  of the skew is set to the next value inward) up to ``max_winsorised`` points; if it still fails, the
  winsorisation is undone and the original values are log-transformed in an order-preserving way:
  ``ln(x - min + 1)`` for positive skew, ``-ln(max - x + 1)`` for negative skew.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError, one_of
from ..periods import frequency_of

__all__ = ["IMPUTATION_METHODS", "annualise", "denominate", "impute", "screen_units", "skew_kurtosis",
           "treat_outliers", "LOG_COLUMNS"]

IMPUTATION_METHODS = ("none", "mean", "median", "locf", "linear")
LOG_COLUMNS = ["unit", "period", "indicator", "stage", "method", "old_value", "new_value"]


def _empty_log() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("old_value", "new_value") else object)
                         for c in LOG_COLUMNS})


def annualise(observations: pd.DataFrame, rules: dict[str, str] | pd.Series | None = None,
              prefer_annual: bool = True) -> pd.DataFrame:
    """Make sub-annual observations annual, indicator by indicator.

    Parameters
    ----------
    observations : long table ``unit, period, indicator, value`` (+ optional ``se``).
    rules : ``temporal_aggregation`` per indicator (``mean``, ``sum``, ``last``); missing means ``mean``.
    prefer_annual : where a unit-year-indicator has both an annual value and sub-annual values, keep the annual
        value and ignore the others (True, the default; their number is in ``result.attrs["sub_annual_ignored"]``)
        or refuse (False).

    Returns
    -------
    DataFrame ``unit, period (year), indicator, value, se, n_periods``.

    Examples
    --------
    >>> obs = pd.DataFrame({"unit": "u", "period": ["2024Q1", "2024Q2"], "indicator": "x",
    ...                     "value": [1.0, 3.0], "se": [0.3, 0.4]})
    >>> annualise(obs).round(3).to_dict("records")
    [{'unit': 'u', 'period': '2024', 'indicator': 'x', 'value': 2.0, 'se': 0.25, 'n_periods': 2}]
    """
    need = [c for c in ("unit", "period", "indicator", "value") if c not in observations.columns]
    if need:
        raise InputError(f"observations: missing column(s) {need}; expected unit, period, indicator, value")
    obs = observations[["unit", "period", "indicator", "value"]].reset_index(drop=True)
    obs["se"] = pd.to_numeric(observations["se"], errors="coerce").to_numpy(float) if "se" in observations.columns \
        else np.nan
    obs["unit"] = obs["unit"].astype(str)
    obs["indicator"] = obs["indicator"].astype(str)
    obs["period"] = obs["period"].astype(str)
    obs["value"] = pd.to_numeric(obs["value"], errors="coerce")
    periods = obs["period"].unique()  # a few dozen distinct periods among many rows: classify each once
    freq = obs["period"].map(dict(zip(periods, map(frequency_of, periods))))
    bad = obs.loc[freq.isna(), "period"].unique()
    if len(bad):
        raise InputError(f"observations.period: not a period: {list(bad[:5])} (expected 2024, 2024Q3 or 2024-07)")
    obs["year"] = obs["period"].str.slice(0, 4)
    obs["sub"] = freq != "A"
    key = ["unit", "year", "indicator"]
    mixed = obs.groupby(key)["sub"].agg(["any", "all"])
    mixed = mixed[mixed["any"] & ~mixed["all"]]
    ignored = 0
    if len(mixed):
        if not prefer_annual:
            ex = mixed.index[0]
            raise InputError(f"observations: {len(mixed)} unit-year-indicator(s) have both an annual and sub-annual "
                             f"values (e.g. unit {ex[0]}, {ex[1]}, {ex[2]}); give one frequency per indicator and "
                             "year, or let the annual value win (prefer_annual=True)")
        # The annual value wins: it is the properly computed annual figure (e.g. a ratio of annual sums).
        has_both = pd.MultiIndex.from_frame(obs[key]).isin(mixed.index)
        drop = has_both & obs["sub"].to_numpy()
        ignored = int(drop.sum())
        obs = obs[~drop]
    dup = obs.duplicated(["unit", "period", "indicator"])
    if dup.any():
        ex = obs.loc[dup].iloc[0]
        raise InputError(f"observations: {int(dup.sum())} duplicate unit-period-indicator rows (e.g. {ex['unit']}, "
                         f"{ex['period']}, {ex['indicator']})")
    rule = obs["indicator"].map(pd.Series(rules, dtype=object) if rules is not None else pd.Series(dtype=object))
    rule = rule.astype(object).where(rule.notna() & (rule.astype(str) != ""), "mean")
    badr = sorted(set(rule) - {"mean", "sum", "last"})
    if badr:
        raise InputError(f"temporal_aggregation: expected mean, sum or last, got {badr}")
    obs = obs.dropna(subset=["value"]).sort_values(key + ["period"])
    obs["se2"] = obs["se"] ** 2
    obs["rule"] = rule.loc[obs.index]
    g = obs.groupby(key, sort=False)
    agg = g.agg(mean=("value", "mean"), sum=("value", "sum"), last=("value", "last"), se2=("se2", "sum"),
                se_known=("se", "count"), se_last=("se", "last"), n_periods=("value", "size"),
                rule=("rule", "first")).reset_index()
    value = np.select([agg["rule"] == "sum", agg["rule"] == "last"], [agg["sum"], agg["last"]], agg["mean"])
    se_sum = np.where(agg["se_known"] == agg["n_periods"], np.sqrt(agg["se2"]), np.nan)
    se = np.select([agg["rule"] == "sum", agg["rule"] == "last"], [se_sum, agg["se_last"]], se_sum / agg["n_periods"])
    out = pd.DataFrame({"unit": agg["unit"], "period": agg["year"], "indicator": agg["indicator"],
                        "value": value.astype(float), "se": se.astype(float),
                        "n_periods": agg["n_periods"].astype(int)})
    out.attrs["sub_annual_ignored"] = ignored
    return out


def denominate(wide: pd.DataFrame, denominators: dict[str, tuple[str, float]],
               population: pd.DataFrame | None) -> pd.DataFrame:
    """Divide indicators by a population column: ``value * scale / population[column]`` for the unit and year.

    Parameters
    ----------
    wide : wide table indexed by ``(unit, period)``; periods are years.
    denominators : ``{indicator: (population column, scale)}`` for the indicators to denominate.
    population : ``code, year, <columns>``.

    Examples
    --------
    >>> w = pd.DataFrame({"x": [50.0]}, index=pd.MultiIndex.from_tuples([("u", "2024")], names=["unit", "period"]))
    >>> pop = pd.DataFrame({"code": ["u"], "year": [2024], "residents": [100000]})
    >>> denominate(w, {"x": ("residents", 10000)}, pop)["x"].tolist()
    [5.0]
    """
    if not denominators:
        return wide.copy()
    if population is None:
        raise InputError(f"population: indicators {sorted(denominators)} name a denominator but no population "
                         "table was given")
    pop = population.copy()
    pop["code"] = pop["code"].astype(str)
    pop["year"] = pop["year"].astype(str).str.slice(0, 4)
    pop = pop.drop_duplicates(["code", "year"]).set_index(["code", "year"])
    out = wide.copy()
    keys = pd.MultiIndex.from_arrays([wide.index.get_level_values(0).astype(str),
                                      wide.index.get_level_values(1).astype(str).str.slice(0, 4)])
    for ind, (col, scale) in denominators.items():
        if ind not in out.columns:
            continue
        if col not in pop.columns:
            raise InputError(f"framework.denominator: indicator {ind} names population column {col!r}, which the "
                             f"population table does not have (columns: {list(pop.columns)})")
        den = pop[col].astype(float).reindex(keys).to_numpy()
        with np.errstate(all="ignore"):
            out[ind] = out[ind].to_numpy(float) * float(scale) / np.where(den > 0, den, np.nan)
    return out


def impute(wide: pd.DataFrame, method: str = "none", *, peer_group: pd.Series | np.ndarray | None = None,
           by_group: bool = False, max_carry: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill missing values; return ``(filled, log)`` with one log row per imputed point.

    Parameters
    ----------
    wide : wide table indexed by ``(unit, period)``.
    method : one of :data:`IMPUTATION_METHODS`.
    peer_group : one label per row (used with ``by_group=True``).
    by_group : mean/median within the unit's peer group and period instead of the whole period.
    max_carry : ``locf`` carries a value forward at most this many periods.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_product([["a", "b", "c"], ["2023"]], names=["unit", "period"])
    >>> w = pd.DataFrame({"x": [1.0, np.nan, 3.0]}, index=idx)
    >>> filled, log = impute(w, "mean")
    >>> filled["x"].tolist(), log["method"].tolist()
    ([1.0, 2.0, 3.0], ['mean'])
    """
    one_of(method, IMPUTATION_METHODS, "imputation")
    if method == "none":
        return wide.copy(), _empty_log()
    units = wide.index.get_level_values(0)
    periods = wide.index.get_level_values(1)
    if method in ("mean", "median"):
        keys = [periods]
        if by_group:
            if peer_group is None:
                raise InputError("imputation: by_group=True needs a peer group per unit (units.peer_group)")
            keys.append(np.asarray(peer_group))
        fill = wide.groupby(keys, sort=False).transform(method)
        filled = wide.where(wide.notna(), fill)
    else:
        order = np.lexsort((np.asarray(periods, dtype=str), np.asarray(units, dtype=str)))
        s = wide.iloc[order]
        g = s.groupby(s.index.get_level_values(0), sort=False)
        if method == "locf":
            if max_carry < 1:
                raise InputError(f"max_carry: expected a positive number of periods, got {max_carry}")
            f = g.ffill(limit=int(max_carry))
        else:
            f = g.transform(lambda c: c.interpolate(method="linear", limit_area="inside"))
        filled = f.iloc[np.argsort(order)]
        filled.index = wide.index
    return filled, _log_changes(wide, filled, "imputed", method if not by_group else f"{method}_by_group")


def _log_changes(before: pd.DataFrame, after: pd.DataFrame, stage: str, method) -> pd.DataFrame:
    b, a = before.to_numpy(float), after.to_numpy(float)
    changed = ~((b == a) | (np.isnan(b) & np.isnan(a)))
    r, c = np.nonzero(changed)
    if len(r) == 0:
        return _empty_log()
    meth = np.asarray(method, dtype=object)
    multi = isinstance(before.index, pd.MultiIndex)
    return pd.DataFrame({
        "unit": before.index.get_level_values(0)[r].astype(str),
        "period": before.index.get_level_values(1)[r].astype(str) if multi else "",
        "indicator": np.asarray(before.columns)[c], "stage": stage,
        "method": meth[c] if meth.ndim else meth.item(), "old_value": b[r, c], "new_value": a[r, c]})


def screen_units(wide: pd.DataFrame, min_coverage: float = 0.0, columns=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop unit-periods whose share of available indicators (``columns``) is below ``min_coverage``.

    Returns ``(kept, dropped)`` where ``dropped`` lists ``unit, period, coverage``.

    Examples
    --------
    >>> idx = pd.MultiIndex.from_tuples([("a", "2023"), ("b", "2023")], names=["unit", "period"])
    >>> w = pd.DataFrame({"x": [1.0, np.nan], "y": [1.0, np.nan]}, index=idx)
    >>> kept, dropped = screen_units(w, 0.5)
    >>> list(kept.index.get_level_values(0)), dropped["unit"].tolist()
    (['a'], ['b'])
    """
    if not 0 <= min_coverage <= 1:
        raise InputError(f"screening threshold: expected a share between 0 and 1, got {min_coverage}")
    cols = list(wide.columns) if columns is None else list(columns)
    cov = wide[cols].notna().mean(axis=1) if cols else pd.Series(1.0, index=wide.index)
    keep = cov >= min_coverage
    dropped = pd.DataFrame({"unit": wide.index.get_level_values(0)[~keep.to_numpy()].astype(str),
                            "period": wide.index.get_level_values(1)[~keep.to_numpy()].astype(str),
                            "coverage": cov[~keep].to_numpy()})
    return wide[keep.to_numpy()], dropped


def skew_kurtosis(x) -> tuple[float, float]:
    """Sample (bias-corrected, type-2) skewness G1 and excess kurtosis G2 of the non-missing values.

    Examples
    --------
    >>> g1, g2 = skew_kurtosis([1, 2, 3, 4, 100])
    >>> round(g1, 4), round(g2, 4)
    (2.2324, 4.9869)
    """
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    if len(a) < 4 or np.ptp(a) == 0:
        return 0.0, 0.0
    return float(stats.skew(a, bias=False)), float(stats.kurtosis(a, bias=False))


def treat_outliers(wide: pd.DataFrame, *, max_winsorised: int = 5, skew_limit: float = 2.0,
                   kurtosis_limit: float = 3.5, log_if_failing: bool = True,
                   columns=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Winsorise (then log-transform) indicators whose distribution fails the skewness/kurtosis check.

    Statistics are pooled over all rows (all units and periods), matching pooled normalisation.

    Returns
    -------
    treated : the treated wide table.
    log : one row per changed point (``stage="treated"``, ``method`` winsorised or log).
    summary : per indicator ``skew_before, kurtosis_before, n_winsorised, log_transformed, skew_after,
        kurtosis_after, passes``.

    Examples
    --------
    >>> w = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 100]})
    >>> treated, log, summary = treat_outliers(w)
    >>> float(treated["x"].max()), int(summary.loc["x", "n_winsorised"])
    (9.0, 1)
    """
    if max_winsorised < 0:
        raise InputError(f"max_winsorised: expected 0 or more points, got {max_winsorised}")
    out = wide.copy()
    cols = list(wide.columns) if columns is None else list(columns)
    logs, rows = [], []

    def fails(v):
        s, k = skew_kurtosis(v)
        return (abs(s) >= skew_limit) and (k >= kurtosis_limit), s, k

    for col in cols:  # a loop over indicators (tens), not over units: fine off the hot path
        x = wide[col].to_numpy(float)
        bad, s0, k0 = fails(x)
        y = x.copy()
        n_w, logged = 0, False
        while bad and n_w < max_winsorised:
            ok = ~np.isnan(y)
            _, s, _ = fails(y)
            vals = np.sort(y[ok])
            if s > 0:
                y[ok & (y == vals[-1])] = vals[vals < vals[-1]].max() if (vals < vals[-1]).any() else vals[-1]
            else:
                y[ok & (y == vals[0])] = vals[vals > vals[0]].min() if (vals > vals[0]).any() else vals[0]
            n_w += 1
            bad, _, _ = fails(y)
        if bad and log_if_failing:
            y = x.copy()
            with np.errstate(all="ignore"):
                y = np.log(y - np.nanmin(y) + 1) if s0 > 0 else -np.log(np.nanmax(y) - y + 1)
            logged, n_w = True, 0
            bad, _, _ = fails(y)
        s1, k1 = skew_kurtosis(y)
        out[col] = y
        rows.append({"indicator": col, "skew_before": s0, "kurtosis_before": k0, "n_winsorised": n_w,
                     "log_transformed": logged, "skew_after": s1, "kurtosis_after": k1, "passes": not bad})
        if logged or n_w:
            logs.append(_log_changes(wide[[col]], out[[col]], "treated", "log" if logged else "winsorised"))
    summary = pd.DataFrame(rows).set_index("indicator") if rows else pd.DataFrame(
        columns=["skew_before", "kurtosis_before", "n_winsorised", "log_transformed", "skew_after",
                 "kurtosis_after", "passes"])
    log = pd.concat(logs, ignore_index=True) if logs else _empty_log()
    return out, log, summary
