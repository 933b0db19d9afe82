"""The `blade eval` command: load the questions, score every mode, write and show the report."""

from __future__ import annotations

from pathlib import Path

from blade_core.cli.config_command import command_from_config
from blade_core.evaluation.config import EvalConfig
from blade_core.outputs import check_not_an_input, prepare_file


def run(config: EvalConfig) -> Path:
    inputs = {"--test": config.test, "--model": config.model, "--rag-corpus": config.rag_corpus}
    beside = [config.questions_file, *([config.plot_file] if config.plot else [])]
    prepare_file(config.out, inputs=inputs, overwrite=config.overwrite, beside=beside)
    check_not_an_input(config.cache_file, "--cache-path", inputs)

    from rich.console import Console

    from blade_core.data import load_mcq
    from blade_core.evaluation.report import table, write_report
    from blade_core.evaluation.runner import evaluate
    from blade_core.model.checks import check_model_source

    if config.model is not None:
        check_model_source(str(config.model))  # now, not after the modes before `blade` ran
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
    write_report(report, config.out, config.questions_file, config.plot_file if config.plot else None)
    Console().print(table(report))
    report.raise_if_incomplete(rerun="run the same command again with --overwrite")
    return config.out


eval_command = command_from_config(
    EvalConfig, run,
    "Score a general LLM on multiple-choice questions with no knowledge, BLADE knowledge, retrieved "
    "passages (RAG), both (hybrid) and the reference knowledge (gold), side by side; cached, concurrent.",
)
