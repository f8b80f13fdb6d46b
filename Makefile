# Two commands set everything up on a fresh machine with Python 3.11+:
#   make demo   install, then run the whole pipeline offline on the bundled sample portal
#   make test   install, then lint and run the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
UV_VERSION := 0.13.9
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install system-packages browser demo dashboard test test-unit lint format ui bench bench-small bench-stats bench-dashboard clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

# Headless Chromium for the dashboard's browser tests: Debian's package (as root), installed
# when missing. The tests fail, never skip, when it cannot run.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium >/dev/null; }
	@test -x $(CHROMIUM) || { echo "chromium is missing and could not be installed" >&2; exit 1; }

demo: install
	$(VENV)/bin/opioids demo

# The tests start a real PostgreSQL server (the deployment's instance storage): Debian's
# package, installed when missing (as root, like the CI image).
system-packages:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing PostgreSQL (Debian package) for the deployment tests"; \
		apt-get update && apt-get install -y --no-install-recommends postgresql; \
	fi

# Rebuild the dashboard from the current extract and serve it on http://127.0.0.1:8000.
dashboard: install
	$(VENV)/bin/opioids dashboard --serve

# The whole suite, in parallel (modules stay whole on one worker: see tests/conftest.py).
# The suite starts dozens of Python processes (workers, the CLI, Dagster's run workers and
# servers); each compiles from source every module it imports that has no cached bytecode,
# about 3.5 s of CPU for Dagster and Great Expectations alone. So the installed packages are
# compiled once at install (--compile-bytecode above), and a PYTHONDONTWRITEBYTECODE set in
# the environment is cleared for the tests, so the project's modules and pytest's rewritten
# test modules are compiled once per change too.
PYTEST_WORKERS ?= 3
PYTEST := PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest
test: install system-packages browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadscope --durations=25

# The fast loop while developing: lint and the unit tests.
test-unit: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PYTEST) -n 2 --dist loadscope tests/unit

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The Dagster UI on the instance the CLI and the demo write to (http://127.0.0.1:3000).
ui: install
	$(VENV)/bin/opioids ui

# National-scale benchmarks (generate about 7 GB under benchmarks/out on first run).
bench: install
	$(VENV)/bin/python benchmarks/bench_ingest.py --repeat 3 --json benchmarks/out/bench_ingest.json

bench-small: install
	$(VENV)/bin/python benchmarks/bench_ingest.py --rows 200000

bench-stats: install
	$(VENV)/bin/python benchmarks/bench_statistics.py

bench-dashboard: install browser
	$(VENV)/bin/python benchmarks/bench_dashboard.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
