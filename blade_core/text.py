"""Text handling every layer shares: sentences, passages and option lines, one implementation each.

It is the bottom layer (standard library only), so the domain LM, data loaders, the offline judge
and the data generators all split text the same way and none of them imports another to do it.

* Sentences end at `.`, `!` or `?` followed by white space, at `。！？` (Chinese writes no space
  after them), and at line breaks (table rows and list items are lines); list bullets are dropped.
  Knowledge a model writes is also split at semicolons (`;` `；`), so a vote or a judge compares
  clauses; a corpus is not (`corpus_sentences`): its clauses share one subject, and a rewrite that
  shuffles sentences must not separate them.
* A reply ends at the earliest of the caller's stop sequences (`cut_at_stop`).
* An option line is a capital letter, a separator (`.` `)` `:` or their full-width forms, `、`),
  then the text: `A. text`, `(B) text`, `C、文本`, `（D）文本`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_LATIN_END = r"(?<=[.!?])\s+"
_CJK_END = r"(?<=[。！？])"
_CLAUSE_END = r"(?<=;)\s+|(?<=；)"
_SENTENCE_BREAK = re.compile(rf"{_LATIN_END}|{_CJK_END}|\n+")
_CLAUSE_BREAK = re.compile(rf"{_LATIN_END}|{_CJK_END}|{_CLAUSE_END}|\n+")
_PASSAGE_UNIT = re.compile(rf"{_LATIN_END}|{_CJK_END}|{_CLAUSE_END}")
_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d+[.)])\s+")
_NO_SPACE_AFTER = "。！？；"

OPTION_LINE = re.compile(r"^\s*[(（]?([A-Z])\s*[.)．、:：）]\s*(\S.*?)\s*$")
"""An option line in running text: a separator after the letter is required, so a sentence that
opens with "A" or "I" is not read as an option."""
_OPTION_FIELD_LINE = re.compile(r"^\s*[(（]?([A-Za-z])(?:[\s.:)\uff0e\u3001\uff1a\uff09]+|$)(.*)$")


def _split(text: str, breaks: re.Pattern[str]) -> list[str]:
    pieces = (_BULLET.sub("", piece).strip() for piece in breaks.split(text))
    return [piece for piece in pieces if len(piece) > 1]


def split_sentences(text: str) -> list[str]:
    """The sentences, clauses and lines of written knowledge, bullets stripped, pieces of one
    character dropped."""
    return _split(text, _CLAUSE_BREAK)


def corpus_sentences(text: str) -> list[str]:
    """The sentences and lines of a corpus document (or a KIT answer), not cut at semicolons."""
    return _split(text, _SENTENCE_BREAK)


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences back into text: a space after Latin end punctuation, nothing after Chinese, and a
    line break after a line without either (a table row), so `corpus_sentences` gives the same
    pieces back."""
    return "".join(
        s + (" " if s[-1] in ".!?" else "" if s[-1] in _NO_SPACE_AFTER else "\n") for s in sentences
    ).rstrip()


def sentence_key(sentence: str) -> str:
    """A sentence compared case-, whitespace- and end-punctuation-insensitively."""
    return re.sub(r"\s+", " ", sentence).strip(" .;!?").casefold()


def split_passages(text: str, words: int) -> list[str]:
    """Whole sentences packed into passages of about `words` words; a longer sentence is a passage
    of its own. Line breaks do not cut, so a table stays in one passage with its header row."""
    passages: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in filter(None, (piece.strip() for piece in _PASSAGE_UNIT.split(text))):
        length = len(sentence.split())
        if current and size + length > words:
            passages.append(" ".join(current))
            current, size = [], 0
        current.append(sentence)
        size += length
    if current:
        passages.append(" ".join(current))
    return passages


def option_line(line: str) -> tuple[str, str] | None:
    """(letter, text) of an option line in running text, or None."""
    match = OPTION_LINE.match(line)
    return (match.group(1), match.group(2)) if match else None


def parse_option_field(text: str) -> dict[str, str]:
    """A field that holds only options, one per line (CMExam's "A 文本"), as letter -> text. Here a
    space is separator enough and lower-case letters count, since every line must be an option."""
    options: dict[str, str] = {}
    for raw_line in text.splitlines():
        if not raw_line.strip():
            continue
        match = _OPTION_FIELD_LINE.match(raw_line)
        if match is None:
            raise ValueError(
                f"each options line must start with a letter, as in 'A 文本'; got {raw_line!r}"
            )
        letter = match.group(1).upper()
        if letter in options:
            raise ValueError(f"option {letter} appears twice")
        options[letter] = match.group(2).strip()
    return options


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to the earliest stop sequence in it (LangChain's `stop`)."""
    ends = [text.find(s) for s in stop or [] if s and s in text]
    return text[: min(ends)] if ends else text
