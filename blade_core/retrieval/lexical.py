"""Lexical similarity: cosines of token-count vectors over `text.lexical_tokens`.

Why: MiniLM is an English encoder; on Chinese text its vectors say little. Character bigrams are
how Chinese is matched without a dictionary (as in BM25 over the same tokens, `passages`), so the
offline judge reads Chinese options and knowledge through this instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from blade_core.text import lexical_tokens


def lexical_similarity(queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
    """queries x documents cosine similarities of their token counts (0 when either has none)."""
    counts = [Counter(lexical_tokens(text)) for text in [*queries, *documents]]
    vocabulary = {token: i for i, token in enumerate(sorted({t for c in counts for t in c}))}
    matrix = np.zeros((len(counts), max(len(vocabulary), 1)), dtype=np.float32)
    for row, count in enumerate(counts):
        for token, n in count.items():
            matrix[row, vocabulary[token]] = n
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return matrix[: len(queries)] @ matrix[len(queries):].T
