# The two commands of README.md, each self-contained and idempotent on a fresh clone with only python3 (>= 3.10):
#   make run    the main job (training/run_digits.py): creates or updates .venv first
#   make test   the whole test suite: the same, with the test extras
# .venv is (re)installed only when pyproject.toml is newer than its stamp file, so a second run starts at once.
# The package is installed editable: changes to amtlocal/ need no reinstall.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# SageMaker Python SDK v3 beside amtlocal, for tests/test_sdk3.py (marker sdk3): the requests v3 itself builds.
# Its own venv because the test extras keep SDK v2 (amtlocal.api mirrors v2 and its tests compare with v2).
SDK3_VENV ?= .venv-sdk3
SDK3_PIN  ?= sagemaker==3.27.0

.PHONY: run test test-fast lint clean sdk3-venv

run: $(VENV)/.installed
	$(BIN)/python training/run_digits.py

test: $(VENV)/.installed-test $(SDK3_VENV)/.installed
	$(BIN)/python -m pytest -q

# everything but the slow, PostgreSQL, Chromium and SDK v3 tests (see pyproject's markers)
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow and not postgres and not browser and not sdk3"

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

sdk3-venv: $(SDK3_VENV)/.installed

# sagemaker 3.27 (sagemaker-core, -train, -serve, -mlops), amtlocal editable, moto for its S3/STS in-process.
# About 4.5 min on a fresh machine with a cold pip cache under load, 7 s for amtlocal's part once v3 is there.
$(SDK3_VENV)/.installed: pyproject.toml Makefile
	test -x $(SDK3_VENV)/bin/python || $(PYTHON) -m venv $(SDK3_VENV)
	$(SDK3_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SDK3_VENV)/bin/python -m pip install --quiet '$(SDK3_PIN)' 'moto>=5' -e .
	touch $@

clean:
	rm -rf $(VENV) $(SDK3_VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
