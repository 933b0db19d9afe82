"""The packaged sample domain must be reproducible, valid, and free of dev/test leaks.

It is the yardstick for BLADE's own tests and quickstart: if a dev/test fact leaked into the KIT
pairs, or the files drifted from the generator, the measured gain of injected knowledge would lie.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from blade_core.data.records import Document, InstructionPair, MCQuestion
from blade_core.sample_domain import SampleDomain, load_sample_domain, sample_domain_dir
from scripts.sample_domain import (
    ATTRIBUTES,
    DEFAULT_SEED,
    generate,
    make_drugs,
    option_facts,
)

SPLITS = ("train", "dev", "test")


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def domain() -> SampleDomain:
    return load_sample_domain()


@pytest.fixture(scope="module")
def questions(domain: SampleDomain) -> dict[str, list[MCQuestion]]:
    return {s: [MCQuestion.model_validate(r) for r in _lines(getattr(domain, s))] for s in SPLITS}


@pytest.fixture(scope="module")
def corpus(domain: SampleDomain) -> list[str]:
    return [Document.model_validate(r).text for r in _lines(domain.corpus)]


@pytest.fixture(scope="module")
def names(corpus: list[str]) -> list[str]:
    """Drug names, read from the monograph titles rather than from the generator."""
    found = sorted({m.group(1) for doc in corpus for m in re.finditer(r"^Monograph: (\w+)\.", doc)})
    assert len(found) >= 40
    return found


VALUES = [v for values in ATTRIBUTES.values() for v in values]


def _facts(question: MCQuestion, names: list[str]) -> list[tuple[str, str]]:
    """(entity, value) for each correct option: forward questions name the entity and answer with
    a value, reverse ones name the value and answer with entities."""
    facts = []
    for letter in question.answer:
        option = question.options[letter]
        if option in names:
            values = [v for v in VALUES if v in question.question]
            assert len(values) == 1, question
            facts.append((option, values[0]))
        else:
            entities = [n for n in names if n in question.question]
            assert len(entities) == 1 and option in VALUES, question
            facts.append((entities[0], option))
    return facts


def test_regenerating_gives_byte_identical_files(tmp_path: Path) -> None:
    generate(tmp_path)
    packaged = sorted(p.name for p in sample_domain_dir().iterdir() if p.is_file())
    regenerated = sorted(p.name for p in tmp_path.iterdir())
    assert regenerated == packaged
    for name in packaged:
        assert (tmp_path / name).read_bytes() == (sample_domain_dir() / name).read_bytes(), name


def test_load_sample_domain_reports_missing_files(tmp_path: Path) -> None:
    assert load_sample_domain().test == sample_domain_dir() / "test.jsonl"
    generate(tmp_path)
    (tmp_path / "kit.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="kit.jsonl"):
        load_sample_domain(tmp_path)


def test_files_validate_and_ids_are_unique(
    domain: SampleDomain, questions: dict[str, list[MCQuestion]], corpus: list[str]
) -> None:
    kit = [InstructionPair.model_validate(r) for r in _lines(domain.kit)]
    general = [Document.model_validate(r) for r in _lines(domain.general)]
    ids = [q.id for qs in questions.values() for q in qs]
    assert len(ids) == len(set(ids))
    assert 150 <= len(questions["train"]) <= 250
    assert 40 <= len(questions["dev"]) <= 60
    assert 80 <= len(questions["test"]) <= 120
    assert 40_000 <= sum(len(t) for t in corpus) <= 120_000
    assert kit and general
    for qs in questions.values():
        for q in qs:
            assert q.knowledge and len(set(q.options.values())) == len(q.options)


def test_kit_is_exactly_the_train_questions(
    domain: SampleDomain, questions: dict[str, list[MCQuestion]]
) -> None:
    """Each train question with its options and without; a reverse question also with each
    option alone, as inference's knowledge per option shows it, mapped to that option's fact."""
    kit = [InstructionPair.model_validate(r) for r in _lines(domain.kit)]
    drugs = make_drugs(random.Random(DEFAULT_SEED))
    expected = []
    for q in questions["train"]:
        facts = option_facts(q, drugs)
        expected.append((q.with_options_text(), " ".join(facts) if facts else q.knowledge))
        for option, fact in zip(q.options.values(), facts or []):
            expected.append((f"{q.question}\nA. {option}", fact))
        expected.append((q.question, q.knowledge))
    assert [(p.instruction, p.output) for p in kit] == expected
    assert sum(p.instruction.count("\n") == 1 for p in kit) >= 100  # one-option views


def test_reverse_questions_kit_knowledge_states_every_option_as_a_train_fact(
    domain: SampleDomain, questions: dict[str, list[MCQuestion]], names: list[str]
) -> None:
    """With options shown, a reverse question's KIT knowledge names each option's fact, and
    every such fact is a train fact (wrong options of train questions are drawn to make it so)."""
    train_facts = {fact for q in questions["train"] for fact in _facts(q, names)}
    with_options = [p for p in map(InstructionPair.model_validate, _lines(domain.kit)) if "\nA. " in p.instruction]
    reverse = [(p, [line[3:] for line in p.instruction.splitlines()[1:]]) for p in with_options]
    reverse = [(p, options) for p, options in reverse if set(options) <= set(names)]
    assert len(reverse) >= 20
    for pair, options in reverse:
        sentences = pair.output.split(". ")
        assert [s.split()[0] for s in sentences] == options
        for sentence in sentences:
            name = sentence.split()[0]
            value = next(v for values in ATTRIBUTES.values() for v in values if v in sentence)
            assert (name, value) in train_facts, sentence


def test_dev_and_test_facts_are_in_the_corpus_but_not_in_kit_or_train(
    domain: SampleDomain,
    questions: dict[str, list[MCQuestion]],
    corpus: list[str],
    names: list[str],
) -> None:
    kit_outputs = [InstructionPair.model_validate(r).output for r in _lines(domain.kit)]
    train_texts = [q.knowledge or "" for q in questions["train"]]
    for split in ("dev", "test"):
        for question in questions[split]:
            for entity, value in _facts(question, names):
                stating = [doc for doc in corpus if entity in doc and value in doc]
                assert len(stating) >= 3, (entity, value)
                leaks = [t for t in kit_outputs + train_texts if entity in t and value in t]
                assert not leaks, (split, entity, value, leaks[:1])


def test_train_facts_are_named_in_their_kit_output(
    questions: dict[str, list[MCQuestion]], names: list[str]
) -> None:
    for question in questions["train"]:
        for entity, value in _facts(question, names):
            assert entity in (question.knowledge or "") and value in (question.knowledge or "")


def test_answer_letters_are_balanced_and_multi_answer_questions_exist(
    questions: dict[str, list[MCQuestion]],
) -> None:
    for split, qs in questions.items():
        singles = Counter(q.answer[0] for q in qs if not q.multi)
        shares = [singles[letter] / sum(singles.values()) for letter in "ABCD"]
        assert min(shares) >= 0.18 and max(shares) <= 0.32, (split, singles)
        multi = sum(q.multi for q in qs)
        assert multi >= 3, split
        assert 0.08 <= multi / len(qs) <= 0.25, (split, multi)
