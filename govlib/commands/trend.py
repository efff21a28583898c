"""``govlib trend``: Mann–Kendall, Sen's slope and Pettitt for every series of a table, to CSV."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from . import rate
from ..errors import InputError
from ..data.store import write_table
from ..trend.homogeneity import P_CONVENTIONS, TESTS, homogeneity_table
from ..trend.mannkendall import TREND_COLUMNS, trend_table

NAME = "trend"
HELP = "trend tests (Mann–Kendall, Sen's slope, Pettitt) or homogeneity tests (Buishand, SNHT) for every series"
DESCRIPTION = (
    "Mann–Kendall test (tie-corrected variance, continuity correction; tau-b), Sen's slope with its confidence "
    "interval (per year for period or date time columns), and Pettitt's change point, for every group of the "
    "--by columns. With --season, the seasonal Mann–Kendall test and the seasonal Sen slope. Output columns: the "
    "--by columns, " + ", ".join(TREND_COLUMNS) + ". change_point is the time label of the last observation before "
    "the shift; series with fewer than 4 values get no test. --variance hamed_rao uses the Hamed & Rao (1998) "
    "autocorrelation-corrected variance (adds hr_factor, hr_guard); --no-continuity drops the continuity "
    "correction (e.g. to reproduce pymannkendall's correlated seasonal test). --homogeneity runs the Buishand "
    "range, Buishand U and/or SNHT tests instead (as R trend br.test, bu.test, snh.test; Monte Carlo p-values): "
    "columns the --by columns, test_name, n, statistic, p, change_point, position, shift, test.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="input table (.csv, .xlsx or .parquet)")
    parser.add_argument("--time", required=True, help="time column: periods (2024, 2024Q3, 2024-07), years or dates")
    parser.add_argument("--value", required=True, help="value column")
    parser.add_argument("--by", default="", help="comma-separated grouping columns (one series per group)")
    parser.add_argument("--season", default=None, help="season column: seasonal test and seasonal slope")
    parser.add_argument("--seasonal-covariance", default="none", choices=["none", "hirsch_slack_1984"],
                        help="with --season: seasons independent (none, as R trend::smk.test) or the Hirsch & "
                             "Slack (1984) covariance for serially dependent seasons")
    parser.add_argument("--variance", default="original", choices=["original", "hamed_rao"],
                        help="var(S): tie-corrected (original, default) or Hamed & Rao (1998) for autocorrelation")
    parser.add_argument("--no-continuity", dest="continuity", action="store_false",
                        help="no continuity correction in z (default: corrected, as R trend; pymannkendall's "
                             "correlated seasonal test has none)")
    parser.add_argument("--alpha", type=rate, default=0.05,
                        help="significance level of the trend / shift word, in (0, 1) (default 0.05)")
    parser.add_argument("--conf-level", type=rate, default=0.95, help="Sen slope confidence level (0.95)")
    hom = parser.add_argument_group("homogeneity tests (R trend br.test / bu.test / snh.test)")
    hom.add_argument("--homogeneity", choices=list(TESTS) + ["all"],
                     help="run this homogeneity test (or all three) instead of the trend tests")
    hom.add_argument("--n-sim", type=int, default=20000, help="Monte Carlo replicates of the p-value (R: 20000)")
    hom.add_argument("--seed", type=int, default=None, help="seed of the Monte Carlo p-value")
    hom.add_argument("--rng", default="numpy", choices=["numpy", "R"],
                     help="random numbers: numpy, or R's set.seed(--seed) stream (reproduces R trend's p-values)")
    hom.add_argument("--p-convention", default="trend", choices=list(P_CONVENTIONS),
                     help="Monte Carlo p: as R trend (#sim > obs / m, default) or (1 + #sim >= obs) / (m + 1)")
    parser.add_argument("--out", required=True, help="output CSV")


def read_table(path: str, text_columns: list[str]) -> pd.DataFrame:
    """Read CSV (UTF-8, UTF-8 BOM or GB18030), XLSX or Parquet; ``text_columns`` stay text (codes, periods)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"--data: file not found: {path}")
    dtype = {c: str for c in text_columns}
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        df = pd.read_parquet(p)
        for c in text_columns:
            if c in df.columns and not pd.api.types.is_datetime64_any_dtype(df[c]):
                df[c] = df[c].astype(str)
        return df
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(p, dtype=dtype)
    if suffix in (".csv", ".txt"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return pd.read_csv(p, dtype=dtype, encoding=encoding, keep_default_na=True,
                                   na_values=["NA", "-", "—"])
            except UnicodeDecodeError:
                continue
        raise InputError(f"--data: {path} is neither UTF-8 nor GB18030 text")
    raise InputError(f"--data: unsupported file type {suffix!r}; expected .csv, .xlsx or .parquet")


def _check_level(value: float, flag: str) -> None:
    if not 0 < value < 1:
        raise InputError(f"{flag} {value}: expected a number strictly between 0 and 1 (e.g. 0.05)")


def run(args) -> int:
    _check_level(args.alpha, "--alpha")
    _check_level(args.conf_level, "--conf-level")
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    text_cols = by + [args.time] + ([args.season] if args.season else [])
    df = read_table(args.data, text_cols)
    if args.homogeneity:
        if args.season:
            raise InputError("--homogeneity tests one series per group; drop --season (or aggregate first)")
        if args.n_sim < 0:
            raise InputError(f"--n-sim {args.n_sim}: expected a number of replicates >= 0")
        if args.rng == "R" and args.seed is None:
            raise InputError("--rng R needs --seed (R's set.seed)")
        tests = list(TESTS) if args.homogeneity == "all" else [args.homogeneity]
        out = homogeneity_table(df, args.time, args.value, by=by, tests=tests, alpha=args.alpha,
                                n_sim=args.n_sim, seed=args.seed, rng=args.rng, p_convention=args.p_convention)
        write_table(out, Path(args.out))
        shifts = int((out["shift"] == "shift").sum())
        print(f"{len(out)} series x tests ({shifts} with a shift at alpha {args.alpha}) -> {args.out}")
        return 0
    result = trend_table(df, args.time, args.value, by=by, season=args.season, alpha=args.alpha,
                         conf_level=args.conf_level, seasonal_covariance=args.seasonal_covariance,
                         continuity=args.continuity, variance=args.variance)
    extra = [c for c in ("hr_factor", "hr_guard") if c in result.columns]
    out = result[by + TREND_COLUMNS + extra]
    write_table(out, Path(args.out))
    n_tested = int((result["test"] == "ok").sum())
    print(f"{len(out)} series ({n_tested} tested) -> {args.out}")
    return 0
