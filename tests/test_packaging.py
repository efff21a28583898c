"""The front door: requirements/lock.txt pins every package (with hashes) and the installed environment is that lock;
pyproject.toml's lower bounds are the tested series; environment.yml pins the same versions; Makefile and CI are
wired; build products are ignored by git."""
from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _direct() -> list[Requirement]:
    project = _project()["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _lock() -> dict[str, dict]:
    """name -> {version, hashes} from requirements/lock.txt (pip's hash-checking format)."""
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    locked = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)(.*)$", line.strip())
        assert m, f"requirements/lock.txt: not an exact pin: {line.strip()[:80]}"
        locked[_norm(m[1])] = {"version": m[3], "hashes": re.findall(r"--hash=sha256:[0-9a-f]{64}", m[4])}
    return locked


def test_lock_pins_every_package_with_hashes_including_build_tools():
    locked = _lock()
    assert len(locked) > 100
    assert all(entry["hashes"] for entry in locked.values()), [n for n, e in locked.items() if not e["hashes"]]
    for tool in ("pip", "setuptools", "wheel"):  # so the editable install with --no-build-isolation fetches nothing
        assert tool in locked, tool
    assert Version(locked["setuptools"]["version"]) >= Version("77")  # SPDX `license = "MIT"`
    build_requires = [Requirement(r) for r in _project()["build-system"]["requires"]]
    for req in build_requires:
        assert req.specifier.contains(locked[_norm(req.name)]["version"]), req


def test_every_direct_dependency_is_locked_within_its_range_and_bounds_are_the_tested_series():
    locked = _lock()
    for req in _direct():
        name = _norm(req.name)
        assert name in locked, f"{req.name} is not in requirements/lock.txt: run make lock"
        version = Version(locked[name]["version"])
        assert req.specifier.contains(version, prereleases=True), f"{req} but the lock has {version}"
        [lower] = [Version(s.version) for s in req.specifier if s.operator == ">="]
        assert lower.release[:2] == version.release[:2], (
            f"{req}: the lower bound should be the locked series {version.major}.{version.minor}")
        for extra in req.extras:  # e.g. dask[dataframe]: the extra's own requirements are locked too
            for dep in importlib.metadata.requires(req.name) or []:
                dep_req = Requirement(dep)
                if dep_req.marker and dep_req.marker.evaluate({"extra": extra}) and \
                        not dep_req.marker.evaluate({"extra": ""}):
                    assert _norm(dep_req.name) in locked, f"{req}: {dep_req.name}"


def test_the_installed_environment_is_the_lock():
    wrong, missing = [], []
    for name, entry in _lock().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if Version(installed) != Version(entry["version"]):
            wrong.append(f"{name} {installed} (lock {entry['version']})")
    assert not missing and not wrong, f"not installed: {missing}; other versions: {wrong} — run make setup"


def test_requires_python_is_the_tested_version():
    spec = _project()["project"]["requires-python"]
    assert spec == ">=3.11" and sys.version_info >= (3, 11)
    header = LOCK.read_text(encoding="utf-8").splitlines()[:3]
    assert any("--python-version 3.11" in line for line in header), header


def test_environment_yml_pins_the_lock_versions():
    locked = _lock()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pins = {}
    for dep in env["dependencies"]:
        for spec in dep.get("pip", []) if isinstance(dep, dict) else [dep]:
            m = re.fullmatch(r"([A-Za-z0-9._-]+)(==|=)(\S+)", spec)
            assert m and (m[2] == "==" or m[1] == "python"), f"environment.yml: {spec!r} is not name==version"
            pins[_norm(m[1])] = m[3]
    assert pins.pop("python") == "3.11"  # conda's python=3.11 is any 3.11.x
    for tool in ("pip", "setuptools", "wheel"):  # the editable install needs them (--no-build-isolation)
        assert pins.pop(tool) == locked[tool]["version"], tool
    direct = {_norm(r.name) for r in _direct()}
    assert set(pins) == direct, (f"only in pyproject: {sorted(direct - set(pins))}; "
                                 f"only in environment.yml: {sorted(set(pins) - direct)}")
    differ = {n: (v, locked[n]["version"]) for n, v in pins.items() if v != locked[n]["version"]}
    assert not differ, f"environment.yml vs lock: {differ}"


def test_ci_runs_the_readme_test_command():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert "make test" in commands, commands
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```(?:bash|sh|console)?\n(.*?)^```", readme, flags=re.M | re.S)
    assert any(re.search(r"^make demo\b", b, re.M) and re.search(r"^make test\b", b, re.M) for b in blocks)


def test_makefile_installs_from_the_lock_and_registers_the_govlib_kernel():
    makefile = (ROOT / "Makefile").read_text()
    assert "ipykernel install --sys-prefix --name govlib" in makefile
    assert "pip install --quiet --require-hashes -r requirements/lock.txt" in makefile
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile
    assert re.search(r"^\$\(STAMP\):.*requirements/lock\.txt", makefile, flags=re.M)  # a new lock reinstalls
    assert "--upgrade pip" not in makefile  # pip comes from the lock
    for target in ("demo:", "test:", "lab:", "clean:", "lock:"):
        assert re.search(rf"^{target}", makefile, flags=re.M), target


@pytest.mark.parametrize("folder", ["data/processed", "outputs"])
def test_build_products_are_ignored(folder):
    def ignored(path: str) -> bool:
        done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT)
        assert done.returncode in (0, 1), f"git check-ignore failed for {path}"
        return done.returncode == 0

    # a path that does not exist: after `make demo`, data/processed/current is a symlink git will not look beyond
    assert ignored(f"{folder}/no-such-build/index_scores.parquet") and ignored(f"{folder}/anything.html")
    assert not ignored(f"{folder}/README.md")
