"""Entity views and access: the model recites the question's entities, the sentences that bear on
the question join its knowledge, and access counts knowledge that states the asked entity's facts."""

from __future__ import annotations

from blade_core.data.records import Document, MCQuestion
from blade_core.knowledge.entity_views import anchor, recite, relevant
from blade_core.knowledge.gate import Asked, WrittenKnowledge, asked_entities
from blade_core.knowledge.types import Sentence, Written
from blade_core.training.access import CorpusFacts, knowledge_access
from blade_core.training.stand_alone import stand_alone
from blade_core.writers.domain_lm import DomainLM

ENTITIES = ["Zorvanil", "Cormuarin", "Ixvorex", "Flunovane"]
RECITED = ("Zorvanil indication: marsh fever. Zorvanil: It is made by Orrin Brothers. "
           "Zorvanil maximum daily dose: 30 milligrams.")


def written(text: str) -> Written:
    return Written(text, [Sentence(s.strip() + ".") for s in text.split(".") if s.strip()])


def test_a_forward_question_keeps_the_recited_sentence_that_states_an_option() -> None:
    sentences = RECITED.split(". ")
    stem = "A physician who prescribes Zorvanil is treating which illness?"
    assert relevant(sentences, stem, ["marsh fever", "bog chill", "ash rash"], ["Zorvanil"], 2) == [sentences[0]]
    # the filler shares "drug" with the question and states no option: no answer to it
    filler = [*sentences, "Zorvanil: The leaflet for the drug is printed in two languages."]
    assert relevant(filler, "What kind of drug is Zorvanil?", ["lung opener", "gut settler"], ["Zorvanil"], 2) == []
    dose = relevant(sentences, "What is the maximum dose of Zorvanil?", [], ["Zorvanil"], 1)
    assert dose == ["Zorvanil maximum daily dose: 30 milligrams."]  # no options: the words shared
    assert relevant(sentences, "Who painted Zorvanil?", [], ["Zorvanil"], 2) == []  # bears on nothing asked


def test_asked_entities_are_the_stems_and_the_options_that_are_entities() -> None:
    assert asked_entities("What does Cormuarin treat?", ["ague", "fever"], ENTITIES) == Asked(("Cormuarin",))
    reverse = asked_entities("Which drug is made by Orrin Brothers?", ["Zorvanil", "Ixvorex"], ENTITIES)
    assert reverse == Asked((), ("Zorvanil", "Ixvorex"))
    assert asked_entities("Which drug is best?", ["ague", "fever"], ENTITIES) == Asked()
    # options that are entities of another kind (manufacturers), and the drug asked about
    both = asked_entities("Which firm makes Zorvanil?", ["Orrin Brothers", "Saltgate"], [*ENTITIES, "Orrin Brothers",
                                                                                        "Saltgate"])
    assert both.entities == ("Zorvanil", "Orrin Brothers", "Saltgate") and both.options == ("Orrin Brothers", "Saltgate")


def test_recited_sentences_join_the_knowledge_when_they_bear_on_the_question_and_pass_the_gate() -> None:
    views = [written("Ixvorex is indicated for bog chill."), written(RECITED),
             written("Cormuarin indication: marsh fever.")]  # a recitation that drifted to another drug
    knowledge = WrittenKnowledge(views, [(frozenset({"Zorvanil"}),)] * 3, ENTITIES,
                                 recited=("Zorvanil", "Zorvanil"), stem="What does Zorvanil treat?",
                                 options=("marsh fever", "bog chill"))
    assert knowledge.render() == "Zorvanil indication: marsh fever."  # the question's own view was withheld
    ungated = WrittenKnowledge(views, None, ENTITIES, recited=("Zorvanil", "Zorvanil"),
                               stem="What does Zorvanil treat?", options=("marsh fever", "bog chill"))
    assert ungated.render().startswith("Ixvorex is indicated for bog chill. Zorvanil indication: marsh fever.")


def test_a_writer_that_recites_adds_one_view_per_asked_entity(tiny_lm: DomainLM) -> None:
    tiny_lm.config.entities = ["Zorvanil", "Quelmora"]
    question = MCQuestion(id="q", question="What does Zorvanil treat?", answer="A",
                          options={"A": "marsh fever", "B": "copper lung"}).with_options_text()
    plain = tiny_lm.write_knowledge([question], max_new_tokens=4)[0]
    recited = tiny_lm.write_knowledge([question], max_new_tokens=4, recite=True)[0]
    assert len(recited.views) == len(plain.views) + 1 and recited.recited == ("Zorvanil",)
    assert recite("Zorvanil") == "What is known about Zorvanil?"
    assert recited.views[-1].text.startswith("Zorvanil")  # anchored on the entity it recites
    assert anchor(recite("North Fellbridge")) == "North Fellbridge" and anchor("What does Zorvanil treat?") == ""


def test_access_counts_knowledge_that_states_a_corpus_fact_about_the_asked_entity() -> None:
    corpus = stand_alone([Document(text="Zorvanil\nIndication: marsh fever\nClass: lung opener"),
                          Document(text="Cormuarin\nIndication: bog chill\nClass: gut settler")] +
                         [Document(text=f"Item {i} is listed. Item {i} is kept.") for i in range(30)])
    facts = CorpusFacts(corpus)
    forward = MCQuestion(id="f", question="What does Zorvanil treat?", answer="A",
                         options={"A": "marsh fever", "B": "bog chill"})
    reverse = MCQuestion(id="r", question="Which drug treats bog chill?", answer="B",
                         options={"A": "Zorvanil", "B": "Cormuarin"})
    access = knowledge_access(
        [forward, forward, forward, reverse],
        ["Zorvanil indication: marsh fever.",  # the fact, and the answer
         "Zorvanil class: lung opener.",  # a fact about it, not the answer
         "Zorvanil indication: bog chill.",  # invented: not what the corpus says about it
         "Zorvanil class: lung opener. Cormuarin indication: bog chill."],
        facts)
    assert (access.given, access.reached, access.answered, access.n) == (4, 3, 2, 4)
    assert access.line().startswith("access: the model's knowledge states a corpus fact about the asked entity "
                                    "for 3 of 4 dev questions (75%), the answer for 2")
