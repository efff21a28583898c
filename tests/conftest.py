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


# ---- pytest-xdist (`make test` runs the suite on two workers) ---------------------------------------------------
# Each worker gets a temporary folder of its own (TMPDIR, inherited by the kernels and subprocesses it starts), so a
# test that checks what was left in the temporary folder sees only its own worker's files. The reliability counts of
# every worker are sent to the controller and printed there as one sum.
def pytest_configure(config):
    worker = getattr(config, "workerinput", None)
    if worker is not None:
        import tempfile

        config._govlib_tmp = tempfile.mkdtemp(prefix=f"govlib-{worker['workerid']}-")
        os.environ["TMPDIR"] = config._govlib_tmp
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


def pytest_unconfigure(config):
    folder = getattr(config, "_govlib_tmp", None)
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["reliability"] = dict(RELIABILITY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for what, n in getattr(node, "workeroutput", {}).get("reliability", {}).items():
        RELIABILITY[what] += n


# The files that take longest (CPU seconds on the 2-core machine: builds of the demo, report renders, a browser) go
# first, so that with `--dist loadfile --no-loadscope-reorder` no worker starts one of them when the rest is done.
SLOWEST_FIRST = ("test_crash_safety.py", "test_hostile_data.py", "test_reports_rendered.py", "test_reports.py",
                 "test_import.py", "test_distributed.py", "test_index.py", "test_hostile_settings.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file is kept
