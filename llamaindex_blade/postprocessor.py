"""BLADE as a node postprocessor: retrieval plus one node of knowledge the domain LM writes.

The hybrid setting: the store supplies what it has, BLADE fills in what the question needs. Use it
as `node_postprocessors=[BladeKnowledgeNodePostprocessor(model)]` on any query engine.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle

from blade_core.model.generation_settings import GenerationSettings
from llamaindex_blade._common import (
    DomainLMComponent,
    DomainLMSource,
    check_generation,
    knowledge_node,
    query_text,
)


class BladeKnowledgeNodePostprocessor(DomainLMComponent, BaseNodePostprocessor):
    """Adds exactly one knowledge node (metadata source="blade") to the retrieved nodes.

    The node goes first by default, where LLMs attend most; it carries no score. Nothing is added
    when the model writes nothing, so an empty node never reaches the LLM. Retrieved nodes about
    other entities than the question's are dropped under the `entity_gate` setting, as the
    knowledge's own sentences are (`KnowledgeWriter.passages_about`; all kept when none is about them).
    """

    position: Literal["first", "last"] = Field(
        default="first", description="Where the knowledge node goes among the retrieved nodes."
    )
    generation: GenerationSettings = Field(
        default_factory=GenerationSettings,
        description="Overrides of the model directory's generation defaults (a dict of the same names works too).",
    )
    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, model: DomainLMSource | None = None, **data: Any) -> None:
        given = data.get("generation")  # as given: a dict's unknown names are refused, not dropped
        super().__init__(model, **data)
        self._overrides = check_generation(self._lm, self.generation if given is None else given)

    @classmethod
    def class_name(cls) -> str:
        return "BladeKnowledgeNodePostprocessor"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        question = query_text(query_bundle)
        knowledge = self._lm.generate_knowledge([question], **self._overrides)[0]
        return self._merge(nodes, question, knowledge)

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        question = query_text(query_bundle)
        knowledge = (
            await asyncio.to_thread(self._lm.generate_knowledge, [question], **self._overrides)
        )[0]
        return self._merge(nodes, question, knowledge)

    def _merge(
        self, nodes: list[NodeWithScore], question: str, knowledge: str
    ) -> list[NodeWithScore]:
        texts = [n.node.get_content() for n in nodes]
        kept = self._lm.passages_about(question, texts, len(nodes), **self._overrides)
        nodes = [nodes[i] for i in kept]
        if not knowledge.strip():
            return nodes
        added = NodeWithScore(node=knowledge_node(knowledge, question, self._lm))
        return [added, *nodes] if self.position == "first" else [*nodes, added]
