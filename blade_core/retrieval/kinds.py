"""The retrievers a passage index offers, named without loading either (for option declarations)."""

from typing import Literal

Retriever = Literal["auto", "minilm", "bm25"]
RETRIEVERS: tuple[Retriever, ...] = ("auto", "minilm", "bm25")
