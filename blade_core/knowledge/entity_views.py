"""Entity views: the domain LM recites what it stored about each entity a question asks about, and
the sentences that bear on the question are added to its knowledge.

Why: a small LM tuned on a user's few KIT pairs learns question -> knowledge for the entities and
wordings those pairs show. Asked about another entity, or in another wording (an exam's vignette,
"A physician who prescribes Zorvanil is treating which illness?"), it writes another entity's fact,
which the entity gate withholds: the fact was stored (DP completes it from its opening) but not
reached. Reciting needs no wording: KIT teaches "What is known about {name}?" -> the corpus's
stand-alone sentences about that entity (`training.recitation`), for every entity, so at
inference the model is asked about the entities the question's stem names and, when the options
are entities, about each option, and writes that entity's facts.

Which recited sentences join the knowledge: a forward question's options are values, so the
sentences that state an option ("Zorvanil indication: marsh fever.") come first, then those that
share the most words with the question; a reverse question's options are entities, and each
option's sentence closest to the question ("Flunovane is made by Saltgate Apothecary.") is added,
so the LLM can compare the options. A question can be both ("Which firm makes Quisavel?", whose
options are manufacturers): the stem's entity is recited as a forward question's, each option as a
reverse question's. A sentence that bears on nothing in the question is left out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from blade_core.text import lexical_tokens, mentions, sentence_key, split_sentences

RECITE = "What is known about {name}?"
"""The question a recitation answers; KIT trains it (`training.recitation`), inference asks it."""
PER_ENTITY = 2
"""Recited sentences kept per entity asked about (forward questions)."""
PER_OPTION = 1
"""Recited sentences kept per option, when the options are entities (reverse questions)."""

_STOP = frozenset(
    "a an and are as at be been by can could did do does for from had has have he her his how in is it its "
    "may might more most must no not of on or she should than that the their them they this to under was "
    "were what when where which who whom whose why will with would".split()
)


_RECITAL = re.compile(re.escape(RECITE).replace(re.escape("{name}"), "(.+)"))


def recite(name: str) -> str:
    return RECITE.format(name=name)


def anchor(view: str) -> str:
    """The text a view's knowledge is made to start with: a recitation's entity name, so what the
    model writes next is about that entity and no other (decoding anchored to the entity: asked
    about Hundovane, a small LM left to itself may start with the similar name it stored better,
    Hadirase); "" for any other view. KIT's recitations start with the name too (`recitation`)."""
    match = _RECITAL.fullmatch(view.strip())
    return match.group(1) if match else ""


def content_words(text: str, names: Sequence[str]) -> set[str]:
    """A text's content words, lower case, without function words and the words of `names` (the
    entities recited, which every recited sentence names)."""
    skip = {token for name in names for token in lexical_tokens(name)}
    return {t for t in lexical_tokens(text) if t not in _STOP and t not in skip}


def relevant(sentences: Sequence[str], stem: str, options: Sequence[str], names: Sequence[str],
             keep: int) -> list[str]:
    """At most `keep` of `sentences` that bear on the question: given `options` (values), those that
    state one; without (a reverse question, whose options are the entities recited, or an open
    one), those that share content words with the stem, most first. A word the question shares
    with a filler ("What kind of drug ..." and "The leaflet for the drug ...") does not make a
    forward question's answer."""
    asked = content_words(" ".join([stem, *options]), names)
    scored = []
    for i, sentence in enumerate(sentences):
        stated = sum(mentions(sentence, option) for option in options if option.strip())
        shared = len(content_words(sentence, names) & asked)
        if stated or (shared and not options):
            scored.append((-stated, -shared, i, sentence))
    return [sentence for *_, sentence in sorted(scored)[:keep]]


def add_recited(knowledge: str, stem: str, options: Sequence[str], recited: Sequence[tuple[str, str]],
                recited_options: Collection[str]) -> list[str]:
    """The recited sentences ((entity, text) per entity asked about) that `knowledge` does not
    already state, chosen by `relevant`: an option's (`recited_options`) as a reverse question's,
    any other entity's as a forward question's."""
    seen = {sentence_key(s) for s in split_sentences(knowledge)}
    entities = [entity for entity, _ in recited]
    added: list[str] = []
    for entity, text in recited:
        per_option = entity in recited_options
        for sentence in relevant(split_sentences(text), stem, [] if per_option else options, entities,
                                 PER_OPTION if per_option else PER_ENTITY):
            if sentence_key(sentence) not in seen:
                seen.add(sentence_key(sentence))
                added.append(sentence)
    return added
