"""Shared fixtures: reference data from ../shared/reference, and the small synthetic demo data set."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference``: published data the engines must reproduce (never skipped if missing: fail)."""
    assert REFERENCE_DIR.is_dir(), f"reference data not found at {REFERENCE_DIR}"
    return REFERENCE_DIR


# Reliability counts (issue: adversarial inputs tried, crash runs survived, files compared), printed in the
# test session's summary so every run states them.
RELIABILITY = {"adversarial inputs tried": 0, "crash runs survived": 0, "files compared byte for byte": 0}


def count(what: str, n: int = 1) -> None:
    RELIABILITY[what] += n


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if any(RELIABILITY.values()):
        terminalreporter.write_sep("-", "reliability counts")
        for what, n in RELIABILITY.items():
            terminalreporter.write_line(f"{what}: {n}")
