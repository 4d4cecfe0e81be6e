# Two entry points: `make demo` (the whole job on the embedded warehouse) and `make test` (every check).
# Both create the virtual environment on first use. Override PYTHON=python3.12 or VENV=/path as needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.warehouse-elt-installed
ORCHESTRATION_STAMP := $(VENV)/.warehouse-elt-orchestration-installed

.PHONY: demo test install install-orchestration lint lint-python lint-sql pytest browser bench lock down clean

demo: $(STAMP)
	$(BIN)/elt demo

test: lint pytest

install: $(STAMP)

# the Dagster code location (orchestration/, docs/scheduling.md): optional, make demo does not need it
install-orchestration: $(ORCHESTRATION_STAMP)

lint: lint-python lint-sql

lint-python: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# sqlfluff's dbt templater compiles models against a live database: elt exec starts the warehouse first
lint-sql: $(STAMP)
	$(BIN)/elt exec -- $(BIN)/sqlfluff lint dbt_project

pytest: $(ORCHESTRATION_STAMP) browser
	$(BIN)/pytest

# the browser tests drive the system's Chromium: install Debian's when none is found and apt-get exists
# (sudo unless root); elsewhere they skip with the reason, except under CI, where they fail
BROWSERS := chromium chromium-browser google-chrome
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@found="$$ELT_BROWSER"; for b in $(BROWSERS); do [ -n "$$found" ] || found=$$(command -v $$b || true); done; \
	if [ -n "$$found" ]; then \
	  :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; \
	else \
	  echo "no Chromium and no apt-get: the browser tests will say what to install"; \
	fi

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --rows $(or $(ROWS),1000000)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "warehouse-elt needs Python >= 3.11, found " + sys.version.split()[0] + ": run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

$(ORCHESTRATION_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev,orchestration]"
	touch $(ORCHESTRATION_STAMP)

lock: $(STAMP)
	{ echo "# Exact versions of the whole dependency tree (Python 3.11, Linux/macOS)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

down:
	$(BIN)/elt down

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
