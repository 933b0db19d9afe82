"""BLADE: a small domain LM that writes the knowledge a black-box LLM needs.

Heavy modules (torch, transformers) load on first use, so `blade --help` and the data loaders
start fast.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

__version__ = version("blade-lm")  # pyproject.toml is the one place the version is written

if TYPE_CHECKING:
    from blade_core.model.soft_prompt import SoftPrompt
    from blade_core.writers.domain_lm import DomainLM

__all__ = ["DomainLM", "SoftPrompt", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "DomainLM":
        from blade_core.writers.domain_lm import DomainLM

        return DomainLM
    if name == "SoftPrompt":
        from blade_core.model.soft_prompt import SoftPrompt

        return SoftPrompt
    raise AttributeError(f"module 'blade_core' has no attribute {name!r}")
