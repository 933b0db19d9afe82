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

from llamaindex_blade._common import (
    DomainLMSource,
    check_generation,
    effective_generation,
    knowledge_node,
    load_domain_lm,
    query_text,
)


class BladeKnowledgeRetriever(BaseRetriever):
    """Returns `num_samples` nodes of generated knowledge per query (metadata source="blade").

    Several samples only differ when sampling, so `num_samples > 1` needs a temperature above 0
    (in `generation` or the model directory's defaults). Nodes carry no score: they are written,
    not ranked against a store. Samples that come out empty are dropped.
    """

    def __init__(
        self,
        model: DomainLMSource,
        *,
        num_samples: int = 1,
        generation: dict[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        self._lm = load_domain_lm(model)
        self._generation = check_generation(self._lm, generation)
        if num_samples > 1 and effective_generation(self._lm, self._generation).temperature == 0:
            raise ValueError(
                f"num_samples={num_samples} with greedy decoding gives identical samples; "
                "set generation={'temperature': 0.7} (or any value above 0)"
            )
        self._num_samples = num_samples
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        question = query_text(query_bundle)
        samples = self._lm.generate_knowledge([question] * self._num_samples, **self._generation)
        return [
            NodeWithScore(node=knowledge_node(text, question, self._lm, sample=index))
            for index, text in enumerate(samples)
            if text.strip()
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)
