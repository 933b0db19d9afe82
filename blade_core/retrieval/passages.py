"""The one passage index: corpus passages found by MiniLM similarity to a query.

It serves both places that retrieve: the RAG and hybrid baselines BLADE is measured against, and
the reference passages `make-kit-data` shows the general LLM. Passages are whole sentences, about
`passage_words` words (`text.split_passages`). Vectors are unit length, so a matrix product is the
cosine; queries are embedded in one batch; ties keep corpus order, so results are reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blade_core.data import Document, load_corpus
from blade_core.retrieval.minilm import encode_array
from blade_core.text import split_passages


class PassageIndex:
    """Passages with their MiniLM vectors, searched by cosine similarity to a query."""

    def __init__(self, passages: Sequence[str]) -> None:
        if not passages:
            raise ValueError("the corpus has no text to retrieve from")
        self.passages = list(passages)
        self.vectors = encode_array(self.passages)

    @classmethod
    def from_documents(cls, documents: Sequence[Document], passage_words: int = 120) -> PassageIndex:
        return cls([p for doc in documents for p in split_passages(doc.text, passage_words)])

    @classmethod
    def from_corpus(cls, paths: Sequence[str | Path], passage_words: int = 120) -> PassageIndex:
        return cls.from_documents(load_corpus([Path(p) for p in paths]), passage_words)

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, queries: Sequence[str], k: int) -> list[list[str]]:
        """The `k` passages closest to each query, best first."""
        if not queries:
            return []
        scores = encode_array(list(queries)) @ self.vectors.T
        best = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, len(self.passages))]
        return [[self.passages[i] for i in row] for row in best]
