"""What a writer hands back for each view of a question: its text and its sentences, each with the
confidence the domain LM wrote it with (`confidence`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sentence:
    """One sentence the domain LM wrote, and how sure it was of it (`blade_core.knowledge.confidence`)."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Written:
    """One view's text as generated, and its sentences with their confidence."""

    text: str
    sentences: list[Sentence]
