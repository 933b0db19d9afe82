"""Retrieval: the bundled MiniLM sentence encoder and the one passage index built on it.

It sits below the LLM side (the offline judge encodes with the same MiniLM) and above `text` and
`data`; the encoder loads lazily, on first use.
"""

from blade_core.retrieval.minilm import MiniLMEmbeddings, encode_array, load_minilm, minilm_path
from blade_core.retrieval.passages import PassageIndex

__all__ = ["MiniLMEmbeddings", "PassageIndex", "encode_array", "load_minilm", "minilm_path"]
