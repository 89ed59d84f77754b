# The two commands of README.md, each self-contained and idempotent on a fresh clone with only python3 (>= 3.10):
#   make run    the main job (training/run_digits.py): creates or updates .venv first
#   make test   the whole test suite: the same, with the test extras
# .venv is (re)installed only when pyproject.toml is newer than its stamp file, so a second run starts at once.
# The package is installed editable: changes to amtlocal/ need no reinstall.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test test-fast lint clean

run: $(VENV)/.installed
	$(BIN)/python training/run_digits.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# everything but the slow, PostgreSQL and Chromium tests (see pyproject's markers)
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow and not postgres and not browser"

lint: $(VENV)/.installed-test
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lint.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# the test extras include everything `run` needs, so this stamps both
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
