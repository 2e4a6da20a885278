# The two commands of the README: `make run` (seeds -> outputs/) and `make test`.
# Each creates .venv and installs what it needs on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test golden schemas bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,test]'
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/bulletin extract seeds -o outputs

test: $(VENV)/.test-installed
	@# Debian's Chromium (+ a CJK font for legible screenshots) for tests/test_browser.py (Playwright's own browser download is not used).
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || echo "chromium unavailable: tests/test_browser.py will be skipped"
	$(BIN)/python -m pytest

# Rewrite the golden snapshots of the seeds' claims (review the diff before committing).
golden: $(VENV)/.test-installed
	UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py

# Regenerate schemas/ from pipeline/schema.py.
schemas: $(VENV)/.run-installed
	$(BIN)/bulletin schemas --write schemas

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# Benchmark (not a test): builds a 56 MB corpus under .cache/bench/ once, then prints chars/s on
# one core and on all cores, speed-up, peak RSS, cold start, per-stage times and JioNLP's speed.
# Options: make bench BENCH_ARGS="--mb 1024 --skip-jionlp"
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
