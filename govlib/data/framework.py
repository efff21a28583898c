"""The indicator framework: one row per node (root, dimensions, indicators), from YAML, CSV, XLSX or Parquet.

The hierarchy is just ``code``/``parent`` columns, as in COINr. :func:`load_framework` reads a file and
:func:`framework_from_records` builds a framework from Python data; both validate everything at once and raise
:class:`~govlib.errors.ValidationError` listing every problem with the file, row and column.

Rules checked: a single root; no cycles; no orphan parents; unique codes; positive weights; ``goalpost_low <
goalpost_high``; ``direction`` in {1, -1, 0}; a leaf's ``frequency`` and ``source``, when given (they are optional for a
generic index), are among the allowed values; ``scope`` in {all, 街道, 镇};
``transform`` in {none, log}; a log transform needs positive goalposts; a ``floor`` (the bottom line, 底线: an alert
is red when a value is worse) is worse than the ``target`` in the indicator's direction and unit, and context
indicators (direction 0) have none. ``department`` names the responsible department (shown with alerts).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from ..errors import Problem, ValidationError, expected_one_of
from ..settings import SettingProblem, read_yaml

__all__ = ["Framework", "FRAMEWORK_COLUMNS", "load_framework", "framework_from_records", "validate_nodes"]

#: Columns of the framework table, with their defaults when a file leaves them out.
FRAMEWORK_COLUMNS: dict[str, Any] = {
    "code": None,
    "parent": None,
    "name_zh": "",
    "name_en": "",
    "unit": "",
    "direction": 1,
    "type": "objective",
    "scope": "all",
    "frequency": "",
    "source": "",
    "weight": 1.0,
    "goalpost_low": np.nan,
    "goalpost_high": np.nan,
    "target": np.nan,
    "floor": np.nan,
    "department": "",
    "transform": "none",
    "denominator": "",
    "denominator_scale": 1.0,
    "temporal_aggregation": "mean",
    "normalisation": "",
    "aggregation": "",
}
#: Top-level keys of a YAML framework file (``nodes`` holds the node list; the rest is metadata).
FRAMEWORK_KEYS = ("name", "name_zh", "name_en", "version", "description", "description_zh", "description_en", "scale",
                  "nodes")
NUMERIC = ("direction", "weight", "goalpost_low", "goalpost_high", "target", "floor", "denominator_scale")
ALLOWED = {
    "direction": {1, -1, 0},
    "type": {"objective", "subjective"},
    "scope": {"all", "街道", "镇"},
    "frequency": {"A", "Q", "M"},
    "source": {"admin", "survey", "hotline", "service"},
    "transform": {"none", "log"},
    "temporal_aggregation": {"mean", "sum", "last"},
}
# Friendly spellings people use in spreadsheets.
_ALIASES = {
    "direction": {"+": 1, "-": -1, "−": -1, "ctx": 0, "context": 0, "正": 1, "负": -1},
    "type": {"obj": "objective", "subj": "subjective", "客观": "objective", "主观": "subjective"},
    "scope": {"jiedao": "街道", "town": "镇", "subdistrict": "街道", "全部": "all"},
}


@dataclass(frozen=True)
class Framework:
    """A validated indicator framework.

    Attributes
    ----------
    nodes : DataFrame, one row per node with :data:`FRAMEWORK_COLUMNS` plus ``level`` (0 = root), ``is_leaf`` and
        ``path`` (codes from the root, ``/``-joined), in depth-first order.
    meta : name, version, description and scale of the framework.

    Examples
    --------
    >>> fw = framework_from_records([
    ...     {"code": "I", "parent": None, "name_en": "Index"},
    ...     {"code": "a", "parent": "I", "frequency": "A", "source": "admin", "weight": 2},
    ...     {"code": "b", "parent": "I", "frequency": "A", "source": "admin", "direction": -1},
    ... ])
    >>> fw.root, fw.leaves
    ('I', ['a', 'b'])
    >>> float(fw.normalised_weights()["a"])
    0.6666666666666666
    """

    nodes: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return str(self.nodes.loc[self.nodes["level"] == 0, "code"].iloc[0])

    @property
    def leaves(self) -> list[str]:
        return self.nodes.loc[self.nodes["is_leaf"], "code"].tolist()

    @property
    def scored_leaves(self) -> list[str]:
        """Leaves that enter the index (direction ±1; context indicators are shown, not scored)."""
        n = self.nodes
        return n.loc[n["is_leaf"] & (n["direction"] != 0), "code"].tolist()

    @property
    def scale(self) -> tuple[float, float]:
        lo, hi = self.meta.get("scale", (0, 100))
        return float(lo), float(hi)

    @property
    def version(self) -> str:
        return str(self.meta.get("version", ""))

    def children(self, code: str) -> list[str]:
        return self.nodes.loc[self.nodes["parent"] == code, "code"].tolist()

    def node(self, code: str) -> pd.Series:
        return self.nodes.set_index("code").loc[code]

    def names(self, lang: str = "zh") -> dict[str, str]:
        """Display name per code in ``zh`` or ``en`` (falling back to the other language, then the code)."""
        first, second = ("name_zh", "name_en") if lang == "zh" else ("name_en", "name_zh")
        out = {}
        for row in self.nodes.itertuples(index=False):
            out[row.code] = getattr(row, first) or getattr(row, second) or row.code
        return out

    def normalised_weights(self) -> pd.Series:
        """Weights renormalised to sum to 1 within each parent (the root gets 1)."""
        n = self.nodes.set_index("code")
        sums = n.groupby("parent")["weight"].transform("sum")
        w = n["weight"] / sums
        w[n["parent"].isna()] = 1.0
        return w.astype(float)


def framework_from_records(records: Iterable[dict[str, Any]], meta: dict[str, Any] | None = None,
                           file: str = "framework") -> Framework:
    """Build and validate a :class:`Framework` from a list of node mappings."""
    table = pd.DataFrame(list(records))
    return _validated(table, meta or {}, file, row_offset=1, yaml_rows=None)


def load_framework(path: str | Path, require: tuple[str, ...] = ()) -> Framework:
    """Read a framework from YAML (``nodes:`` list), CSV, XLSX or Parquet and validate it.

    Parameters
    ----------
    path : file with one node per row (or per ``nodes`` entry in YAML). See ``docs/data.md``.
    require : columns every leaf must fill (the district build asks for ``frequency`` and ``source``; a generic
        index needs neither).

    Raises
    ------
    ValidationError
        listing every problem (file, row, column, value, expectation).
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise ValidationError([Problem(str(path), None, None, None, "framework file not found")])
    if path.is_dir():
        raise ValidationError([Problem(str(path), None, None, None, "is a folder; expected the framework file "
                                       "(framework.yaml, or a .csv/.xlsx table with one row per node)")])
    meta: dict[str, Any] = {}
    yaml_rows = None
    if path.suffix.lower() in (".yaml", ".yml"):
        doc, lines = read_yaml(path)  # UTF-8 only, no duplicate keys, errors name the line
        if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
            raise ValidationError([Problem(name, None, "nodes", None,
                                           "expected a mapping with a 'nodes:' list (one entry per node)")])
        unknown = [k for k in doc if k not in FRAMEWORK_KEYS]
        if unknown:  # a misspelt `scale:` must not silently give the default scale
            raise ValidationError([SettingProblem(name, lines.get(str(k)), str(k), None,
                                                  f"unknown top-level key; {expected_one_of(FRAMEWORK_KEYS)}")
                                   for k in unknown])
        meta = {k: v for k, v in doc.items() if k != "nodes"}
        bad = [i for i, n in enumerate(doc["nodes"]) if not isinstance(n, dict)]
        if bad:
            raise ValidationError([Problem(name, None, "nodes", None, f"entry {i + 1} is not a mapping") for i in bad])
        table = pd.DataFrame(doc["nodes"])
        yaml_rows = list(range(1, len(table) + 1))
    else:
        from .readers import read_table_file

        table = read_table_file(path, dtype_text=("code", "parent"))
    return _validated(table, meta, name, row_offset=2, yaml_rows=yaml_rows, require=require)


def _validated(table: pd.DataFrame, meta: dict, file: str, row_offset: int, yaml_rows,
               require: tuple[str, ...] = ()) -> Framework:
    nodes, problems = validate_nodes(table, file, row_offset=row_offset, entry_numbers=yaml_rows, require=require)
    if problems:
        raise ValidationError(problems)
    meta = dict(meta)
    meta.setdefault("scale", [0, 100])
    scale = meta["scale"]
    numbers = isinstance(scale, (list, tuple)) and len(scale) == 2 and all(
        isinstance(x, (int, float, np.number)) and not isinstance(x, bool) and np.isfinite(x) for x in scale)
    if not (numbers and float(scale[0]) < float(scale[1])):
        raise ValidationError([Problem(file, None, "scale", scale, "expected [low, high]: two numbers with low < high "
                                       "(e.g. [0, 100])")])
    return Framework(nodes=nodes, meta=meta)


def validate_nodes(table: pd.DataFrame, file: str = "framework", row_offset: int = 2,
                   entry_numbers: list[int] | None = None,
                   require: tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a raw node table and return ``(nodes, problems)``; ``nodes`` is only meaningful without problems.

    A generic framework needs only ``code``, ``parent`` (and optionally ``direction``, ``weight``); ``require``
    names leaf fields that must be present too (e.g. ``("frequency", "source")`` for the Pudong build)."""
    problems: list[Problem] = []

    def row_of(i: int) -> int:
        return entry_numbers[i] if entry_numbers is not None else i + row_offset

    if table.empty:
        return table, [Problem(file, None, None, None, "the framework has no nodes")]
    for col in ("code", "parent"):
        if col not in table.columns:
            problems.append(Problem(file, None, col, None, f"required column '{col}' is missing"))
    if problems:
        return table, problems
    unknown = [c for c in table.columns if c not in FRAMEWORK_COLUMNS and not str(c).startswith("x_")]
    for c in unknown:
        problems.append(Problem(file, None, str(c), None,
                                f"unknown column; expected some of {', '.join(FRAMEWORK_COLUMNS)} (prefix x_ for extras)"))
    t = table.copy()
    for col, default in FRAMEWORK_COLUMNS.items():
        if col not in t.columns:
            t[col] = default
    t = t[list(FRAMEWORK_COLUMNS)]

    def text(v) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        s = str(v).strip()
        if s.endswith(".0") and s[:-2].isdigit():
            s = s[:-2]
        return s or None

    def obj(values) -> pd.Series:  # object dtype: keep None as None (pandas would infer a string dtype)
        return pd.Series(list(values), index=t.index, dtype=object)

    t["code"] = obj(text(v) for v in t["code"])
    t["parent"] = obj(text(v) for v in t["parent"])
    for col in ("name_zh", "name_en", "unit", "frequency", "source", "denominator", "normalisation", "aggregation",
                "department"):
        t[col] = obj(text(v) or "" for v in t[col])
    for col in ("type", "scope", "transform", "temporal_aggregation"):
        t[col] = obj(text(v) or FRAMEWORK_COLUMNS[col] for v in t[col])

    for i, code in enumerate(t["code"]):
        if code is None:
            problems.append(Problem(file, row_of(i), "code", None, "every node needs a code"))
    # Numbers (with friendly aliases for direction).
    for col in NUMERIC:
        values = []
        for i, v in enumerate(t[col]):
            alias = _ALIASES.get(col, {})
            if isinstance(v, str) and v.strip() in alias:
                values.append(float(alias[v.strip()]))
                continue
            if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
                d = FRAMEWORK_COLUMNS[col]
                values.append(np.nan if d is None else float(d))
                continue
            try:
                values.append(float(v))
            except (TypeError, ValueError):
                problems.append(Problem(file, row_of(i), col, v, "expected a number"))
                values.append(np.nan)
        t[col] = values
    for col in ("type", "scope"):
        alias = _ALIASES[col]
        t[col] = obj(alias.get(v, alias.get(str(v).lower(), v)) for v in t[col])

    codes = t["code"].tolist()
    seen: dict[str, int] = {}
    for i, c in enumerate(codes):
        if c is None:
            continue
        if c in seen:
            problems.append(Problem(file, row_of(i), "code", c, f"duplicate code (first at row {row_of(seen[c])})"))
        else:
            seen[c] = i
    roots = [i for i, p in enumerate(t["parent"]) if p is None]
    if len(roots) == 0:
        problems.append(Problem(file, None, "parent", None, "no root: exactly one node must have an empty parent"))
    elif len(roots) > 1:
        rows = ", ".join(str(row_of(i)) for i in roots)
        problems.append(Problem(file, None, "parent", None,
                                f"{len(roots)} roots (rows {rows}): exactly one node may have an empty parent"))
    known = set(seen)
    for i, p in enumerate(t["parent"]):
        if p is not None and p not in known:
            problems.append(Problem(file, row_of(i), "parent", p, "orphan: no node has this code"))
        if p is not None and p == codes[i]:
            problems.append(Problem(file, row_of(i), "parent", p, "a node cannot be its own parent"))
    # Cycles: follow parents; a walk longer than the number of nodes has looped.
    parent_of = {c: p for c, p in zip(codes, t["parent"]) if c is not None}
    reported: set[str] = set()
    for i, c in enumerate(codes):
        if c is None or c in reported:
            continue
        walk, cur = [], c
        while cur is not None and cur in parent_of and cur not in walk:
            walk.append(cur)
            cur = parent_of[cur]
        if cur is not None and cur in walk:
            loop = walk[walk.index(cur):]
            if not reported.intersection(loop):
                problems.append(Problem(file, row_of(i), "parent", t["parent"].iloc[i],
                                        "cycle: " + " -> ".join(loop + [cur])))
            reported.update(loop)
    has_children = set(p for p in t["parent"] if p is not None)
    is_leaf = np.array([c not in has_children for c in codes])
    for i, row in t.iterrows():
        r = row_of(i)
        w = row["weight"]
        if not np.isnan(w) and w <= 0:
            problems.append(Problem(file, r, "weight", w, "weights must be positive"))
        d = row["direction"]
        if not np.isnan(d) and d not in ALLOWED["direction"]:
            problems.append(Problem(file, r, "direction", d, "expected 1 (higher is better), -1 or 0 (context)"))
        lo, hi = row["goalpost_low"], row["goalpost_high"]
        if not np.isnan(lo) and not np.isnan(hi) and not lo < hi:
            problems.append(Problem(file, r, "goalpost_low", lo, f"goalpost_low must be below goalpost_high ({hi})"))
        if np.isnan(lo) != np.isnan(hi):
            problems.append(Problem(file, r, "goalpost_high" if np.isnan(hi) else "goalpost_low", None,
                                    "give both goalposts or neither"))
        # floor (底线, the bottom line) and target (目标) read in the indicator's direction and unit
        fl, tg = row["floor"], row["target"]
        if not np.isnan(fl) and d == 0:
            problems.append(Problem(file, r, "floor", fl, "a context indicator (direction 0) has no bottom line"))
        elif not np.isnan(fl) and not np.isnan(tg) and not np.isnan(d) and (tg - fl) * d <= 0:
            problems.append(Problem(file, r, "floor", fl, f"the bottom line must be worse than the target ({tg:g}) "
                                    f"in the indicator's direction ({'higher' if d > 0 else 'lower'} is better)"))
        for col in ("type", "scope", "transform", "temporal_aggregation"):
            if row[col] not in ALLOWED[col]:
                problems.append(Problem(file, r, col, row[col], expected_one_of(sorted(ALLOWED[col]))))
        if row["transform"] == "log" and not np.isnan(lo) and lo <= 0:
            problems.append(Problem(file, r, "goalpost_low", lo, "a log transform needs positive goalposts"))
        if is_leaf[i] and row["parent"] is not None:
            for col in ("frequency", "source"):  # optional for a generic index; checked when given or required
                if not row[col] and col in require:
                    problems.append(Problem(file, r, col, None,
                                            f"indicators (leaves) need a {col}: one of {', '.join(sorted(ALLOWED[col]))}"))
                elif row[col] and row[col] not in ALLOWED[col]:
                    problems.append(Problem(file, r, col, row[col], expected_one_of(sorted(ALLOWED[col]))))
    if problems:
        return t, problems
    # Order depth-first from the root; levels and paths.
    t["direction"] = t["direction"].astype(int)
    kids: dict[str | None, list[str]] = {}
    for c, p in zip(codes, t["parent"]):
        kids.setdefault(p, []).append(c)
    order, level, path = [], {}, {}
    stack = [(kids[None][0], 0, "")]
    while stack:
        c, lv, pre = stack.pop()
        order.append(c)
        level[c] = lv
        path[c] = f"{pre}/{c}" if pre else c
        for k in reversed(kids.get(c, [])):
            stack.append((k, lv + 1, path[c]))
    t = t.set_index("code").loc[order].reset_index()
    t["level"] = [level[c] for c in t["code"]]
    t["is_leaf"] = [c not in has_children for c in t["code"]]
    t["path"] = [path[c] for c in t["code"]]
    return t, problems
