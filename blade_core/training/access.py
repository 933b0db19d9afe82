"""Does the knowledge reach the asked entity's facts? Access, measured as directly as storage.

Storage (`fact_recall`) says whether DP stored a fact: the model completes it from its opening.
Access says whether, asked a question, the model writes it: on a domain whose KIT pairs are few,
or worded unlike its exam, a model that completes 51 of 60 facts wrote the asked drug's facts for
a quarter of the questions (the rest: other drugs' facts, withheld by the entity gate). So, for
held-out questions (dev), with the knowledge the LLM would get:

* reached: a sentence names an entity the question asks about (the one its stem names, or, when
  the options are entities, one of them) and states a fact the corpus holds about it: its words,
  that entity's name aside, are all in one of the corpus's stand-alone sentences about it;
* answered: such a sentence holds the answer: a right option's text (options are values), or it is
  about a right option and shares a word with the question (options are entities).

No LLM is needed: a low `reached` with high storage says KIT and the soft prompt do not bring out
what DP stored; a high `reached` with a low accuracy says the LLM does not read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from blade_core.data.records import MCQuestion
from blade_core.knowledge.entity_views import relevant
from blade_core.knowledge.gate import asked_entities
from blade_core.knowledge.names import names_in
from blade_core.text import lexical_tokens, mentions, split_sentences
from blade_core.training.stand_alone import StandAlone


@dataclass(frozen=True)
class Access:
    """How many of `n` questions got knowledge at all, reached the asked entity's facts, and
    answered them."""

    given: int
    reached: int
    answered: int
    n: int

    def line(self, model: str = "the model") -> str:
        share = self.reached / self.n if self.n else 0.0
        return (f"access: {model}'s knowledge states a corpus fact about the asked entity for {self.reached} of "
                f"{self.n} dev questions ({share:.0%}), the answer for {self.answered} "
                f"(knowledge given for {self.given})")


class CorpusFacts:
    """Each entity's stand-alone sentences as word sets, to tell a stated fact from an invented one."""

    def __init__(self, corpus: StandAlone) -> None:
        self.entities = corpus.entities
        self._facts: dict[str, list[set[str]]] = defaultdict(list)
        for fact in corpus.facts:
            for entity in fact.entities:
                self._facts[entity].append(self._words(fact.text, entity))

    @staticmethod
    def _words(text: str, entity: str) -> set[str]:
        return set(lexical_tokens(text)) - set(lexical_tokens(entity))

    def states(self, sentence: str, entity: str) -> bool:
        """Whether `sentence` names `entity` and says nothing the corpus does not say about it."""
        if entity not in names_in(sentence, [entity]):
            return False
        words = self._words(sentence, entity)
        return bool(words) and any(words <= fact for fact in self._facts.get(entity, ()))


def knowledge_access(questions: Sequence[MCQuestion], knowledge: Sequence[str], facts: CorpusFacts) -> Access:
    """`Access` of `knowledge` (one text per question, as the LLM gets it) on `questions`."""
    given = reached = answered = 0
    for question, text in zip(questions, knowledge):
        sentences = split_sentences(text)
        given += bool(sentences)
        options = list(question.options.values())
        gold = [question.options[letter] for letter in question.answer]
        asked = asked_entities(question.question, options, facts.entities)
        stated = [(s, e) for s in sentences for e in asked.entities if facts.states(s, e)]
        reached += bool(stated)
        answered += any(e in gold and relevant([s], question.question, [], [e], 1) if e in asked.options
                        else any(mentions(s, option) for option in gold) for s, e in stated)
    return Access(given, reached, answered, len(questions))
