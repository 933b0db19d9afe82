"""LangChain's own standard suites for every component they apply to: the offline chat model, the
MiniLM embeddings and the answer cache (the retriever's suite runs in test_langchain_retriever)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.caches import BaseCache
from langchain_tests.integration_tests import (
    AsyncCacheTestSuite,
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
    SyncCacheTestSuite,
)
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from blade_core.llm import OfflineChatModel
from blade_core.llm.accounting import AnswerCache
from blade_core.retrieval import MiniLMEmbeddings


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
