"""What every `langchain_blade` component shares.

* `DomainLMFields`: the knowledge writer (a `DomainLM` in this process, or an `EndpointWriter`
  calling a knowledge server) as a pydantic field kept out of serialization (`model_path`, a model
  directory or an endpoint reference, is the serialized reference and is re-loaded from on
  `loads`), and the generation settings as real pydantic fields, so LangChain's
  `configurable_fields` and `with_config(configurable=...)` can change them per call.
* `stream_stripped` / `aiterate`: streaming helpers that keep streamed text equal to the batched text
  and keep blocking generation off the event loop.

All generation itself is the writer's (`blade_core.knowledge.writer`); nothing here re-implements it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, ValidationError, model_validator
from typing_extensions import Self

from blade_core.knowledge.writer import KnowledgeWriter
from blade_core.model.generation_settings import GenerationSettings
from blade_core.validation import one_line
from blade_core.writers.domain_lm import DomainLM
from blade_core.writers.endpoint import CONNECT_OPTIONS, EndpointWriter
from blade_core.writers.load import load_writer

T = TypeVar("T")

class DomainLMFields(GenerationSettings):
    """The knowledge writer (`model`, or loaded from `model_path`) and its generation settings
    (`GenerationSettings`: `None` means the model directory's default, `blade.json`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: KnowledgeWriter | None = Field(default=None, exclude=True, repr=False)
    """A `DomainLM` or `EndpointWriter`; shared, never copied (configured copies of a runnable reuse it)."""
    model_path: str | None = None
    """The model directory, or an endpoint reference (``http://HOST:PORT/v1#model=NAME``): loaded
    from or connected to when `model` is not given, and the serialized reference."""
    device: str | None = None
    """Device to load `model_path` on (default: CUDA when available, else CPU)."""
    batch_size: int = Field(default=32, ge=1)
    """Most questions per forward pass of one batched generation."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:  # one line, as the CLI says it, not pydantic's report
            raise one_line(error) from None

    @model_validator(mode="after")
    def _load_model(self) -> Self:
        if self.model is None:
            if self.model_path is None:
                raise ValueError(
                    "give model= (a loaded blade_core.DomainLM or EndpointWriter) or model_path= (a model "
                    "directory or an endpoint reference)"
                )
            self.model = load_writer(self.model_path, device=self.device)
        elif self.model_path is None:
            self.model_path = self.model.name_or_path
        return self

    @classmethod
    def from_pretrained(cls, model_dir: str | Path, **fields: Any) -> Self:
        """Load the domain LM from a model directory; `fields` set the other fields.

        Loaded here rather than by the validator, so a bad directory raises blade's own
        `ModelDirectoryError` naming the file, not a pydantic error wrapped around it.
        """
        lm = DomainLM.from_pretrained(model_dir, device=fields.get("device"))
        return cls(model=lm, model_path=str(model_dir), **fields)

    @classmethod
    def from_endpoint(cls, base_url: str, model: str | None = None, *, export: str | Path | None = None,
                      **fields: Any) -> Self:
        """Write knowledge through a knowledge server: `blade serve`, or vLLM serving a `blade
        export` (then `export` is that directory, whose prompt files the server does not describe).

        `base_url` ends in /v1; `model` may be left out when the server serves one model. The
        connection options `api_key` (default $BLADE_ENDPOINT_API_KEY), `timeout`, `max_retries`
        and `max_concurrency` go to `EndpointWriter.connect`; other `fields` set this component's
        fields (`batch_size` prompts go in one request). Everything else (knowledge per option,
        samples, streaming, callbacks) works as with a local model.
        """
        options = {name: fields.pop(name) for name in CONNECT_OPTIONS & set(fields)}
        writer = EndpointWriter.connect(base_url, model, export=export, **options)
        return cls(model=writer, model_path=writer.name_or_path, **fields)

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Serialized as `langchain_blade.<Class>`, with the model directory as the reference."""
        return ["langchain_blade"]

    @property
    def lm(self) -> KnowledgeWriter:
        """The knowledge writer (always set once the object is validated)."""
        if self.model is None:  # unreachable after validation; narrows the type
            raise RuntimeError("the domain LM is not loaded")
        return self.model


def stream_stripped(lm: KnowledgeWriter, question: str, generation: dict[str, Any]) -> Iterator[str]:
    """`KnowledgeWriter.stream_knowledge`, with trailing whitespace held back until more text follows.

    `generate_knowledge` strips its result; holding whitespace back makes the joined stream equal
    to that text, so streaming and invoking give the same knowledge.
    """
    pending = ""
    for piece in lm.stream_knowledge(question, **generation):
        text = pending + piece
        kept = text.rstrip()
        pending = text[len(kept) :]
        if kept:
            yield kept


async def aiterate(config: RunnableConfig | None, iterator: Iterator[T]) -> AsyncIterator[T]:
    """Drive a blocking iterator from async code, each `next` in a thread executor.

    The context (callbacks, config) is copied into the thread, and the event loop stays free
    while the domain LM generates.
    """
    done = object()
    while True:
        item = await run_in_executor(config, next, iterator, done)
        if item is done:
            return
        yield item  # type: ignore[misc]
