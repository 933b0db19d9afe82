"""What a user sets for `blade make-kit-data`: one pydantic config, defaults beside each field.

Only pydantic here (no LangChain, no torch), because the CLI imports this module to build its
options and `blade --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from blade_core.datagen.run_config import GeneratorRunConfig


class KitDataConfig(GeneratorRunConfig):
    """Make KIT pairs: a general LLM writes each question's knowledge; only verified pairs are kept."""

    questions: Path = Field(description="multiple-choice questions (any layout load_mcq reads)")
    llm: str = Field(description="general LLM: 'offline', 'openai:MODEL' or 'PROVIDER:MODEL'")
    out: Path = Field(description="alpaca JSONL of question -> knowledge pairs to write")
    corpus: list[Path] = Field(
        default=[], description="ground the LLM on passages from these corpus folders / files"
    )
    top_k: int = Field(default=4, ge=1, description="corpus passages shown per question")
    passage_words: int = Field(
        default=120, ge=10, description="corpus documents are cut into passages of about this many words"
    )
    max_sentences: int = Field(default=5, ge=1, description="longest knowledge the LLM is asked for")
    plain_question: bool = Field(
        default=True, description="also write a pair with the question alone (no options)"
    )
    limit: int | None = Field(default=None, ge=1, description="use only the first N questions")
    chunk_size: int = Field(
        default=32, ge=1, description="questions finished and saved together (resume granularity)"
    )
