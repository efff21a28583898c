"""The package is built in floors: a floor imports only the floors below it, no module imports in a circle, and no
private name (``_x``) crosses a module boundary. Read from the source with ``ast``, so lazy (function-level) imports
count too."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "govlib"

#: floor of each top-level part of the package; a module may import its own floor and those below.
FLOORS = {
    "errors": 0, "periods": 0, "paths": 0, "settings": 0, "parallel": 0,
    "data": 1,
    "index": 2, "survey": 2, "trend": 2, "services": 2,
    "pipeline": 3,
    "reports": 4,
    "cli": 5, "commands": 5, "__init__": 5,
}
#: the engines share a floor; these are the only imports between engine packages (a DAG, checked below).
ENGINE_IMPORTS = {("services", "trend"), ("services", "survey"), ("index", "survey")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


@functools.cache  # parsed once per module: the tests below ask for the same module's imports many times
def _imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported govlib module, names taken from it, line) for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = (_resolve(module, path.name == "__init__.py", node.level, node.module) if node.level
                      else node.module or "")
            if not target.startswith("govlib"):
                continue
            names = [a.name for a in node.names]
            # "from . import x" imports the module govlib.<...>.x
            submodules = [n for n in names if f"{target}.{n}" in MODULES]
            for n in submodules:
                out.append((f"{target}.{n}", [], node.lineno))
            rest = [n for n in names if n not in submodules]
            if rest:
                out.append((target, rest, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("govlib")]
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_floor():
    assert {_part(m) for m in MODULES} <= set(FLOORS), sorted({_part(m) for m in MODULES} - set(FLOORS))


def test_no_floor_imports_a_higher_floor():
    wrong = []
    for module in MODULES:
        if module == "govlib":
            continue
        here = _part(module)
        for target, _, line in _imports(module):
            there = _part(target)
            if there == "__init__" and target == "govlib":
                continue  # ``from govlib import __version__``
            if FLOORS[there] > FLOORS[here]:
                wrong.append(f"{module}:{line} imports {target} (floor {FLOORS[there]} above {FLOORS[here]})")
            elif FLOORS[there] == FLOORS[here] == 2 and there != here and (here, there) not in ENGINE_IMPORTS:
                wrong.append(f"{module}:{line} imports {target}: engine {here} -> {there} is not in ENGINE_IMPORTS")
    assert not wrong, "\n".join(wrong)


def test_engine_imports_form_no_circle():
    graph: dict[str, set[str]] = {}
    for a, b in ENGINE_IMPORTS:
        graph.setdefault(a, set()).add(b)
    for start in graph:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                assert nxt != start, f"engine packages import each other in a circle through {start}"
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)


def test_no_module_imports_in_a_circle():
    graph = {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m and t != "govlib"} for m in MODULES}
    # a package's __init__ importing its own modules is not a circle of the code
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "\n".join(cycles)


def test_no_private_name_crosses_a_module_boundary():
    wrong = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for target, names, line in _imports(module):
            wrong += [f"{module}:{line} imports {target}.{n}" for n in names
                      if n.startswith("_") and not n.startswith("__")]
        # module aliases: "from . import estimate as _survey" then "_survey.domain_variance"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for a in node.names:
                    aliases[a.asname or a.name] = a.name
            elif isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name
        imported_modules = {alias for alias, name in aliases.items()
                            if any(t.endswith("." + name) or t == name for t, n, _ in _imports(module) if not n)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                wrong.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", ["CompositeIndex", "make_design", "estimate", "trend_table", "load_raw", "build",
                                  "load_processed", "run_reports"])
def test_entry_points_are_importable_from_the_top(name):
    import govlib

    assert callable(getattr(govlib, name))
    assert name in dir(govlib)


#: the one engine module that reads files by design (it streams ticket files that do not fit in memory)
READS_FILES_BY_DESIGN = {"govlib.services.hotline_stream"}
FILE_CALLS = ("open(", "read_csv(", "read_parquet(", "read_excel(", "to_parquet(", "to_csv(", "to_excel(",
              ".write_text(", ".read_text(", ".write_bytes(", ".read_bytes(", "ParquetFile(", "shutil.")


def test_engines_touch_no_files():
    """The README says the engines are pure: no file is opened, read or written in index/survey/trend/services."""
    wrong = []
    for module, path in MODULES.items():
        if _part(module) not in ("index", "survey", "trend", "services") or module in READS_FILES_BY_DESIGN:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                text = ast.unparse(node.func) + "("
                if any(text.endswith(call) for call in FILE_CALLS) or text.startswith("shutil."):
                    wrong.append(f"{module}:{node.lineno} calls {text}")
    assert not wrong, "\n".join(wrong)
