"""The `blade augment-corpus` command, also run directly by `trainers/augment_corpus.py`."""

from __future__ import annotations

from pathlib import Path

import typer

from blade_core.config_command import command_from_config
from blade_core.datagen.augment_corpus_config import AugmentCorpusConfig


def _augment_corpus(config: AugmentCorpusConfig) -> Path:
    from blade_core.datagen.augment_corpus import augment_corpus

    report = augment_corpus(config)
    typer.echo(report.summary())
    report.raise_if_incomplete()
    return config.out


augment_corpus_command = command_from_config(
    AugmentCorpusConfig, _augment_corpus,
    "Knowledge augmentation for DP: a general LLM paraphrases each corpus passage and rewrites it "
    "as question-answer pairs; rewrites that add names or numbers are dropped. The output is a "
    "corpus file for `blade pretrain --corpus`. Resumable, cached, concurrent.",
)
