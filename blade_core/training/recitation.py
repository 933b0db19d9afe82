"""Recitation pairs: for every entity of the corpus, "What is known about {name}?" answered by the
corpus's stand-alone sentences about it, so KIT teaches the model to write an entity's facts from
its name alone, in no particular wording (`blade_core.knowledge.entity_views` says why and how inference asks).

Nothing is invented: the answers are the corpus's own sentences (`stand_alone`), all of an entity's
in a pair, in two random orders, so that every stored fact is recited and none depends on the
sentence before it.
"""

from __future__ import annotations

import random

from blade_core.data.records import InstructionPair
from blade_core.knowledge.entity_views import recite
from blade_core.text import is_cjk, join_sentences
from blade_core.training.stand_alone import StandAlone

MOST_SENTENCES = 16
"""A recitation lists every sentence about the entity, up to this many (about 160 tokens)."""


def recitation_pairs(corpus: StandAlone, seed: int = 0) -> list[InstructionPair]:
    """Two pairs for each entity, its sentences in two random orders, each opening with a sentence
    that starts with the entity's name (inference anchors a recitation on it, `entity_views.anchor`;
    a sentence is prefixed with the name when none starts with it)."""
    rng = random.Random(seed)
    pairs = []
    for entity in corpus.entities:
        about = corpus.about(entity)[:MOST_SENTENCES]
        for _ in range(2):
            order = rng.sample(about, len(about))
            first = next((i for i, s in enumerate(order) if s.startswith(entity)), None)
            if first is None:
                order[0] = f"{entity}{'：' if is_cjk(order[0]) else ': '}{order[0]}"
            else:
                order.insert(0, order.pop(first))
            pairs.append(InstructionPair(instruction=recite(entity), output=join_sentences(order)))
    return pairs
