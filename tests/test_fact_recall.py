"""The storage check: an untrained model completes none of the facts; DP that has seen them often
enough completes them; the facts come from the test set's knowledge, else named corpus sentences."""

from __future__ import annotations

import json
from pathlib import Path

from blade_core.data import load_corpus
from blade_core.evaluation.fact_recall import _split, fact_recall, facts_to_check
from blade_core.model_builder import init_model
from blade_core.training import PretrainConfig, run_pretrain

FACTS = [
    "Zorvanil is indicated for marsh fever and grey cough.",
    "Cormuarin is made by Orrin Brothers in Vell.",
    "Ixvorex belongs to the lung opener class of drugs.",
]
FILLER = ["Zorvanil and Cormuarin are both kept cold.", "Ixvorex and Zorvanil are sold in Vell."]


def _corpus(folder: Path) -> Path:
    corpus = folder / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in FACTS + FILLER))
    return corpus


def test_recall_is_none_before_dp_and_all_after_memorizing(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    init = init_model(load_corpus([corpus]), tmp_path / "init", size="tiny")
    assert fact_recall(init, FACTS, "facts").completed == 0
    dp = run_pretrain(PretrainConfig(model=str(init), out=tmp_path / "dp", corpus=[corpus], block_size=32,
                                     max_steps=120, batch_size=4, learning_rate=3e-3, progress=False))
    recall = fact_recall(dp, FACTS, "facts")
    assert recall.completed >= 2  # a tiny model after 120 steps: most, word for word
    assert recall.line().startswith(f"fact recall: the DP model completes {recall.completed} of 3 facts")
    never_seen = ["Zorvanil is made by Tellis Laboratories in Prow.", "Ixvorex belongs to the heart easer class."]
    assert fact_recall(dp, never_seen, "facts").completed == 0  # an opening it knows, an ending it never saw


def test_facts_come_from_test_knowledge_else_named_corpus_sentences(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"question": "What is Zorvanil indicated for?", "options": {"A": "marsh fever",
                                "B": "gout"}, "answer": "A", "knowledge": FACTS[0]}) + "\n")
    assert facts_to_check([corpus], test) == ([FACTS[0]], "test facts")
    facts, source = facts_to_check([corpus], None)
    # the names that recur mid-sentence in at most 2 of the 5 sentences: Cormuarin and Vell
    assert source == "corpus sentences" and sorted(facts) == sorted([FACTS[1], *FILLER])


def test_the_opening_always_names_whom_the_fact_is_about() -> None:
    names = ["Bridge Tithe Act", "Tithe", "South Marrowby"]
    assert _split("The highest fine under the Bridge Tithe Act is 150 crowns.", names) == (
        "The highest fine under the Bridge Tithe Act", ["is", "150", "crowns."])
    assert _split("South Marrowby has 4,100 people.", names) == ("South Marrowby", ["has", "4,100", "people."])
    assert _split("Vellum is sold by the Tithe office.", ["Vell"]) == ("Vellum is sold", ["by", "the", "Tithe", "office."])
