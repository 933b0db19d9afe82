"""Typed records that every loader returns and every stage consumes.

Whatever layout a data set came in (plain JSONL, JEC-QA, MLEC-QA, CMExam), it is turned into these
records once, at load time, so training, BPO and evaluation never see layout differences.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OPTION_LETTERS = string.ascii_uppercase


class Document(BaseModel):
    """One corpus document; `source` says where it came from (file, and line for JSONL)."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    source: str = ""


class InstructionPair(BaseModel):
    """An alpaca-style pair: for KIT, instruction (+ input) is the question, output the knowledge."""

    model_config = ConfigDict(frozen=True)

    instruction: str = Field(min_length=1)
    input: str = ""
    output: str = Field(min_length=1)

    @property
    def question(self) -> str:
        """The text the knowledge template receives: instruction, then input when there is one."""
        return f"{self.instruction}\n{self.input}" if self.input else self.instruction


def normalize_answer(value: str | Sequence[str]) -> tuple[str, ...]:
    """Accept "B", "AC", "A,C", ["A", "C"] and return sorted unique upper-case letters."""
    if isinstance(value, str):
        letters = [c for c in value.upper() if c in OPTION_LETTERS]
    else:
        letters = []
        for item in value:
            if not isinstance(item, str):
                raise ValueError(f"answer items must be option letters, got {item!r}")
            letters.extend(c for c in item.upper() if c in OPTION_LETTERS)
    if not letters:
        raise ValueError(f"answer {value!r} holds no option letter")
    return tuple(sorted(set(letters)))


class MCQuestion(BaseModel):
    """A multiple-choice question with one or several correct options.

    `answer` is a sorted tuple of letters, so scoring compares sets ("CA" equals "AC").
    `knowledge` is optional reference knowledge (an upper bound in evaluation, or KIT material).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    options: dict[str, str]
    answer: tuple[str, ...]
    knowledge: str | None = None

    @field_validator("options")
    @classmethod
    def _check_options(cls, options: dict[str, str]) -> dict[str, str]:
        if len(options) < 2:
            raise ValueError(f"needs at least 2 options, got {len(options)}")
        cleaned: dict[str, str] = {}
        for key, text in options.items():
            letter = key.strip().upper()
            if len(letter) != 1 or letter not in OPTION_LETTERS:
                raise ValueError(f"option key {key!r} is not a single letter A-Z")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"option {letter} is empty")
            cleaned[letter] = text.strip()
        return dict(sorted(cleaned.items()))

    @field_validator("answer", mode="before")
    @classmethod
    def _normalize_answer(cls, value: str | Sequence[str]) -> tuple[str, ...]:
        return normalize_answer(value)

    @model_validator(mode="after")
    def _answer_among_options(self) -> MCQuestion:
        missing = [a for a in self.answer if a not in self.options]
        if missing:
            raise ValueError(
                f"answer {''.join(missing)} is not among the options {''.join(self.options)}"
            )
        return self

    @property
    def multi(self) -> bool:
        """True when more than one option is correct."""
        return len(self.answer) > 1

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(self.options)

    def with_options_text(self) -> str:
        """The question followed by its options, one per line ("A. ..."): what LMs are shown."""
        lines = [self.question.strip()]
        lines += [f"{letter}. {text}" for letter, text in self.options.items()]
        return "\n".join(lines)
