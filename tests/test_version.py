"""Packaging metadata: the version is written once, in ``amtlocal/__init__.py``; the license is the LICENSE file."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import amtlocal

ROOT = Path(__file__).resolve().parents[1]


def test_installed_metadata_reports_the_package_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc|\.dev|\.post)?\d*", amtlocal.__version__), amtlocal.__version__
    assert importlib.metadata.version("amtlocal") == amtlocal.__version__


def test_pyproject_takes_the_version_from_the_package():
    text = (ROOT / "pyproject.toml").read_text()  # read as text: tomllib is 3.11+, the package supports 3.10
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M), "a static version in [project] would be a second place"
    assert re.search(r'^dynamic\s*=\s*\[[^]]*"version"', project, re.M)
    assert re.search(
        r'^version\s*=\s*\{\s*attr\s*=\s*"amtlocal.__version__"\s*\}',
        text.split("[tool.setuptools.dynamic]", 1)[1],
        re.M,
    )


def test_the_license_pyproject_names_is_the_license_file_shipped():
    assert importlib.metadata.metadata("amtlocal")["License-Expression"] == "Apache-2.0"
    assert "LICENSE" in importlib.metadata.metadata("amtlocal").get_all("License-File")
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
