"""Self-consistency over several knowledge samples for one question (the adapters' `n_samples`).

`sample_knowledge` draws the samples (one batched call; one sampling policy for every adapter), and
`combine_samples` makes one text of them:

* "join": every distinct, non-empty sample, in sampling order, separated by blank lines. More
  coverage, more noise: the general LLM sees every variant.
* "vote": the sentences that a strict majority of samples state (compared case- and
  whitespace-insensitively), in the order they first appear. A fact the domain LM writes again and
  again under sampling is one it is sure of; a sentence only one sample has is more likely invented.
  When no sentence reaches a majority, the single sample whose sentences are the most shared by
  the others (the medoid) is returned, so the result is never empty while a sample is not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from blade_core.text import sentence_key, split_sentences

if TYPE_CHECKING:
    from blade_core.knowledge.writer import KnowledgeWriter

SampleMode = Literal["join", "vote"]

SAMPLE_TEMPERATURE = 0.7
"""Temperature used for several samples when neither the caller nor the model directory sets one:
greedy decoding would make every sample identical."""


def join_samples(samples: Sequence[str]) -> str:
    distinct = dict.fromkeys(s.strip() for s in samples if s.strip())
    return "\n\n".join(distinct)


def vote_samples(samples: Sequence[str]) -> str:
    sentences = [split_sentences(sample) for sample in samples]
    support = Counter(key for found in sentences for key in {sentence_key(s) for s in found})
    majority = len(samples) / 2
    kept: dict[str, str] = {}
    for found in sentences:
        for sentence in found:
            key = sentence_key(sentence)
            if support[key] > majority and key not in kept:
                kept[key] = sentence
    if kept:
        return " ".join(kept.values())

    def shared(index: int) -> float:
        keys = {sentence_key(s) for s in sentences[index]}
        return sum(support[k] for k in keys) / len(keys) if keys else 0.0

    return samples[max(range(len(samples)), key=shared)].strip() if samples else ""


def combine_samples(samples: Sequence[str], mode: SampleMode) -> str:
    """One knowledge text from several samples; a single sample is returned as it is."""
    if len(samples) == 1:
        return samples[0]
    return vote_samples(samples) if mode == "vote" else join_samples(samples)


def check_samples(n_samples: int, temperature: float | None, name: str = "n_samples") -> None:
    """Refuse a sample count that cannot work: below 1, or several at an explicit temperature 0
    (greedy samples are all the same text). `name` is the caller's option, for the message."""
    if n_samples < 1:
        raise ValueError(f"{name} must be at least 1, got {n_samples}")
    if n_samples > 1 and temperature == 0:
        raise ValueError(f"{name}={n_samples} at temperature 0 would all be the same text; set a temperature "
                         f"above 0, or leave it unset ({SAMPLE_TEMPERATURE} is used)")


def sample_knowledge(
    lm: KnowledgeWriter,
    questions: Sequence[str],
    n_samples: int,
    generation: dict[str, Any],
    batch_size: int,
) -> list[list[str]]:
    """`n_samples` knowledge texts per question, from one batched call (questions repeated).

    Several samples need sampling: with no temperature set anywhere, `SAMPLE_TEMPERATURE` is used;
    an explicit temperature of 0 with several samples is refused, as every sample would be equal.
    """
    check_samples(n_samples, generation.get("temperature"))
    if not questions:
        return []
    if n_samples > 1 and generation.get("temperature") is None and lm.config.generation.temperature == 0:
        generation = {**generation, "temperature": SAMPLE_TEMPERATURE}
    repeated = [question for question in questions for _ in range(n_samples)]
    texts = lm.generate_knowledge(repeated, batch_size=batch_size, **generation)
    return [texts[i : i + n_samples] for i in range(0, len(texts), n_samples)]
