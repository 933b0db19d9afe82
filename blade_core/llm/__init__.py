"""The general (black-box) LLM side of BLADE: resolving it and an offline stand-in.

* `resolve_llm(spec)` turns "offline", "openai:MODEL" or "provider:model" into a chat model;
* `OfflineChatModel` is a deterministic MiniLM-based stand-in with no domain knowledge of its own.

Heavy pieces (torch, sentence-transformers) load lazily, on first use. The server that puts any of
these behind the OpenAI protocol is `blade_core.serve.OpenAICompatibleServer`.
"""

from __future__ import annotations

from blade_core.llm.offline import UNKNOWN_REPLY, OfflineChatModel
from blade_core.llm.resolve import ACCEPTED_FORMS, resolve_llm

__all__ = [
    "ACCEPTED_FORMS",
    "UNKNOWN_REPLY",
    "OfflineChatModel",
    "resolve_llm",
]
