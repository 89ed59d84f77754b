"""Load and save a TuningSpec as JSON or YAML (YAML loaded safely: no Python objects from a spec file)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError


def read_request(path: str | os.PathLike) -> dict[str, Any]:
    """Read a CreateHyperParameterTuningJob request from ``path`` (``.json``, ``.yaml`` or ``.yml``).

    Raises:
        AmtValidationError: the file is missing, unparsable, or not a mapping (field ``""``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise AmtValidationError("", f"cannot read spec file {str(p)!r}: {e.strerror}") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml  # lazy: only YAML specs need it

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # noqa: BLE001 - any parser error is the user's file
        kind = "YAML" if p.suffix.lower() in (".yaml", ".yml") else "JSON"
        hint = (
            ""
            if p.suffix.lower() in (".json", ".yaml", ".yml")
            else " (a spec is a .json, .yaml or .yml file; others are read as JSON)"
        )
        raise AmtValidationError("", f"spec file {str(p)!r} is not valid {kind}{hint}: {e}") from None
    if not isinstance(data, dict):
        raise AmtValidationError(
            "", f"spec file {str(p)!r} must hold a mapping (the CreateHyperParameterTuningJob request)"
        )
    return data


def write_request(request: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``request`` to ``path`` as JSON or YAML by suffix, atomically (temp file + rename)."""
    p = Path(path)
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(request, sort_keys=False)
    else:
        text = json.dumps(request, indent=2, default=str) + "\n"
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, p)
    return p
