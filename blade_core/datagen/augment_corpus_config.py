"""What a user sets for `blade augment-corpus`: one pydantic config, defaults beside each field.

Only pydantic here (no LangChain, no torch), because the CLI imports this module to build its
options and `blade --help` must stay fast.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from blade_core.datagen.run_config import GeneratorRunConfig


class AugmentCorpusConfig(GeneratorRunConfig):
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

    @model_validator(mode="after")
    def _asks_for_something(self) -> AugmentCorpusConfig:
        if self.paraphrases == 0 and not self.qa:
            raise ValueError("nothing to write: ask for --paraphrases N (N > 0) or --qa")
        return self
