"""BLADE as a LlamaIndex retriever: the "retrieved" nodes are knowledge the domain LM writes.

This is the drop-in replacement for a retrieval step, the paper's setting: no document store, the
small domain LM supplies what the general LLM reads. `RetrieverQueryEngine.from_args(
BladeKnowledgeRetriever(model), llm=...)` answers from BLADE alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle

from blade_core.knowledge.consistency import check_samples, sample_knowledge
from blade_core.model.generation_settings import GenerationSettings
from blade_core.writers.load import load_writer
from llamaindex_blade._common import (
    DomainLMSource,
    check_generation,
    knowledge_node,
    query_text,
)


class BladeKnowledgeRetriever(BaseRetriever):
    """Returns `n_samples` nodes of generated knowledge per query (metadata source="blade").

    Several samples are drawn as every adapter draws them (`consistency.sample_knowledge`): at a
    temperature of 0.7 unless one is set, and an explicit 0 is refused. Nodes carry no score: they
    are written, not ranked against a store. Samples that come out empty are dropped.
    """

    def __init__(
        self,
        model: DomainLMSource,
        *,
        n_samples: int = 1,
        generation: GenerationSettings | dict[str, Any] | None = None,
        batch_size: int = 32,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        settings = GenerationSettings.model_validate(generation or {})
        check_samples(n_samples, settings.temperature)  # before the model loads
        self._lm = load_writer(model)
        self._generation = check_generation(self._lm, settings)
        self._n_samples = n_samples
        self._batch_size = batch_size
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        question = query_text(query_bundle)
        samples = sample_knowledge(self._lm, [question], self._n_samples, self._generation,
                                   batch_size=self._batch_size)[0]
        return [
            NodeWithScore(node=knowledge_node(text, question, self._lm, sample=index))
            for index, text in enumerate(samples)
            if text.strip()
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)
