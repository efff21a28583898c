"""``govlib index``: compute any composite index from a framework file and a long data file.

Every choice of the Python API (:data:`govlib.index.composite.DEFAULT_CHOICES`) is reachable here: the common ones
as flags, all of them through a recipe file (``--recipe``, see :mod:`govlib.index.recipe`) or ``--set KEY=VALUE``.
Precedence: the defaults, then the recipe, then ``--set``, then the flags. ``--write-recipe`` saves the choices
actually used, so a run (from the CLI or from ``CompositeIndex.to_recipe``) replays exactly.

Examples (see ``examples/hdi/README.md`` and ``examples/asem/README.md``)::

    govlib index --framework examples/hdi/framework.yaml --data examples/hdi/data.csv --out hdi_scores.csv
    govlib index --recipe examples/asem/recipe.yaml --out asem_scores.csv --effective-weights asem_weights.csv

The output CSV has one row per unit, period and node: ``unit, period, node, score, rank`` (the score on the
framework's scale; rank 1 = best within the period and node); ``--details`` adds ``peer_rank`` and ``coverage``.
"""
from __future__ import annotations

NAME = "index"
HELP = "compute a composite index: --framework F --data D --out O, or --recipe R --out O"
DESCRIPTION = (
    "Compute a composite index from a framework file (YAML with a 'nodes:' list, or a CSV/XLSX table with one row "
    "per node: code, parent, direction, weight, and optionally goalposts, transform, denominator, normalisation, "
    "aggregation ...) and a long data file with columns unit, period, indicator, value (+ se). Every choice is a "
    "flag, a recipe entry (--recipe) or --set KEY=VALUE; docs/index.md lists them with their defaults."
)

# flag -> (choice, argparse kwargs); every default None so that a recipe's value stands unless the flag is given.
_FLAGS = {
    "--normalisation": ("normalisation", {"help": "default normalisation where the framework names none [minmax]: "
                                                  "minmax, zscore, goalposts, distance_to_target, "
                                                  "distance_to_reference, rank, percentile_rank, fraction_of_max, "
                                                  "ampi, ratio_to_mean, ratio_to_median"}),
    "--aggregation": ("aggregation", {"help": "default aggregation where the framework names none [arithmetic]: "
                                              "arithmetic, geometric, harmonic, generalised, mpi"}),
    "--imputation": ("imputation", {"help": "none, mean, median, locf or linear [none]"}),
    "--max-carry": ("max_carry", {"type": int, "help": "locf: carry at most this many periods [1]"}),
    "--screening-threshold": ("screening_threshold", {"type": float, "help": "drop unit-periods with a smaller "
                                                      "share of indicators available, 0-1 [0]"}),
    "--outliers": ("outliers", {"choices": ["none", "winsorise"], "help": "outlier treatment [none]"}),
    "--max-winsorised": ("max_winsorised", {"type": int, "help": "winsorise at most this many points per "
                                                                 "indicator [5]"}),
    "--coverage-threshold": ("coverage_threshold", {"type": float, "help": "minimum share of a node's weight with "
                                                                           "data [0.5]"}),
    "--reference-unit": ("reference_unit", {"help": "unit code of the reference for distance_to_reference"}),
    "--ddof": ("ddof", {"type": int, "help": "z-score SD: 1 = sample SD (OECD/JRC Handbook), 0 = population [1]"}),
    "--ties": ("ties", {"choices": ["average", "min", "max", "dense"], "help": "tie rule of rank "
                                                                               "normalisations [average]"}),
    "--rank-ties": ("rank_ties", {"choices": ["average", "min", "max", "dense"], "help": "tie rule of the result "
                                                                                         "ranks [min]"}),
    "--percentile": ("percentile", {"choices": ["(rank-1)/(n-1)", "rank/n"], "help": "percentile-rank convention "
                                    "[(rank-1)/(n-1)]; rank/n is the OECD/JRC Handbook's"}),
    "--p": ("p", {"type": float, "help": "order of the generalised mean [1]"}),
    "--zero-rule": ("zero_rule", {"choices": ["error", "epsilon"], "help": "geometric/harmonic means over values "
                                                                           "<= 0 [error]"}),
    "--base-period": ("base_period", {"help": "base period of the progress index [the first]"}),
    "--indicators": ("indicators", {"choices": ["all", "common"], "help": "all, or only scope 'all' "
                                                                          "indicators [all]"}),
}


def add_arguments(parser) -> None:
    parser.add_argument("--recipe", help="index recipe (YAML) with inputs and choices; flags override it")
    parser.add_argument("--framework", help="framework file (.yaml, .csv or .xlsx)")
    parser.add_argument("--data", help="long data file with columns unit, period, indicator, value (+ se)")
    parser.add_argument("--out", required=True, help="output CSV: unit, period, node, score, rank")
    parser.add_argument("--units", help="units table (code, level, kind, peer_group): benchmarks, unranked "
                                        "kinds, peer groups for --imputation-by-group and peer_rank")
    parser.add_argument("--population", help="denominator table: code, year and any numeric columns that the "
                                             "framework's 'denominator' names")
    parser.add_argument("--weights", help="weights file: CSV/XLSX with columns code, weight, or YAML code: weight "
                                          "(renormalised within each parent)")
    for flag, (_, kw) in _FLAGS.items():
        parser.add_argument(flag, default=None, **kw)
    parser.add_argument("--imputation-by-group", action="store_true", default=None,
                        help="mean/median imputation within the unit's peer group (units.peer_group)")
    parser.add_argument("--per-period", action="store_true", default=None,
                        help="normalise within each period (default: pooled over all periods)")
    parser.add_argument("--scale", nargs=2, type=float, metavar=("LOW", "HIGH"),
                        help="score scale (default: the framework's 'scale', else 0 100)")
    parser.add_argument("--exclude", nargs="+", metavar="CODE", help="indicator codes left out")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any other choice, VALUE in YAML (e.g. --set 'node_aggregation={Index: geometric}')")
    parser.add_argument("--write-recipe", metavar="FILE", help="write the recipe of this run (every choice)")
    parser.add_argument("--effective-weights", metavar="FILE",
                        help="write every node's weight: code, parent, level, is_leaf, weight, weight_in_parent, "
                             "effective")
    parser.add_argument("--details", action="store_true", help="also write peer_rank and coverage columns")


def run(args) -> int:
    from pathlib import Path

    from ..data.framework import load_framework
    from ..data.readers import read_table_file
    from ..data.store import atomic_path, atomic_write_text
    from ..errors import InputError
    from ..index.composite import DEFAULT_CHOICES, CompositeIndex

    inputs, choices, base = {}, {}, Path(".")
    if args.recipe:
        inputs, choices, base = _read_recipe(Path(args.recipe), DEFAULT_CHOICES)
    files = {k: (str(base / v) if v else None) for k, v in inputs.items()}
    for key in ("framework", "data", "units", "population", "weights"):
        if getattr(args, key):
            files[key] = getattr(args, key)
    for key in ("framework", "data"):
        if not files.get(key):
            raise InputError(f"--{key}: required (or name it under 'inputs' in the --recipe file)")
    choices.update(_set_choices(args.set, DEFAULT_CHOICES))
    for flag, (choice, _) in _FLAGS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        if value is not None:
            choices[choice] = value
    if args.imputation_by_group:
        choices["imputation_by_group"] = True
    if args.per_period:
        choices["pooled"] = False
    if args.scale:
        choices["scale"] = tuple(args.scale)
    if args.exclude:
        choices["exclude"] = tuple(args.exclude)
    if files.get("weights"):
        choices["weights"] = _read_weights(Path(files["weights"]))
        choices.setdefault("weight_set", Path(files["weights"]).stem)

    _output_path(Path(args.out), files)  # before any work: a wrong --out must not cost the computation
    framework = load_framework(files["framework"])
    data = _read_data(Path(files["data"]))
    units = read_table_file(files["units"], dtype_text=("code",)) if files.get("units") else None
    population = _read_population(Path(files["population"])) if files.get("population") else None
    ci = CompositeIndex(data, framework, units=units, population=population, **choices)

    out = _output_path(Path(args.out), files)
    for flag, target in (("--write-recipe", args.write_recipe), ("--effective-weights", args.effective_weights)):
        if target:
            _output_path(Path(target), files, flag)
    cols = ["unit", "period", "node", "score", "rank"] + (["peer_rank", "coverage"] if args.details else [])
    with atomic_path(out) as tmp:  # a failed write (a full disk) leaves neither a half file nor a temporary
        ci.scores[cols].to_csv(tmp, index=False, float_format="%.10g")
    if args.effective_weights:
        with atomic_path(args.effective_weights) as tmp:
            ci.effective_weights().to_csv(tmp, index=False, float_format="%.10g")
    if args.write_recipe:
        where = Path(args.write_recipe).resolve().parent
        named = {k: _relative(Path(v), where) for k, v in files.items() if v and k != "weights"}
        atomic_write_text(args.write_recipe, ci.to_recipe(**named))
    n_units = ci.scores.loc[ci.scores["node"] == ci.root, "unit"].nunique()
    print(f"govlib index: {n_units} units x {len(ci.periods)} period(s) x {ci.scores['node'].nunique()} nodes "
          f"-> {out}")
    return 0


def _output_path(out, files: dict, flag: str = "--out"):
    """An output path to write, refused when it is a folder, its folder is missing, or it is an input file."""
    from pathlib import Path

    from ..errors import InputError

    if out.is_dir():
        raise InputError(f"{flag}: {out} is a folder; name a CSV file to write (e.g. {out / 'scores.csv'})")
    if not out.parent.is_dir():
        what = "is a file, not a folder" if out.parent.exists() else "does not exist"
        raise InputError(f"{flag}: folder {out.parent} {what}")
    if any(v and Path(v).exists() and Path(v).resolve() == out.resolve() for v in files.values()):
        raise InputError(f"{flag}: {out} is one of the input files; govlib never overwrites its inputs")
    return out


def _relative(path, where) -> str:
    import os

    return os.path.relpath(path.resolve(), where)


def _read_recipe(path, defaults):
    import yaml

    from ..errors import InputError
    from ..index.recipe import parse_recipe

    if not path.exists():
        raise InputError(f"--recipe: file {path} not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"{path.name}: not valid YAML" + (f" (line {mark.line + 1})" if mark else "")) from None
    inputs, choices = parse_recipe(doc, defaults, source=path.name)
    return inputs, choices, path.parent


def _set_choices(items, defaults) -> dict:
    import yaml

    from ..errors import InputError

    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or key not in defaults:
            raise InputError(f"--set {item!r}: expected KEY=VALUE with KEY one of {', '.join(defaults)}")
        try:
            out[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InputError(f"--set {item!r}: the value is not valid YAML") from None
    return out


def _read_weights(path) -> dict:
    import numpy as np
    import yaml

    from ..data.readers import parse_numbers, read_table_file
    from ..errors import InputError, Problem, ValidationError

    if not path.exists():
        raise InputError(f"--weights: file {path} not found")
    if path.suffix.lower() in (".yaml", ".yml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise InputError(f"{path.name}: expected a mapping code: weight")
        bad = [Problem(path.name, None, str(k), v, "expected a number >= 0") for k, v in doc.items()
               if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0]
        if bad:
            raise ValidationError(bad)
        return {str(k): float(v) for k, v in doc.items()}
    t = read_table_file(path, dtype_text=("code",))
    need = [c for c in ("code", "weight") if c not in t.columns]
    if need:
        raise ValidationError([Problem(path.name, 1, c, None, "required column is missing (expected code, weight)")
                               for c in need])
    values, bad, _ = parse_numbers(t["weight"])
    values = np.asarray(values, dtype=float)
    bad = np.asarray(bad, dtype=bool) | (values < 0) | np.isnan(values)
    if bad.any():
        offset = t.attrs.get("row_offset", 2)
        raise ValidationError([Problem(path.name, int(i) + offset, "weight", t["weight"].iloc[i],
                                       "expected a number >= 0") for i in np.flatnonzero(bad)[:20]])
    return dict(zip(t["code"].astype(str), values.tolist()))


def _read_data(path):
    from ..data.readers import read_table_file
    from ..errors import Problem, ValidationError

    data = read_table_file(path, dtype_text=("unit", "period", "indicator"))
    need = [c for c in ("unit", "period", "indicator", "value") if c not in data.columns]
    if need:
        raise ValidationError([Problem(path.name, 1, c, None, "required column is missing "
                                       "(expected unit, period, indicator, value)") for c in need])
    data = _numeric(data, path.name, "value")
    if "se" in data.columns:
        data = _numeric(data, path.name, "se")
    return data


def _read_population(path):
    """code, year and numeric denominator columns (any names)."""
    from ..data.readers import read_table_file
    from ..errors import Problem, ValidationError

    pop = read_table_file(path, dtype_text=("code", "year"))
    need = [c for c in ("code", "year") if c not in pop.columns]
    if need:
        raise ValidationError([Problem(path.name, 1, c, None, "required column is missing (expected code, year "
                                       "and denominator columns)") for c in need])
    for col in pop.columns:
        if col not in ("code", "year") and not str(col).startswith("x_"):
            pop = _numeric(pop, path.name, col, text_ok=True)
    return pop


def _numeric(data, file: str, column: str = "value", text_ok: bool = False):
    """Parse one column as numbers, or raise a ValidationError naming file, row, column and value.

    ``text_ok`` keeps a column that is entirely non-numeric as text (a label column of a population table)."""
    import numpy as np
    import pandas as pd

    from ..data.readers import parse_numbers
    from ..errors import Problem, ValidationError

    values, bad, _ = parse_numbers(data[column])
    bad = np.asarray(bad, dtype=bool)  # missing markers (empty, NA, -) are NaN, not problems
    if bad.any():
        if text_ok and bad.all():
            return data
        offset = data.attrs.get("row_offset", 2)
        rows = np.flatnonzero(bad)[:20]
        raise ValidationError([Problem(file, int(data.index[i]) + offset, column, data[column].iloc[i],
                                       "expected a number") for i in rows])
    out = data.copy()
    out[column] = pd.to_numeric(pd.Series(np.asarray(values, dtype=float), index=data.index), errors="coerce")
    return out
