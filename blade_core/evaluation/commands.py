"""The `blade eval` command: load the questions, score every mode, write and show the report."""

from __future__ import annotations

from pathlib import Path

import typer

from blade_core.config_command import command_from_config
from blade_core.evaluation.config import EvalConfig


def run(config: EvalConfig) -> Path:
    from rich.console import Console

    from blade_core.data import DataError, load_mcq
    from blade_core.evaluation.report import table, write_report
    from blade_core.evaluation.runner import EvalInputError, evaluate

    try:
        if config.model is not None and not (config.model / "config.json").is_file():
            raise EvalInputError(f"--model {config.model} is not a model directory (no config.json)")
        questions = load_mcq(config.test)[: config.limit]
        report = evaluate(
            questions, config.llm,
            models={"blade": config.model} if config.model is not None else None,
            rag_corpus=config.rag_corpus or None,
            modes=config.modes,
            settings=config,
            cache_path=config.cache_file if config.cache else None,
            dataset=str(config.test),
        )
    except (DataError, EvalInputError) as error:  # the user's input or files, not a bug: no traceback
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    write_report(report, config.out, config.questions_file, config.plot_file if config.plot else None)
    Console().print(table(report))
    return config.out


eval_command = command_from_config(
    EvalConfig, run,
    "Score a general LLM on multiple-choice questions with no knowledge, BLADE knowledge, retrieved "
    "passages (RAG), both (hybrid) and the reference knowledge (gold), side by side; cached, concurrent.",
)
