"""``govlib trend``: Mann–Kendall, Sen's slope and Pettitt for every series of a table, to CSV."""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from . import rate
from ..errors import InputError
from ..data.store import write_table
from ..trend.mannkendall import TREND_COLUMNS, trend_table

NAME = "trend"
HELP = "trend tests (Mann–Kendall, Sen's slope, Pettitt) for every series of a table"
DESCRIPTION = (
    "Mann–Kendall test (tie-corrected variance, continuity correction; tau-b), Sen's slope with its confidence "
    "interval (per year for period or date time columns), and Pettitt's change point, for every group of the "
    "--by columns. With --season, the seasonal Mann–Kendall test and the seasonal Sen slope. Output columns: the "
    "--by columns, " + ", ".join(TREND_COLUMNS) + ". change_point is the time label of the last observation before "
    "the shift; series with fewer than 4 values get no test.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="input table (.csv, .xlsx or .parquet)")
    parser.add_argument("--time", required=True, help="time column: periods (2024, 2024Q3, 2024-07), years or dates")
    parser.add_argument("--value", required=True, help="value column")
    parser.add_argument("--by", default="", help="comma-separated grouping columns (one series per group)")
    parser.add_argument("--season", default=None, help="season column: seasonal test and seasonal slope")
    parser.add_argument("--seasonal-covariance", default="none", choices=["none", "hirsch_slack_1984"],
                        help="with --season: seasons independent (none, as R trend::smk.test) or the Hirsch & "
                             "Slack (1984) covariance for serially dependent seasons")
    parser.add_argument("--alpha", type=rate, default=0.05, help="significance level of the trend word (0.05)")
    parser.add_argument("--conf-level", type=rate, default=0.95, help="Sen slope confidence level (0.95)")
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


def run(args) -> int:
    by = [c.strip() for c in args.by.split(",") if c.strip()]
    text_cols = by + [args.time] + ([args.season] if args.season else [])
    df = read_table(args.data, text_cols)
    result = trend_table(df, args.time, args.value, by=by, season=args.season, alpha=args.alpha,
                         conf_level=args.conf_level, seasonal_covariance=args.seasonal_covariance)
    out = result[by + TREND_COLUMNS]
    write_table(out, Path(args.out))
    n_tested = int((result["test"] == "ok").sum())
    print(f"{len(out)} series ({n_tested} tested) -> {args.out}")
    return 0
