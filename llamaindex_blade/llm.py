"""The domain LM as a LlamaIndex LLM, usable wherever LlamaIndex takes one.

Every prompt is treated as a question: the model wraps it in the knowledge template it was tuned
with and writes the knowledge, which is what the completion returns. So `BladeLLM` as HyDE's LLM,
or in a `QueryPipeline`, makes BLADE knowledge with no BLADE-specific wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from llama_index.core.base.llms.types import (
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback

from blade_core.model.generation_settings import GenerationSettings
from llamaindex_blade._common import (
    DomainLMComponent,
    check_generation,
    effective_generation,
    require_text,
)


class BladeLLM(GenerationSettings, DomainLMComponent, CustomLLM):
    """A BLADE domain LM behind LlamaIndex's LLM interface (completion model, not chat).

    Generation settings left at None use the model directory's defaults; keyword arguments of a
    call override them for that call. Streaming really streams, piece by piece as tokens are
    decoded, and the async methods generate in a worker thread so the event loop stays free.
    """


    @classmethod
    def class_name(cls) -> str:
        return "BladeLLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self._lm.context_length,
            num_output=effective_generation(self._lm, self._settings({})).max_new_tokens,
            model_name=self._lm.name_or_path or "blade-domain-lm",
            is_chat_model=False,
        )

    def _settings(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return check_generation(self._lm, self.given(**overrides))

    def _question(self, prompt: str, formatted: bool) -> str:
        return require_text(prompt if formatted else self.completion_to_prompt(prompt), "prompt")  # type: ignore[misc]  # LlamaIndex sets a default

    def _generate(
        self, prompt: str, formatted: bool, overrides: dict[str, Any]
    ) -> CompletionResponse:
        question = self._question(prompt, formatted)
        text = self._lm.generate_knowledge([question], **self._settings(overrides))[0]
        return CompletionResponse(text=text)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return self._generate(prompt, formatted, kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return await asyncio.to_thread(self._generate, prompt, formatted, kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        question = self._question(prompt, formatted)
        settings = self._settings(kwargs)
        return _responses(_rstripped(self._lm.stream_knowledge(question, **settings)))

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        question = self._question(prompt, formatted)
        settings = self._settings(kwargs)
        pieces = _rstripped(self._lm.stream_knowledge(question, **settings))

        async def gen() -> CompletionResponseAsyncGen:
            text = ""
            async for piece in _in_thread(pieces):
                text += piece
                yield CompletionResponse(text=text, delta=piece)

        return gen()


def _rstripped(pieces: Iterable[str]) -> Iterator[str]:
    """`pieces` without trailing whitespace: whitespace is held back until more text follows.

    `generate_knowledge` strips its result, so this makes a greedy stream add up to exactly what
    `complete` returns.
    """
    held = ""
    for piece in pieces:
        body = piece.rstrip()
        if body:
            yield held + body
            held = piece[len(body) :]
        else:
            held += piece


def _responses(pieces: Iterable[str]) -> CompletionResponseGen:
    text = ""
    for piece in pieces:
        text += piece
        yield CompletionResponse(text=text, delta=piece)


async def _in_thread(pieces: Iterator[str]) -> AsyncIterator[str]:
    """Iterate a blocking iterator from async code, each step in a worker thread."""
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        yield piece
