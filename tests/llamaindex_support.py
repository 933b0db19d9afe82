"""Shared helpers for the LlamaIndex adapter tests: a small sample-domain index and a recorder of
what LlamaIndex sends to the LLM and the embedder (through its own instrumentation events)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import llama_index.core.instrumentation as instrument
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent
from llama_index.core.instrumentation.events.llm import LLMChatStartEvent, LLMCompletionStartEvent
from pydantic import Field

from blade_core.data import load_corpus
from blade_core.sample_domain import load_sample_domain
from blade_core.writers.domain_lm import DomainLM
from llamaindex_blade import GeneralLLM, MiniLMEmbedding

QUESTION = "What is Zorvanil indicated for?"
INDEX_DOCS = 40


@lru_cache(maxsize=1)
def sample_index() -> VectorStoreIndex:
    """The first documents of the sample corpus, embedded with the packaged MiniLM (built once)."""
    documents = load_corpus(load_sample_domain().corpus)[:INDEX_DOCS]
    return VectorStoreIndex.from_documents(
        [Document(text=d.text) for d in documents], embed_model=MiniLMEmbedding()
    )


@lru_cache(maxsize=1)
def general_llm() -> GeneralLLM:
    """The offline stand-in general model, through the LlamaIndex adapter."""
    return GeneralLLM.from_spec("offline")


class Recorder(BaseEventHandler):
    """Every LLM input (chat messages joined, or the completion prompt) and every embedded text."""

    llm_inputs: list[str] = Field(default_factory=list)
    embedded: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, LLMChatStartEvent):
            self.llm_inputs.append("\n".join(m.content or "" for m in event.messages))
        elif isinstance(event, LLMCompletionStartEvent):
            self.llm_inputs.append(event.prompt)
        elif isinstance(event, EmbeddingEndEvent):
            self.embedded.extend(event.chunks)


@contextmanager
def recording() -> Iterator[Recorder]:
    """A `Recorder` attached to LlamaIndex's root dispatcher for the `with` block only."""
    dispatcher = instrument.get_dispatcher()
    recorder = Recorder()
    dispatcher.add_event_handler(recorder)
    try:
        yield recorder
    finally:
        dispatcher.event_handlers.remove(recorder)


def spy_generation_threads(lm: DomainLM, monkeypatch: Any) -> list[int]:
    """Thread ids that `lm.generate_knowledge` runs on from now on (to prove async is off-loop)."""
    threads: list[int] = []
    original = lm.generate_knowledge

    def spy(*args: Any, **kwargs: Any) -> list[str]:
        threads.append(threading.get_ident())
        return original(*args, **kwargs)

    monkeypatch.setattr(lm, "generate_knowledge", spy)
    return threads
