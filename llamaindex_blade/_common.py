"""What every LlamaIndex adapter shares: loading the domain LM, generation settings, input checks.

Kept in one place so the transform, retriever, postprocessor and LLM accept the same inputs and
fail with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llama_index.core.schema import QueryBundle, TextNode
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from blade_core.knowledge.writer import KnowledgeWriter
from blade_core.model.generation_settings import GenerationDefaults, GenerationSettings
from blade_core.validation import one_line
from blade_core.writers.load import WriterSource, load_writer

DomainLMSource = WriterSource
"""A loaded `DomainLM` or `EndpointWriter`, a model directory (or hub id), or an endpoint reference
(``http://127.0.0.1:8000/v1#model=NAME``, what `blade serve` serves)."""

KNOWLEDGE_SOURCE = "blade"
"""`metadata["source"]` of every node BLADE writes, so apps can tell it from retrieved text."""


def domain_lm_and_path(model: DomainLMSource | None, model_path: str | None) -> tuple[KnowledgeWriter, str | None]:
    """The writer a component runs, and the source it records so that `to_dict` / `from_dict`
    (which rebuild it from its fields) reach the same model: `model` when given (a loaded writer
    records where it came from), else the recorded `model_path`."""
    source = model if model is not None else model_path
    if source is None:
        raise ValueError("give the domain LM: a loaded DomainLM or EndpointWriter, its model directory, "
                         "or an endpoint URL")
    lm = load_writer(source)
    return lm, str(source) if isinstance(source, (str, Path)) else lm.name_or_path


class DomainLMComponent(BaseModel):
    """The domain LM of a pydantic LlamaIndex component (`BladeLLM`, the postprocessor): loaded
    once, and its directory kept as a field, so `to_dict` / `from_dict` reload the same model."""

    model_path: str | None = Field(
        default=None, description="The model directory, recorded so to_dict/from_dict reload the same model."
    )
    _lm: KnowledgeWriter = PrivateAttr()

    def __init__(self, model: DomainLMSource | None = None, **data: Any) -> None:
        lm, data["model_path"] = domain_lm_and_path(model, data.get("model_path"))
        try:
            super().__init__(**data)
        except ValidationError as error:  # one line, as the CLI says it, not pydantic's report
            raise one_line(error) from None
        self._lm = lm


def check_generation(lm: KnowledgeWriter, generation: GenerationSettings | Mapping[str, Any] | None) -> dict[str, Any]:
    """The generation overrides a component was given (typed `GenerationSettings`, or a dict of the
    same names), checked now against the model's defaults by the writer's own check, so a typo
    fails at construction, not mid-query."""
    given = generation.given() if isinstance(generation, GenerationSettings) else dict(generation or {})
    lm.settings(given)
    return {key: value for key, value in given.items() if value is not None}


def effective_generation(lm: KnowledgeWriter, overrides: Mapping[str, Any]) -> GenerationDefaults:
    """The settings generation will really use: the model directory's defaults plus `overrides`."""
    return lm.settings(overrides)


def require_text(text: str | None, what: str = "query") -> str:
    """`text` unchanged (the model sees exactly what the caller sent), or a ValueError if blank."""
    if text is None or not text.strip():
        raise ValueError(f"the {what} is empty; BLADE writes knowledge for a non-empty question")
    return text


def query_text(query_bundle: QueryBundle | None) -> str:
    """The question in `query_bundle`; image-only or empty bundles are refused with a ValueError."""
    if query_bundle is None:
        raise ValueError("a query is needed: BLADE writes knowledge for a question")
    if not query_bundle.query_str.strip() and query_bundle.image_path:
        raise ValueError(
            "the query has only an image; BLADE's domain LM reads text, so give a query_str"
        )
    return require_text(query_bundle.query_str)


def knowledge_node(knowledge: str, question: str, lm: KnowledgeWriter, sample: int = 0) -> TextNode:
    """A node holding generated knowledge; its metadata say where it came from but stay out of the
    text the LLM and the embedder read, which should be the knowledge alone."""
    metadata = {
        "source": KNOWLEDGE_SOURCE,
        "question": question,
        "sample": sample,
        "model": lm.name_or_path or "",
    }
    return TextNode(
        text=knowledge,
        metadata=metadata,
        excluded_llm_metadata_keys=list(metadata),
        excluded_embed_metadata_keys=list(metadata),
    )
