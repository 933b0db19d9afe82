"""`BladeLLM`: the domain LM as a LangChain text LLM (prompt = the question, output = knowledge).

For chains built around `BaseLLM` (`PromptTemplate | llm`, LLM-based agents and evaluators).
`generate`/`batch` make one batched `generate_knowledge` call for all prompts (LangChain's
`BaseLLM.batch` splits by `max_concurrency` first when it is set); streaming reports every piece
through `on_llm_new_token`; async methods keep generation off the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models.llms import BaseLLM
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.runnables.config import run_in_executor

from blade_core.text import StopCutter, cut_at_stop
from langchain_blade._domain import DomainLMFields, aiterate, stream_stripped


class BladeLLM(DomainLMFields, BaseLLM):
    """The domain LM behind LangChain's LLM interface.

    Call-time keyword arguments (`llm.invoke(q, max_new_tokens=32)`) override the generation
    fields for that call. `stop` ends generation at the first stop sequence (`generate(stop_strings=)`),
    and the text is cut before it.
    """

    @property
    def _llm_type(self) -> str:
        return "blade"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, **self.given()}

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        texts = self.lm.generate_knowledge(
            prompts, batch_size=self.batch_size, stop=stop, **self.given(**kwargs)
        )
        return LLMResult(generations=[[Generation(text=cut_at_stop(text, stop))] for text in texts])

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        return await run_in_executor(None, self._generate, prompts, stop, None, **kwargs)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        for text in _stop_stream(
            stream_stripped(self.lm, prompt, {**self.given(**kwargs), "stop": stop}), stop
        ):
            chunk = GenerationChunk(text=text)
            if run_manager is not None:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        async for chunk in aiterate(None, self._stream(prompt, stop, None, **kwargs)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _stop_stream(pieces: Iterator[str], stop: list[str] | None) -> Iterator[str]:
    """Stream `pieces` cut at the first stop sequence, holding back text that could start one."""
    cutter = StopCutter(stop)
    for piece in pieces:
        if out := cutter.feed(piece):
            yield out
        if cutter.stopped:
            return
    if out := cutter.rest():
        yield out
