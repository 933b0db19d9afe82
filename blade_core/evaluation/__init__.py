"""`blade eval`: the benchmark runner that scores knowledge modes side by side (none, BLADE, RAG,
hybrid, gold) with one LLM, one prompt and one answer parser.

The config imports light; the runner (LangChain, MiniLM, torch for BLADE modes) loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from blade_core.evaluation.config import MODES, EvalConfig, EvalSettings

__all__ = ["MODES", "EvalConfig", "EvalInputError", "EvalReport", "EvalSettings", "evaluate"]

_LAZY = {"evaluate": "runner", "EvalReport": "runner", "EvalInputError": "runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"blade_core.evaluation.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'blade_core.evaluation' has no attribute {name!r}")
