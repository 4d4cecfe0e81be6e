# Two entry points: `make demo` (the whole job on the embedded warehouse) and `make test` (every check).
# Both create the virtual environment on first use. Override PYTHON=python3.12 or VENV=/path as needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.warehouse-elt-installed

.PHONY: demo test install lint lint-python lint-sql pytest bench lock down clean

demo: $(STAMP)
	$(BIN)/elt demo

test: lint pytest

install: $(STAMP)

lint: lint-python lint-sql

lint-python: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# sqlfluff's dbt templater compiles models against a live database: elt exec starts the warehouse first
lint-sql: $(STAMP)
	$(BIN)/elt exec -- $(BIN)/sqlfluff lint dbt_project

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --rows $(or $(ROWS),1000000)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "warehouse-elt needs Python >= 3.11, found " + sys.version.split()[0] + ": run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

lock: $(STAMP)
	{ echo "# Exact versions of the whole dependency tree (Python 3.11, Linux/macOS)."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock

down:
	$(BIN)/elt down

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache .ruff_cache
