"""LangChain's own standard suites for every component they apply to: the offline chat model, the
likelihood judge, the MiniLM embeddings, the answer cache and the hybrid retriever (the knowledge
retriever's suite runs in test_langchain_retriever)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.caches import BaseCache
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import (
    AsyncCacheTestSuite,
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
    SyncCacheTestSuite,
)
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from blade_core.llm import OfflineChatModel
from blade_core.llm.accounting import AnswerCache
from blade_core.llm.likelihood import LikelihoodChatModel
from blade_core.retrieval import MiniLMEmbeddings
from langchain_blade import BladeHybridRetriever


class _OfflineModel:
    @property
    def chat_model_class(self) -> type[OfflineChatModel]:
        return OfflineChatModel

    @property
    def chat_model_params(self) -> dict[str, object]:
        return {}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True


class TestOfflineChatModelUnit(_OfflineModel, ChatModelUnitTests):
    pass


class TestOfflineChatModelIntegration(_OfflineModel, ChatModelIntegrationTests):
    pass


class _MiniLM:
    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, object]:
        return {}


class TestMiniLMEmbeddingsUnit(_MiniLM, EmbeddingsUnitTests):
    pass


class TestMiniLMEmbeddingsIntegration(_MiniLM, EmbeddingsIntegrationTests):
    pass


class TestAnswerCacheSync(SyncCacheTestSuite):
    @pytest.fixture
    def cache(self, tmp_path: Path) -> BaseCache:
        return AnswerCache(tmp_path / "answers.sqlite")


class TestAnswerCacheAsync(AsyncCacheTestSuite):
    @pytest.fixture
    async def cache(self, tmp_path: Path) -> BaseCache:
        return AnswerCache(tmp_path / "answers.sqlite")


class _LikelihoodJudge:
    """The likelihood judge (`hf:DIR`, `gemma-270m`) on the tiny test model: the same code path as
    Gemma, at the tiny model's speed."""

    @pytest.fixture(autouse=True)
    def _model(self, tiny_lm_dir: Path) -> None:
        self.model_dir = str(tiny_lm_dir)

    @property
    def chat_model_class(self) -> type[LikelihoodChatModel]:
        return LikelihoodChatModel

    @property
    def chat_model_params(self) -> dict[str, object]:
        return {"model_path": self.model_dir, "max_new_tokens": 4}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False


class TestLikelihoodJudgeUnit(_LikelihoodJudge, ChatModelUnitTests):
    pass


class TestLikelihoodJudgeIntegration(_LikelihoodJudge, ChatModelIntegrationTests):
    pass


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    """The hybrid retriever: the tiny model's knowledge before a real retriever's documents (an
    in-memory vector store over MiniLM)."""

    @pytest.fixture(autouse=True)
    def _parts(self, tiny_lm_dir: Path) -> None:
        from langchain_core.documents import Document
        from langchain_core.vectorstores import InMemoryVectorStore

        from langchain_blade import BladeKnowledgeRetriever

        store = InMemoryVectorStore.from_documents(
            [Document(page_content=f"Zorvanil note {i}: it treats marsh fever.") for i in range(6)], MiniLMEmbeddings())
        self.parts = {"knowledge": BladeKnowledgeRetriever.from_pretrained(str(tiny_lm_dir), max_new_tokens=8),
                      "retriever": store.as_retriever(search_kwargs={"k": 4})}

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return BladeHybridRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return self.parts

    @property
    def retriever_query_example(self) -> str:
        return "What is Zorvanil indicated for?"
