"""What a user sets for `blade init-model`, `generate`, `export`, `serve-llm`, `serve` and `quickstart`.

The stage commands keep their configs beside their code (`training.configs`, `bpo.config`, ...);
these are thin enough to live in `cli`, so their settings are declared here, with every range,
in pydantic only (no torch): `blade --help` stays fast, and a nonsense value is refused, never
replaced by a default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from blade_core.model.generation_settings import GenerationSettings
from blade_core.sample_domain import SampleLanguage
from blade_core.serve.limits import (
    DEFAULT_BATCH_WAIT_MS,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_QUEUE,
)
from blade_core.training.model_size import SizeChoice


class InitModelConfig(BaseModel):
    """Build a small domain LM from scratch: a BPE tokenizer trained on the corpus, a Qwen2 config."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    corpus: list[Path] = Field(min_length=1, description="corpus folder, .txt/.md file or JSONL with 'text'")
    out: Path = Field(description="model directory to write")
    size: SizeChoice = Field(default="auto", description="tiny (tests), small, medium, or auto: from the corpus's facts")
    seed: int = Field(default=0, description="seeds the random initial weights")
    overwrite: bool = Field(default=False, description="replace a model directory blade wrote at --out")


class GenerateConfig(GenerationSettings):
    """Write knowledge for questions with a domain LM (and its soft prompt, when it has one)."""

    model: str = Field(description="model directory or hub id")
    question: list[str] = Field(default=[], description="a question (repeatable)")
    questions: Path | None = Field(default=None, description="multiple-choice JSONL to write knowledge for")
    out: Path | None = Field(default=None, description="JSONL of {id, question, knowledge} (default: print)")
    overwrite: bool = Field(default=False, description="replace an existing --out file")
    batch_size: int = Field(default=32, ge=1, description="questions per generate call")

    @model_validator(mode="after")
    def _has_questions(self) -> GenerateConfig:
        if not self.question and self.questions is None:
            raise ValueError("give --question TEXT (repeatable) or --questions FILE")
        if any(not text.strip() for text in self.question):
            raise ValueError("--question: a question is empty; give its text")
        return self


class ExportConfig(BaseModel):
    """Write a trained domain LM as a plain Hugging Face model directory any inference engine serves
    (vLLM, TGI, llama.cpp): the soft prompt becomes special tokens whose embeddings are its vectors."""

    model: Path = Field(description="BLADE model directory to export")
    out: Path = Field(description="model directory to write")
    overwrite: bool = Field(default=False, description="replace a model directory blade wrote at --out")


class ServerOptions(BaseModel):
    """Where a server of ours listens and what it accepts (`serve-llm`, `serve`)."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    host: str = Field(default="127.0.0.1", description="bind address; keep 127.0.0.1 unless you mean to expose it")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port (0: any free port)")
    api_key: str | None = Field(
        default=None,
        description="require this key as a Bearer token (default: $BLADE_SERVER_API_KEY, else no key)",
    )
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES, ge=1024, description="largest request body accepted (413 above)"
    )
    max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS, ge=1, description="connections served at once; more are answered 503 at once"
    )


class ServeLLMConfig(ServerOptions):
    """Serve a LangChain chat model (by default the offline stand-in) as an OpenAI-compatible API."""

    llm: str = Field(default="offline", description="LLM spec to serve ('offline' or provider:model)")
    delay: float = Field(default=0.0, ge=0.0, description="seconds to wait before each answer (benchmarks)")


class ServeConfig(ServerOptions):
    """Serve a domain LM over the OpenAI completions API, batching concurrent requests: the knowledge
    service every chain's `from_endpoint` calls (vLLM's stand-in on a CPU)."""

    model: Path = Field(description="model directory: a `blade export` output, or a BLADE model directory (exported in memory)")
    model_name: str | None = Field(default=None, description="the name clients ask for (default: the directory's name)")
    device: str | None = Field(default=None, description="cpu, cuda, cuda:1, ... (default: CUDA when available)")
    max_batch: int = Field(default=DEFAULT_MAX_BATCH, ge=1, description="most prompts per generate call (1: no batching)")
    batch_wait_ms: float = Field(default=DEFAULT_BATCH_WAIT_MS, ge=0.0, description="how long a batch waits for more requests")
    max_queue: int = Field(default=DEFAULT_MAX_QUEUE, ge=1, description="requests that may wait; more are answered 503 with Retry-After")


class QuickstartConfig(BaseModel):
    """Train a domain LM through DP, KIT and BPO on the sample domain and show how much it helps."""

    out: Path = Field(default=Path("blade-quickstart"), description="working folder; a re-run reuses finished stages")
    llm: str = Field(default="offline", description="'offline' (no network) or e.g. openai:gpt-4o-mini")
    fast: bool = Field(default=False, description="a few steps per stage: a smoke test, not a measurement")
    base: str | None = Field(
        default=None,
        description="start from this model directory or hub id (e.g. Qwen/Qwen2.5-0.5B) instead of a from-scratch one",
    )
    overwrite: bool = Field(default=False, description="discard an earlier quickstart in --out and start again")
    domain: SampleLanguage = Field(
        default="en", description="the packaged domain: en (a pharmacopoeia) or zh (Chinese regulations, JEC-QA layout)"
    )
