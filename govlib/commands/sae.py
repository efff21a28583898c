"""``govlib sae``: Fay-Herriot small-area estimates (EBLUP and MSE) from a table of direct estimates."""
from __future__ import annotations

NAME = "sae"
HELP = "Fay-Herriot small-area estimation: EBLUP and MSE by REML, ML or the FH moment method (as R sae::eblupFH)"
DESCRIPTION = (
    "Fit the Fay-Herriot area-level model to one row per area (a direct estimate and its sampling variance, plus "
    "covariates) and write the EBLUP with its MSE (Prasad-Rao with the Datta-Lahiri / Datta-Rao-Smith terms, as "
    "R sae::mseFH). The model variance A by --method REML (default), ML or FH (moment). Output columns: the --area "
    "column, direct, vardir, synthetic, gamma, eblup, mse, g1, g2, g3, cv_direct, cv_eblup, method, refvar.")


def add_arguments(parser) -> None:
    parser.add_argument("--data", required=True, help="one row per area: .csv, .xlsx or .parquet")
    parser.add_argument("--direct", required=True, help="column of direct estimates")
    var = parser.add_mutually_exclusive_group(required=True)
    var.add_argument("--vardir", help="column of the direct estimates' sampling variances")
    var.add_argument("--se", help="column of the direct estimates' standard errors (squared to variances)")
    parser.add_argument("--area", help="area label column (kept as text, e.g. 12-digit codes)")
    parser.add_argument("--factors", default="", help="categorical covariates (treatment-coded, first level dropped)")
    parser.add_argument("--covariates", default="", help="numeric covariates, comma-separated")
    parser.add_argument("--method", default="REML", choices=["REML", "ML", "FH"],
                        help="estimator of the model variance (default REML, as sae)")
    parser.add_argument("--max-iter", type=int, default=100, help="Fisher-scoring steps at most (default 100)")
    parser.add_argument("--out", required=True, help="output .csv or .parquet")


def run(args) -> int:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from ..data.store import write_table
    from ..errors import InputError
    from ..survey.smallarea import design_matrix, fay_herriot
    from .trend import read_table

    factors = [c.strip() for c in args.factors.split(",") if c.strip()]
    numeric = [c.strip() for c in args.covariates.split(",") if c.strip()]
    if not str(args.out).lower().endswith((".csv", ".parquet")):
        raise InputError(f"--out {args.out}: expected a .csv or .parquet file name")
    text = [c for c in [args.area, *factors] if c]
    df = read_table(args.data, text)
    varcol = args.vardir or args.se
    needed = [args.direct, varcol, *text, *numeric]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"{args.data}: columns {missing} not found; the table has {list(df.columns)[:20]}")
    values = {}
    for c in [args.direct, varcol, *numeric]:
        x = pd.to_numeric(df[c], errors="coerce")
        bad = x.isna()
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy())[:6] + 2).tolist()
            raise InputError(f"{args.data}: column '{c}' needs a number in every row; rows {rows} have "
                             f"{df[c][bad].astype(str).unique()[:5].tolist()}")
        values[c] = x.to_numpy(float)
    for c in factors:
        if df[c].isna().any():
            raise InputError(f"{args.data}: factor column '{c}' has empty values")
    if args.area and df[args.area].duplicated().any():
        raise InputError(f"{args.data}: area column '{args.area}' repeats "
                         f"{df[args.area][df[args.area].duplicated()].unique()[:5].tolist()}; one row per area")
    vardir = values[varcol] ** 2 if args.se else values[varcol]
    X = design_matrix(df.assign(**{c: values[c] for c in numeric}), factors=factors, numeric=numeric)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError(f"covariates {factors + numeric}: the design matrix is rank deficient (a level with no "
                         f"area, or collinear covariates)")
    fit = fay_herriot(values[args.direct], vardir, X, method=args.method, max_iter=args.max_iter,
                      area=df[args.area].to_numpy() if args.area else None)
    if not fit.converged:
        raise InputError(f"Fay-Herriot ({args.method}) did not converge in {args.max_iter} steps; raise --max-iter")
    out = fit.to_frame()
    if args.area:
        out = out.rename(columns={"area": args.area})
    write_table(out, Path(args.out))
    print(f"{args.out}: {len(out)} areas; {args.method} model variance A = {fit.refvar:.6g}, "
          f"beta = {np.round(fit.beta, 6).tolist()}")
    return 0
