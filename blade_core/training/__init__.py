"""Training stages DP and KIT on the Hugging Face Trainer (BPO lives in `blade_core.bpo`).

The configs import light; the runners (torch, transformers) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from blade_core.training.configs import KitConfig, PretrainConfig, TrainOptions

__all__ = ["KitConfig", "PretrainConfig", "TrainOptions", "TrainingError", "run_kit", "run_pretrain"]

_LAZY = {"run_kit": "kit", "run_pretrain": "pretrain", "TrainingError": "runner"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"blade_core.training.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'blade_core.training' has no attribute {name!r}")
