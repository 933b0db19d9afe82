"""The retrieval baseline BLADE is measured against: corpus passages found by MiniLM similarity.

Passages (whole sentences, about `passage_words` words; `kit_data.split_passages`) sit in a
LangChain `InMemoryVectorStore` over the bundled MiniLM, so the baseline is the plain RAG pipeline a
LangChain user would build, and runs offline. Queries are embedded in one batch, not one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from langchain_core.vectorstores import InMemoryVectorStore

from blade_core.data import load_corpus
from blade_core.llm import MiniLMEmbeddings
from blade_core.training.kit_data import split_passages

PASSAGE_SEPARATOR = "\n\n"


class PassageRetriever:
    """The `k` corpus passages most similar to each query (cosine of MiniLM vectors), best first."""

    def __init__(self, passages: Sequence[str]) -> None:
        if not passages:
            raise ValueError("the RAG corpus has no text to retrieve from")
        self.embeddings = MiniLMEmbeddings()
        self.store = InMemoryVectorStore(self.embeddings)
        self.store.add_texts(list(passages))
        self.size = len(passages)

    @classmethod
    def from_corpus(cls, paths: Sequence[str | Path], passage_words: int = 120) -> PassageRetriever:
        documents = load_corpus([Path(p) for p in paths])
        return cls([p for doc in documents for p in split_passages(doc.text, passage_words)])

    def search(self, queries: Sequence[str], k: int) -> list[list[str]]:
        vectors = self.embeddings.embed_documents(list(queries))
        return [
            [doc.page_content for doc in self.store.similarity_search_by_vector(vector, k=k)]
            for vector in vectors
        ]


def with_passages(knowledge: str | None, passages: Sequence[str]) -> str:
    """Knowledge first, then the passages, as one text for the answer prompt (hybrid; rag alone)."""
    parts = ([knowledge.strip()] if knowledge and knowledge.strip() else []) + list(passages)
    return PASSAGE_SEPARATOR.join(parts)
