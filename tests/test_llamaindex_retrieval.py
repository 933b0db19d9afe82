"""BladeKnowledgeRetriever and BladeKnowledgeNodePostprocessor in real LlamaIndex query engines."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from blade_core.writers.domain_lm import DomainLM
from llamaindex_blade import BladeKnowledgeNodePostprocessor, BladeKnowledgeRetriever
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
    text = lm.generate_knowledge([QUESTION])[0]
    assert text, "the tiny model must write something for these tests to mean anything"
    return text


def _is_blade(node: NodeWithScore) -> bool:
    return node.node.metadata.get("source") == "blade"


def test_retriever_engine_answers_from_blade_alone(lm: DomainLM, knowledge: str) -> None:
    engine = RetrieverQueryEngine.from_args(BladeKnowledgeRetriever(lm), llm=general_llm())
    with recording() as seen:
        response = engine.query(QUESTION)
    [node] = response.source_nodes
    assert _is_blade(node) and node.node.get_content() == knowledge
    assert node.node.metadata["question"] == QUESTION
    assert knowledge in seen.llm_inputs[0]
    assert "source: blade" not in seen.llm_inputs[0]  # metadata stay out of the LLM's context
    assert seen.embedded == []  # nothing was searched


async def test_retriever_engine_aquery(lm: DomainLM, knowledge: str) -> None:
    engine = RetrieverQueryEngine.from_args(BladeKnowledgeRetriever(lm), llm=general_llm())
    with recording() as seen:
        response = await engine.aquery(QUESTION)
    assert [n.node.get_content() for n in response.source_nodes] == [knowledge]
    assert knowledge in seen.llm_inputs[0]


def test_retriever_returns_k_samples(lm: DomainLM) -> None:
    torch.manual_seed(0)  # the tiny model sometimes samples EOS first, an empty sample the retriever drops
    retriever = BladeKnowledgeRetriever(lm, n_samples=3, generation={"temperature": 0.9})
    nodes = retriever.retrieve(QUESTION)
    assert len(nodes) == 3
    assert all(_is_blade(n) and n.node.get_content().strip() for n in nodes)
    assert [n.node.metadata["sample"] for n in nodes] == [0, 1, 2]


async def test_retriever_aretrieve_spares_the_loop(
    lm: DomainLM, knowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = spy_generation_threads(lm, monkeypatch)
    nodes = await BladeKnowledgeRetriever(lm).aretrieve(QUESTION)
    assert [n.node.get_content() for n in nodes] == [knowledge]
    assert threads and threading.get_ident() not in threads


def test_retriever_refuses_identical_samples(lm: DomainLM) -> None:
    """The sampling policy every adapter shares (`consistency.sample_knowledge`): several samples
    at an explicit temperature 0 are refused; with none set, they are drawn at 0.7."""
    with pytest.raises(ValueError, match="temperature"):
        BladeKnowledgeRetriever(lm, n_samples=2, generation={"temperature": 0})
    with pytest.raises(ValueError, match="n_samples"):
        BladeKnowledgeRetriever(lm, n_samples=0)
    torch.manual_seed(0)
    assert len(BladeKnowledgeRetriever(lm, n_samples=2).retrieve(QUESTION)) >= 1


def test_postprocessor_adds_one_knowledge_node(lm: DomainLM, knowledge: str) -> None:
    engine = sample_index().as_query_engine(
        llm=general_llm(),
        similarity_top_k=2,
        node_postprocessors=[BladeKnowledgeNodePostprocessor(lm)],
    )
    with recording() as seen:
        response = engine.query(QUESTION)
    nodes = response.source_nodes
    assert len(nodes) == 3 and [_is_blade(n) for n in nodes] == [True, False, False]
    assert nodes[0].node.get_content() == knowledge
    prompt = seen.llm_inputs[0]
    assert knowledge in prompt and nodes[1].node.get_content() in prompt  # hybrid context


async def test_postprocessor_async_spares_the_loop(
    lm: DomainLM, knowledge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postprocessor = BladeKnowledgeNodePostprocessor(lm, position="last")
    engine = sample_index().as_query_engine(
        llm=general_llm(), similarity_top_k=2, node_postprocessors=[postprocessor]
    )
    threads = spy_generation_threads(lm, monkeypatch)
    response = await engine.aquery(QUESTION)
    assert [_is_blade(n) for n in response.source_nodes] == [False, False, True]
    assert response.source_nodes[-1].node.get_content() == knowledge
    assert threads and threading.get_ident() not in threads


def test_postprocessor_keeps_given_nodes(lm: DomainLM, knowledge: str) -> None:
    given = [NodeWithScore(node=TextNode(text="retrieved"), score=0.5)]
    out = BladeKnowledgeNodePostprocessor(lm).postprocess_nodes(given, query_str=QUESTION)
    assert [n.node.get_content() for n in out] == [knowledge, "retrieved"]
    assert given[0] in out


def test_postprocessor_drops_nodes_about_other_entities(tiny_lm_dir: Path) -> None:
    lm = DomainLM.from_pretrained(tiny_lm_dir)
    lm.config.names = ["Zorvanil", "Quelmora", "Brantovex"]  # what DP stores for the gate
    given = [NodeWithScore(node=TextNode(text=t), score=0.5) for t in
             ("Quelmora is sold in packs of ten.", "Zorvanil is kept below 25 degrees.", "Stored dry.")]
    question = "What is Zorvanil indicated for?"
    for gate, expected in ((None, [given[1]]), (False, given)):
        out = BladeKnowledgeNodePostprocessor(lm, generation={"entity_gate": gate}).postprocess_nodes(
            given, query_str=question)
        assert [n for n in out if not _is_blade(n)] == expected


async def test_bad_queries_are_refused(lm: DomainLM) -> None:
    retriever = BladeKnowledgeRetriever(lm)
    postprocessor = BladeKnowledgeNodePostprocessor(lm)
    for bad in ("", QueryBundle(query_str="  ")):
        with pytest.raises(ValueError, match="empty"):
            retriever.retrieve(bad)
        with pytest.raises(ValueError, match="empty"):
            await retriever.aretrieve(bad)
    with pytest.raises(ValueError, match="image"):
        retriever.retrieve(QueryBundle(query_str="", image_path="scan.png"))
    with pytest.raises(ValueError, match="query"):
        postprocessor.postprocess_nodes([])  # no query at all
    with pytest.raises(ValueError, match="image"):
        await postprocessor.apostprocess_nodes([], QueryBundle(query_str="", image_path="scan.png"))
    with pytest.raises(ValueError, match="temprature"):
        BladeKnowledgeNodePostprocessor(lm, generation={"temprature": 1.0})


def test_both_accept_a_model_directory(tiny_lm_dir: Path, knowledge: str) -> None:
    [node] = BladeKnowledgeRetriever(tiny_lm_dir).retrieve(QUESTION)
    assert node.node.get_content() == knowledge
    [added] = BladeKnowledgeNodePostprocessor(tiny_lm_dir).postprocess_nodes([], query_str=QUESTION)
    assert added.node.get_content() == knowledge


def test_postprocessor_round_trips_through_to_dict(tiny_lm_dir: Path, lm: DomainLM, knowledge: str) -> None:
    postprocessor = BladeKnowledgeNodePostprocessor(str(tiny_lm_dir), position="last")
    revived = BladeKnowledgeNodePostprocessor.from_dict(postprocessor.to_dict())
    assert revived.model_path == str(tiny_lm_dir) and revived.position == "last"
    nodes = revived.postprocess_nodes([], query_str=QUESTION)
    assert [n.node.get_content() for n in nodes] == [knowledge]


def test_components_take_the_typed_generation_settings(lm: DomainLM) -> None:
    """The same `GenerationSettings` every component embeds (BladeLLM's fields, LangChain's), or a
    dict of its names; one check, the writer's, refuses a bad value in either form."""
    from blade_core.model.generation_settings import GenerationSettings

    typed = GenerationSettings(max_new_tokens=6, option_knowledge=False)
    retriever = BladeKnowledgeRetriever(lm, generation=typed, batch_size=2)
    assert [n.node.get_content() for n in retriever.retrieve(QUESTION)] == \
        lm.generate_knowledge([QUESTION], max_new_tokens=6, option_knowledge=False)
    post = BladeKnowledgeNodePostprocessor(lm, generation=typed)
    assert post.generation == typed and post.to_dict()["generation"]["max_new_tokens"] == 6
    with pytest.raises(ValueError, match=r"^generation.temperature: input should be greater than or equal to 0"):
        BladeKnowledgeNodePostprocessor(lm, generation={"temperature": -1})
