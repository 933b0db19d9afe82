"""The `blade` command: one sub-command per stage, each a thin call into blade_core.

Every option is a field of a pydantic config (`command_configs`, and each stage's own), so its
range is checked before anything runs; every error ends as one line (`command_errors`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from blade_core.cli.bpo import bpo_command
from blade_core.cli.config_command import command_from_config
from blade_core.cli.configs import (
    ExportConfig,
    GenerateConfig,
    InitModelConfig,
    QuickstartConfig,
    ServeConfig,
    ServeLLMConfig,
)
from blade_core.cli.datagen import augment_corpus_command, make_kit_data_command
from blade_core.cli.errors import DEBUG_ENV, DEBUG_FLAG, BladeGroup
from blade_core.cli.evaluation import eval_command
from blade_core.cli.training import kit_command, pretrain_command
from blade_core.errors import require
from blade_core.outputs import check_inputs_exist, prepare_file, prepare_model_directory
from blade_core.pipeline.recipe import TrainConfig

if TYPE_CHECKING:
    from blade_core.pipeline.run import PipelineReport

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SERVER_KEY_ENV = "BLADE_SERVER_API_KEY"

app = typer.Typer(
    cls=BladeGroup,
    help="BLADE: a small domain LM that writes the knowledge a black-box LLM needs. An error is "
         f"reported in one line; add {DEBUG_FLAG} to any command (or set {DEBUG_ENV}=1) for its traceback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # errors are reported by BladeGroup, one line each
)
console = Console()


def init_model(config: InitModelConfig) -> None:
    prepare_model_directory(config.out, inputs={"--corpus": config.corpus}, overwrite=config.overwrite)
    from blade_core.data import load_corpus
    from blade_core.training.model_builder import init_model as build
    from blade_core.training.model_size import resolve_size

    documents = load_corpus(config.corpus)
    size, reason = resolve_size(config.size, documents)
    if reason:
        console.print(reason, markup=False)
    build(documents, config.out, size=size, seed=config.seed)
    console.print(f"wrote {config.out} ({len(documents)} documents, size {size})")


def generate(config: GenerateConfig) -> None:
    if config.out is not None:
        prepare_file(config.out, inputs={"--questions": config.questions, "--model": config.model},
                     overwrite=config.overwrite)
    from blade_core.data import load_mcq, write_jsonl
    from blade_core.writers.domain_lm import DomainLM

    items: list[tuple[str, str]] = [(f"q{i}", q) for i, q in enumerate(config.question)]
    if config.questions is not None:
        items += [(q.id, q.with_options_text()) for q in load_mcq(config.questions)]
    lm = DomainLM.from_pretrained(config.model)
    texts = lm.generate_knowledge([q for _, q in items], batch_size=config.batch_size,
                                  progress=len(items) > config.batch_size, **config.given())
    records = [{"id": i, "question": q, "knowledge": k} for (i, q), k in zip(items, texts)]
    if config.out is not None:
        write_jsonl(config.out, records)
        console.print(f"wrote {len(records)} records to {config.out}")
    else:
        for record in records:
            console.print_json(json.dumps(record, ensure_ascii=False))


def export(config: ExportConfig) -> None:
    check_inputs_exist({"--model": config.model}, hub_ids=())  # a BLADE directory here, never a hub id
    prepare_model_directory(config.out, inputs={"--model": config.model}, overwrite=config.overwrite)
    from blade_core.model.export import PROMPT_FILE, export_model

    done = export_model(config.model, config.out)
    tokens = f"{len(done.soft_token_ids)} soft-prompt tokens" if done.soft_token_ids else "no soft prompt"
    console.print(f"wrote {done.directory} ({tokens}); the knowledge prompt is in {PROMPT_FILE}", markup=False)


def serve_llm(config: ServeLLMConfig) -> None:
    require("fastapi", "uvicorn")
    from blade_core.llm import resolve_llm
    from blade_core.serve import OpenAICompatibleServer

    api_key = config.api_key or os.environ.get(SERVER_KEY_ENV) or None
    server = OpenAICompatibleServer(resolve_llm(config.llm), host=config.host, port=config.port,
                                    delay=config.delay, api_key=api_key, max_body_bytes=config.max_body_bytes,
                                    max_connections=config.max_connections)
    server.bind()
    console.print(f"serving {config.llm} at {server.base_url} (Ctrl-C to stop)", markup=False)
    server.serve_forever()


def serve(config: ServeConfig) -> None:
    require("fastapi", "uvicorn")
    check_inputs_exist({"--model": config.model}, hub_ids=())
    from blade_core.serve.completions import KnowledgeServer

    api_key = config.api_key or os.environ.get(SERVER_KEY_ENV) or None
    server = KnowledgeServer.from_directory(
        config.model, device=config.device, host=config.host, port=config.port, api_key=api_key,
        model_name=config.model_name or config.model.name, max_batch=config.max_batch,
        batch_wait=config.batch_wait_ms / 1000, max_queue=config.max_queue,
        max_body_bytes=config.max_body_bytes, max_connections=config.max_connections)
    server.bind()
    console.print(f"serving {server.model_name} at {server.base_url} (Ctrl-C to stop)", markup=False)
    server.serve_forever()


def quickstart(config: QuickstartConfig) -> None:
    from blade_core.pipeline.run import run_quickstart

    show(run_quickstart(config.out, llm_spec=config.llm, fast=config.fast, base=config.base,
                        overwrite=config.overwrite, domain=config.domain), config.out)


def train(config: TrainConfig) -> None:
    from blade_core.pipeline.run import run_train

    show(run_train(config), config.out)


def show(report: PipelineReport, out: Path) -> None:
    """The report's table and where it was written; an incomplete evaluation ends in an error."""
    from blade_core.evaluation.report import table

    if report.evaluation is not None:
        console.print(table(report.evaluation))
    console.print(f"recipe: {report.recipe}; report: {out / 'report.md'}; total time {report.seconds} s")
    if report.evaluation is not None:
        report.evaluation.raise_if_incomplete(rerun="run the same command again (without --overwrite)")


app.command("init-model")(command_from_config(InitModelConfig, init_model, InitModelConfig.__doc__ or ""))
app.command("generate")(command_from_config(GenerateConfig, generate, GenerateConfig.__doc__ or ""))
app.command("export")(command_from_config(ExportConfig, export, ExportConfig.__doc__ or ""))
app.command("serve-llm")(command_from_config(
    ServeLLMConfig, serve_llm,
    f"{ServeLLMConfig.__doc__} Pass the key in ${SERVER_KEY_ENV} rather than --api-key, which other "
    "users of the machine can read in its process list.",
))
app.command("serve")(command_from_config(
    ServeConfig, serve,
    f"{ServeConfig.__doc__} Pass the key in ${SERVER_KEY_ENV} rather than --api-key.",
))
app.command("quickstart")(command_from_config(QuickstartConfig, quickstart, QuickstartConfig.__doc__ or ""))
app.command("train")(command_from_config(TrainConfig, train, TrainConfig.__doc__ or "", config_file=True))
app.command("pretrain")(pretrain_command)
app.command("kit")(kit_command)
app.command("make-kit-data")(make_kit_data_command)
app.command("augment-corpus")(augment_corpus_command)
app.command("bpo")(bpo_command)
app.command("eval")(eval_command)


if __name__ == "__main__":
    app()
