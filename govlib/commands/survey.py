"""``govlib survey``: design-based estimates with SEs from a survey data file (CSV or Parquet)."""
from __future__ import annotations

from . import rate

NAME = "survey"
HELP = "design-based means, totals or proportions with standard errors (as R's survey package)"
DESCRIPTION = ("Estimate means, totals or proportions with Taylor-linearised standard errors, overall or by "
               "domain, for a stratified one- or two-stage cluster sample. Without --weight the weights follow "
               "from the fpc as in R. Writes a CSV with the --by columns, variable, estimate, se, ci_low, "
               "ci_high, n, deff.")


def add_arguments(parser) -> None:
    parser.add_argument("--data", required=True, help="survey rows: a .csv or .parquet file")
    parser.add_argument("--var", required=True, help="variable(s) to estimate, comma-separated")
    parser.add_argument("--weight", help="sampling weight column (default: from the fpc, else 1)")
    parser.add_argument("--strata", help="stratum column")
    parser.add_argument("--psu", help="cluster column(s): PSU or PSU,SSU (default: each row is a PSU)")
    parser.add_argument("--fpc", help="fpc column(s), one per stage: population sizes unless --fpc-kind fraction")
    parser.add_argument("--fpc-kind", default="population", choices=["population", "fraction"],
                        help="fpc holds population sizes (R's convention, default) or sampling fractions")
    parser.add_argument("--by", help="domain column(s), comma-separated")
    parser.add_argument("--stat", default="mean", choices=["mean", "total", "prop"], help="statistic")
    parser.add_argument("--lonely-psu", default="fail", choices=["fail", "remove", "certainty", "adjust", "average"],
                        help="strata with a single PSU (default: fail, as R)")
    parser.add_argument("--level", type=rate, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--ci", default="t", choices=["t", "normal"],
                        help="CI quantile: t with the design df (default) or normal")
    parser.add_argument("--out", required=True, help="output CSV")


def _read(path: str):
    import pandas as pd

    from ..errors import InputError

    try:
        if str(path).lower().endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise InputError(f"--data {path}: file not found") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"--data {path}: cannot be read ({exc})") from None


def run(args) -> int:
    from ..survey.estimate import estimate, make_design

    data = _read(args.data)
    design = make_design(data, weight=args.weight, strata=args.strata, clusters=args.psu, fpc=args.fpc,
                         fpc_kind=args.fpc_kind, lonely_psu=args.lonely_psu)
    by = [c.strip() for c in args.by.split(",")] if args.by else None
    variables = [v.strip() for v in args.var.split(",") if v.strip()]
    result = estimate(design, data, variables, by=by, stat=args.stat, level=args.level, ci=args.ci)
    cols = (by or []) + ["variable", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    result[cols].to_csv(args.out, index=False, float_format="%.12g")
    print(f"{args.out}: {len(result)} estimates")
    return 0
