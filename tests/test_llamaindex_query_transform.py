"""BladeQueryTransform in real LlamaIndex query engines and retrievers over a sample index."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from llama_index.core.prompts import PromptTemplate
from llama_index.core.query_engine import TransformQueryEngine
from llama_index.core.retrievers import TransformRetriever
from llama_index.core.schema import QueryBundle

from blade_core.writers.domain_lm import DomainLM
from llamaindex_blade import (
    BladeQueryBundle,
    BladeQueryTransform,
    BladeTransformQueryEngine,
    BladeTransformRetriever,
)
from tests.llamaindex_support import (
    QUESTION,
    general_llm,
    recording,
    sample_index,
    spy_generation_threads,
)


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="module")
def knowledge(lm: DomainLM) -> str:
    """What the tiny model writes for QUESTION under greedy decoding."""
    text = lm.generate_knowledge([QUESTION])[0]
    assert text, "the tiny model must write something for these tests to mean anything"
    return text


def _query_engine():
    return sample_index().as_query_engine(llm=general_llm(), similarity_top_k=2)


def test_inject_puts_knowledge_in_the_synthesizer_prompt(lm: DomainLM, knowledge: str) -> None:
    transform = BladeQueryTransform(lm)
    engine = TransformQueryEngine(_query_engine(), query_transform=transform)
    with recording() as seen:
        response = engine.query(QUESTION)
    assert transform.last_knowledge == knowledge
    assert len(seen.llm_inputs) == 1
    assert f"<knowledge>\n{knowledge}\n</knowledge>" in seen.llm_inputs[0]
    assert QUESTION in seen.llm_inputs[0]
    assert seen.embedded == [QUESTION]  # retrieval still searched with the plain question
    assert len(response.source_nodes) == 2
    assert response.response


async def test_stock_engine_aquery_injects_knowledge(lm: DomainLM, knowledge: str) -> None:
    engine = TransformQueryEngine(_query_engine(), query_transform=BladeQueryTransform(lm))
    with recording() as seen:
        await engine.aquery(QUESTION)
    assert knowledge in seen.llm_inputs[0]


async def test_blade_engine_aquery_reports_knowledge_and_spares_the_loop(
    lm: DomainLM, knowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = BladeTransformQueryEngine(_query_engine(), query_transform=BladeQueryTransform(lm))
    threads = spy_generation_threads(lm, monkeypatch)
    with recording() as seen:
        response = await engine.aquery(QUESTION)
    assert response.metadata["blade_knowledge"] == knowledge
    assert knowledge in seen.llm_inputs[0]
    assert threads and threading.get_ident() not in threads


def test_blade_engine_query_reports_knowledge(lm: DomainLM, knowledge: str) -> None:
    engine = BladeTransformQueryEngine(_query_engine(), query_transform=BladeQueryTransform(lm))
    response = engine.query(QUESTION)
    assert response.metadata["blade_knowledge"] == knowledge
    assert len(response.source_nodes) == 2  # node metadata are kept beside the knowledge
    assert all(node.node_id in response.metadata for node in response.source_nodes)


def test_prompt_is_visible_and_replaceable(lm: DomainLM, knowledge: str) -> None:
    engine = TransformQueryEngine(_query_engine(), query_transform=BladeQueryTransform(lm))
    prompt = engine.get_prompts()["query_transform:blade_prompt"]
    assert {"knowledge", "query_str"} <= set(prompt.template_vars)

    custom = PromptTemplate("FACTS[{knowledge}] ASK[{query_str}]")
    engine.update_prompts({"query_transform:blade_prompt": custom})
    assert engine.get_prompts()["query_transform:blade_prompt"].get_template() == custom.template
    with recording() as seen:
        engine.query(QUESTION)
    assert f"FACTS[{knowledge}] ASK[{QUESTION}]" in seen.llm_inputs[0]

    with pytest.raises(ValueError, match="knowledge"):
        engine.update_prompts({"query_transform:blade_prompt": PromptTemplate("{query_str}")})


@pytest.mark.parametrize("include_original", [True, False])
def test_hyde_mode_embeds_the_knowledge(
    lm: DomainLM, knowledge: str, include_original: bool
) -> None:
    transform = BladeQueryTransform(lm, mode="hyde", include_original=include_original)
    bundle = transform.run(QUESTION)
    assert isinstance(bundle, BladeQueryBundle)
    assert bundle.query_str == QUESTION
    expected = [knowledge, QUESTION] if include_original else [knowledge]
    assert bundle.custom_embedding_strs == expected

    engine = TransformQueryEngine(_query_engine(), query_transform=transform)
    with recording() as seen:
        engine.query(QUESTION)
    assert seen.embedded == bundle.custom_embedding_strs
    assert "<knowledge>" not in seen.llm_inputs[0]


def test_both_mode_injects_and_embeds(lm: DomainLM, knowledge: str) -> None:
    bundle = BladeQueryTransform(lm, mode="both", include_original=False).run(QUESTION)
    assert knowledge in bundle.query_str and bundle.query_str != QUESTION
    assert bundle.custom_embedding_strs == [knowledge]
    assert bundle.original_query_str == QUESTION and bundle.knowledge == knowledge


def test_transform_retriever_retrieves_with_knowledge(lm: DomainLM, knowledge: str) -> None:
    base = sample_index().as_retriever(similarity_top_k=3)
    transform = BladeQueryTransform(lm, mode="hyde", include_original=False)
    retriever = TransformRetriever(base, transform)
    with recording() as seen:
        nodes = retriever.retrieve(QUESTION)
    assert len(nodes) == 3
    assert seen.embedded == [knowledge]
    assert [n.node_id for n in nodes] == [n.node_id for n in base.retrieve(knowledge)]


async def test_blade_transform_retriever_aretrieve_spares_the_loop(
    lm: DomainLM, knowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = sample_index().as_retriever(similarity_top_k=3)
    retriever = BladeTransformRetriever(base, BladeQueryTransform(lm, mode="hyde"))
    threads = spy_generation_threads(lm, monkeypatch)
    with recording() as seen:
        nodes = await retriever.aretrieve(QUESTION)
    assert len(nodes) == 3
    assert knowledge in seen.embedded
    assert threads and threading.get_ident() not in threads


def test_accepts_a_model_directory(tiny_lm_dir: Path, knowledge: str) -> None:
    assert BladeQueryTransform(tiny_lm_dir).run(QUESTION).knowledge == knowledge


async def test_bad_queries_are_refused(lm: DomainLM) -> None:
    transform = BladeQueryTransform(lm)
    for bad in ("", "   ", QueryBundle(query_str="")):
        with pytest.raises(ValueError, match="empty"):
            transform.run(bad)
        with pytest.raises(ValueError, match="empty"):
            await transform.arun(bad)
    with pytest.raises(ValueError, match="image"):
        transform.run(QueryBundle(query_str="", image_path="scan.png"))


def test_bad_settings_are_refused(lm: DomainLM) -> None:
    with pytest.raises(ValueError, match="mode"):
        BladeQueryTransform(lm, mode="rewrite")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="temprature"):
        BladeQueryTransform(lm, generation={"temprature": 0.5})
    with pytest.raises(ValueError, match="max_new_tokens"):
        BladeQueryTransform(lm, generation={"max_new_tokens": 0})
    with pytest.raises(ValueError, match="query_str"):
        BladeQueryTransform(lm, prompt=PromptTemplate("{knowledge}"))


async def test_sync_and_async_paths_open_instrumentation_spans(lm: DomainLM) -> None:
    import llama_index.core.instrumentation as instrument
    from llama_index.core.instrumentation.span_handlers import SimpleSpanHandler

    handler = SimpleSpanHandler()
    root = instrument.get_dispatcher()
    root.add_span_handler(handler)
    try:
        transform = BladeQueryTransform(lm, generation={"max_new_tokens": 4})
        transform.run(QUESTION)
        await transform.arun(QUESTION)
    finally:
        root.span_handlers.remove(handler)
    names = {span.id_.split("-")[0] for span in handler.completed_spans}
    assert {"BladeQueryTransform._run", "BladeQueryTransform.arun"} <= names
