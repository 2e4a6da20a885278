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
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/bulletin extract seeds -o outputs

test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

# Rewrite the golden snapshots of the seeds' claims (review the diff before committing).
golden: $(VENV)/.test-installed
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

# Regenerate schemas/ from pipeline/schema.py.
schemas: $(VENV)/.run-installed
	$(BIN)/bulletin schemas --write schemas

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
