"""Stop sequences for models that cut their reply after generating it (LangChain's `stop`)."""

from __future__ import annotations


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """`text` up to the earliest stop sequence in it."""
    ends = [text.find(s) for s in stop or [] if s and s in text]
    return text[: min(ends)] if ends else text
