"""``govlib index``: compute any composite index from a framework file and a long data file.

Example (the UNDP Human Development Index, see ``examples/hdi/README.md``)::

    govlib index --framework examples/hdi/framework.yaml --data examples/hdi/data.csv --out hdi_scores.csv

The output CSV has one row per unit, period and node: ``unit, period, node, score, rank`` (the score on the
framework's scale; rank 1 = best within the period and node).
"""
from __future__ import annotations

NAME = "index"
HELP = "compute a composite index: --framework F (YAML/CSV/XLSX) --data D (long CSV) --out O (CSV)"
DESCRIPTION = (
    "Compute a composite index from a framework file (YAML with a 'nodes:' list, or a CSV/XLSX table with one row "
    "per node: code, parent, direction, weight, goalposts, transform, normalisation, aggregation ...) and a long data "
    "file with columns unit, period, indicator, value. Writes unit, period, node, score, rank."
)


def add_arguments(parser) -> None:
    parser.add_argument("--framework", required=True, help="framework file (.yaml, .csv or .xlsx)")
    parser.add_argument("--data", required=True, help="long data file with columns unit, period, indicator, value")
    parser.add_argument("--out", required=True, help="output CSV: unit, period, node, score, rank")
    parser.add_argument("--units", help="optional units table (code, level, kind, peer_group): benchmarks, peers")
    parser.add_argument("--normalisation", default="minmax",
                        help="default normalisation where the framework names none (default minmax)")
    parser.add_argument("--aggregation", default="arithmetic",
                        help="default aggregation where the framework names none (default arithmetic)")
    parser.add_argument("--per-period", action="store_true",
                        help="normalise within each period (default: pooled over all periods)")
    parser.add_argument("--imputation", default="none", help="none, mean, median, locf or linear (default none)")
    parser.add_argument("--coverage-threshold", type=float, default=0.5,
                        help="minimum share of a node's weight with data (default 0.5)")
    parser.add_argument("--scale", nargs=2, type=float, metavar=("LOW", "HIGH"),
                        help="score scale (default: the framework's 'scale', else 0 100; CSV/XLSX frameworks "
                             "cannot carry one)")
    parser.add_argument("--details", action="store_true",
                        help="also write peer_rank and coverage columns")


def run(args) -> int:
    from pathlib import Path

    from ..errors import Problem, ValidationError
    from ..data.framework import load_framework
    from ..index.composite import CompositeIndex
    from ..data.schema import read_table_file
    from ..data.store import atomic_path

    out = _output_path(args)  # before any work: a wrong --out must not cost the computation
    framework = load_framework(args.framework)
    data = read_table_file(args.data, dtype_text=("unit", "period", "indicator"))
    need = [c for c in ("unit", "period", "indicator", "value") if c not in data.columns]
    if need:
        raise ValidationError([Problem(Path(args.data).name, 1, c, None, "required column is missing "
                                       "(expected unit, period, indicator, value)") for c in need])
    data = _numeric(data, Path(args.data).name)
    units = None
    if args.units:
        units = read_table_file(args.units, dtype_text=("code",))
    ci = CompositeIndex(data, framework, units=units, normalisation=args.normalisation,
                        aggregation=args.aggregation, pooled=not args.per_period, imputation=args.imputation,
                        coverage_threshold=args.coverage_threshold,
                        scale=tuple(args.scale) if args.scale else None)
    cols = ["unit", "period", "node", "score", "rank"] + (["peer_rank", "coverage"] if args.details else [])
    with atomic_path(out) as tmp:  # a failed write leaves neither a half file nor a temporary behind
        ci.scores[cols].to_csv(tmp, index=False, float_format="%.10g")
    root = ci.root
    n_units = ci.scores.loc[ci.scores["node"] == root, "unit"].nunique()
    print(f"govlib index: {n_units} units x {len(ci.periods)} period(s) x {ci.scores['node'].nunique()} nodes "
          f"-> {out}")
    return 0


def _output_path(args):
    """``--out`` as a path to write, refused when it is a folder, its folder is missing, or it is an input file."""
    from pathlib import Path

    from ..errors import InputError

    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out: {out} is a folder; name a CSV file to write (e.g. {out / 'scores.csv'})")
    if not out.parent.is_dir():
        what = "is a file, not a folder" if out.parent.exists() else "does not exist"
        raise InputError(f"--out: folder {out.parent} {what}")
    inputs = [p for p in (args.framework, args.data, args.units) if p]
    if any(Path(p).exists() and Path(p).resolve() == out.resolve() for p in inputs):
        raise InputError(f"--out: {out} is one of the input files; govlib never overwrites its inputs")
    return out


def _numeric(data, file: str):
    import numpy as np
    import pandas as pd

    from ..errors import Problem, ValidationError
    from ..data.schema import parse_numbers

    values, bad, _ = parse_numbers(data["value"])
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        offset = data.attrs.get("row_offset", 2)
        rows = np.flatnonzero(bad)[:20]
        raise ValidationError([Problem(file, int(data.index[i]) + offset, "value", data["value"].iloc[i],
                                       "expected a number") for i in rows])
    out = data.copy()
    out["value"] = np.asarray(values, dtype=float)
    if "se" in out.columns:
        out["se"] = pd.to_numeric(out["se"], errors="coerce")
    return out
