"""Offline knowledge augmentation: rewrites keep every sentence verbatim and put names first."""

from __future__ import annotations

import re
from collections import Counter

from blade_core.data import Document, load_corpus, load_mcq
from blade_core.sample_domain import load_sample_domain
from blade_core.text import corpus_sentences
from blade_core.training.augmentation import augment_documents, entity_documents, sentence_permutations
from blade_core.training.stand_alone import stand_alone

DOCS = [
    Document(text="Monograph: Zanthor. Zanthor treats marsh fever. Patients rarely report dizziness. "
                  "Zanthor is made by Orrin Brothers.", source="a"),
    Document(text="Notes. Patients taking Quillax report rashes. Quillax is made by Orrin Brothers. "
                  "Avoid Zanthor with Quillax.", source="b"),
    Document(text="Quillax treats bog chill.\nZanthor | marsh fever", source="c"),
] + [Document(text=f"The register lists Item {i} once. Item {i} is kept in the store.", source=f"r{i}") for i in range(30)]
"""Three documents about two drugs, among registers of other items (a name is in at most a tenth
of the sentences)."""


def test_permutations_reorder_the_same_sentences() -> None:
    perms = sentence_permutations(DOCS[:3], copies=3, seed=1)
    assert len(perms) == 9
    for i, perm in enumerate(perms):
        assert Counter(corpus_sentences(perm.text)) == Counter(corpus_sentences(DOCS[i // 3].text))
    assert any(perm.text != DOCS[0].text for perm in perms[:3])
    assert sentence_permutations([Document(text="One sentence only.")], copies=2) == []


def test_names_skip_words_capitalized_only_at_a_sentence_start() -> None:
    names = stand_alone(DOCS).names
    assert "Zanthor" in names and "Quillax" in names and "Orrin Brothers" in names
    assert "Patients" not in names and "Monograph" not in names and "Notes" not in names


def test_entity_documents_gather_every_sentence_naming_the_entity() -> None:
    corpus = stand_alone(DOCS)
    docs = entity_documents(corpus, copies=2, seed=0)
    zanthor = [d for d in docs if d.source.startswith("entity:Zanthor#")]
    assert len(zanthor) == 2
    expected = {s for s in corpus.sentences() if "Zanthor" in s}
    assert set(corpus_sentences(zanthor[0].text)) == expected
    assert "Zanthor: Patients rarely report dizziness." in expected  # its sentence, made to stand alone


def test_sample_domain_augmentation_names_every_drug_and_invents_nothing() -> None:
    domain = load_sample_domain()
    corpus = load_corpus(domain.corpus)
    alone = stand_alone(corpus)
    augmented = augment_documents(corpus, alone, permutations=2, entity_copies=1, seed=0)
    original = {s for d in corpus for s in corpus_sentences(d.text)}
    rewritten = {s for d in augmented for s in corpus_sentences(d.text)} - original
    assert rewritten == set(alone.sentences()) - original  # only stand-alone versions are new
    entities = re.compile("|".join(re.escape(e) for e in alone.entities))
    def words(text: str) -> set[str]:
        return set(re.findall(r"[\w']+", text.lower()))

    labels = {w for s in original if s.startswith("drug |") for w in words(s)}
    for sentence in rewritten:  # each keeps the words of a sentence of the corpus, or of a table row
        assert any(words(entities.sub(" ", sentence)) <= words(o) | labels for o in original), sentence
    drugs = {d.source.split(":")[1].split("#")[0] for d in augmented if d.source.startswith("entity:")}
    test_drugs = {q.question.rstrip("?").split()[-1] for q in load_mcq(domain.test)
                  if q.question.startswith("Who makes")}
    assert test_drugs <= drugs
