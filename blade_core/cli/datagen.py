"""The `blade make-kit-data` and `blade augment-corpus` commands, also run directly by
`trainers/make_kit_data.py` and `trainers/augment_corpus.py`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import typer

from blade_core.cli.config_command import command_from_config
from blade_core.datagen.augment_corpus_config import AugmentCorpusConfig
from blade_core.datagen.kit_data_config import KitDataConfig
from blade_core.datagen.run_config import GeneratorRunConfig


class _Report(Protocol):
    def summary(self) -> str: ...
    def raise_if_incomplete(self) -> None: ...


Config = TypeVar("Config", bound=GeneratorRunConfig)


def _reported(run: Callable[[Config], _Report]) -> Callable[[Config], Path]:
    """Run a generator, print its one-line summary, and fail (exit 3) if LLM errors left gaps."""

    def command(config: Config) -> Path:
        report = run(config)
        typer.echo(report.summary())
        report.raise_if_incomplete()
        return config.out

    return command


def _make_kit_data(config: KitDataConfig) -> _Report:
    from blade_core.datagen.kit_data import make_kit_data

    return make_kit_data(config)


def _augment_corpus(config: AugmentCorpusConfig) -> _Report:
    from blade_core.datagen.augment_corpus import augment_corpus

    return augment_corpus(config)


make_kit_data_command = command_from_config(
    KitDataConfig, _reported(_make_kit_data),
    "Make KIT pairs: a general LLM writes each question's knowledge (optionally from corpus "
    "passages); a pair is kept only if that knowledge leads the LLM to the right answer. "
    "Resumable, cached, concurrent.",
)
augment_corpus_command = command_from_config(
    AugmentCorpusConfig, _reported(_augment_corpus),
    "Knowledge augmentation for DP: a general LLM paraphrases each corpus passage and rewrites it "
    "as question-answer pairs; rewrites that add names or numbers are dropped. The output is a "
    "corpus file for `blade pretrain --corpus`. Resumable, cached, concurrent.",
)
