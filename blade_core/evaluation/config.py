"""What a user sets for `blade eval`: pydantic only (no torch, no LangChain), so `blade --help` stays fast.

`EvalSettings` is what the Python API (`evaluate`) shares with the CLI; `EvalConfig` adds the files
and switches only the command has. Defaults live beside each field, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from blade_core.client_options import ClientOptions
from blade_core.model.generation_settings import GenerationSettings
from blade_core.retrieval.kinds import Retriever

MODES = ("none", "blade", "rag", "hybrid", "gold")
"""The built-in modes, in report order: the LLM alone, BLADE knowledge, retrieved passages, BLADE
knowledge plus passages, and the reference knowledge (an upper bound)."""

HybridQuery = Literal["question", "knowledge", "both"]


class EvalSettings(GenerationSettings, ClientOptions):
    """How each mode's knowledge is made and how the LLM is asked (the domain LM's generation
    settings are inherited: None keeps the model's own)."""

    top_k: int = Field(default=3, ge=1, description="passages retrieved per question (rag, hybrid)")
    passage_words: int = Field(
        default=120, ge=10, description="corpus documents are cut into passages of about this many words"
    )
    retriever: Retriever = Field(
        default="auto",
        description="rag and hybrid's retriever: minilm (dense, English), bm25 (lexical; reads "
        "Chinese), or auto: bm25 for a Chinese corpus, minilm otherwise",
    )
    # Sample domain, offline LLM, the quickstart's model (benchmarks/knowledge_quality.md): on dev
    # "question" and "both" tie (0.926), "knowledge" alone 0.833; generated knowledge that is wrong
    # pulls retrieval off target, so the question stays the default.
    hybrid_query: HybridQuery = Field(
        default="question",
        description="hybrid's retrieval query: the question with its options, the generated "
        "knowledge (HyDE-style), or both",
    )
    batch_size: int = Field(default=32, ge=1, description="questions per knowledge-generation batch")
    progress: bool = Field(default=True, description="show progress while generating and scoring")


class EvalConfig(EvalSettings):
    """`blade eval`: score the LLM on a question file under several knowledge modes, side by side."""

    test: Path = Field(description="multiple-choice questions (any layout load_mcq reads)")
    llm: str = Field(description="general LLM: 'offline', 'openai:MODEL' or 'PROVIDER:MODEL'")
    out: Path = Field(description="report JSON to write; per-question answers go beside it")
    model: Path | None = Field(default=None, description="BLADE model directory (blade, hybrid)")
    rag_corpus: list[Path] = Field(
        default=[], description="corpus folders / .txt / JSONL files to retrieve from (rag, hybrid)"
    )
    modes: list[str] | None = Field(
        default=None,
        description=f"comma-separated, from {', '.join(MODES)}; default: every mode the inputs allow",
    )
    overwrite: bool = Field(default=False, description="replace an existing report at --out (and its files)")
    limit: int | None = Field(default=None, ge=1, description="use only the first N questions")
    cache: bool = Field(default=True, description="cache LLM replies in SQLite so a re-run repeats no call")
    cache_path: Path | None = Field(default=None, description="default: OUT with suffix .cache.sqlite")
    plot: bool = Field(default=True, description="also write a bar chart of accuracy per mode (OUT .png)")

    @field_validator("modes", mode="before")
    @classmethod
    def _split_modes(cls, value: object) -> object:
        """Accept `--modes none,rag` as well as repeated `--modes`; refuse unknown names early."""
        if value is None:
            return None
        items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
        names = [name.strip() for item in items for name in str(item).split(",") if name.strip()]
        unknown = sorted(set(names) - set(MODES))
        if unknown:
            raise ValueError(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
        if not names:
            raise ValueError(f"name at least one mode from {', '.join(MODES)}")
        return list(dict.fromkeys(names))

    @property
    def questions_file(self) -> Path:
        """Every answer of every mode, one JSON line each, for auditing the report."""
        return self.out.with_suffix(".questions.jsonl")

    @property
    def cache_file(self) -> Path:
        """Beside the report by default, so a re-run finds the calls it already paid for."""
        return self.cache_path or self.out.with_suffix(".cache.sqlite")

    @property
    def plot_file(self) -> Path:
        return self.out.with_suffix(".png")
