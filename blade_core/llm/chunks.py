"""A whole reply streamed as a chat model's chunks, for the local judges (offline, likelihood),
which compute their reply at once: word-sized pieces, then a closing chunk with the finish reason
(and the usage, when known), the way OpenAI-style streams end."""

from __future__ import annotations

import re
from collections.abc import Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk


def reply_chunks(text: str, model_name: str, run_manager: CallbackManagerForLLMRun | None,
                 usage: UsageMetadata | None = None) -> Iterator[ChatGenerationChunk]:
    for piece in re.findall(r"\S+\s*|\s+", text):
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
        if run_manager:
            run_manager.on_llm_new_token(piece, chunk=chunk)
        yield chunk
    yield ChatGenerationChunk(message=AIMessageChunk(
        content="", usage_metadata=usage, chunk_position="last",
        response_metadata={"model_name": model_name, "finish_reason": "stop"}))
