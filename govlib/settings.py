"""Project settings from ``govlib.yaml``: loaded and validated in one place.

Paths in the file are relative to the project root (see :mod:`govlib.paths`), so notebooks that run in
``notebooks/`` and workers that run anywhere read the same files. Each topic keeps its own section; a section's
defaults live here, so a missing key means "the documented default", and an unknown key is an error (a typo
must not silently fall back to a default).
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, ValidationError
from .paths import project_root

__all__ = ["Settings", "load_settings", "DEFAULTS"]

DEFAULTS: dict[str, Any] = {
    "project": {"name_zh": "浦东新区社会治理指数", "name_en": "Pudong Social Governance Index"},
    "paths": {
        "raw": "data/raw",
        "processed": "data/processed",
        "outputs": "outputs",
        "notebooks": "notebooks",
    },
    "framework": "data/raw/framework.yaml",
    "periods": {"index_frequency": "A", "base_period": "2018", "report_frequency": "A"},
    "index": {},
    "survey": {},
    "hotline": {},
    "doorstep": {},
    "trend": {},
    "alerts": {},
    "reports": {"lang": "zh", "workers": 2, "timeout_seconds": 900, "kernel": "govlib"},
}

# Sections whose inner keys are owned by the topic modules (validated there, against their own defaults).
OPEN_SECTIONS = {"index", "survey", "hotline", "doorstep", "trend", "alerts"}
# 家门口 standard conformity (#18): keys validated by govlib.pipeline.stages.conformity.read_settings.
DEFAULTS["conformity"] = {}
OPEN_SECTIONS.add("conformity")


@dataclass(frozen=True)
class Settings:
    """Validated settings. ``data`` is the merged dictionary; ``root`` the project root; ``source`` the file."""

    data: dict[str, Any]
    root: Path
    source: Path | None = None
    _hash: str = field(default="", repr=False)

    def path(self, key: str) -> Path:
        """An absolute path from the ``paths`` section (``raw``, ``processed``, ``outputs``, ``notebooks``)."""
        return (self.root / self.data["paths"][key]).resolve()

    @property
    def raw_dir(self) -> Path:
        return self.path("raw")

    @property
    def processed_dir(self) -> Path:
        return self.path("processed")

    @property
    def outputs_dir(self) -> Path:
        return self.path("outputs")

    @property
    def framework_path(self) -> Path:
        return (self.root / self.data["framework"]).resolve()

    def with_raw_dir(self, raw: str | Path) -> "Settings":
        """A copy that reads raw data (and ``framework.yaml``) from another folder (``govlib validate --raw``)."""
        data = copy.deepcopy(self.data)
        raw = Path(raw).resolve()
        data["paths"]["raw"] = str(raw)
        data["framework"] = str(raw / "framework.yaml")
        return Settings(data=data, root=self.root, source=self.source)

    def section(self, name: str) -> dict[str, Any]:
        """A copy of one section (``index``, ``survey``, ``trend``, ``alerts``, ...)."""
        return copy.deepcopy(self.data.get(name, {}))

    @property
    def hash(self) -> str:
        """SHA-256 of the merged settings (paths excluded), recorded in the manifest and the reports."""
        return self._hash

    def with_overrides(self, **sections: dict[str, Any]) -> "Settings":
        """A copy with some sections replaced or updated (used by tests and notebooks)."""
        data = copy.deepcopy(self.data)
        for name, values in sections.items():
            if isinstance(data.get(name), dict) and isinstance(values, dict):
                data[name] = _merge(data[name], values)
            else:
                data[name] = values
        return _make(data, self.root, self.source)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _make(data: dict, root: Path, source: Path | None) -> Settings:
    hashed = {k: v for k, v in data.items() if k != "paths"}
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    return Settings(data=data, root=root, source=source, _hash=digest)


def load_settings(path: str | Path | None = None, root: str | Path | None = None) -> Settings:
    """Read and validate ``govlib.yaml`` (default: the one at the project root; defaults if there is none).

    Parameters
    ----------
    path : path to a settings file; relative paths inside it resolve against ``root``.
    root : project root; default :func:`govlib.paths.project_root`.

    Examples
    --------
    >>> s = load_settings()
    >>> s.data["periods"]["index_frequency"]
    'A'
    """
    root = Path(root).resolve() if root is not None else project_root()
    source = Path(path) if path is not None else root / "govlib.yaml"
    if not source.is_absolute():
        source = (root / source).resolve()
    user: dict[str, Any] = {}
    name = source.name
    if source.exists():
        try:
            with open(source, encoding="utf-8") as fh:
                user = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            raise ValidationError([Problem(name, row, None, None, f"not valid YAML ({getattr(exc, 'problem', exc)})")])
        if not isinstance(user, dict):
            raise ValidationError([Problem(name, None, None, None, "expected a mapping of sections at the top level")])
    elif path is not None:
        raise ValidationError([Problem(str(source), None, None, None, "settings file not found")])
    problems: list[Problem] = []
    for key, value in user.items():
        if key not in DEFAULTS:
            problems.append(Problem(name, None, key, None, f"unknown section; expected one of {', '.join(DEFAULTS)}"))
            continue
        default = DEFAULTS[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                problems.append(Problem(name, None, key, value, "expected a mapping"))
                continue
            if key not in OPEN_SECTIONS:
                for inner in value:
                    if inner not in default:
                        problems.append(Problem(name, None, f"{key}.{inner}", None,
                                                f"unknown key; expected one of {', '.join(default)}"))
    freq = (user.get("periods") or {}).get("index_frequency", "A")
    if freq not in ("A", "Q", "M"):
        problems.append(Problem(name, None, "periods.index_frequency", freq, "expected A, Q or M"))
    reports = user.get("reports") if isinstance(user.get("reports"), dict) else {}
    if "timeout_seconds" in reports:
        t = reports["timeout_seconds"]
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < float("inf"):
            problems.append(Problem(name, None, "reports.timeout_seconds", t,
                                    "expected a positive number of seconds (fractions allowed, e.g. 1.5)"))
    if "workers" in reports:
        w = reports["workers"]
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            problems.append(Problem(name, None, "reports.workers", w, "expected a whole number, at least 1"))
    if problems:
        raise ValidationError(problems)
    return _make(_merge(DEFAULTS, user), root, source if source.exists() else None)
