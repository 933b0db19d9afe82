"""Knowledge augmentation for DP: each fact seen in several contexts, so it can be recalled by name.

A small LM trained on a corpus where a fact always sits in the same document, after the same
sentences, learns to continue the document, not to answer from the entity: it memorizes the text
(DP loss near zero) yet cannot say what it knows when asked (Allen-Zhu & Li, "Physics of Language
Models 3.1", 2023). Two rewrites that need no general LLM fix most of that:

* sentence permutations: each document again with its sentences shuffled, so no fact can be
  predicted from the sentence before it, only from the entity named in its own sentence;
* entity-centred documents: for every name of the corpus (the entity gate's names,
  `knowledge_gate.domain_names`; in Chinese, recurring terms), the sentences that mention it
  gathered into one document in a random order, so all of an entity's facts sit together under its
  name, as in a reference entry.

Both work on the corpus made to stand alone (`stand_alone`): "It is indicated for marsh fever."
becomes "Zorvanil: It is indicated for marsh fever.", so a shuffled sentence keeps its entity and
an entity's document holds the facts its pronouns, fields and table rows state. Every sentence
keeps its words: nothing is invented, so nothing false is learned.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from blade_core.data.records import Document
from blade_core.knowledge.names import name_finder
from blade_core.text import corpus_sentences, join_sentences
from blade_core.training.stand_alone import StandAlone


def sentence_permutations(documents: Sequence[Document], copies: int, seed: int = 0) -> list[Document]:
    """`copies` re-orderings of each document of two or more sentences (the originals excluded)."""
    rng = random.Random(seed)
    out: list[Document] = []
    for doc in documents:
        sentences = corpus_sentences(doc.text)
        if len(sentences) < 2:
            continue
        for copy in range(copies):
            shuffled = sentences[:]
            rng.shuffle(shuffled)
            out.append(Document(text=join_sentences(shuffled), source=f"{doc.source}#perm{copy}"))
    return out


def entity_documents(corpus: StandAlone, copies: int, seed: int = 0) -> list[Document]:
    """`copies` documents per name of the corpus (`stand_alone`: entities and the names of values
    alike), each the stand-alone sentences that name it, in a random order."""
    rng = random.Random(seed)
    mentioning: dict[str, list[str]] = defaultdict(list)
    find = name_finder(corpus.names)
    for sentence in corpus.sentences():
        for name in find(sentence):
            mentioning[name].append(sentence)
    out: list[Document] = []
    for name in corpus.names:
        for copy in range(copies if mentioning[name] else 0):
            shuffled = mentioning[name][:]
            rng.shuffle(shuffled)
            out.append(Document(text=join_sentences(shuffled), source=f"entity:{name}#{copy}"))
    return out


def augment_documents(documents: Sequence[Document], corpus: StandAlone, permutations: int, entity_copies: int,
                      seed: int = 0) -> list[Document]:
    """The originals, plus the permutations of their stand-alone versions (so a pronoun never
    loses its referent), plus entity-centred documents."""
    return [
        *documents,
        *sentence_permutations(corpus.documents, permutations, seed),
        *entity_documents(corpus, entity_copies, seed + 1),
    ]
