"""A model directory's parts, loaded: the Hugging Face causal LM, its tokenizer, an optional soft
prompt (`soft_prompt/`, peft format) and `blade.json`.

Why apart from `DomainLM`: training (DP, KIT, the from-scratch builder) reads and writes these and
never generates; `DomainLM` adds knowledge generation on top. Loading checks what would otherwise
fail later (missing or damaged weights, a too-new `blade.json`, a tokenizer that cannot pad, a
context the soft prompt and template fill) and names the file and field.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from typing_extensions import Self

from blade_core.atomic import atomic_directory
from blade_core.errors import OptionError
from blade_core.model.checks import (
    ModelDirectoryError,
    check_context_fits,
    check_model_source,
    check_weights_present,
    naming_damaged_weights,
    naming_the_source,
)
from blade_core.model.config import BladeConfig
from blade_core.model.soft_prompt import SoftPrompt
from blade_core.model.template import KnowledgeTemplate

SOFT_PROMPT_DIR = "soft_prompt"


DEFAULT_CONTEXT_LENGTH = 2048
"""A model's context when its config does not say (transformers' usual default)."""

def resolve_device(device: str | torch.device | None) -> torch.device:
    """`device`, refused in one line when this machine has no such device; None: CUDA if any."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as error:
        raise OptionError(f"--device {device}: {error}; use cpu, cuda or cuda:N") from None
    if chosen.type == "cuda" and (not torch.cuda.is_available()
                                  or (chosen.index or 0) >= torch.cuda.device_count()):
        seen = f"{torch.cuda.device_count()} CUDA device(s)" if torch.cuda.is_available() else "no CUDA device"
        raise OptionError(f"--device {device}: this machine has {seen} (torch {torch.__version__}); "
                          "use --device cpu, or leave it unset to use a GPU when there is one")
    return chosen


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """float32 on CPU (bf16 matmuls are slow on most CPUs), bf16 on GPUs that have it."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in (None, "auto"):
        return getattr(torch, dtype)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Left padding for batched generation; EOS doubles as padding when the tokenizer has none."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ValueError("the tokenizer has neither a pad nor an EOS token; set one before use")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def encode_knowledge_prompt(
    tokenizer: PreTrainedTokenizerBase, template: KnowledgeTemplate, question: str
) -> tuple[list[int], list[int], list[int]]:
    """Token ids of (prefix, question, suffix), tokenized apart.

    Apart, so the prefix ids are identical for every question (one cacheable prefix) and so KIT
    training and inference cut the text the same way. Special tokens (BOS) go on the prefix only.
    """
    prefix, suffix = template.split()
    prefix_ids = tokenizer(prefix, add_special_tokens=True)["input_ids"]
    question_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    suffix_ids = tokenizer(suffix, add_special_tokens=False)["input_ids"]
    return prefix_ids, question_ids, suffix_ids


class ModelDirectory:
    """A Hugging Face causal LM, its tokenizer, an optional soft prompt and its `blade.json`."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        soft_prompt: SoftPrompt | None = None,
        config: BladeConfig | None = None,
        name_or_path: str | None = None,
    ) -> None:
        # Any: transformers types a model's submodules and `generate` loosely (Tensor | Module).
        self.model: Any = model
        self.tokenizer = prepare_tokenizer(tokenizer)
        self.config = config or BladeConfig()
        self.name_or_path = name_or_path or getattr(model.config, "_name_or_path", None)
        if self.config.provenance.base_model is None:
            self.config.provenance.base_model = self.name_or_path
        self.soft_prompt: SoftPrompt | None = None
        self._set_soft_prompt(soft_prompt)

    @classmethod
    def from_pretrained(
        cls,
        path_or_hub_id: str | Path,
        soft_prompt: SoftPrompt | str | Path | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        *,
        trust_remote_code: bool = False,
    ) -> Self:
        """Load any Hugging Face causal LM by path or hub id, plus the BLADE parts a directory has.

        A model directory's `soft_prompt/` and `blade.json` are used when present; pass
        `soft_prompt` (a SoftPrompt or a peft adapter folder) to use another one. Weights load from
        safetensors only, and remote code runs only when `trust_remote_code=True`. A directory that
        cannot work (no or damaged weights, a too-new `blade.json`, a tokenizer that cannot pad, a
        context the soft prompt and template fill) fails here, naming the file and field.
        """
        source = str(path_or_hub_id)
        target = resolve_device(device)
        folder = check_model_source(source)  # a mistyped path fails here, never asks the hub
        local = folder if folder is not None else Path(source)
        if folder is not None:
            source = str(folder)
            config = BladeConfig.load(folder)  # a too-new one stops here
            check_weights_present(folder)
        else:
            config = None
        with naming_the_source(source, folder is not None), naming_damaged_weights(local):
            model = AutoModelForCausalLM.from_pretrained(
                source,
                dtype=resolve_dtype(dtype, target),
                trust_remote_code=trust_remote_code,
                use_safetensors=True,
            ).to(target)  # type: ignore[arg-type]  # a device, as `to` takes
            tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
        rows = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > rows:  # a token id past the table would fail mid-generation
            raise ModelDirectoryError(
                f"{source}: the tokenizer has {len(tokenizer)} tokens but the model's embedding table "
                f"{rows} rows (config.json field 'vocab_size': {model.config.vocab_size}); use the "
                "tokenizer saved with these weights"
            )
        try:
            prepare_tokenizer(tokenizer)
        except ValueError as err:
            raise ModelDirectoryError(
                f"{source}: {err}: set 'pad_token' or 'eos_token' in tokenizer_config.json"
            ) from None
        if soft_prompt is None and (local / SOFT_PROMPT_DIR).is_dir():
            soft_prompt = local / SOFT_PROMPT_DIR
        if isinstance(soft_prompt, (str, Path)):
            soft_prompt = SoftPrompt.from_pretrained(soft_prompt)
        lm = cls(model, tokenizer, soft_prompt=soft_prompt, config=config, name_or_path=source)
        prefix, _, suffix = encode_knowledge_prompt(lm.tokenizer, lm.template, "")
        check_context_fits(source, context=lm.context_length, soft_tokens=lm.n_soft_tokens,
                           template_tokens=len(prefix) + len(suffix))
        return lm

    def _set_soft_prompt(self, soft_prompt: SoftPrompt | None) -> None:
        if soft_prompt is not None:
            soft_prompt.check_fits(self.hidden_size, where=f"model {self.name_or_path}")
        self.soft_prompt = soft_prompt

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def hidden_size(self) -> int:
        return self.model.get_input_embeddings().weight.shape[1]

    @property
    def context_length(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", DEFAULT_CONTEXT_LENGTH))

    @property
    def template(self) -> KnowledgeTemplate:
        return self.config.knowledge_template

    @property
    def n_soft_tokens(self) -> int:
        return 0 if self.soft_prompt is None else self.soft_prompt.n_tokens

    def save_pretrained(self, directory: str | Path, *, extra_dirs: dict[str, Path] | None = None) -> None:
        """Write the model directory (HF files, `soft_prompt/`, `blade.json`) all at once or not at all.

        `extra_dirs` maps a sub-folder name to a folder copied in (training logs and plots).
        """
        with atomic_directory(directory) as staging:
            for name, source in (extra_dirs or {}).items():
                shutil.copytree(source, staging / name)
            self.model.save_pretrained(staging, safe_serialization=True)
            self.tokenizer.save_pretrained(staging)
            if self.soft_prompt is not None:
                self.soft_prompt.save_pretrained(
                    staging / SOFT_PROMPT_DIR,
                    base_model_name_or_path=self.config.provenance.base_model,
                    num_layers=getattr(self.model.config, "num_hidden_layers", None),
                    num_attention_heads=getattr(self.model.config, "num_attention_heads", None),
                )
            self.config.save(staging)
