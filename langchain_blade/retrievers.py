"""BLADE as a LangChain retriever, so any chain written for a retriever takes it unchanged.

* `BladeKnowledgeRetriever`: the "documents" are knowledge the domain LM writes for the query,
  `k` samples from one batched generation call.
* `BladeHybridRetriever`: generated knowledge first, then a real retriever's documents, with
  duplicates (same text) dropped; when the knowledge comes from a `BladeKnowledgeRetriever`, the
  retrieved documents pass its entity gate (`KnowledgeWriter.passages_about`: those about another
  entity than the question's are withheld, as its own sentences are). A small retriever of our
  own rather than `EnsembleRetriever`: reciprocal-rank fusion interleaves the two lists, while here
  the order is fixed and documented, and no dependency on `langchain-classic` is added.
"""

from __future__ import annotations

import asyncio

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import Field

from blade_core.knowledge.consistency import sample_knowledge
from langchain_blade._domain import DomainLMFields

SOURCE = "blade"


class BladeKnowledgeRetriever(DomainLMFields, BaseRetriever):
    """Query in, `k` knowledge samples out, as `Document`s.

    Metadata: `source` ("blade"), `model` (the model directory), `sample` (0-based index) and
    `question`. With `k` > 1 the samples are drawn with sampling (see `sample_knowledge`); `k` can
    also be passed per call: `retriever.invoke(query, k=3)`.
    """

    k: int = Field(default=1, ge=1)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        if not isinstance(query, str):
            raise TypeError(f"the query must be a string, not {type(query).__name__}")
        if not query.strip():
            raise ValueError("the query is empty")
        samples = sample_knowledge(
            self.lm, [query], k or self.k, self.given(), self.batch_size
        )[0]
        return [
            Document(
                page_content=text,
                metadata={"source": SOURCE, "model": self.model_path, "sample": index,
                          "question": query},
            )
            for index, text in enumerate(samples)
        ]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k
        )


class BladeHybridRetriever(BaseRetriever):
    """Generated knowledge and a real retriever's documents, knowledge first, deduplicated.

    Both retrievers run as child runs (traced as such); the async path runs them concurrently.
    With a `BladeKnowledgeRetriever` as `knowledge`, retrieved documents about other entities
    than the query's are dropped under its `entity_gate` setting (all kept when none is about them).
    """

    knowledge: BaseRetriever
    """Usually a `BladeKnowledgeRetriever`."""
    retriever: BaseRetriever
    """The real retriever (vector store, BM25, web search, ...)."""
    k: int | None = Field(default=None, ge=1)
    """The most documents returned, knowledge first (None: all); `invoke(query, k=...)` overrides it."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        callbacks = run_manager.get_child()
        generated = self.knowledge.invoke(query, {"callbacks": callbacks})
        retrieved = self._about_query(query, self.retriever.invoke(query, {"callbacks": callbacks}))
        return _merge(generated, retrieved)[: k or self.k]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        callbacks = run_manager.get_child()
        generated, retrieved = await asyncio.gather(
            self.knowledge.ainvoke(query, {"callbacks": callbacks}),
            self.retriever.ainvoke(query, {"callbacks": callbacks}),
        )
        return _merge(generated, self._about_query(query, retrieved))[: k or self.k]

    def _about_query(self, query: str, documents: list[Document]) -> list[Document]:
        if not isinstance(self.knowledge, BladeKnowledgeRetriever):
            return documents
        kept = self.knowledge.lm.passages_about(
            query, [d.page_content for d in documents], len(documents), **self.knowledge.given())
        return [documents[i] for i in kept]


def _merge(*lists: list[Document]) -> list[Document]:
    seen: set[str] = set()
    merged = []
    for documents in lists:
        for document in documents:
            if document.page_content not in seen:
                seen.add(document.page_content)
                merged.append(document)
    return merged
