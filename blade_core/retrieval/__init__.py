"""Retrieval: the bundled MiniLM sentence encoder and the one passage index (MiniLM or BM25).

It sits below the LLM side (the offline judge encodes with the same MiniLM) and above `text` and
`data`. Names load lazily, so a config that names a retriever (`kinds`) imports no model code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from blade_core.retrieval.kinds import RETRIEVERS, Retriever

if TYPE_CHECKING:
    from blade_core.retrieval.minilm import MiniLMEmbeddings, encode_array, load_minilm, minilm_path
    from blade_core.retrieval.passages import PassageIndex

_HOME = {"MiniLMEmbeddings": "minilm", "encode_array": "minilm", "load_minilm": "minilm",
         "minilm_path": "minilm", "PassageIndex": "passages"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"blade_core.retrieval.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RETRIEVERS", "MiniLMEmbeddings", "PassageIndex", "Retriever", "encode_array", "load_minilm",
           "minilm_path"]
