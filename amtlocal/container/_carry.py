"""What a local process can carry: the checks a training job definition passes before any local job runs.

AMT accepts some fields that a local process cannot take: the toolkit passes every hyperparameter on the command line
(``--name value``) and in the environment (``SM_HP_<NAME>``, ``SM_HPS``, ``SM_TRAINING_ENV``), channel names become
folders under /opt/ml/input/data, the entry point is a file of the code folder. Each rule below names the request
field and says what the local machine needs, as an :class:`~amtlocal.exceptions.AmtValidationError`; each runs once,
when the definition is resolved, so a bad field fails the request instead of every training job.

The code folder is copied into each job as SDK v2 packs it (``sagemaker.utils.create_tar_file``:
``tarfile.open(..., dereference=True)``: symbolic links are followed). A link loop or a dangling link, which would
fail the SDK's packer, is reported here once; a link to a folder outside the code folder is kept a link in the job's
copy (the same files, read in place) instead of being copied into every job.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from amtlocal.exceptions import AmtValidationError
from amtlocal.spec.hyperparameters import decode_hyperparameter

MAX_ARG_BYTES = 131072  # Linux MAX_ARG_STRLEN: one argv word or one NAME=value environment string
FOLDER_NAME_BAD = ("", ".", "..")


def _text_carried(value: str, field: str, what: str) -> None:
    """``value`` goes into argv or the environment: no NUL byte, at most MAX_ARG_BYTES bytes (UTF-8)."""
    if "\x00" in value:
        raise AmtValidationError(field, f"{what} holds a NUL byte, which a command line or environment cannot carry")
    try:
        size = len(value.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        raise AmtValidationError(field, f"{what} is not valid text (a lone surrogate)") from None
    if size >= MAX_ARG_BYTES:
        raise AmtValidationError(
            field,
            f"{what} is {size} bytes; a command-line word or environment value holds at "
            f"most {MAX_ARG_BYTES - 1} bytes here",
        )


def check_hyperparameters(definition: dict[str, Any], path: str) -> None:
    """Static hyperparameter names and values: carried by argv and env (tunable ones: :func:`check_range_values`).

    A name may not hold ``=`` (it becomes the environment variable ``SM_HP_<NAME>``) nor a NUL byte; every value
    fits one argv word; all of them together fit ``SM_HPS``, one environment value.

    Raises:
        AmtValidationError: naming ``<path>.StaticHyperParameters.<name>`` or the range field.
    """
    static = definition.get("StaticHyperParameters") or {}
    for name, value in static.items():
        field = f"{path}.StaticHyperParameters.{name}"
        _name_carried(str(name), field)
        _text_carried(str(value), field, "the value")
    hps = json.dumps({k: decode_hyperparameter(v) if isinstance(v, str) else v for k, v in static.items()})
    if len(hps.encode()) >= MAX_ARG_BYTES:
        raise AmtValidationError(
            f"{path}.StaticHyperParameters",
            f"the hyperparameters together are {len(hps.encode())} "
            f"bytes in SM_HPS; one environment value holds at most {MAX_ARG_BYTES - 1} bytes here",
        )


def check_range_values(space: dict[str, Any], field: str) -> None:
    """Tunable hyperparameters (``{name: Range}``): names and categorical values carried by argv and env.

    Raises:
        AmtValidationError: naming ``<field>.<name>``.
    """
    for name, rng in space.items():
        _name_carried(str(name), f"{field}.{name}")
        for j, v in enumerate(getattr(rng, "values", None) or []):
            _text_carried(str(v), f"{field}.{name}.Values[{j}]", "the value")


def _name_carried(name: str, field: str) -> None:
    if "=" in name:
        raise AmtValidationError(
            field,
            f"the hyperparameter name {name!r} holds '=': the toolkit's environment "
            "variable SM_HP_<NAME> cannot carry it",
        )
    _text_carried(name, field, "the hyperparameter name")


def check_environment(definition: dict[str, Any], path: str) -> None:
    """``Environment``: names without ``=`` or NUL, values that one environment string can hold."""
    for key, value in (definition.get("Environment") or {}).items():
        field = f"{path}.Environment.{key}"
        if "=" in str(key) or not str(key):
            raise AmtValidationError(field, "an environment variable name may not be empty nor hold '='")
        _text_carried(str(key), field, "the name")
        _text_carried(str(value), field, "the value")


def check_channel_name(name: str, field: str) -> None:
    """A channel name becomes the folder /opt/ml/input/data/<name>: a single folder name, not ``.`` or ``..``."""
    if name in FOLDER_NAME_BAD or "/" in name or "\x00" in name:
        raise AmtValidationError(field, f"channel name {name!r} is not a folder name (/opt/ml/input/data/<name>)")


def check_program(program: str, code: Path, field: str) -> None:
    """``sagemaker_program`` is a relative path to a file inside the code folder (never absolute, never ``..``)."""
    _text_carried(program, field, "the entry point")
    if os.path.isabs(program) or ".." in Path(program).parts:
        raise AmtValidationError(
            field,
            f"entry point {program!r} is outside the code folder: give a path relative to "
            "sagemaker_submit_directory, inside it",
        )
    if code.is_dir():
        target = (code / program).resolve()
        if not target.is_relative_to(code.resolve()):
            raise AmtValidationError(field, f"entry point {program!r} leads outside the code folder (a symbolic link)")


def check_code_links(code: Path, field: str) -> None:
    """Every symbolic link in the code folder resolves (no loop, no dangling link), as SDK v2's packer needs."""
    if not code.is_dir():
        return
    for root, dirs, files in os.walk(code):
        for name in dirs + files:
            p = Path(root) / name
            if not p.is_symlink():
                continue
            try:
                p.resolve(strict=True)
            except RuntimeError:  # Python < 3.13: a loop
                raise AmtValidationError(
                    field, f"symbolic link {str(p.relative_to(code))!r} in the code folder is a loop"
                ) from None
            except OSError as e:
                kind = "is a loop" if e.errno == 40 else "points to nothing"  # ELOOP
                raise AmtValidationError(
                    field, f"symbolic link {str(p.relative_to(code))!r} in the code folder {kind} ({os.readlink(p)!r})"
                ) from None
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]  # os.walk does not follow them anyway


def copy_ignoring_outside_links(code: Path) -> Any:
    """An ``ignore`` callable for ``shutil.copytree`` of ``code``: it skips links to folders outside ``code`` (they are
    linked, not copied: see :func:`link_outside_folders`)."""
    root = code.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        out = set()
        for n in names:
            p = Path(folder) / n
            if p.is_symlink() and p.is_dir() and not p.resolve().is_relative_to(root):
                out.add(n)
        return out

    return ignore


def link_outside_folders(code: Path, copy: Path) -> None:
    """In the job's ``copy`` of ``code``: a link for each folder link of ``code`` that leads outside it."""
    root = code.resolve()
    for dirpath, dirs, _ in os.walk(code):
        for d in dirs:
            p = Path(dirpath) / d
            if p.is_symlink() and not p.resolve().is_relative_to(root):
                dest = copy / p.relative_to(code)
                if not dest.exists():
                    dest.symlink_to(p.resolve(), target_is_directory=True)
