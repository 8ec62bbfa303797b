# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/camtel demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Tests run on every core (at most 4 workers; each has its own databases); PYTEST_WORKERS=0
# runs them in this one process.
PYTEST_WORKERS ?= auto
test: lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --maxprocesses 4 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) camtel-data .pytest_cache
