"""The `blade` command: one sub-command per stage, each a thin call into blade_core."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from blade_core.augmentation_llm_command import augment_corpus_command
from blade_core.bpo.commands import bpo_command
from blade_core.evaluation.commands import eval_command
from blade_core.training.commands import kit_command, pretrain_command
from blade_core.training.kit_data_command import make_kit_data_command

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

app = typer.Typer(
    help="BLADE: a small domain LM that writes the knowledge a black-box LLM needs.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold API keys
)
console = Console()


@app.command("init-model")
def init_model_cmd(
    corpus: Annotated[list[Path], typer.Option(help="Corpus folder, .txt/.md file or JSONL with 'text'.")],
    out: Annotated[Path, typer.Option(help="Model directory to write.")],
    size: Annotated[str, typer.Option(help="tiny (tests) or small (quickstart).")] = "small",
    seed: int = 0,
) -> None:
    """Build a small domain LM from scratch: BPE tokenizer trained on the corpus + Qwen2 config."""
    from blade_core.data import load_corpus
    from blade_core.model_builder import SIZES, init_model

    if size not in SIZES:
        raise typer.BadParameter(f"size must be one of {sorted(SIZES)}", param_hint="--size")
    documents = load_corpus(corpus)
    init_model(documents, out, size=size, seed=seed)  # type: ignore[arg-type]
    console.print(f"wrote {out} ({len(documents)} documents, size {size})")


@app.command()
def generate(
    model: Annotated[str, typer.Option(help="Model directory or hub id.")],
    question: Annotated[Optional[list[str]], typer.Option(help="A question (repeatable).")] = None,
    questions: Annotated[Optional[Path], typer.Option(help="Multiple-choice JSONL to write knowledge for.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="JSONL of {id, question, knowledge}.")] = None,
    max_new_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    batch_size: int = 32,
) -> None:
    """Write knowledge for questions with a domain LM (and its soft prompt, when it has one)."""
    from blade_core.data import load_mcq, write_jsonl
    from blade_core.domain_lm import DomainLM

    items: list[tuple[str, str]] = [(f"q{i}", q) for i, q in enumerate(question or [])]
    if questions is not None:
        items += [(q.id, q.with_options_text()) for q in load_mcq(questions)]
    if not items:
        raise typer.BadParameter("give --question or --questions")
    lm = DomainLM.from_pretrained(model)
    texts = lm.generate_knowledge([q for _, q in items], batch_size=batch_size, progress=len(items) > batch_size,
                                  max_new_tokens=max_new_tokens, temperature=temperature)
    records = [{"id": i, "question": q, "knowledge": k} for (i, q), k in zip(items, texts)]
    if out is not None:
        write_jsonl(out, records)
        console.print(f"wrote {len(records)} records to {out}")
    else:
        for record in records:
            console.print_json(json.dumps(record, ensure_ascii=False))


@app.command("serve-llm")
def serve_llm(
    llm: Annotated[str, typer.Option(help="LLM spec to serve ('offline' or provider:model).")] = "offline",
    host: Annotated[str, typer.Option(help="Bind address; keep 127.0.0.1 unless you mean to expose it.")] = "127.0.0.1",
    port: int = 8000,
    delay: Annotated[float, typer.Option(help="Seconds to wait before each answer (benchmarks).")] = 0.0,
) -> None:
    """Serve a LangChain chat model (by default the offline stand-in) as an OpenAI-compatible API."""
    from blade_core.llm import OpenAICompatibleServer, resolve_llm

    server = OpenAICompatibleServer(resolve_llm(llm), host=host, port=port, delay=delay)
    server.start()
    console.print(f"serving {llm} at {server.base_url} (Ctrl-C to stop)")
    server.serve_forever()


@app.command()
def quickstart(
    out: Annotated[Path, typer.Option(help="Working directory; a re-run reuses finished stages.")] = Path("blade-quickstart"),
    llm: Annotated[str, typer.Option(help="'offline' (no network) or e.g. openai:gpt-4o-mini.")] = "offline",
    fast: Annotated[bool, typer.Option(help="A few steps per stage: a smoke test, not a measurement.")] = False,
    base: Annotated[Optional[str], typer.Option(
        help="Start from this model directory or hub id (e.g. Qwen/Qwen2.5-0.5B) instead of a from-scratch one.")] = None,
) -> None:
    """Train a domain LM through DP, KIT and BPO on the sample domain and show how much it helps."""
    from blade_core.evaluation.report import table
    from blade_core.quickstart import run_quickstart

    report = run_quickstart(out, llm_spec=llm, fast=fast, base=base)
    console.print(table(report.evaluation))
    console.print(f"recipe: {report.recipe}; report: {out / 'report.md'}; total time {report.seconds} s")


app.command("pretrain")(pretrain_command)
app.command("kit")(kit_command)
app.command("make-kit-data")(make_kit_data_command)
app.command("augment-corpus")(augment_corpus_command)
app.command("bpo")(bpo_command)
app.command("eval")(eval_command)


if __name__ == "__main__":
    app()
