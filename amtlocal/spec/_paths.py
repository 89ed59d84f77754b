"""Dotted field paths into an AMT request dict: ``A.B[0].C``, the form every validation error names."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """``"A.B[0].C"`` -> ``["A", "B", 0, "C"]``."""
    return [key if key else int(idx) for key, idx in _TOKEN.findall(path)]


def join_path(parts: list[str | int]) -> str:
    """Inverse of :func:`split_path`."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def get_path(obj: Any, path: str, default: Any = None) -> Any:
    """The value at ``path`` in nested dicts/lists, or ``default`` when any step is missing."""
    for p in split_path(path):
        try:
            obj = obj[p]
        except (KeyError, IndexError, TypeError):
            return default
    return obj


def set_path(obj: Any, path: str, value: Any) -> None:
    """Set the value at ``path``, creating missing dicts on the way."""
    parts = split_path(path)
    for p in parts[:-1]:
        if isinstance(p, str) and p not in obj:
            obj[p] = {}
        obj = obj[p]
    obj[parts[-1]] = value


def delete_path(obj: Any, path: str) -> None:
    """Remove the key or item at ``path``; a missing path is ignored."""
    parts = split_path(path)
    parent = get_path(obj, join_path(parts[:-1])) if len(parts) > 1 else obj
    try:
        del parent[parts[-1]]
    except (KeyError, IndexError, TypeError):
        pass
