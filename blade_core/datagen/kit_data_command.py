"""The `blade make-kit-data` command, also run directly by `trainers/make_kit_data.py`."""

from __future__ import annotations

from pathlib import Path

import typer

from blade_core.config_command import command_from_config
from blade_core.datagen.kit_data_config import KitDataConfig


def _make_kit_data(config: KitDataConfig) -> Path:
    from blade_core.datagen.kit_data import make_kit_data

    report = make_kit_data(config)
    typer.echo(report.summary())
    report.raise_if_incomplete()
    return config.out


make_kit_data_command = command_from_config(
    KitDataConfig, _make_kit_data,
    "Make KIT pairs: a general LLM writes each question's knowledge (optionally from corpus "
    "passages); a pair is kept only if that knowledge leads the LLM to the right answer. "
    "Resumable, cached, concurrent.",
)
