"""Typed records that every loader returns and every stage consumes.

Whatever layout a data set came in (plain JSONL, JEC-QA, MLEC-QA, CMExam), it is turned into these
records once, at load time, so training, BPO and evaluation never see layout differences.
"""

from __future__ import annotations

import re
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


LETTER_SEPARATOR = r"[\s,，、;；/&+]|(?i:\band\b)|和|及"
"""Between the letters of a multi-answer, in a data file or an LLM's reply: spaces, commas,
semicolons, 、，；, slashes, "and", 和, 及 (one set: `llm.answer_prompt` reads replies with it)."""
ANSWER_SEPARATORS = re.compile(rf"(?:{LETTER_SEPARATOR})+")


def normalize_answer(value: str | Sequence[str]) -> tuple[str, ...]:
    """Read an answer exactly: "B", "b", "AC", "A,C", "A、C", ["A", "C"] -> sorted letters.

    Anything else is refused rather than guessed at: a word such as "bad" is not the letters B,
    A and D (a run of several letters must be upper case, as data sets write "AC"), and a letter
    given twice is a typo, not a vote.
    """
    items = [value] if isinstance(value, str) else list(value)
    letters: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"answer items must be option letters, got {item!r}")
        for token in filter(None, ANSWER_SEPARATORS.split(item.strip())):
            if len(token) == 1 and token.upper() in OPTION_LETTERS:
                letters.append(token.upper())
            elif all(c in OPTION_LETTERS for c in token):
                letters.extend(token)
            else:
                raise ValueError(
                    f"answer {value!r} is not option letters: write letters such as 'B', 'AC', "
                    "'A,C' or ['A', 'C']"
                )
    if not letters:
        raise ValueError(f"answer {value!r} holds no option letter")
    repeated = sorted({letter for letter in letters if letters.count(letter) > 1})
    if repeated:
        raise ValueError(f"answer {value!r} gives {', '.join(repeated)} more than once")
    return tuple(sorted(letters))


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
        given: dict[str, str] = {}
        for key, text in options.items():
            letter = key.strip().upper()
            if len(letter) != 1 or letter not in OPTION_LETTERS:
                raise ValueError(f"option key {key!r} is not a single letter A-Z")
            if letter in given:
                raise ValueError(f"option keys {given[letter]!r} and {key!r} are the same letter; "
                                 "keep one of them")
            given[letter] = key
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
