# govlib front door. `make demo` and `make test` work on a fresh machine with nothing but python3:
# they create .venv if missing, install govlib with its dev extras and register the `govlib` Jupyter kernel.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.govlib-installed
# uv only resolves the lock (`make lock`); it is pinned and kept in its own environment, never in .venv.
UV_VERSION := 0.13.9
UV_VENV := build/uv-$(UV_VERSION)
LOCK_PYTHON := 3.11
# The test suite runs against its own small synthetic project, never against your data/raw.
TEST_ROOT := $(CURDIR)/.test-project
PERIOD ?= latest
WORKERS ?= 2
# pytest-xdist workers of `make test`; each takes whole files (module fixtures and notebooks stay in one process), the
# slowest files first (tests/conftest.py orders them). TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= 2

.PHONY: setup demo test test-fast lab clean bench chromium help lock lock-refresh

help:
	@echo "make demo   - set up, generate the synthetic demo data, build, render all reports and the portal"
	@echo "make test   - set up and run the whole test suite (unit, reference, property, notebook, browser)"
	@echo "make lab    - JupyterLab with the govlib kernel"
	@echo "make bench  - run the benchmarks in benchmarks/ (QUICK=1: quick sizes)"
	@echo "make clean  - remove build products (data/processed, outputs, build/)"
	@echo "make lock   - regenerate requirements/lock.txt from pyproject.toml's ranges (on purpose only)"

# The environment is installed from requirements/lock.txt (every package, transitive and build tools included, exact
# versions with hashes): a changed lock (or pyproject.toml) reinstalls. `make lock` regenerates the lock on purpose.
$(STAMP): requirements/lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "govlib needs Python 3.11 or newer; $(PYTHON) is " + sys.version.split()[0] + " (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name govlib --display-name "Python (govlib)" >/dev/null
	@# Cut the static Regular/Bold instances of the bundled CJK font once (about 30 s, cached per user).
	$(BIN)/python -c "from govlib.reports.fonts import setup_fonts; setup_fonts()"
	@touch $(STAMP)

setup: $(STAMP)

chromium:
	@bash scripts/ensure-chromium.sh

demo: setup
	@bash scripts/demo.sh "$(PERIOD)" "$(WORKERS)"

test: setup chromium
	@rm -rf $(TEST_ROOT) && mkdir -p $(TEST_ROOT)
	@cp govlib.yaml $(TEST_ROOT)/govlib.yaml
	GOVLIB_ROOT=$(TEST_ROOT) $(BIN)/govlib demo-data --size small >/dev/null
	GOVLIB_ROOT=$(TEST_ROOT) $(BIN)/govlib build --quiet
	GOVLIB_ROOT=$(TEST_ROOT) MPLBACKEND=Agg $(BIN)/python -m pytest -q -p no:cacheprovider \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
		--doctest-modules govlib tests --nbval-lax --nbval-current-env notebooks

# `make lock`: resolve pyproject.toml's ranges again, keeping every pin that still satisfies them (a new dependency
# is added at its newest version; nothing else moves). `make lock-refresh`: move every package to its newest allowed
# version. Either way: review the diff, run make test, and say why in the commit.
lock:
	@test -x $(UV_VENV)/bin/uv || { $(PYTHON) -m venv $(UV_VENV) && $(UV_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	$(UV_VENV)/bin/uv pip compile pyproject.toml requirements/build.in --extra dev --generate-hashes \
		--python-version $(LOCK_PYTHON) --python-platform linux $(LOCK_FLAGS) --quiet -o requirements/lock.txt
	@echo "requirements/lock.txt regenerated: review the diff, update environment.yml, run make test, say why in the commit"

lock-refresh:
	@$(MAKE) --no-print-directory lock LOCK_FLAGS=--upgrade

# As root (most containers) JupyterLab needs --allow-root: scripts/lab.sh detects it and says so.
lab: setup
	@BIN=$(BIN) bash scripts/lab.sh

# Each benchmark times govlib, its peer and a numpy/pandas floor in the same run and prints both ratios last.
# `make bench QUICK=1`: the quick sizes (minutes in all); RUNS=N: runs per contender (min and median; default 3).
QUICK ?=
RUNS ?= 3
bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; \
		GOVLIB_BENCH_QUICK=$(QUICK) GOVLIB_BENCH_RUNS=$(RUNS) $(BIN)/python $$b || exit 1; done

clean:
	rm -rf data/processed/builds data/processed/current data/processed/.build.lock outputs/* build/ .test-project .pytest_cache
	@git checkout -- outputs/README.md data/processed/README.md 2>/dev/null || true
