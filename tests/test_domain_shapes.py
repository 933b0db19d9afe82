"""Generated domains of other shapes: deterministic, answerable from the corpus, and no dev or test
fact in the KIT pairs (so a score on them measures recall the recipe built, not memorized pairs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from blade_core.data import load_corpus, load_instructions, load_mcq
from scripts.domain_shapes import SHAPES, generate


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_is_deterministic_and_leaks_no_held_out_fact(shape: str, tmp_path: Path) -> None:
    first = generate(shape, tmp_path / "a", seed=3, entities=24)
    second = generate(shape, tmp_path / "b", seed=3, entities=24)
    for name in ("corpus.jsonl", "train.jsonl", "dev.jsonl", "test.jsonl", "kit.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name

    corpus = " ".join(d.text for d in load_corpus(first / "corpus.jsonl"))
    kit = " ".join(p.output for p in load_instructions(first / "kit.jsonl"))
    for split in ("dev", "test"):
        questions = load_mcq(first / f"{split}.jsonl")
        assert questions and any(q.multi for q in questions) == any(a.several for a in SHAPES[shape].attributes)
        for question in questions:
            assert question.knowledge and question.knowledge in corpus  # answerable from the corpus
            assert question.knowledge not in kit  # and never taught as a KIT pair


def test_multiword_names_share_words(tmp_path: Path) -> None:
    generate("statutes", tmp_path, entities=30)
    text = " ".join(d.text for d in load_corpus(tmp_path / "corpus.jsonl"))
    acts = {act.removeprefix("The ") for act in re.findall(r"\b((?:[A-Z]\w+ )+Act)\b", text)}
    by_first_word: dict[str, set[str]] = {}
    for act in acts:
        by_first_word.setdefault(act.split()[0], set()).add(act)
    assert all(len(act.split()) >= 3 for act in acts), "statute names are multi-word"
    assert max(map(len, by_first_word.values())) >= 2, "several acts share their first word"
