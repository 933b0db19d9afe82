"""`pip install "blade-lm[langchain]"` alone gives a working `BladeKnowledgeRunnable | ChatOpenAI`
chain: this test needs only what that extra installs (CI runs it in such a venv, `.ci/run`), so it
serves its own echoing chat model, not the offline judge (which needs the `train` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI

from blade_core.serve import OpenAICompatibleServer
from blade_core.writers.domain_lm import DomainLM
from langchain_blade import BladeKnowledgeRunnable

QUESTION = "What is Zorvanil indicated for?"


class EchoChatModel(BaseChatModel):
    """Replies with the last message it was sent, so the caller sees the prompt that arrived."""

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=messages[-1].text))])


def test_the_chain_sends_the_domain_lms_knowledge_over_http(tiny_lm_dir: Path) -> None:
    knowledge = DomainLM.from_pretrained(tiny_lm_dir).generate_knowledge([QUESTION], max_new_tokens=24)[0]
    assert knowledge.strip()
    with OpenAICompatibleServer(EchoChatModel(), model_name="echo") as server:
        llm = ChatOpenAI(base_url=server.base_url, api_key="local", model="echo", max_retries=0)
        chain = BladeKnowledgeRunnable.from_pretrained(tiny_lm_dir, max_new_tokens=24) | llm
        arrived = chain.invoke(QUESTION).text
    assert QUESTION in arrived and knowledge.strip() in arrived
