"""What every `langchain_blade` component shares.

* `DomainLMFields`: the domain LM as a pydantic field kept out of serialization (the model
  directory, `model_path`, is the serialized reference and is re-loaded from on `loads`), and the
  generation settings as real pydantic fields, so LangChain's `configurable_fields` and
  `with_config(configurable=...)` can change them per call.
* `stream_stripped` / `aiterate`: streaming helpers that keep streamed text equal to the batched text
  and keep blocking generation off the event loop.

All generation itself is `blade_core.DomainLM`'s; nothing here re-implements it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, model_validator
from typing_extensions import Self

from blade_core.domain_lm import DomainLM
from blade_core.generation_settings import GenerationSettings

T = TypeVar("T")

class DomainLMFields(GenerationSettings):
    """The domain LM (`model`, or loaded from `model_path`) and its generation settings
    (`GenerationSettings`: `None` means the model directory's default, `blade.json`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: DomainLM | None = Field(default=None, exclude=True, repr=False)
    """A loaded domain LM; shared, never copied (configured copies of a runnable reuse it)."""
    model_path: str | None = None
    """The model directory: loaded from when `model` is not given, and the serialized reference."""
    device: str | None = None
    """Device to load `model_path` on (default: CUDA when available, else CPU)."""
    batch_size: int = Field(default=32, ge=1)
    """Most questions per forward pass of one batched generation."""

    @model_validator(mode="after")
    def _load_model(self) -> Self:
        if self.model is None:
            if self.model_path is None:
                raise ValueError(
                    "give model= (a loaded blade_core.DomainLM) or model_path= (a model directory)"
                )
            self.model = DomainLM.from_pretrained(self.model_path, device=self.device)
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
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Serialized as `langchain_blade.<Class>`, with the model directory as the reference."""
        return ["langchain_blade"]

    @property
    def lm(self) -> DomainLM:
        """The loaded domain LM (always set once the object is validated)."""
        if self.model is None:  # unreachable after validation; narrows the type
            raise RuntimeError("the domain LM is not loaded")
        return self.model


def stream_stripped(lm: DomainLM, question: str, generation: dict[str, Any]) -> Iterator[str]:
    """`DomainLM.stream_knowledge`, with trailing whitespace held back until more text follows.

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
