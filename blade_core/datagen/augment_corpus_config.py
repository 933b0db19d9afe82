"""What a user sets for `blade augment-corpus`: one pydantic config, defaults beside each field.

Only pydantic here (no LangChain, no torch), because the CLI imports this module to build its
options and `blade --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_validator


class AugmentCorpusConfig(BaseModel):
    """Rewrite a corpus with a general LLM: paraphrases and question-answer forms of each passage."""

    corpus: list[Path] = Field(
        min_length=1, description="corpus folders / .txt / JSONL files to rewrite"
    )
    llm: str = Field(
        description="general LLM: 'openai:MODEL' or 'PROVIDER:MODEL' ('offline' cannot paraphrase)"
    )
    out: Path = Field(description="JSONL corpus of rewrites ({text, source}) to write")
    paraphrases: int = Field(default=2, ge=0, description="paraphrases asked for per passage")
    qa: bool = Field(default=True, description="also rewrite each passage as question-answer pairs")
    passage_words: int = Field(
        default=120, ge=10, description="documents are cut into passages of about this many words"
    )
    limit: int | None = Field(
        default=None, ge=1, description="rewrite only N passages, drawn at random (see --seed)"
    )
    seed: int = Field(default=0, description="the random order passages are rewritten in")
    max_concurrency: int = Field(default=8, ge=1, description="LLM calls in flight at once")
    max_retries: int = Field(default=6, ge=0, description="retries of a failed call (API clients)")
    timeout: float = Field(default=120.0, gt=0, description="seconds per LLM call (API clients)")
    cache: bool = Field(default=True, description="cache LLM replies in SQLite so re-runs are free")
    cache_path: Path | None = Field(default=None, description="default: OUT.cache.sqlite")
    resume: bool = Field(default=True, description="skip passages the progress file marks done")
    overwrite: bool = Field(default=False, description="discard an existing output and its progress")
    progress: bool = Field(default=True, description="show a progress bar")

    @model_validator(mode="after")
    def _asks_for_something(self) -> AugmentCorpusConfig:
        if self.paraphrases == 0 and not self.qa:
            raise ValueError("nothing to write: ask for --paraphrases N (N > 0) or --qa")
        return self

    @property
    def progress_file(self) -> Path:
        """Every finished rewrite task with its outcome; what `--resume` reads."""
        return self.out.with_name(self.out.name + ".progress.jsonl")

    @property
    def cache_file(self) -> Path:
        """Beside the output by default, so one run's calls are found again by its re-runs."""
        return self.cache_path or self.out.with_name(self.out.name + ".cache.sqlite")
