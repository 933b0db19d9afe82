"""The knowledge writer a source names: a loaded writer as it is, an endpoint reference
(``http://host:port/v1#model=NAME``) connected to, anything else a model directory or hub id loaded
in-process. Every adapter takes its model through here, so each takes the same sources."""

from __future__ import annotations

from pathlib import Path

from blade_core.knowledge.writer import KnowledgeWriter
from blade_core.writers.domain_lm import DomainLM
from blade_core.writers.endpoint import connect_reference, is_reference

WriterSource = KnowledgeWriter | str | Path
"""A `DomainLM` or `EndpointWriter`, a model directory or hub id, or an endpoint reference."""


def load_writer(source: WriterSource, *, device: str | None = None) -> KnowledgeWriter:
    """The writer `source` names (see the module docstring); `device` is for a loaded model."""
    if isinstance(source, KnowledgeWriter):
        return source
    if is_reference(source):
        return connect_reference(str(source))
    if isinstance(source, (str, Path)):
        return DomainLM.from_pretrained(source, device=device)
    raise TypeError(f"expected a DomainLM, an EndpointWriter, a model directory or an endpoint URL, "
                    f"got {type(source).__name__}")
