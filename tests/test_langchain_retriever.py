"""BladeKnowledgeRetriever (LangChain's standard retriever suite) and the hybrid retriever."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.load import dumps, loads
from langchain_core.output_parsers import StrOutputParser
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_tests.integration_tests import RetrieversIntegrationTests

from blade_core.llm import OfflineChatModel
from blade_core.llm.answer_prompt import answer_prompt
from blade_core.retrieval import MiniLMEmbeddings
from blade_core.text import split_sentences
from blade_core.writers.domain_lm import DomainLM
from langchain_blade import BladeHybridRetriever, BladeKnowledgeRetriever
from tests.async_support import LoopWatch

QUERY = "What is Zorvanil indicated for?"
MAX = 16
SHELF = [
    "Zorvanil is kept below 25 degrees.",
    "Quelmora is sold in packs of ten.",
    "Brantovex resin is harvested in spring.",
]


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(tiny_lm_dir)


class TestBladeRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's own retriever checks; the tiny model comes from the session fixture."""

    @pytest.fixture(autouse=True)
    def _model(self, lm: DomainLM) -> None:
        self.lm = lm

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return BladeKnowledgeRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"model": self.lm, "max_new_tokens": MAX}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


def test_documents_are_the_knowledge_with_metadata(lm: DomainLM, tiny_lm_dir: Path) -> None:
    docs = BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX).invoke(QUERY)
    assert [d.page_content for d in docs] == lm.generate_knowledge([QUERY], max_new_tokens=MAX)
    assert docs[0].metadata == {
        "source": "blade", "model": str(tiny_lm_dir), "sample": 0, "question": QUERY,
    }
    samples = BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX, k=3).invoke(QUERY)
    assert [d.metadata["sample"] for d in samples] == [0, 1, 2]


def test_samples_come_from_one_call(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    original = lm.generate_knowledge

    def spy(questions: list[str], **kwargs: Any) -> list[str]:
        calls.append(list(questions))
        return original(questions, **kwargs)

    monkeypatch.setattr(lm, "generate_knowledge", spy)
    BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX).invoke(QUERY, k=4)
    assert calls == [[QUERY] * 4]


async def test_async_retrieval_leaves_the_loop_free(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    watch = LoopWatch(lm, monkeypatch)
    beat = asyncio.create_task(watch.heartbeat())
    docs = await BladeKnowledgeRetriever(model=lm, max_new_tokens=48).ainvoke(QUERY, k=2)
    beat.cancel()
    assert len(docs) == 2 and watch.loop_ran.is_set()


def test_bad_query(lm: DomainLM) -> None:
    with pytest.raises(ValueError, match="empty"):
        BladeKnowledgeRetriever(model=lm).invoke("  ")


def test_a_retriever_chain_takes_blade_unchanged(lm: DomainLM) -> None:
    def join(docs: list[Document]) -> str:
        return "\n".join(d.page_content for d in docs)

    retriever = BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX)
    chain = (
        {"knowledge": retriever | join, "question": RunnablePassthrough()}
        | answer_prompt()
        | OfflineChatModel()
        | StrOutputParser()
    )
    knowledge = lm.generate_knowledge([QUERY], max_new_tokens=MAX)[0]
    assert knowledge and chain.invoke(QUERY) in split_sentences(knowledge)  # answered from it


async def test_hybrid_puts_knowledge_first_and_drops_duplicates(lm: DomainLM) -> None:
    knowledge = lm.generate_knowledge([QUERY], max_new_tokens=MAX)[0]
    store = InMemoryVectorStore.from_texts([*SHELF, knowledge], MiniLMEmbeddings())
    hybrid = BladeHybridRetriever(
        knowledge=BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX),
        retriever=store.as_retriever(search_kwargs={"k": 4}),
    )
    for docs in (hybrid.invoke(QUERY), await hybrid.ainvoke(QUERY)):
        texts = [d.page_content for d in docs]
        assert texts[0] == knowledge and docs[0].metadata["source"] == "blade"
        assert texts.count(knowledge) == 1 and set(texts[1:]) == set(SHELF)


async def test_hybrid_drops_documents_about_other_entities_under_the_entity_gate(tiny_lm_dir: Path) -> None:
    lm = DomainLM.from_pretrained(tiny_lm_dir)
    lm.config.names = ["Zorvanil", "Quelmora", "Brantovex"]  # what DP stores for the gate
    store = InMemoryVectorStore.from_texts(SHELF, MiniLMEmbeddings())
    for gate, expected in ((None, {SHELF[0]}), (False, set(SHELF))):
        hybrid = BladeHybridRetriever(
            knowledge=BladeKnowledgeRetriever(model=lm, max_new_tokens=MAX, entity_gate=gate),
            retriever=store.as_retriever(search_kwargs={"k": 4}),
        )
        for docs in (hybrid.invoke(QUERY), await hybrid.ainvoke(QUERY)):
            assert {d.page_content for d in docs if d.metadata.get("source") != "blade"} == expected


def test_serialization_round_trip(lm: DomainLM, tiny_lm_dir: Path) -> None:
    retriever = BladeKnowledgeRetriever.from_pretrained(tiny_lm_dir, max_new_tokens=MAX, k=2)
    revived = loads(
        dumps(retriever), allowed_objects=[BladeKnowledgeRetriever], valid_namespaces=["langchain_blade"]
    )
    assert revived.k == 2 and revived.max_new_tokens == MAX and revived.model_path == str(tiny_lm_dir)
