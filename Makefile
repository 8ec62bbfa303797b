# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint install clean bench fuzz

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
	$(BIN)/mypy

# Tests run in 4 worker processes (each has its own databases): much of their time is spent
# waiting on servers, browsers and subprocesses, so 4 finish sooner than one per core even on
# 2 cores (8 min in CI here). PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= 4
test: lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --durations=25 $(PYTEST_ARGS)

# The ingest, read-path, connection, command and upload benchmarks (under 10 minutes on 2 cores);
# docs/performance.md has the figures and the other benches (media, redaction, geofences, web).
bench: install
	$(BIN)/python bench/ingest.py --devices 10,100,1000 --modes wait,pipe,batch --reports 30000 --repeat 3
	$(BIN)/python bench/ingest.py --devices 100 --modes pipe --reports 100000 --repeat 3
	$(BIN)/python bench/queries.py --devices 1000,10000 --repeat 10
	$(BIN)/python bench/connections.py --connections 1000,5000
	$(BIN)/python bench/extract.py --cli --repeat 7
	$(BIN)/python bench/media.py --size-mb 256 --repeat 3

# Every parser fuzzed in turn for FUZZ_SECONDS (atheris; findings in fuzz/crashes/<target>/).
FUZZ_SECONDS ?= 300
fuzz: install
	for target in jt808 teltonika osmand mp4_boxes gps_tracks; do \
	  $(BIN)/python fuzz/run.py $$target --seconds $(FUZZ_SECONDS) || exit 1; \
	done

clean:
	rm -rf $(VENV) camtel-data .pytest_cache .mypy_cache
