"""The general (black-box) LLM side of BLADE: resolving it, an offline stand-in, a local server.

* `resolve_llm(spec)` turns "offline", "openai:MODEL" or "provider:model" into a chat model;
* `OfflineChatModel` is a deterministic MiniLM-based stand-in with no domain knowledge of its own;
* `OpenAICompatibleServer` serves any LangChain chat model over the OpenAI chat protocol;

Heavy pieces (torch, sentence-transformers) load lazily, on first use; so does the server, which
`blade serve-llm` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blade_core.llm.offline import UNKNOWN_REPLY, OfflineChatModel
from blade_core.llm.resolve import ACCEPTED_FORMS, resolve_llm

if TYPE_CHECKING:
    from blade_core.llm.openai_server import OpenAICompatibleServer


def __getattr__(name: str) -> Any:
    if name == "OpenAICompatibleServer":
        from blade_core.llm.openai_server import OpenAICompatibleServer

        return OpenAICompatibleServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ACCEPTED_FORMS",
    "UNKNOWN_REPLY",
    "OfflineChatModel",
    "OpenAICompatibleServer",
    "resolve_llm",
]
