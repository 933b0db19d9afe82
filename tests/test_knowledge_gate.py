"""Do no harm: knowledge about another entity than the question's is withheld, so the LLM answers
as it would without BLADE rather than follow a fluent sentence about the wrong entity."""

from __future__ import annotations

from blade_core.knowledge.gate import anchors, keep, passages_about
from blade_core.knowledge.names import domain_names, names_in
from blade_core.knowledge.types import Sentence
from blade_core.text import split_sentences
from blade_core.writers.domain_lm import DomainLM

CORPUS = [
    "The highest fine under the Harbour Dues Act is 400 crowns.",
    "Courts may fine an offender under the Harbour Dues Act up to 400 crowns.",
    "Breaking the Harbour Pilotage Act can cost up to one year in prison.",
    "The Harbour Pilotage Act is enforced by the Board of Wardens.",
    "Enforcement of the Salt Tithe Act lies with the Board of Wardens.",
    "The highest fine under the Salt Tithe Act is 90 crowns.",
    "Zorvanil is indicated for marsh fever.", "Physicians give Zorvanil for marsh fever.",
    "Quelmora treats copper lung.", "Patients with copper lung take Quelmora.",
] + [f"Filler sentence number {i} says nothing." for i in range(30)]
NAMES = domain_names(CORPUS)


def _sentences(text: str) -> list[Sentence]:
    return [Sentence(s) for s in split_sentences(text)]


def test_the_domains_names_are_its_recurring_spans_not_sentence_openers() -> None:
    assert {"Harbour Dues Act", "Harbour Pilotage Act", "Salt Tithe Act", "Zorvanil", "Quelmora"} <= set(NAMES)
    assert not {"Courts", "Breaking", "Patients", "Physicians", "Filler", "The"} & set(NAMES)
    # names that share words stay apart
    assert names_in("Breaking the Harbour Pilotage Act is costly.", NAMES) == {"Harbour Pilotage Act"}


def test_latin_binomials_are_names_of_their_own_and_english_after_a_name_is_not() -> None:
    corpus = [
        "Ostrum hirta was first described by a travelling botanist.", "The roots of Ostrum hirta are poisonous.",
        "Gardeners find Barreta glauca hard to grow.", "Barreta glauca flowers in March.",
        "Herbarium sheets of Barreta alpina are rare.", "In Barreta alpina the sap is poisonous.",
        "Zorvanil treats marsh fever.", "Zorvanil maximum daily dose: 40 mg.", "Quelmora treats copper lung.",
        "Quelmora maximum daily dose: 10 mg.", "Physicians give Zorvanil for marsh fever.",
        "Patients take Quelmora for copper lung.",
    ] + [f"Filler sentence number {i} says nothing." for i in range(30)]
    names = domain_names(corpus)
    assert {"Ostrum hirta", "Barreta glauca", "Barreta alpina", "Zorvanil", "Quelmora"} <= set(names)
    assert not {"Zorvanil treats", "Zorvanil maximum", "Quelmora treats"} & set(names)
    # a species is not its genus's other species
    assert names_in("Does Barreta alpina grow on cliffs?", names) == {"Barreta alpina"}


def test_sentences_must_name_the_questions_entity_or_its_option() -> None:
    forward = anchors("What is the highest fine under the Harbour Dues Act?", ["90 crowns", "400 crowns"], NAMES)
    assert forward == [(frozenset({"Harbour Dues Act"}),)] * 3
    written = "The highest fine under the Salt Tithe Act is 90 crowns. The Harbour Dues Act fines 400 crowns."
    assert keep(_sentences(written), forward[0], NAMES) == "The Harbour Dues Act fines 400 crowns."

    acts = ["Harbour Pilotage Act", "Salt Tithe Act"]
    reverse = anchors("Which act has a highest fine of 90 crowns?", acts, NAMES)
    assert reverse == [(frozenset(acts),), (frozenset(acts[:1]),), (frozenset(acts[1:]),)]
    assert keep(_sentences("Zorvanil is indicated for marsh fever."), reverse[1], NAMES) == ""


def test_when_the_options_and_the_stem_both_name_entities_a_sentence_must_name_both() -> None:
    acts = ["Harbour Pilotage Act", "Salt Tithe Act"]
    both = anchors("Which act is enforced by the Board of Wardens?", acts, NAMES)
    wardens = frozenset({"Board", "Wardens"})  # the names the corpus recurs
    assert both == [(frozenset(acts), wardens), (frozenset(acts[:1]), wardens), (frozenset(acts[1:]), wardens)]
    # an option named alone is another fact about that act, not the one asked
    written = "The highest fine under the Salt Tithe Act is 90 crowns. The Board of Wardens enforces the Salt Tithe Act."
    assert keep(_sentences(written), both[0], NAMES) == "The Board of Wardens enforces the Salt Tithe Act."
    passages = ["The Salt Tithe Act fines 90 crowns.", "The Harbour Pilotage Act is enforced by the Board of Wardens."]
    question = "Which act is enforced by the Board of Wardens?\nA. Harbour Pilotage Act\nB. Salt Tithe Act"
    assert passages_about(question, passages, NAMES, 1) == [1]
    assert anchors("Which of these is a fever?", ["marsh fever", "copper lung"], NAMES) is None  # nothing to check


def test_the_domain_lm_withholds_knowledge_about_other_entities(tiny_lm: DomainLM) -> None:
    tiny_lm.config.names = ["Zorvanil", "Quelmora", "Brantovex", "Ixvorex"]
    question = "What is Ixvorex indicated for?\nA. marsh fever\nB. copper lung"  # a drug it never saw
    ungated = tiny_lm.generate_knowledge([question], max_new_tokens=24, entity_gate=False)[0]
    assert ungated and "Ixvorex" not in ungated  # it writes about a drug it knows instead
    assert tiny_lm.generate_knowledge([question], max_new_tokens=24)[0] == ""
    assert "".join(tiny_lm.stream_knowledge(question, max_new_tokens=24)) == ""
    tiny_lm.config.names = []  # a model directory without names: nothing is withheld
    assert tiny_lm.generate_knowledge([question], max_new_tokens=24)[0] == ungated


def test_unsure_sentences_are_withheld_above_the_threshold_only() -> None:
    sure, unsure = Sentence("Zorvanil is indicated for marsh fever.", 0.97), Sentence("Zorvanil is red.", 0.2)
    assert keep([sure, unsure], None, NAMES) == f"{sure.text} {unsure.text}"
    assert keep([sure, unsure], None, NAMES, min_confidence=0.5) == sure.text
    assert keep([sure, unsure], (frozenset({"Quelmora"}),), NAMES, min_confidence=0.1) == ""  # both guards apply
    assert keep([sure], None, NAMES, min_confidence=1.0) == ""  # 1 withholds everything


def test_passages_beside_the_knowledge_are_about_the_questions_entities() -> None:
    ranked = ["The highest fine under the Salt Tithe Act is 90 crowns.",
              "Courts may fine an offender under the Harbour Dues Act up to 400 crowns.",
              "Filler sentence number 3 says nothing.", "The Harbour Dues Act is older than the harbour."]
    forward = "What is the highest fine under the Harbour Dues Act?\nA. 90 crowns\nB. 400 crowns"
    assert passages_about(forward, ranked, NAMES, k=3) == [1, 3]  # in rank order; another act's is withheld
    assert passages_about(forward, ranked, NAMES, k=1) == [1]
    reverse = "Which act has a highest fine of 90 crowns?\nA. Harbour Pilotage Act\nB. Salt Tithe Act"
    assert passages_about(reverse, ranked, NAMES, k=3) == [0]  # the options are the entities
    unknown = "What is Ixvorex indicated for?\nA. marsh fever\nB. copper lung"  # names no name of the domain
    assert passages_about(unknown, ranked, NAMES, k=2) == [0, 1]
    unnamed = "What does Zorvanil treat?\nA. marsh fever\nB. copper lung"  # no passage names it ("it" ...)
    assert passages_about(unnamed, ranked, NAMES, k=2) == [0, 1]  # never everything withheld
