#!/usr/bin/env bash
# Lint, format check and type check, configured in pyproject.toml ([tool.ruff], [tool.mypy]).
# Usage: scripts/lint.sh (or `make lint`, which installs the tools first). Exits non-zero on the first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
set -x
ruff check .
ruff format --check .
mypy amtlocal
