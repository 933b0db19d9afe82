"""Do no harm: knowledge about another entity than the question asks about is withheld.

A small domain LM that has not stored a fact still writes a fluent sentence, often about another
entity: asked about Cormuarin, it writes "Ixvorex is indicated for Quor croup." Handed that, a
general LLM follows it and answers worse than with no knowledge at all. So each sentence of the
knowledge must be about the question's entities, as the domain's names tell them:

* the domain's names are the capitalized spans ("Zorvanil", "Harbour Dues Act", "North
  Fellbridge") that recur mid-sentence in the DP corpus, and in Chinese text, which has no capitals,
  the character strings it uses as units ("渎职罪", `text.recurring_terms`) (`domain_names`); DP
  stores them in `blade.json`;
* when the options are names ("Which drug is indicated for marsh fever?"), a sentence is kept
  only if it names one of the options (a one-option view's sentence: its own option);
* when the stem names an entity too ("Which firm makes Quisavel?", its options manufacturers;
  "Which drug is made by Blackmoor Works?"), a sentence must also name it: one that names an
  option alone ("Casisto manufacturer: Greywater Dispensary.") is about another drug that firm
  makes, or, for a drug among the options, another firm. On the drugs-b tuning shape (12 of the
  first 60 test questions are of this kind), this and reciting the stem's entity too
  (`asked_entities`) lifted blade from 80.0 to 86.7 with Gemma 3 270M as the reader, and from
  86.4 to 91.2 with the offline judge (benchmarks/knowledge_quality.md);
* otherwise, when the question names entities ("What is Zorvanil indicated for?"), a sentence is
  kept only if it names one of them;
* a question that names none, with options that are not names, is left as it is.

The second guard is confidence: a sentence whose least probable token is below the model's
`min_confidence` (calibrated on dev by BPO, `bpo.guard`) is withheld too; see `blade_core.knowledge.confidence`.

What is withheld is logged; knowledge left empty reaches the LLM as "(no reference knowledge)", so
it answers as it would without BLADE.

The same rule screens retrieved passages when BLADE's knowledge is given beside them (hybrid,
`passages_about`): a passage about other entities misleads as a wrong-entity sentence does. With
Gemma 3 270M as the reader, on the tuning shapes' first 60 test questions, hybrid rose from 58.3
to 75.0 on drugs-zero and from 45.0 to 55.0 on penal-multi (benchmarks/knowledge_quality.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from blade_core.knowledge.entity_views import add_recited
from blade_core.knowledge.names import _is_name, names_in
from blade_core.knowledge.options import split_options
from blade_core.knowledge.types import Sentence, Written
from blade_core.text import join_pieces

Anchor = tuple[frozenset[str], ...]
"""What a sentence must name to be kept: one name of each set."""


def anchors(stem: str, options: Sequence[str], names: Sequence[str]) -> list[Anchor] | None:
    """What each sentence must name: one anchor per view (whole question first, then each option),
    or None when the question gives nothing to check against."""
    known = set(names)
    asked = frozenset(names_in(stem, known))
    if options and all(_is_name(option, known) for option in options):
        option_names = [frozenset(names_in(option, known)) for option in options]
        any_option = frozenset().union(*option_names)
        named = asked - any_option
        also: Anchor = (named,) if named else ()
        return [(any_option, *also), *[(option, *also) for option in option_names]]
    if not asked:
        return None
    return [(asked,)] * (1 + len(options))


def names_all(text: str, anchor: Anchor, names: Sequence[str]) -> bool:
    """Whether `text` names one name of each of `anchor`'s sets."""
    found = names_in(text, names)
    return all(found & need for need in anchor)


def keep(sentences: Sequence[Sentence], anchor: Anchor | None, names: Sequence[str],
         min_confidence: float = 0.0) -> str:
    """The sentences that name what `anchor` asks (every sentence when `anchor` is None) and whose
    confidence is above `min_confidence`, joined."""
    return join_pieces([s.text for s in sentences
                        if s.confidence > min_confidence and (anchor is None or names_all(s.text, anchor, names))])


@dataclass(frozen=True)
class WrittenKnowledge:
    """What the domain LM wrote for one question before any guard: the question's own view first,
    then one per option (`option_knowledge`), then one recitation per entity in `recited`
    (`entity_views`), and what each view's sentences must name (None: no entity check). Kept whole
    so that BPO's calibration can try thresholds without regenerating."""

    views: list[Written]
    anchors: list[Anchor] | None
    names: Sequence[str]
    recited: tuple[str, ...] = ()
    """The entities recited, in the last views."""
    stem: str = ""
    options: tuple[str, ...] = ()
    recited_options: tuple[str, ...] = ()
    """Which of `recited` are options (a reverse question's entities)."""

    def render(self, min_confidence: float = 0.0) -> str:
        """The knowledge the LLM gets: each view's kept sentences, merged (`option_knowledge`), and
        the recited sentences that bear on the question (`entity_views`)."""
        from blade_core.knowledge.options import merge_option_knowledge

        if self.anchors is None and min_confidence <= 0:
            texts = [view.text for view in self.views]  # nothing to withhold: the text as written
        else:
            texts = [keep(view.sentences, None if self.anchors is None else self.anchors[i], self.names,
                          min_confidence) for i, view in enumerate(self.views)]
        asked = len(self.views) - len(self.recited)
        merged = merge_option_knowledge(texts[0], texts[1:asked])
        if not self.recited:
            return merged
        extra = add_recited(merged, self.stem, self.options, list(zip(self.recited, texts[asked:])),
                             self.recited_options)
        return join_pieces([piece for piece in [merged, *extra] if piece])


def passages_about(question: str, passages: Sequence[str], names: Sequence[str], k: int) -> list[int]:
    """The indices of the first `k` of `passages` (ranked best first) that name one of the
    question's entities (the options, when they are names), for the answer prompt beside BLADE's
    knowledge. When the question names none of the domain's names, or no passage names one of its
    entities (a corpus that says "it" after a first sentence, cut into passages), the first `k`
    are kept as ranked: the gate withholds what is about another entity, never everything."""
    stem, options = split_options(question)
    found = anchors(stem, options, names)
    ranked = list(range(len(passages)))
    if found is None:
        return ranked[:k]
    about = [i for i in ranked if names_all(passages[i], found[0], names)]
    return (about or ranked)[:k]


@dataclass(frozen=True)
class Asked:
    """The entities a question asks about, to recite (`entity_views`): those its stem names, and its
    options when they are entities. A question can have both ("Which firm makes Quisavel?", whose
    options are manufacturers): the stem's entity's recitation states its manufacturer, the
    options' recitations list what each makes."""

    named: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    @property
    def entities(self) -> tuple[str, ...]:
        return self.named + self.options


def asked_entities(stem: str, options: Sequence[str], entities: Sequence[str], most: int = 3) -> Asked:
    """The entities `stem` names (at most `most`, in stem order) and, when every option is an
    entity (a reverse question: "Which drug is made by ...?"), one per option."""
    known = set(entities)
    recited_options: list[str] = []
    if options and all(_is_name(option, known) for option in options):
        recited_options = [sorted(names_in(option, known))[0] for option in options]
    found = names_in(stem, known) - set(recited_options)
    named = sorted(found, key=lambda name: stem.find(name))[:most]
    return Asked(tuple(named), tuple(recited_options))
