"""`BladeKnowledgeRunnable`: BLADE as one step of a LangChain chain.

    chain = BladeKnowledgeRunnable.from_pretrained("runs/my-model") | ChatOpenAI()

The runnable reads a question (a string, or a dict's `question_key`), has the domain LM write the
knowledge the question needs, and hands on, depending on `output`:

* "prompt" (default): a `BladePromptValue` (a `ChatPromptValue`) of the answer-with-knowledge
  prompt, ready for any chat model; it also carries the raw knowledge as `.knowledge`;
* "dict": the input dict plus a "knowledge" key, for custom prompts and `RunnablePassthrough.assign`;
* "str": the knowledge text alone.

Every entry point goes through LangChain's own `_call_with_config` / `_batch_with_config` /
`_transform_stream_with_config` (and async twins), so callbacks, tags, metadata, run names and
`astream_events` see one run per question whose outputs hold the knowledge.

Batching: `batch`/`abatch` make ONE `generate_knowledge` call for all valid inputs (times
`n_samples`), and `max_concurrency`, when set, caps how many questions share one forward pass (the
generation batch size) instead of starting threads. Async methods run generation in a thread
executor, so the event loop never blocks; `DomainLM` serializes access to the weights with its lock,
so the runnable is safe to share between threads and tasks. At most `max_pending` calls are in
generation or queued for it at once; further callers wait (back-pressure) instead of piling up work.

Streaming: in "str" and "dict" mode the knowledge streams piece by piece as the domain LM writes it
("dict" streams `AddableDict` chunks: first the input keys with an empty "knowledge", then knowledge
pieces, so a downstream prompt receives every key). A prompt value cannot be added up from parts,
so "prompt" mode yields the whole prompt once the knowledge is complete; the chat model after it
streams its answer as usual. With several samples, every mode yields the combined knowledge once.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, cast

from langchain_core.prompt_values import ChatPromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import run_in_executor
from langchain_core.runnables.utils import AddableDict
from pydantic import Field, PrivateAttr, field_validator, model_validator
from typing_extensions import Self

from blade_core.knowledge.consistency import SampleMode, check_samples, combine_samples, sample_knowledge
from blade_core.llm.answer_prompt import answer_prompt, knowledge_or_placeholder, neutralize_delimiters
from langchain_blade._domain import DomainLMFields, aiterate, stream_stripped

OutputMode = Literal["prompt", "dict", "str"]
BladeInput = str | dict[str, Any]


class BladePromptValue(ChatPromptValue):
    """The answer prompt with the knowledge in it, plus the knowledge itself for auditing.

    A `ChatPromptValue` in every respect (chat models take it as they are), with `knowledge`: the
    domain LM's raw text (empty when it wrote nothing; the prompt then shows a placeholder).
    """

    knowledge: str

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_blade"]


class BladeKnowledgeRunnable(DomainLMFields, RunnableSerializable[BladeInput, Any]):
    """Question in, the domain LM's knowledge out: as a prompt value, a dict or a string.

    Build it with `BladeKnowledgeRunnable.from_pretrained(directory)` or from a loaded model,
    `BladeKnowledgeRunnable(model=domain_lm)`. Generation settings (`max_new_tokens`,
    `temperature`, `top_p`, `repetition_penalty`, `option_knowledge`, `n_samples`, `sample_mode`)
    are fields, so `.configurable_fields(...)` exposes them per call.
    """

    question_key: str = "question"
    """The key holding the question when the input is a dict."""
    output: OutputMode = "prompt"
    prompt: ChatPromptTemplate | None = None
    """Answer prompt for "prompt" mode, with `{knowledge}` and `{question}` (other variables come
    from the input dict); None means the project's `blade_core.prompts.answer_prompt()`."""
    n_samples: int = Field(default=1, ge=1)
    """Knowledge samples per question, combined by `sample_mode` (self-consistency)."""
    sample_mode: SampleMode = "join"
    max_pending: int = Field(default=32, ge=1)
    """Most calls (invoke, batch or stream) this runnable lets into generation at once; later
    callers wait for a place, holding only their input (back-pressure), so a burst of requests
    cannot pile up prompts and tensors in memory."""
    pending_timeout: float | None = Field(default=300.0, gt=0)
    """Seconds a caller waits for a place before a `TimeoutError` (None: no limit), so a stalled
    or overloaded model turns into an error a server can answer, not requests that hang for ever."""
    _admission: threading.BoundedSemaphore = PrivateAttr()

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._admission = threading.BoundedSemaphore(self.max_pending)

    @field_validator("prompt")
    @classmethod
    def _prompt_has_slots(cls, prompt: ChatPromptTemplate | None) -> ChatPromptTemplate | None:
        if prompt is not None:
            missing = {"knowledge", "question"} - set(prompt.input_variables)
            if missing:
                raise ValueError(f"the prompt must have the variables {{knowledge}} and "
                                 f"{{question}}; missing: {sorted(missing)}")
        return prompt

    @model_validator(mode="after")
    def _samples_can_differ(self) -> Self:
        check_samples(self.n_samples, self.temperature)
        return self

    @property
    def InputType(self) -> Any:
        return BladeInput

    @property
    def OutputType(self) -> Any:
        return {"prompt": BladePromptValue, "dict": dict[str, Any], "str": str}[self.output]

    # --- the work, shared by every entry point -------------------------------------------------

    def _read(self, input: Any) -> tuple[str, dict[str, Any]]:
        """(question, input fields); raises on input no LLM call could answer."""
        if isinstance(input, str):
            question, fields = input, {self.question_key: input}
        elif isinstance(input, Mapping):
            if self.question_key not in input:
                raise ValueError(f"input dict has no {self.question_key!r} key (keys: "
                                 f"{sorted(map(str, input))}); set question_key= to the key "
                                 "that holds the question")
            question, fields = input[self.question_key], dict(input)
        else:
            raise TypeError(f"input must be a question string or a dict with a "
                            f"{self.question_key!r} key, not {type(input).__name__}")
        if not isinstance(question, str):
            raise TypeError(f"the question must be a string, not {type(question).__name__}")
        if not question.strip():
            raise ValueError("the question is empty")
        return question, fields

    @contextmanager
    def _place(self) -> Iterator[None]:
        """Hold one of the `max_pending` places in generation, waiting `pending_timeout` at most."""
        if not self._admission.acquire(timeout=self.pending_timeout):
            raise TimeoutError(
                f"waited {self.pending_timeout:g} s for a place in generation: {self.max_pending} "
                "calls (max_pending) were generating or queued; raise max_pending or "
                "pending_timeout, or serve the model on more replicas"
            )
        try:
            yield
        finally:
            self._admission.release()

    def _knowledge(self, questions: list[str], batch_size: int) -> list[str]:
        with self._place():
            samples = sample_knowledge(
                self.lm, questions, self.n_samples, self.given(), batch_size
            )
        return [combine_samples(found, self.sample_mode) for found in samples]

    def _admitted(self, pieces: Iterator[str]) -> Iterator[str]:
        """`pieces`, generated while holding one of the `max_pending` places."""
        with self._place():
            yield from pieces

    def _respond(self, question: str, fields: dict[str, Any], knowledge: str) -> Any:
        if self.output == "str":
            return knowledge
        if self.output == "dict":
            return {**fields, "knowledge": knowledge}
        prompt = self.prompt or answer_prompt()
        variables = {**fields, "question": neutralize_delimiters(question),
                     "knowledge": knowledge_or_placeholder(knowledge)}
        return BladePromptValue(messages=prompt.format_messages(**variables), knowledge=knowledge)

    def _invoke_one(self, input: BladeInput) -> Any:
        question, fields = self._read(input)
        return self._respond(question, fields, self._knowledge([question], self.batch_size)[0])

    def _invoke_many(
        self, inputs: list[BladeInput], config: list[RunnableConfig]
    ) -> list[Any | Exception]:
        """One batched generation for every readable input; unreadable ones get their error."""
        read: list[tuple[str, dict[str, Any]] | Exception] = []
        for input in inputs:
            try:
                read.append(self._read(input))
            except (TypeError, ValueError) as err:
                read.append(err)
        valid = [item for item in read if not isinstance(item, Exception)]
        cap = config[0].get("max_concurrency") if config else None
        batch_size = min(self.batch_size, cap) if cap else self.batch_size
        knowledge = iter(self._knowledge([question for question, _ in valid], batch_size))
        return [
            item if isinstance(item, Exception) else self._respond(*item, next(knowledge))
            for item in read
        ]

    def _stream_output(self, input: BladeInput) -> Iterator[Any]:
        question, fields = self._read(input)
        if self.output == "prompt" or self.n_samples > 1:
            yield self._respond(question, fields, self._knowledge([question], self.batch_size)[0])
            return
        pieces = self._admitted(stream_stripped(self.lm, question, self.given()))
        if self.output == "dict":
            yield AddableDict({**fields, "knowledge": ""})
            for piece in pieces:
                yield AddableDict(knowledge=piece)
            return
        streamed = False
        for piece in pieces:
            streamed = True
            yield piece
        if not streamed:
            yield ""

    # --- LangChain entry points --------------------------------------------------------------------

    def invoke(self, input: BladeInput, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._invoke_one, input, config)

    async def ainvoke(
        self, input: BladeInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        async def run(input: BladeInput, config: RunnableConfig) -> Any:
            return await run_in_executor(config, self._invoke_one, input)

        return await self._acall_with_config(run, input, config)  # type: ignore[arg-type]  # LangChain passes the config on

    def batch(
        self,
        inputs: list[BladeInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        return self._batch_with_config(
            self._invoke_many, inputs, config, return_exceptions=return_exceptions  # type: ignore[arg-type]  # LangChain passes the configs on
        )

    async def abatch(
        self,
        inputs: list[BladeInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        async def run(inputs: list[BladeInput], config: list[RunnableConfig]) -> list[Any]:
            return await run_in_executor(config[0], self._invoke_many, inputs, config)

        return await self._abatch_with_config(
            run, inputs, config, return_exceptions=return_exceptions  # type: ignore[arg-type]  # LangChain passes the configs on
        )

    def transform(
        self, input: Iterator[BladeInput], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        def run(chunks: Iterator[BladeInput]) -> Iterator[Any]:
            yield from self._stream_output(_gather(chunks))

        yield from self._transform_stream_with_config(input, run, config)

    def stream(
        self, input: BladeInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        return self.transform(iter([input]), config)

    async def atransform(
        self,
        input: AsyncIterator[BladeInput],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        async def run(chunks: AsyncIterator[BladeInput], config: RunnableConfig) -> AsyncIterator[Any]:
            gathered = _gather([chunk async for chunk in chunks])
            async for chunk in aiterate(config, self._stream_output(gathered)):
                yield chunk

        async for chunk in self._atransform_stream_with_config(input, run, config):  # type: ignore[arg-type]  # LangChain passes the config on
            yield chunk

    async def astream(
        self, input: BladeInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async def one() -> AsyncIterator[BladeInput]:
            yield input

        async for chunk in self.atransform(one(), config):
            yield chunk


def _gather(chunks: Iterator[BladeInput] | list[BladeInput]) -> BladeInput:
    """The whole input from streamed chunks, added up as `Runnable.transform` does."""
    gathered: Any = None
    for chunk in chunks:
        if gathered is None:
            gathered = chunk
        else:
            try:
                gathered = gathered + chunk
            except TypeError:
                gathered = chunk
    return cast(BladeInput, gathered)
