"""The front door: pyproject.toml and environment.yml list the same packages; the Makefile and CI are wired."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pyyaml": "pyyaml"}  # conda-forge names that differ from PyPI names would go here


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda_names |= {_name(r) for r in dep.get("pip", [])}
        else:
            conda_names.add(_name(dep))
    conda_names -= {"python", "pip"}
    pip_names = {"dask" if n == "dask" else n for n in pip_names}
    assert pip_names == conda_names, (f"only in pyproject: {sorted(pip_names - conda_names)}; "
                                      f"only in environment.yml: {sorted(conda_names - pip_names)}")


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme


def test_makefile_registers_the_govlib_kernel_in_the_environment():
    makefile = (ROOT / "Makefile").read_text()
    assert "ipykernel install --sys-prefix --name govlib" in makefile
    for target in ("demo:", "test:", "lab:", "clean:"):
        assert re.search(rf"^{target}", makefile, flags=re.M), target


def test_build_products_are_ignored():
    ignore = (ROOT / ".gitignore").read_text()
    assert "data/processed/*" in ignore and "outputs/*" in ignore
