"""The retrieval baseline BLADE is measured against: corpus passages found by MiniLM similarity
(`retrieval.PassageIndex`), put into the answer prompt where BLADE puts its knowledge."""

from __future__ import annotations

from collections.abc import Sequence

PASSAGE_SEPARATOR = "\n\n"


def with_passages(knowledge: str | None, passages: Sequence[str]) -> str:
    """Knowledge first, then the passages, as one text for the answer prompt (hybrid; rag alone)."""
    parts = ([knowledge.strip()] if knowledge and knowledge.strip() else []) + list(passages)
    return PASSAGE_SEPARATOR.join(parts)
