"""Knowledge per option: reading options from question text, the one-option views, the merge, and
`DomainLM` generating them in the same batches (and the same text when streaming)."""

from __future__ import annotations

import pytest

from blade_core.data.records import MCQuestion
from blade_core.knowledge.options import merge_option_knowledge, option_pairs, option_views, split_options
from blade_core.writers.domain_lm import DomainLM

MCQ = MCQuestion(id="q", question="Which drug is indicated for marsh fever?",
                 options={"A": "Zorvanil", "B": "Quelmora", "C": "Brantovex"}, answer="A")


def test_options_are_read_from_the_text_inference_shows() -> None:
    assert split_options(MCQ.with_options_text()) == (MCQ.question, ["Zorvanil", "Quelmora", "Brantovex"])
    assert split_options("Pick one:\nA) red\nB) blue") == ("Pick one:", ["red", "blue"])


@pytest.mark.parametrize("text", [
    "What is Zorvanil indicated for?",         # no options
    "Which one?\nA. only",                     # a single option line is not a choice
    "Which one?\nB. red\nC. blue",             # letters must run from A
    "A. red\nB. blue",                         # no question before them
    "Plan:\nA. first\nC. third",               # a gap
])
def test_text_without_a_choice_is_all_stem(text: str) -> None:
    assert split_options(text) == (text, [])
    assert option_views(text) == [text]


def test_views_are_the_question_then_each_option_alone_as_a_one_option_question() -> None:
    views = option_views(MCQ.with_options_text())
    assert views[0] == MCQ.with_options_text()
    assert views[1:] == [f"{MCQ.question}\nA. {option}" for option in MCQ.options.values()]


def test_merge_adds_each_options_first_new_sentence() -> None:
    whole = "Zorvanil is indicated for marsh fever."
    per_option = ["zorvanil is indicated for marsh fever", "Quelmora treats copper lung. Quelmora treats",
                  "", "Quelmora treats copper lung."]
    assert merge_option_knowledge(whole, per_option) == (
        "Zorvanil is indicated for marsh fever. Quelmora treats copper lung.")
    assert merge_option_knowledge("", ["Brantovex is a resin."]) == "Brantovex is a resin."
    assert merge_option_knowledge(" As written.  ", []) == "As written."


def test_domain_lm_adds_what_each_option_view_writes(tiny_lm: DomainLM) -> None:
    question = MCQ.with_options_text()
    plain = "What is Zorvanil indicated for?"
    merged = tiny_lm.generate_knowledge([question, plain], max_new_tokens=24)
    views = option_views(question)
    separate = tiny_lm.generate_knowledge(views + [plain], max_new_tokens=24, option_knowledge=False)
    assert merged == [merge_option_knowledge(separate[0], separate[1:4]), separate[4]]
    assert merged[0] != separate[0], "the option views must add sentences on this model"
    assert "".join(tiny_lm.stream_knowledge(question, max_new_tokens=24)).strip() == merged[0]
    assert "".join(tiny_lm.stream_knowledge(question, max_new_tokens=24, option_knowledge=False)
                   ).strip() == separate[0]


def test_option_pairs_need_knowledge_naming_every_option() -> None:
    question = MCQ.with_options_text()
    every = ("Zorvanil is indicated for marsh fever. Quelmora treats copper lung; quelmora is amber. "
             "Brantovex is a calming resin.")
    assert option_pairs(question, every) == [
        (f"{MCQ.question}\nA. Zorvanil", "Zorvanil is indicated for marsh fever."),
        (f"{MCQ.question}\nA. Quelmora", "Quelmora treats copper lung; quelmora is amber."),
        (f"{MCQ.question}\nA. Brantovex", "Brantovex is a calming resin."),
    ]
    assert option_pairs(question, "Zorvanil is indicated for marsh fever.") == []
    assert option_pairs(question, "Zorvanilx and Quelmora and Brantovex.") == []  # whole names only
    assert option_pairs("What is Zorvanil indicated for?", every) == []
