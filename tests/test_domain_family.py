"""The benchmark family's domains (benchmarks/domain_family.py) are fair: every document names the
entity its facts are about (else no reader, rag included, could tell whose facts they are), every
shape loads as blade loads a user's files, and no dev or test fact is a KIT pair."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

from blade_core.data import load_corpus, load_instructions, load_mcq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))  # not a package: its scripts import so
from domain_family import SHAPES, generate, make_names
from family_worlds import WORLDS


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_document_names_an_entity_and_no_held_out_fact_is_taught(shape: str, tmp_path: Path) -> None:
    folder = generate(SHAPES[shape], tmp_path / shape, seed=0)
    corpus = load_corpus(folder / "corpus.jsonl")
    kit_file = folder / "kit.jsonl"  # empty where a shape has no KIT pairs (blade train then runs without --kit)
    kit = {pair.output for pair in load_instructions(kit_file)} if kit_file.stat().st_size else set()
    names = make_names(random.Random(0), WORLDS[SHAPES[shape].world], SHAPES[shape].entities)  # as generate() does
    named = re.compile("|".join(rf"(?<![\w-]){re.escape(name)}(?![\w-])" for name in names), re.IGNORECASE)
    unnamed = [d.text[:80] for d in corpus if not named.search(d.text)]
    assert not unnamed, unnamed[:3]
    for split in ("dev", "test"):
        for question in load_mcq(folder / f"{split}.jsonl"):
            assert question.knowledge and question.knowledge not in kit
