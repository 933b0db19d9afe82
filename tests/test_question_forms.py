"""Question forms: the KIT pairs' own questions asked about every corpus fact that answers them."""

from __future__ import annotations

from blade_core.data.records import Document, InstructionPair
from blade_core.training.question_forms import (
    QuestionForm,
    describe,
    learn_forms,
    question_pairs,
)

NAMES = ["Alvorin", "Bestamol", "Corvane", "Dunmere Guild"]


def pair(question: str, answer: str) -> InstructionPair:
    return InstructionPair(instruction=question, output=answer)


KIT = [
    pair("What is Alvorin indicated for?", "Alvorin is indicated for ash rash."),
    pair("What is Bestamol indicated for?", "Bestamol is indicated for bog chill. It is a tonic."),
    pair("Which house makes Alvorin?", "Alvorin is made by the Dunmere Guild."),
    pair("Which house makes Bestamol?", "Bestamol is made by Orrin Brothers."),
]


def test_forms_come_from_plain_pairs_whose_answers_open_alike() -> None:
    forms = learn_forms(KIT, NAMES)
    assert set(forms) == {QuestionForm("What is {} indicated for?", "{} is indicated for"),
                          QuestionForm("Which house makes {}?", "{} is made by")}


def test_no_form_from_one_pair_from_options_or_from_answers_that_share_only_the_name() -> None:
    assert learn_forms(KIT[:1], NAMES) == []  # one pair cannot say what its answers share
    with_options = [pair(p.question + "\nA. ash rash\nB. bog chill", p.output) for p in KIT]
    assert learn_forms(with_options, NAMES) == []
    unlike = [pair("Tell me about Alvorin.", "Alvorin is indicated for ash rash."),
              pair("Tell me about Bestamol.", "Bestamol cures bog chill.")]
    assert learn_forms(unlike, NAMES) == []  # "{}" alone would match any sentence about anyone


def test_corpus_sentences_become_answers_about_their_own_entity() -> None:
    corpus = [Document(text="Corvane is indicated for salt palsy. Corvane is made by the Dunmere Guild. "
                            "Corvane is indicated forever and always. Bestamol is indicated for bog chill.",
                       source="c.txt")]
    made = question_pairs(corpus, learn_forms(KIT, NAMES), NAMES, asked={p.question for p in KIT})
    assert {(p.question, p.output) for p in made} == {
        ("What is Corvane indicated for?", "Corvane is indicated for salt palsy."),
        ("Which house makes Corvane?", "Corvane is made by the Dunmere Guild."),
    }  # "forever" is not the opening "indicated for"; Bestamol's question is a KIT pair already


def test_describe_says_what_was_made_and_when_nothing_was() -> None:
    forms = learn_forms(KIT, NAMES)
    line = describe(forms, [pair("What is Corvane indicated for?", "Corvane is indicated for salt palsy.")])
    assert line.startswith("question forms: 2 from the KIT pairs") and line.endswith("1 corpus sentences as answers")
    assert "none" in describe([], [])
