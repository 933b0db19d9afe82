"""The one passage index: corpus passages found for a query, densely (MiniLM) or lexically (BM25).

It serves both places that retrieve: the RAG and hybrid baselines BLADE is measured against, and
the reference passages `make-kit-data` shows the general LLM. Passages are whole sentences, about
`passage_words` words (`text.split_passages`; a Chinese character counts as a word).

Two retrievers, chosen per corpus by default (`retriever="auto"`): MiniLM, an English sentence
encoder, for Latin-script corpora; BM25 (`bm25s`) over `text.lexical_tokens` (words, and Chinese
character bigrams) for Chinese ones, which MiniLM cannot read. Either can be asked for by name;
MiniLM on a Chinese corpus is allowed, with a warning. Results are reproducible: MiniLM ties keep
corpus order, and BM25 scores are deterministic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from blade_core.data import Document, load_corpus
from blade_core.retrieval.kinds import Retriever
from blade_core.retrieval.minilm import encode_array
from blade_core.text import is_cjk, lexical_tokens, split_passages

logger = logging.getLogger(__name__)

def corpus_retriever(passages: Sequence[str], retriever: Retriever = "auto") -> Literal["minilm", "bm25"]:
    """The retriever for `passages`: the one asked for, or under "auto" BM25 when the corpus is
    mostly Chinese and MiniLM otherwise."""
    chinese = is_cjk("".join(passages[:200]))
    if retriever == "auto":
        return "bm25" if chinese else "minilm"
    if retriever == "minilm" and chinese:
        logger.warning("retriever minilm on a Chinese corpus: MiniLM is an English model and matches "
                       "Chinese text poorly; the bm25 retriever reads it")
    return retriever


class PassageIndex:
    """Passages searched by MiniLM cosine similarity or by BM25, as `corpus_retriever` chooses."""

    def __init__(self, passages: Sequence[str], retriever: Retriever = "auto") -> None:
        if not passages:
            raise ValueError("the corpus has no text to retrieve from")
        self.passages = list(passages)
        self.retriever = corpus_retriever(self.passages, retriever)
        self._bm25: Any = None
        self.vectors: np.ndarray | None = None
        if self.retriever == "bm25":
            import bm25s

            self._bm25 = bm25s.BM25()
            self._bm25.index([lexical_tokens(p) for p in self.passages], show_progress=False)
        else:
            self.vectors = encode_array(self.passages)

    @classmethod
    def from_documents(cls, documents: Sequence[Document], passage_words: int = 120,
                       retriever: Retriever = "auto") -> PassageIndex:
        return cls([p for doc in documents for p in split_passages(doc.text, passage_words)], retriever)

    @classmethod
    def from_corpus(cls, paths: Sequence[str | Path], passage_words: int = 120,
                    retriever: Retriever = "auto") -> PassageIndex:
        return cls.from_documents(load_corpus([Path(p) for p in paths]), passage_words, retriever)

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, queries: Sequence[str], k: int) -> list[list[str]]:
        """The `k` passages that best match each query, best first (fewer when BM25 finds fewer
        passages sharing a word with the query)."""
        if not queries:
            return []
        k = min(k, len(self.passages))
        if self.vectors is None:
            return [self._bm25_search(query, k) for query in queries]
        scores = encode_array(list(queries)) @ self.vectors.T
        best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [[self.passages[i] for i in row] for row in best]

    def _bm25_search(self, query: str, k: int) -> list[str]:
        tokens = lexical_tokens(query)
        if not tokens:
            return []
        found, scores = self._bm25.retrieve([tokens], k=k, show_progress=False)
        return [self.passages[int(i)] for i, score in zip(found[0], scores[0], strict=True) if score > 0]
