"""The from-scratch model's shapes, and which one a corpus gets.

Pydantic only (no torch), so `blade --help` and the configs stay fast; `model_builder` builds them.

How big a model a corpus needs is a question of how many facts it must store. A language model
stores about 2 bits of knowledge per parameter when each fact is seen ~1,000 times and about 1 bit
at ~100 exposures (Allen-Zhu & Li, "Physics of Language Models 3.3"); DP shows each fact ~20 times
an epoch (the original, 12 permutations, 6 entity documents, the KIT pairs) for up to 8 epochs, so
1 bit per parameter is the rate to plan with. A fact sentence ("Barvandol is indicated for lantern
blindness") holds a name and a value out of a few dozen: 20 bits is generous. A model is chosen
when it could hold ten times the corpus's facts at that rate, a margin for the gap between a
capacity law and a model trained for minutes. Measured on the pharmacopoeia domain (1,341 fact
sentences; benchmarks/knowledge_quality.md, "Model size"): `tiny` (0.2M parameters, a capacity
of about 1,100) stores 41 of 60 test facts and lifts the LLM a third as far as `small` (48.3% vs
91.1%); `medium` stores 59 against `small`'s 56
and scores the same on dev at 2.7 times the time per step. So `small` is chosen for every corpus
this machine trains in an hour; `medium` begins around 21,000 fact sentences, where a CPU run
takes many hours and a pretrained `--base` is the better start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from blade_core.data.records import Document
from blade_core.knowledge.names import domain_names, name_finder
from blade_core.text import corpus_sentences

ModelSize = Literal["tiny", "small", "medium"]
SizeChoice = Literal["auto", "tiny", "small", "medium"]

BITS_PER_PARAMETER = 1.0
BITS_PER_FACT = 20.0
MARGIN = 10.0


class ScratchModelConfig(BaseModel):
    """Shape of a from-scratch model. `tiny` is for tests (seconds); `size_for` picks the others."""

    vocab_size: int = Field(ge=260, description="upper bound; the trained tokenizer may use fewer")
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int
    context_length: int

    def parameters(self, vocab: int | None = None) -> int:
        """Weights of the Qwen2 model of this shape (tied embeddings; norms and biases are few)."""
        kv = self.hidden_size // self.num_attention_heads * self.num_key_value_heads
        layer = self.hidden_size * (2 * self.hidden_size + 2 * kv) + 3 * self.hidden_size * self.intermediate_size
        return (vocab or self.vocab_size) * self.hidden_size + self.num_hidden_layers * layer


SIZES: dict[ModelSize, ScratchModelConfig] = {
    "tiny": ScratchModelConfig(
        vocab_size=2048, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=192, context_length=512,
    ),
    "small": ScratchModelConfig(
        vocab_size=4096, hidden_size=256, num_hidden_layers=4, num_attention_heads=8,
        num_key_value_heads=4, intermediate_size=768, context_length=1024,
    ),
    "medium": ScratchModelConfig(
        vocab_size=4096, hidden_size=384, num_hidden_layers=6, num_attention_heads=6,
        num_key_value_heads=2, intermediate_size=1152, context_length=1024,
    ),
}


def fact_capacity(size: ModelSize) -> int:
    """Fact sentences a model of this size is chosen for (the module docstring says why)."""
    return int(SIZES[size].parameters() * BITS_PER_PARAMETER / BITS_PER_FACT / MARGIN)


def fact_sentences(documents: Sequence[Document]) -> int:
    """Distinct corpus sentences that name one of the corpus's recurring names: its facts."""
    sentences = list(dict.fromkeys(s for d in documents for s in corpus_sentences(d.text)))
    find = name_finder(domain_names(sentences))
    return sum(1 for s in sentences if find(s))


def size_for(documents: Sequence[Document]) -> tuple[ModelSize, str]:
    """The smallest size (never `tiny`) whose capacity holds the corpus's facts, and why, in words."""
    facts = fact_sentences(documents)
    for size in ("small", "medium"):
        if facts <= fact_capacity(size):
            return size, (f"model size {size}: the corpus has {facts:,} fact sentences; {size} is chosen "
                          f"for up to {fact_capacity(size):,}")
    return "medium", (f"model size medium: the corpus has {facts:,} fact sentences, more than medium is chosen "
                      f"for ({fact_capacity('medium'):,}); a pretrained model (--base) will store them better")


def resolve_size(size: SizeChoice, documents: Sequence[Document]) -> tuple[ModelSize, str | None]:
    """`size` itself, or with "auto" the size the corpus calls for and the reason."""
    if size == "auto":
        return size_for(documents)
    return size, None
