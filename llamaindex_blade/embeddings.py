"""The packaged all-MiniLM-L6-v2 as a LlamaIndex embedding model, so indexes build offline.

A thin `BaseEmbedding` over `blade_core.retrieval.minilm` (the process-wide, thread-safe encoder the
offline general model uses too), instead of a new dependency on llama-index-embeddings-huggingface.
"""

from __future__ import annotations

import asyncio

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding

from blade_core.retrieval.minilm import encode_normalized


class MiniLMEmbedding(BaseEmbedding):
    """Unit-length MiniLM vectors (so dot product is cosine); queries and texts embed alike."""

    model_name: str = "all-MiniLM-L6-v2"

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return encode_normalized([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return encode_normalized([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return encode_normalized(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)
