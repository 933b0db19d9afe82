"""A LangChain chat model (BLADE's general LLM) as a LlamaIndex LLM.

blade_core keeps the black-box general LLM behind LangChain's `BaseChatModel` and resolves specs
like ``"offline"`` or ``"openai:MODEL"`` (see `blade_core.llm.resolve_llm`). LlamaIndex's own bridge
lives in the separate llama-index-llms-langchain package; this thin adapter avoids that dependency
and lets LlamaIndex apps use the same specs: `GeneralLLM.from_spec("offline")`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

from blade_core.llm import resolve_llm

_LANGCHAIN_MESSAGE = {
    MessageRole.SYSTEM: SystemMessage,
    MessageRole.DEVELOPER: SystemMessage,
    MessageRole.USER: HumanMessage,
    MessageRole.ASSISTANT: AIMessage,
}


def to_langchain_messages(messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    """Text chat messages in LangChain's types; tool and function turns are not supported."""
    converted = []
    for message in messages:
        kind = _LANGCHAIN_MESSAGE.get(message.role)
        if kind is None:
            raise ValueError(f"GeneralLLM passes text chats only, not role {message.role!r}")
        converted.append(kind(content=message.content or ""))
    return converted


def _reply(text: str, delta: str | None = None) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)


class GeneralLLM(CustomLLM):
    """A LangChain `BaseChatModel` behind LlamaIndex's LLM interface (a chat model).

    Completions are sent as one user message. Async methods use the chat model's own async API
    (LangChain runs sync-only models in an executor), so the event loop is not blocked.
    """

    context_window: int = Field(
        default=DEFAULT_CONTEXT_WINDOW, gt=0,
        description="The general LLM's context window in tokens, which LlamaIndex packs prompts to; "
        "LangChain chat models do not report it, so set it for yours.",
    )
    _chat_model: BaseChatModel = PrivateAttr()

    def __init__(self, chat_model: BaseChatModel, **data: Any) -> None:
        super().__init__(**data)
        self._chat_model = chat_model

    @classmethod
    def from_spec(cls, spec: str | BaseChatModel = "offline", **kwargs: Any) -> GeneralLLM:
        """The general LLM a blade_core spec names ("offline", "openai:MODEL", ...)."""
        return cls(resolve_llm(spec, **kwargs))

    @classmethod
    def class_name(cls) -> str:
        return "GeneralLLM"

    @property
    def chat_model(self) -> BaseChatModel:
        return self._chat_model

    @property
    def metadata(self) -> LLMMetadata:
        name = getattr(self._chat_model, "model_name", None) or type(self._chat_model).__name__
        return LLMMetadata(model_name=str(name), is_chat_model=True, context_window=self.context_window)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        reply = self._chat_model.invoke(to_langchain_messages(messages), **kwargs)
        return _reply(str(reply.text))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        reply = await self._chat_model.ainvoke(to_langchain_messages(messages), **kwargs)
        return _reply(str(reply.text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        chunks = self._chat_model.stream(to_langchain_messages(messages), **kwargs)

        def gen() -> ChatResponseGen:
            text = ""
            for chunk in chunks:
                text += str(chunk.text)
                yield _reply(text, str(chunk.text))

        return gen()

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        chunks = self._chat_model.astream(to_langchain_messages(messages), **kwargs)

        async def gen() -> ChatResponseAsyncGen:
            text = ""
            async for chunk in chunks:
                text += str(chunk.text)
                yield _reply(text, str(chunk.text))

        return gen()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        reply = self._chat_model.invoke([HumanMessage(prompt)], **kwargs)
        return CompletionResponse(text=str(reply.text))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        reply = await self._chat_model.ainvoke([HumanMessage(prompt)], **kwargs)
        return CompletionResponse(text=str(reply.text))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        chunks = self._chat_model.stream([HumanMessage(prompt)], **kwargs)

        def gen() -> CompletionResponseGen:
            text = ""
            for chunk in chunks:
                text += str(chunk.text)
                yield CompletionResponse(text=text, delta=str(chunk.text))

        return gen()

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        chunks = self._chat_model.astream([HumanMessage(prompt)], **kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            text = ""
            async for chunk in chunks:
                text += str(chunk.text)
                yield CompletionResponse(text=text, delta=str(chunk.text))

        return gen()
