"""The from-scratch model's size follows from the corpus's facts ("auto"), and says why."""

from __future__ import annotations

import itertools
import string
import time

from blade_core.data import load_corpus
from blade_core.data.records import Document
from blade_core.sample_domain import load_sample_domain
from blade_core.training.model_size import (
    SIZES,
    fact_capacity,
    fact_sentences,
    resolve_size,
    size_for,
)


def names(count: int) -> list[str]:
    letters = itertools.product(string.ascii_lowercase, repeat=3)
    return [f"Zor{''.join(next(letters))}" for _ in range(count)]


def corpus(entities: int) -> list[Document]:
    """Five fact sentences per entity, one naming it mid-sentence (so it counts as a name)."""
    text = " ".join(f"{n} is indicated for ash rash. {n} is made by Orrin. {n} costs four crowns. "
                    f"{n} is a tonic. The register lists {n} twice." for n in names(entities))
    return [Document(text=text, source="register.txt")]


def test_the_sample_domain_gets_small_and_hears_why() -> None:
    size, reason = size_for(load_corpus([load_sample_domain().corpus]))
    assert size == "small"
    assert reason.startswith("model size small: the corpus has ") and "fact sentences" in reason


def test_a_corpus_beyond_small_capacity_gets_medium_quickly() -> None:
    entities = fact_capacity("small") // 5 + 100
    big = corpus(entities)
    started = time.perf_counter()
    assert fact_sentences(big) == 5 * entities
    assert size_for(big)[0] == "medium"
    assert time.perf_counter() - started < 30  # thousands of names, one pass per sentence
    assert size_for(corpus(50))[0] == "small"


def test_capacity_grows_with_the_model_and_a_given_size_is_kept() -> None:
    assert fact_capacity("tiny") < fact_capacity("small") < fact_capacity("medium")
    assert SIZES["medium"].parameters() > 2 * SIZES["small"].parameters()
    assert resolve_size("tiny", corpus(10)) == ("tiny", None)
