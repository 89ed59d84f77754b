"""Structure checks of issue 12's house: what a reviewer would otherwise have to re-measure by hand."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from amtlocal.lifecycle import TERMINAL_STATUSES

PACKAGE = Path(__file__).resolve().parent.parent / "amtlocal"

# The job lifecycle, the scheduler and the store: small functions, so each transition reads on one screen.
SMALL_FUNCTIONS = ["lifecycle", "store", "backends/local/_scheduler.py", "backends/local/_training.py"]


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("where", SMALL_FUNCTIONS)
def test_no_function_over_60_lines_in_the_lifecycle_scheduler_or_store(where):
    root = PACKAGE / where
    files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
    assert files
    long = [f"{p.relative_to(PACKAGE)}:{name} ({n} lines)" for p in files for name, n in _functions(p) if n > 60]
    assert long == []


def test_the_terminal_statuses_are_defined_once():
    """AMT's terminal statuses are written in amtlocal.lifecycle only; everyone else imports them."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if "lifecycle" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.Set, ast.List)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if (
                    {"Completed", "Failed", "Stopped"} <= values <= TERMINAL_STATUSES
                ):  # (a list of all statuses is fine)
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
