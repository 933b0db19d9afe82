"""The package ships as integrations do: one version, written once, and type information."""

from __future__ import annotations

import re
import subprocess
import sys
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


def test_the_domain_lm_path_does_not_load_the_llm_side() -> None:
    """Loading and running the domain LM needs no general LLM, judge or encoder: a fresh process
    that imports the inference core (model/, knowledge/, writers/) has not imported `blade_core.llm`,
    retrieval, LangChain or LlamaIndex."""
    code = (
        "import sys, blade_core.writers.domain_lm, blade_core.writers.endpoint, blade_core.writers.load\n"
        "import blade_core.model.soft_prompt, blade_core.model.export, blade_core.knowledge.writer\n"
        "print(sorted(m for m in sys.modules if m.startswith(('blade_core.llm', 'blade_core.retrieval',"
        " 'sentence_transformers', 'botorch', 'llama_index', 'langchain_core', 'langchain_openai'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
