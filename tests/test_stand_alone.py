"""Stand-alone sentences: pronouns, fields, table rows and prose about "the drug" all end up in a
sentence that names the entity they are about; values shared by many entities are never a topic."""

from __future__ import annotations

from blade_core.data import Document
from blade_core.knowledge.names import domain_names
from blade_core.training.stand_alone import stand_alone

MAKERS = ["Orrin Brothers", "Blackmoor Works"]
REGISTER = [Document(text=f"Item {i} is kept in the store. The store lists Item {i} once.", source=f"r{i}")
            for i in range(40)] + [Document(text="The shelf holds Zorvanil, Cormuarin, Ixvorex and Flunovane.")]
"""Other entities, so that no name of the documents under test is in more than a tenth of the sentences."""


def corpus(*texts: str) -> list[Document]:
    return [Document(text=text, source=f"d{i}") for i, text in enumerate(texts)] + REGISTER


def test_pronoun_and_prose_sentences_are_prefixed_with_the_entity_the_document_is_about() -> None:
    # Each name is seen mid-sentence, twice: a one-word name named once, or only ever opening a
    # sentence, reads as any capitalized word would, and is not found (fields, tables and numbered
    # names are).
    alone = stand_alone(corpus(
        "The drug Zorvanil is made by Orrin Brothers. It is indicated for marsh fever. Doctors prescribe it for ague.",
        "The drug Cormuarin is made by Orrin Brothers. Its maximum daily dose is 30 milligrams.",
        "The drug Ixvorex is made by Orrin Brothers. The drug is kept cold.",
        "The drug Flunovane is made by Blackmoor Works. It is a lung opener.",
    ))
    assert "Zorvanil: It is indicated for marsh fever." in alone.about("Zorvanil")
    assert "Zorvanil: Doctors prescribe it for ague." in alone.about("Zorvanil")
    assert "Cormuarin: Its maximum daily dose is 30 milligrams." in alone.about("Cormuarin")
    assert "Ixvorex: The drug is kept cold." in alone.about("Ixvorex")  # the rarer name is the topic


def test_a_value_many_entities_share_is_no_entity() -> None:
    sentences = [f"The drug Drug{chr(65 + i)}x is made by {MAKERS[i % 2]}. Drug{chr(65 + i)}x treats ague."
                 for i in range(20)]
    alone = stand_alone([Document(text=text) for text in sentences] + REGISTER)
    assert "DrugAx" in alone.entities and not set(MAKERS) & set(alone.entities)
    assert set(MAKERS) <= set(alone.names)  # still names, for the gate


def test_a_new_paragraph_about_another_entity_changes_the_topic() -> None:
    alone = stand_alone(corpus(
        "The drug Zorvanil is made by Orrin Brothers. It is indicated for marsh fever.\n\n"
        "The drug Cormuarin is made by Orrin Brothers. It is indicated for bog chill.",
        "The drug Ixvorex is made by Orrin Brothers. It is a lung opener.",
    ))
    assert "Cormuarin: It is indicated for bog chill." in alone.about("Cormuarin")
    assert not any("bog chill" in sentence for sentence in alone.about("Zorvanil"))


def test_fields_under_a_heading_and_table_rows_name_their_entity() -> None:
    alone = stand_alone(corpus(
        "Zorvanil\nIndication: marsh fever\nManufacturer: Orrin Brothers",
        "| Drug | Indication | Class |\n|---|---|---|\n| Cormuarin | bog chill | lung opener |\n"
        "| Ixvorex | ash rash | gut settler |",
        "drug | indication\nFlunovane | winter ague\nTasorin | river flux",
    ))
    assert alone.about("Zorvanil")[:2] == ["Zorvanil indication: marsh fever.", "Zorvanil manufacturer: Orrin Brothers."]
    assert alone.about("Cormuarin")[:2] == ["Cormuarin indication: bog chill.", "Cormuarin class: lung opener."]
    assert alone.about("Tasorin") == ["Tasorin indication: river flux."]  # a table without outer bars
    assert {"Zorvanil", "Cormuarin", "Ixvorex", "Flunovane", "Tasorin"} <= set(alone.entities)


def test_numbered_names_are_names_wherever_they_stand() -> None:
    sentences = ["Article 214 punishes poaching deer.", "Under Article 37, night fishing is an offence.",
                 "Avoid Zorvanil with Ixvorex.", "Patients take Ixvorex and Zorvanil at night."] + \
                [f"Item {i} is listed." for i in range(30)]
    names = domain_names(sentences)
    assert "Article 214" in names and "Article 37" in names  # "Under" is a word of the sentence, not the name
    assert "Zorvanil" in names and "Avoid Zorvanil" not in names
    assert "Patients" not in names


def test_every_rewritten_sentence_keeps_its_words() -> None:
    documents = corpus("Zorvanil is made by Orrin Brothers. It is indicated for marsh fever.",
                       "Cormuarin is made by Blackmoor Works. It treats bog chill.")
    alone = stand_alone(documents)
    original = {sentence for document in documents for sentence in document.text.split(". ")}
    for sentence in alone.sentences():
        body = sentence.split(": ", 1)[-1]
        assert any(body.rstrip(".") == o.rstrip(".") for o in original), sentence
