"""What a user sets for `blade make-kit-data`: one pydantic config, defaults beside each field.

Only pydantic here (no LangChain, no torch), because the CLI imports this module to build its
options and `blade --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class KitDataConfig(BaseModel):
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
    max_concurrency: int = Field(default=8, ge=1, description="LLM calls in flight at once")
    max_retries: int = Field(default=6, ge=0, description="retries of a failed call (API clients)")
    timeout: float = Field(default=120.0, gt=0, description="seconds per LLM call (API clients)")
    chunk_size: int = Field(
        default=32, ge=1, description="questions finished and saved together (resume granularity)"
    )
    cache: bool = Field(default=True, description="cache LLM replies in SQLite so re-runs are free")
    cache_path: Path | None = Field(default=None, description="default: OUT.cache.sqlite")
    resume: bool = Field(default=True, description="skip questions the progress file marks done")
    overwrite: bool = Field(default=False, description="discard an existing output and its progress")
    progress: bool = Field(default=True, description="show a progress bar")

    @property
    def progress_file(self) -> Path:
        """Every processed id with its outcome; what `--resume` reads."""
        return self.out.with_name(self.out.name + ".progress.jsonl")

    @property
    def cache_file(self) -> Path:
        """Beside the output by default, so one run's calls are found again by its re-runs."""
        return self.cache_path or self.out.with_name(self.out.name + ".cache.sqlite")
