"""Checks that a model directory can be used, run as it loads, with errors that say where to look.

Without them a missing or damaged weights file, a tokenizer that cannot pad, or a context too short
for the soft prompt and template surfaces as a library's bare message ("header too large") or, for
the context, only at the first generation, deep in a server. `DomainLM.from_pretrained` calls these,
so each fails at load time naming the file and field to fix.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from safetensors import SafetensorError

from blade_core.errors import BladeError
from blade_core.model.packaged import is_packaged, packaged_model_dir

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
SHARDED_WEIGHTS_INDEX = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
"""`gpt2` or `Qwen/Qwen2.5-0.5B`: at most one slash, no path punctuation."""


class ModelDirectoryError(BladeError, ValueError):
    """A model directory that cannot be used as it is; the message names the file (and field)."""


def is_local_source(source: str) -> bool:
    """Whether `source` names a folder here rather than a model on the hub.

    It does when it exists, or when it cannot be a hub id (`./`, `/`, `~`, a backslash, a trailing
    slash, two slashes or more), or when its first part is a folder here (`runs/dp` when `runs/`
    exists): such a path that does not exist is a typo, and asking the hub for it only waits.
    """
    if Path(source).expanduser().exists():
        return True
    if not HUB_ID.match(source) or source.startswith("."):
        return True
    first = source.split("/", 1)[0]
    return "/" in source and Path(first).is_dir()


def check_model_source(source: str) -> Path | None:
    """The model folder `source` names, checked; None for a hub id (loaded from the hub). A packaged
    model's name (`gemma-270m`) gives its converted folder (`packaged_models`).

    A folder must exist and hold `config.json` and tokenizer files, so the error names what is
    missing instead of the hub's "not a valid model identifier".
    """
    if is_packaged(source):
        return packaged_model_dir(source)
    if not is_local_source(source):
        return None
    folder = Path(source).expanduser()
    if not folder.exists():
        raise ModelDirectoryError(
            f"{source}: no such model directory; check the path (a hub id looks like 'Qwen/Qwen2.5-0.5B')"
        )
    if not folder.is_dir():
        raise ModelDirectoryError(
            f"{source} is a file; give the model directory (the folder holding config.json)"
        )
    if not (folder / "config.json").is_file() and (stage := last_stage(folder)) is not None:
        logger.info("%s is a blade train run folder: using its last stage, %s", source, stage)
        return stage
    if not (folder / "config.json").is_file():
        hint = (f"; it is a working folder: the model is written to {source.rstrip(os.sep).removesuffix('.work')} "
                "when the run completes") if source.rstrip(os.sep).endswith(".work") else (
                "; give a folder that blade init-model, pretrain, kit or bpo wrote, or that "
                "save_pretrained() wrote")
        raise ModelDirectoryError(f"{source}: no config.json, so it is not a model directory{hint}")
    _check_causal_lm(folder, source)
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelDirectoryError(
            f"{source}: no tokenizer files ({', '.join(TOKENIZER_FILES[:2])}); save the base model's "
            f"tokenizer into it with tokenizer.save_pretrained('{source}')"
        )
    return folder


RUN_STAGES = ("bpo", "kit", "dp", "init")
"""A `blade train` run folder's stages, last first: where a model directory is asked for, the run
folder means its last finished stage."""


def last_stage(folder: Path) -> Path | None:
    """The last finished stage of a `blade train` / `blade quickstart` run folder, or None."""
    from blade_core.outputs import WORK_MARKER

    if not (folder / WORK_MARKER).is_file():
        return None
    return next((folder / stage for stage in RUN_STAGES if (folder / stage / "config.json").is_file()), None)


def _check_causal_lm(folder: Path, source: str) -> None:
    """Refuse a model another tool wrote that is no causal LM (a sentence encoder, a classifier):
    its loader would fail deep inside transformers, or build a language-model head at random."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ModelDirectoryError(f"{source}/config.json: not valid JSON ({err}); save the model again") from None
    architectures = config.get("architectures") if isinstance(config, dict) else None
    if not isinstance(architectures, list) or not architectures:
        return
    if not any(str(a).endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")) for a in architectures):
        encoder = " (a sentence encoder: modules.json)" if (folder / "modules.json").is_file() else ""
        raise ModelDirectoryError(
            f"{source}/config.json: field 'architectures' is {architectures}{encoder}, not a causal language "
            "model; give one that writes text (…ForCausalLM, such as Qwen/Qwen2.5-0.5B) or a folder blade wrote"
        )


@contextmanager
def naming_the_source(source: str, local: bool) -> Iterator[None]:
    """Turn the loaders' errors about `source` (bad config.json, unknown hub id, no network) into
    one `ModelDirectoryError` that says which it was."""
    try:
        yield
    except (OSError, ValueError, KeyError, RuntimeError) as err:  # RuntimeError: weights of another shape
        if isinstance(err, ModelDirectoryError):
            raise
        reason = f"{type(err).__name__}: " + " ".join(str(err).split())[:200]
        if local:
            raise ModelDirectoryError(f"{source}: cannot load the model ({reason})") from err
        if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
            raise ModelDirectoryError(
                f"{source}: no such folder here, and no such model in the local hub cache "
                "(HF_HUB_OFFLINE is set); check the path, or download the model first"
            ) from err
        raise ModelDirectoryError(
            f"{source}: no such folder here, and the model hub could not provide it; check the "
            f"path or the hub id, and the connection ({reason})"
        ) from err


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
