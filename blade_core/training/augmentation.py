"""Knowledge augmentation for DP: each fact seen in several contexts, so it can be recalled by name.

A small LM trained on a corpus where a fact always sits in the same document, after the same
sentences, learns to continue the document, not to answer from the entity: it memorizes the text
(DP loss near zero) yet cannot say what it knows when asked (Allen-Zhu & Li, "Physics of Language
Models 3.1", 2023). Two rewrites that need no general LLM fix most of that:

* sentence permutations: each document again with its sentences shuffled, so no fact can be
  predicted from the sentence before it, only from the entity named in its own sentence;
* entity-centred documents: for every name that recurs in the corpus (a capitalized word that also
  appears capitalized mid-sentence; in Chinese, a recurring term, `text.recurring_terms`), the sentences that mention it gathered into one document in a
  random order, so all of an entity's facts sit together under its name, as in a reference entry.

Both keep every original sentence verbatim: nothing is invented, so nothing false is learned.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from blade_core.data.records import Document
from blade_core.text import corpus_sentences, is_cjk, join_sentences, recurring_terms

_CAPITALIZED = re.compile(r"\b[A-Z][a-z][A-Za-z'-]+\b")


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


def entity_names(sentences: Sequence[str], min_sentences: int = 3, max_share: float = 0.1) -> list[str]:
    """Recurring names: capitalized words seen capitalized mid-sentence at least once (so "Patients"
    or "Common" at a sentence start do not count), in at least `min_sentences` sentences and in at
    most `max_share` of all sentences (words that common name no entity worth a document)."""
    mid_sentence: set[str] = set()
    counts: Counter[str] = Counter()
    for sentence in sentences:
        words = set(_CAPITALIZED.findall(sentence))
        counts.update(words)
        first = sentence.split(maxsplit=1)[0] if sentence.split() else ""
        mid_sentence.update(w for w in words if not first.startswith(w) or sentence.count(w) > 1)
    limit = max_share * len(sentences)
    capitalized = [w for w, n in counts.items() if w in mid_sentence and min_sentences <= n <= limit]
    return sorted({*capitalized, *recurring_terms(sentences, min_sentences, max_share)})


def entity_documents(documents: Sequence[Document], copies: int, seed: int = 0,
                     min_sentences: int = 3, max_share: float = 0.1) -> list[Document]:
    """`copies` documents per recurring name, each its sentences (deduplicated) in a random order."""
    rng = random.Random(seed)
    sentences = list(dict.fromkeys(s for doc in documents for s in corpus_sentences(doc.text)))
    mentioning: dict[str, list[str]] = defaultdict(list)
    names = entity_names(sentences, min_sentences, max_share)
    wanted = set(names)
    chinese = [name for name in names if is_cjk(name)]
    for sentence in sentences:  # one pass, names found as `entity_names` counted them
        for name in wanted.intersection(_CAPITALIZED.findall(sentence)):
            mentioning[name].append(sentence)
        for name in chinese:
            if name in sentence:
                mentioning[name].append(sentence)
    out: list[Document] = []
    for name in names:
        for copy in range(copies):
            shuffled = mentioning[name][:]
            rng.shuffle(shuffled)
            out.append(Document(text=join_sentences(shuffled), source=f"entity:{name}#{copy}"))
    return out


def augment_documents(documents: Sequence[Document], permutations: int, entity_copies: int,
                      seed: int = 0) -> list[Document]:
    """The originals, plus their sentence permutations, plus entity-centred documents."""
    return [
        *documents,
        *sentence_permutations(documents, permutations, seed),
        *entity_documents(documents, entity_copies, seed + 1),
    ]
