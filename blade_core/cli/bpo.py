"""The `blade bpo` command, also run directly by `trainers/bpo.py`."""

from __future__ import annotations

from pathlib import Path

from blade_core.bpo.config import BpoConfig
from blade_core.cli.config_command import command_from_config


def _bpo(config: BpoConfig) -> Path:
    config.check_outputs()  # a mistyped --out is told in a second, before torch loads
    from blade_core.bpo.loop import run_bpo

    return run_bpo(config).out


bpo_command = command_from_config(
    BpoConfig, _bpo,
    "BPO: tune the soft prompt by Bayesian optimization on the black-box LLM's dev accuracy "
    "(resumable; LLM answers cached).",
)
