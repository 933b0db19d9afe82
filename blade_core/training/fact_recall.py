"""Did DP store the facts? A check that needs no LLM and says which stage fails.

When BLADE's knowledge does not help, the cause is either storage (DP never learned the fact) or
access (KIT and the soft prompt do not bring out what DP learned). Storage is cheap to measure:
give the DP model a fact's own opening (no template, no soft prompt) and see whether greedy
decoding completes the rest word for word. The opening is the fact's first half, extended to the
end of the first domain name in it, so that it always says whom the fact is about ("The highest
fine under the Bridge Tithe Act" | "is 150 crowns.", not "The highest fine under the" | ...). A model that cannot complete its own
corpus sentences will not write them as knowledge either, whatever KIT or BPO do.

The facts are the test questions' reference knowledge when the test set has it (the facts that
matter), each as the corpus states it (a test's knowledge in other words than the corpus's, "X is
indicated for Y." where the corpus has "X indication: Y.", is replaced by the corpus's sentence),
else the corpus's stand-alone sentences that name one of its entities (what DP trained on).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blade_core.data import load_corpus, load_mcq
from blade_core.knowledge.names import name_pattern
from blade_core.text import is_cjk
from blade_core.training.stand_alone import StandAlone, stand_alone

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class FactRecall:
    """How many of `n` facts the model completed from their opening, and from what."""

    completed: int
    n: int
    source: str

    @property
    def share(self) -> float:
        return self.completed / self.n if self.n else 0.0

    def line(self) -> str:
        return (f"fact recall: the DP model completes {self.completed} of {self.n} {self.source} "
                f"from their opening ({self.share:.0%})")


def facts_to_check(corpus: Sequence[Path], test: Path | None, limit: int = 60, seed: int = 0,
                   known: tuple[Sequence[str], Sequence[str]] | None = None) -> tuple[list[str], str]:
    """Up to `limit` facts: the test set's reference knowledge, else corpus sentences with a name;
    read with `known` (names, entities): the DP model's, so the facts are about its entities."""
    alone = stand_alone(load_corpus(list(corpus)), known=known)
    if test is not None:
        facts = [q.knowledge for q in load_mcq(test) if q.knowledge and len(_words(q.knowledge)) >= 4]
        text = "\n".join(alone.sentences())
        stated = list(dict.fromkeys(sentence for fact in facts for sentence in (
            [fact] if _split(fact, alone.names)[0] in text else _as_the_corpus_states(alone, fact))))
        if stated:
            return stated[:limit], "test facts"
    return corpus_facts(alone, limit, seed), "corpus sentences"


def _as_the_corpus_states(corpus: StandAlone, fact: str) -> list[str]:
    """The corpus's sentence for a test fact whose opening the corpus does not have (a test's
    reference knowledge is worded its own way: "X is indicated for Y." where the corpus has "X
    indication: Y."): the first of those that share the most words with it, about its entity."""
    named = [e for e in corpus.entities if name_pattern(e).search(fact)]
    found = [sentence for entity in named for sentence in corpus.stating(entity, fact)
             if len(_words(sentence)) >= 4]
    return found[:1]


def corpus_facts(corpus: StandAlone, limit: int, seed: int = 0) -> list[str]:
    """Up to `limit` of the corpus's stand-alone sentences that name an entity (`stand_alone`: a
    pronoun's, a field's or a table row's fact too), at random."""
    named = list(dict.fromkeys(f.text for f in corpus.facts if len(_words(f.text)) >= 4))
    random.Random(seed).shuffle(named)
    return named[:limit]


def fact_recall(model_dir: Path | str, facts: Sequence[str], source: str, batch_size: int = 16) -> FactRecall:
    """Greedy completion of each fact's opening, compared word for word with the rest."""
    from blade_core.writers.domain_lm import DomainLM

    lm = DomainLM.from_pretrained(model_dir)
    return FactRecall(completed_facts(lm.model, lm.tokenizer, lm.config.names, facts, batch_size), len(facts), source)


def completed_facts(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, names: Sequence[str],
                    facts: Sequence[str], batch_size: int = 16) -> int:
    """How many `facts` the model completes word for word from their opening (greedy, left-padded)."""
    import torch

    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    completed = 0
    try:
        for start in range(0, len(facts), batch_size):
            halves = [_split(fact, names) for fact in facts[start:start + batch_size]]
            batch = tokenizer([opening for opening, _ in halves], return_tensors="pt", padding=True).to(model.device)
            with torch.no_grad():
                out = model.generate(  # type: ignore[operator]  # transformers types `generate` loosely
                    **batch, max_new_tokens=4 * max(len(rest) for _, rest in halves) + 4,
                    do_sample=False, pad_token_id=tokenizer.pad_token_id,
                )
            texts = tokenizer.batch_decode(out[:, batch["input_ids"].shape[1]:], skip_special_tokens=True)
            targets = [_words(" ".join(rest)) for _, rest in halves]
            completed += sum(_words(text)[: len(target)] == target for text, target in zip(texts, targets))
    finally:
        tokenizer.padding_side = side
    return completed


def _split(fact: str, names: Sequence[str]) -> tuple[str, list[str]]:
    """(opening, the words to complete): the first half, or up to the end of the first name if
    that comes later; at least one word is left to complete. Chinese is cut the same way, counted
    in characters."""
    found = [(m.start(), -m.end()) for name in names for m in name_pattern(name).finditer(fact)]
    if is_cjk(fact):
        ends = [i + 1 for i, c in enumerate(fact) if _CHARACTER.match(c)]  # where each counted character ends
        cut = len(ends) // 2
        if found:
            cut = max(cut, len(_words(fact[: -min(found)[1]])))
        cut = min(cut, len(ends) - 1)
        rest = fact[ends[cut - 1] if cut else 0:]
        return fact[: ends[cut - 1]] if cut else "", [c for c in rest if not c.isspace()]
    words = fact.split()
    cut = len(words) // 2
    if found:
        cut = max(cut, len(fact[: -min(found)[1]].split()))  # the first name, its longest reading
    cut = min(cut, len(words) - 1)
    return " ".join(words[:cut]), words[cut:]


_CHARACTER = re.compile(r"[^\W_]")


def _words(text: str) -> list[str]:
    """The words to compare, in lower case and without punctuation; in Chinese, the characters."""
    if is_cjk(text):
        return [c.lower() for c in text if _CHARACTER.match(c)]
    return [w.strip(".,;:").lower() for w in text.split() if w.strip(".,;:")]
