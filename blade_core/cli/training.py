"""The `blade pretrain` / `blade kit` commands, also run directly by `trainers/*.py` under torchrun."""

from __future__ import annotations

from pathlib import Path

from blade_core.cli.config_command import command_from_config
from blade_core.training.configs import KitConfig, PretrainConfig


def _pretrain(config: PretrainConfig) -> Path | None:
    config.check_outputs()  # a mistyped --out is told in a second, before torch loads
    from blade_core.training.pretrain import run_pretrain

    return run_pretrain(config)


def _kit(config: KitConfig) -> Path | None:
    config.check_outputs()  # a mistyped --out is told in a second, before torch loads
    from blade_core.training.kit import run_kit

    return run_kit(config)


pretrain_command = command_from_config(
    PretrainConfig, _pretrain,
    "DP: continue pretraining a model on domain text (packed blocks, full or LoRA, resumable).",
)
kit_command = command_from_config(
    KitConfig, _kit,
    "KIT: tune a model to write the knowledge that answers a question (loss on the knowledge only).",
)
