"""The instruction pairs DP and KIT train on besides the user's KIT pairs, made from the corpus
without an LLM: question forms of its facts (`question_forms`) and recitations of every entity
(`recitation`). Both come from the corpus made to stand alone (`stand_alone`), computed once.

A user's KIT pairs are costly (an LLM makes them), so few per entity, or none, is the normal case;
these pairs are what lets every entity's facts be asked for whatever the user's pairs cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blade_core.data.records import Document, InstructionPair
from blade_core.training.question_forms import with_question_forms
from blade_core.training.recitation import recitation_pairs
from blade_core.training.stand_alone import StandAlone, stand_alone


@dataclass(frozen=True)
class CorpusPairs:
    """The user's pairs plus the corpus's, the corpus made to stand alone, and what was made."""

    pairs: list[InstructionPair]
    corpus: StandAlone
    lines: list[str]
    recited: bool


def with_corpus_pairs(documents: Sequence[Document], kit: Sequence[InstructionPair], *, question_forms: bool = True,
                      recitations: bool = True, seed: int = 0, corpus: StandAlone | None = None) -> CorpusPairs:
    """`kit` plus the corpus's question-form and recitation pairs, and one console line for each."""
    corpus = corpus or stand_alone(documents)
    pairs, lines = list(kit), []
    if question_forms and kit:
        pairs, line = with_question_forms(corpus, pairs)
        lines.append(line)
    recited = recitations and bool(corpus.entities)
    if recited:
        recitals = recitation_pairs(corpus, seed)
        pairs += recitals
        lines.append(f"recitations: {len(recitals)} pairs asking what is known about each of the corpus's "
                     f"{len(corpus.entities)} entities, answered by its stand-alone sentences")
    return CorpusPairs(pairs, corpus, lines, recited)
