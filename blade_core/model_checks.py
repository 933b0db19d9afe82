"""Checks that a model directory can be used, run as it loads, with errors that say where to look.

Without them a missing or damaged weights file, a tokenizer that cannot pad, or a context too short
for the soft prompt and template surfaces as a library's bare message ("header too large") or, for
the context, only at the first generation, deep in a server. `DomainLM.from_pretrained` calls these,
so each fails at load time naming the file and field to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from safetensors import SafetensorError

WEIGHTS_FILE = "model.safetensors"
SHARDED_WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class ModelDirectoryError(ValueError):
    """A model directory that cannot be used as it is; the message names the file (and field)."""


def check_weights_present(directory: Path) -> None:
    """Fail before loading when `directory` has no safetensors weights.

    Pickled weights (`pytorch_model.bin`) are never loaded: unpickling runs arbitrary code.
    """
    if any((directory / name).is_file() for name in (WEIGHTS_FILE, SHARDED_WEIGHTS_INDEX)):
        return
    pickled = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    held = f"; it holds {', '.join(pickled)}, pickled weights, which are never loaded" if pickled else ""
    raise ModelDirectoryError(
        f"{directory}: no {WEIGHTS_FILE}{held}. Weights are read from safetensors only: save the "
        "model again with save_pretrained() (safetensors is its default)"
    )


@contextmanager
def naming_damaged_weights(directory: Path) -> Iterator[None]:
    """Turn the safetensors reader's bare error ("incomplete metadata") into one naming the file."""
    try:
        yield
    except SafetensorError as err:
        single = directory / WEIGHTS_FILE
        where = single if single.is_file() else f"{directory}: a weights shard"
        raise ModelDirectoryError(
            f"{where}: unreadable safetensors file ({err}); it is damaged or cut off: copy or "
            "save the model again"
        ) from err


def check_context_fits(directory: str, *, context: int, soft_tokens: int, template_tokens: int) -> None:
    """Fail when the soft prompt and the knowledge template alone fill the model's context."""
    fixed = soft_tokens + template_tokens
    if fixed >= context:
        raise ModelDirectoryError(
            f"{directory}: config.json field 'max_position_embeddings' is {context}, but the soft "
            f"prompt ({soft_tokens} tokens) and the knowledge template (blade.json field "
            f"'knowledge_template', {template_tokens} tokens) take {fixed}, leaving no room for a "
            "question or its knowledge: use a longer-context model, a shorter template or a "
            "shorter soft prompt"
        )
