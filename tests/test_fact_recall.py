"""The storage check: an untrained model completes none of the facts; DP that has seen them often
enough completes them; the facts come from the test set's knowledge, else named corpus sentences."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import TrainerControl, TrainerState, TrainingArguments

from blade_core.data import load_corpus
from blade_core.text import split_sentences
from blade_core.training import PretrainConfig, run_pretrain
from blade_core.training.fact_recall import (
    _split,
    completed_facts,
    fact_recall,
    facts_to_check,
)
from blade_core.training.model_builder import init_model
from blade_core.training.storage_stop import StopWhenStored
from blade_core.writers.domain_lm import DomainLM
from tests.conftest import FACTS as CONFTEST_FACTS

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
                                     max_steps=240, batch_size=4, learning_rate=3e-3, progress=False,
                                     entity_documents=0, recitations=False))  # the facts themselves, often
    recall = fact_recall(dp, FACTS, "facts")
    assert recall.completed >= 2  # a tiny model after 240 steps: most, word for word
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


def test_dp_by_epochs_checks_storage_after_every_epoch_and_by_steps_not_at_all(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    init = init_model(load_corpus([corpus]), tmp_path / "init", size="tiny")
    by_epochs = run_pretrain(PretrainConfig(model=str(init), out=tmp_path / "dp", corpus=[corpus], block_size=32,
                                            epochs=3, batch_size=4, progress=False))
    log = json.loads((by_epochs / "training" / "dp_log.json").read_text())
    checks = [entry for entry in log if "facts_completed" in entry]
    assert [round(c["epoch"]) for c in checks] == [1, 2, 3]
    assert {c["facts_checked"] for c in checks} == {len(facts_to_check([corpus], None, limit=96)[0])}
    by_steps = run_pretrain(PretrainConfig(model=str(init), out=tmp_path / "dp2", corpus=[corpus], block_size=32,
                                           max_steps=4, batch_size=4, progress=False))
    assert not any("facts_completed" in e for e in json.loads((by_steps / "training" / "dp_log.json").read_text()))


def test_storage_check_stops_after_two_epochs_that_store_nothing_new(tiny_lm: DomainLM) -> None:
    facts = [s for fact in CONFTEST_FACTS for s in split_sentences(fact)]
    stored = completed_facts(tiny_lm.model, tiny_lm.tokenizer, [], facts)
    assert 2 * stored >= len(facts)  # the fixture memorized them
    check, state, control = StopWhenStored(tiny_lm.tokenizer, [], facts), TrainerState(), TrainerControl()
    args = TrainingArguments(output_dir="unused", report_to="none")
    check.on_train_begin(args, state, control)
    for epoch, should_stop in [(1, False), (2, False), (3, True)]:  # the same weights: nothing new stored
        state.epoch = epoch
        check.on_epoch_end(args, state, control, model=tiny_lm.model)
        assert control.should_training_stop is should_stop
        assert state.log_history[-1]["facts_completed"] == stored
    resumed = StopWhenStored(tiny_lm.tokenizer, [], facts)
    resumed.on_train_begin(args, state, TrainerControl())  # a resumed run reads the count from the log
    assert resumed.history == [stored, stored, stored]
    nothing = StopWhenStored(tiny_lm.tokenizer, [], ["Qelbrand is sold by Marrow House in Tivven."])
    control = TrainerControl()
    for _ in (1, 2, 3):  # flat, but too little stored to call it a plateau
        nothing.on_epoch_end(args, state, control, model=tiny_lm.model)
    assert not control.should_training_stop
