"""``govlib survey``: design-based estimates with SEs from a survey data file (CSV or Parquet)."""
from __future__ import annotations

from . import rate

NAME = "survey"
HELP = "design-based means, totals, proportions or ratios with standard errors (as R's survey package)"
DESCRIPTION = (
    "Estimate means, totals, proportions or ratios with standard errors, overall or by domain, for a stratified "
    "one- or two-stage cluster sample: Taylor-linearised (default) or from replicate weights (--replicates: JK1, "
    "JKn, BRR, Fay, bootstrap made from the design as R's as.svrepdesign, or --repweights supplied with the data "
    "as svrepdesign). Calibrate the weights first with --poststratify or --rake and a --margins file (as R's "
    "postStratify/rake). --subset estimates for part of the sample while keeping the whole design for the "
    "variance (domain estimation, as R's subset of a design). Without --weight the weights follow from the fpc as "
    "in R. Writes a CSV with the --by columns, variable, estimate, se, ci_low, ci_high, n, deff.")

REPLICATE_CHOICES = ["auto", "JK1", "JKn", "BRR", "Fay", "bootstrap", "other"]
SUBSET_OPS = ("==", "!=", ">=", "<=", ">", "<", "=")


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
    parser.add_argument("--stat", default="mean", choices=["mean", "total", "prop", "ratio"], help="statistic")
    parser.add_argument("--denominator", help="with --stat ratio: denominator column(s), one per --var")
    parser.add_argument("--subset", action="append", default=[], metavar="'COL OP VALUE'",
                        help="estimate for the rows where COL OP VALUE holds (OP one of == != >= <= > <; VALUE may "
                             "be a comma list with == and !=); repeat for AND. The whole design stays for the "
                             "variance (domain estimation, R's subset())")
    parser.add_argument("--lonely-psu", default="fail", choices=["fail", "remove", "certainty", "adjust", "average"],
                        help="strata with a single PSU (default: fail, as R)")
    parser.add_argument("--level", type=rate, default=0.95, help="confidence level (default 0.95)")
    parser.add_argument("--ci", default=None, choices=["t", "normal"],
                        help="CI quantile: t with the design df (default for linearisation) or normal (default "
                             "with replicate weights, as R's confint)")
    cal = parser.add_argument_group("calibration (R postStratify / rake)")
    cal.add_argument("--poststratify", metavar="COLS",
                     help="post-stratify to the population counts of the cells of these column(s) in --margins")
    cal.add_argument("--rake", metavar="COLS", help="rake to the margins of these columns (one margin per column)")
    cal.add_argument("--margins", metavar="FILE",
                     help="population counts: long form with columns variable, level, count (one margin per "
                          "variable), or for --poststratify the cell column(s) and one count column")
    cal.add_argument("--rake-epsilon", type=float, default=1.0,
                     help="raking stops when no cell's weighted count changes by this much in a pass (R: 1; "
                          "below 1 relative to the sum of the weights)")
    cal.add_argument("--rake-max-iter", type=int, default=10, help="at most this many raking passes (R: 10)")
    cal.add_argument("--rake-strict", action="store_true",
                     help="raking that has not converged is an error (default: a warning, as R)")
    rep = parser.add_argument_group("replicate weights (R as.svrepdesign / svrepdesign)")
    rep.add_argument("--replicates", choices=REPLICATE_CHOICES,
                     help="replicate-weight variance: made from the design (auto = JK1 unstratified, else JKn), or "
                          "the type of the --repweights columns")
    rep.add_argument("--repweights", help="replicate-weight columns supplied with the data (comma list, or a "
                                          "prefix ending in *, e.g. 'repw*')")
    rep.add_argument("--fay-rho", type=float, default=0.5, help="Fay's factor for --replicates Fay (default 0.5)")
    rep.add_argument("--n-replicates", type=int, default=50, help="bootstrap replicates (default 50)")
    rep.add_argument("--seed", type=int, default=None, help="seed of the bootstrap replicates")
    rep.add_argument("--rep-scale", type=float, default=None,
                     help="variance scale of supplied replicate weights (default by type, as R)")
    rep.add_argument("--mse", action="store_true",
                     help="centre the replicate variance at the full-sample estimate (default: the replicates' mean)")
    parser.add_argument("--out", required=True, help="output CSV")


def _read(path: str, text_columns):
    import pandas as pd

    from ..errors import InputError

    try:
        if str(path).lower().endswith((".parquet", ".pq")):
            df = pd.read_parquet(path)
            for c in text_columns:
                if c in df.columns:
                    df[c] = df[c].where(df[c].isna(), df[c].astype(str))
            return df
        return pd.read_csv(path, dtype={c: str for c in text_columns})
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None


def _split(value):
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def code_column_reason(name: str, values, roles: dict) -> str | None:
    """Why a column cannot be a variable for a mean, total or ratio (None when it can).

    A design or domain column, a column the survey schema declares as an identifier or category (unit codes,
    respondent ids, strata, PSUs, waves, sex, age group), or integers of 9 or more digits (statistical codes).
    """
    import numpy as np
    import pandas as pd

    from ..data.schema import SPECS

    if name in roles:
        return f"it is the {roles[name]} column"
    spec = SPECS.get("survey_responses") if isinstance(SPECS, dict) else None
    if spec is not None:
        kinds = {c.name: c.kind for c in spec.columns}
        if name in kinds and kinds[name] not in ("float", "int"):
            return f"the survey_responses schema declares it a {kinds[name]} column, not a measurement (docs/data.md)"
    x = pd.to_numeric(values, errors="coerce")
    ok = x.notna()
    if ok.any():
        v = x[ok].to_numpy(float)
        if np.all(v == np.round(v)) and np.all(np.abs(v) >= 1e8):
            return "its values are integers of 9 or more digits (statistical codes)"
    return None


def parse_subset(data, conditions):
    """Boolean row mask of the --subset conditions (AND); InputError naming the condition on a mistake."""
    import numpy as np
    import pandas as pd

    from ..errors import InputError

    mask = np.ones(len(data), dtype=bool)
    for cond in conditions:
        op = next((o for o in SUBSET_OPS if o in cond), None)
        if op is None:
            raise InputError(f"--subset {cond!r}: expected 'COLUMN OP VALUE' with OP one of {', '.join(SUBSET_OPS[:-1])}")
        col, value = (part.strip() for part in cond.split(op, 1))
        value = value.strip("'\"")
        if col not in data.columns:
            raise InputError(f"--subset {cond!r}: column '{col}' not found; columns are {list(data.columns)[:20]}")
        s = data[col]
        if op in ("==", "=", "!="):
            wanted = [v.strip().strip("'\"") for v in value.split(",")]
            hit = s.astype(str).isin(wanted).to_numpy()
            num = pd.to_numeric(pd.Series(wanted), errors="coerce")
            if num.notna().all() and pd.api.types.is_numeric_dtype(s):
                hit = hit | s.isin(num.tolist()).to_numpy()
            mask &= hit if op != "!=" else ~hit
        else:
            x = pd.to_numeric(s, errors="coerce").to_numpy(float)
            try:
                v = float(value)
            except ValueError:
                raise InputError(f"--subset {cond!r}: {op} needs a number, got {value!r}") from None
            with np.errstate(invalid="ignore"):
                mask &= {">=": x >= v, "<=": x <= v, ">": x > v, "<": x < v}[op]
    if conditions and not mask.any():
        raise InputError(f"--subset {' AND '.join(conditions)}: no row of the data satisfies it")
    return mask


def read_margins(path: str, columns: list[str], wide_ok: bool):
    """One population table per margin from a --margins file (long ``variable, level, count`` or wide)."""
    import pandas as pd

    from ..errors import InputError

    table = _read(path, [])
    table.columns = [str(c).strip() for c in table.columns]
    if {"variable", "level", "count"} <= set(table.columns):
        long = table.astype({"variable": str, "level": str})
        out = []
        for col in columns:
            part = long[long["variable"] == col]
            if part.empty:
                raise InputError(f"--margins {path}: no rows for variable '{col}' (variables there: "
                                 f"{sorted(long['variable'].unique())[:10]})")
            out.append(pd.DataFrame({col: part["level"].to_numpy(), "count": part["count"].to_numpy()}))
        return out
    if wide_ok and set(columns) <= set(table.columns) and len(table.columns) == len(columns) + 1:
        return [table.astype({c: str for c in columns})]
    raise InputError(f"--margins {path}: expected columns variable, level, count (or, for --poststratify, the cell "
                     f"columns {columns} and one count column); found {list(table.columns)}")


def run(args) -> int:
    import numpy as np

    from ..errors import InputError
    from ..survey.calibrate import poststratify, rake
    from ..survey.estimate import estimate, make_design
    from ..survey import replicate as rep

    if not 0 < args.level < 1:
        raise InputError(f"--level {args.level}: expected a confidence level between 0 and 1")
    if not str(args.out).lower().endswith((".csv", ".parquet")):
        raise InputError(f"--out {args.out}: expected a .csv or .parquet file name")
    by = _split(args.by)
    variables = _split(args.var)
    dens = _split(args.denominator)
    cal_cols = _split(args.poststratify) or _split(args.rake)
    if args.poststratify and args.rake:
        raise InputError("--poststratify and --rake: choose one calibration")
    if cal_cols and not args.margins:
        raise InputError("--poststratify/--rake need --margins FILE with the population counts")
    if args.stat == "ratio" and len(dens) != len(variables):
        raise InputError(f"--stat ratio needs one --denominator per --var (got {variables} and {dens})")
    if args.stat != "ratio" and dens:
        raise InputError("--denominator is only for --stat ratio")
    roles = {c: role for role, cols in (("strata", [args.strata]), ("cluster (PSU/SSU)", _split(args.psu)),
                                        ("fpc", _split(args.fpc)), ("domain (--by)", by)) for c in cols if c}
    text_cols = [c for c in [args.strata, *_split(args.psu), *by, *cal_cols] if c]
    data = _read(args.data, text_cols)
    for v in variables + dens:
        if v not in data.columns:
            raise InputError(f"--var/--denominator: column '{v}' not found in {args.data}; columns are "
                             f"{list(data.columns)[:20]}")
        if args.stat != "prop":
            why = code_column_reason(v, data[v], roles)
            if why:
                raise InputError(f"--var {v}: '{v}' cannot be averaged or summed: {why}; use it in --by for "
                                 f"domains, or --stat prop for the share of each value")
    subset = parse_subset(data, args.subset)
    populations = read_margins(args.margins, cal_cols, wide_ok=bool(args.poststratify)) if cal_cols else None

    use_rep = bool(args.replicates or args.repweights)
    if args.repweights:
        kind = args.replicates or "other"
        if kind == "auto":
            raise InputError("--repweights: give the type of the supplied weights with --replicates "
                             "(JK1, JKn, BRR, Fay, bootstrap or other)")
        design = rep.replicate_design(data, args.repweights, weight=args.weight, type=kind,
                                      scale=args.rep_scale, fay_rho=args.fay_rho if kind == "Fay" else None,
                                      mse=args.mse)
    else:
        design = make_design(data, weight=args.weight, strata=args.strata, clusters=args.psu, fpc=args.fpc,
                             fpc_kind=args.fpc_kind, lonely_psu=args.lonely_psu)
        if use_rep:
            design = rep.as_replicate_design(design, args.replicates, fay_rho=args.fay_rho,
                                             replicates=args.n_replicates, seed=args.seed, mse=args.mse)
            for note in design.notes:
                print(f"note: {note}")
    if cal_cols:
        if args.poststratify:
            design = (rep.replicate_poststratify if use_rep else poststratify)(design, data, cal_cols, populations[0])
        elif use_rep:
            eps = args.rake_epsilon if args.rake_epsilon < 1 else args.rake_epsilon / float(np.sum(design.weight))
            design = rep.replicate_rake(design, data, cal_cols, populations, epsilon=eps, max_iter=args.rake_max_iter)
        else:
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                design = rake(design, data, cal_cols, populations, epsilon=args.rake_epsilon,
                              max_iter=args.rake_max_iter, on_nonconvergence="error" if args.rake_strict else "warn")
            for w in caught:
                print(f"warning: {w.message}")
    frame = data
    if args.subset:
        # rows outside the subset leave every variable's domain: the design (PSUs, strata) stays whole
        frame = data.copy()
        for v in dict.fromkeys(variables + dens):
            frame[v] = frame[v].where(subset)
    ci = args.ci or ("normal" if use_rep else "t")
    empty = "nan" if args.subset else "error"
    if use_rep:
        result = rep.replicate_estimate(design, frame, variables, by=by or None, stat=args.stat,
                                        denominator=dens or None, level=args.level, ci=ci, empty=empty)
    else:
        result = estimate(design, frame, variables, by=by or None, stat=args.stat, denominator=dens or None,
                          level=args.level, ci=ci, empty=empty)
    if args.subset:
        result = result[result["n"] > 0]
    cols = by + ["variable", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    from pathlib import Path

    from ..data.store import write_table

    write_table(result[cols], Path(args.out))
    print(f"{args.out}: {len(result)} estimates")
    return 0
