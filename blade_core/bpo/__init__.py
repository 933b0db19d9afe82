"""BPO: Bayesian optimization of the domain LM's soft prompt on the black-box LLM's dev accuracy.

The config imports light; the loop (torch, botorch, transformers) loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from blade_core.bpo.config import BpoConfig

__all__ = ["BpoConfig", "BpoResult", "run_bpo"]

_LAZY = {"run_bpo": "loop", "BpoResult": "loop"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"blade_core.bpo.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'blade_core.bpo' has no attribute {name!r}")
