# Two commands on a fresh machine: `make demo` runs the study, `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench venv clean lock browser

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "temporal-lens needs Python 3.11+, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/temporal-lens study $(ARGS)

# Two processes, each test file on one (its module fixtures, dev servers and studies stay together): 331 tests in
# 6 min 31 s on 2 idle cores, 10 min 8 s on one process.
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# The part without a dev server or a study, on two processes, with fewer random inputs per property (each property
# still runs): about half a minute on 2 cores. `make test` runs everything with the full example counts.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	TEMPORAL_LENS_HYPOTHESIS_PROFILE=fast $(BIN)/python -m pytest -m "not server" -n 2 $(PYTEST_ARGS)

# The report test opens the HTML report in headless Chromium (Debian's package); it skips if none can be had.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
		echo "chromium is not available: the report's browser test will be skipped"

lint: $(STAMP)
	$(BIN)/ruff check .

# Every benchmark under bench/ (tens of minutes); rewrites BENCHMARKS.md. BENCH_ARGS=--quick for smaller workloads,
# BENCH_ARGS="--only Analysis,Audit" to rerun some and keep the other sections.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# Re-pin every dependency (run after changing pyproject.toml's ranges).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check '.[dev]' setuptools wheel
	.lock-venv/bin/pip freeze --exclude temporal-lens --all | grep -v '^pip==' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) build dist *.egg-info
