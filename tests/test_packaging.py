"""The package ships as integrations do: one version, written once, and type information."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import blade_core
import langchain_blade
import llamaindex_blade

ROOT = Path(__file__).resolve().parents[1]


def test_one_version_from_pyproject() -> None:
    written = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert written is not None
    assert version("blade-lm") == written.group(1)
    assert blade_core.__version__ == langchain_blade.__version__ == llamaindex_blade.__version__ == written.group(1)
    assert not re.search(r"__version__ = \"", (ROOT / "blade_core" / "__init__.py").read_text())


def test_every_package_is_marked_typed() -> None:
    for package in (blade_core, langchain_blade, llamaindex_blade):
        assert (Path(package.__file__).parent / "py.typed").is_file(), package.__name__
