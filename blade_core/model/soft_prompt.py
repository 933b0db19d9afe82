"""Soft prompts: n virtual-token embeddings prepended to the domain LM's input.

A soft prompt is either raw (an `n_tokens x hidden` tensor, e.g. from gradient prompt tuning) or
projected from a low-dimensional vector z through a fixed random projection, which is what lets BPO
search it with Bayesian optimization: the black-box LLM gives no gradients, and a GP cannot model
thousands of dimensions, but it can model `intrinsic_dim` (10) of them.

On disk a soft prompt is a peft prompt-tuning adapter (`adapter_config.json`,
`adapter_model.safetensors` with `prompt_embeddings`), so `PeftModel.from_pretrained(base, dir)` loads
it; a projected one also keeps `blade_projection.json` (z, seed, scale) so the search can continue.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from peft import PromptTuningConfig, TaskType
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file

from blade_core.errors import BladeError

ADAPTER_WEIGHTS = "adapter_model.safetensors"
PROJECTION_FILE = "blade_projection.json"
CENTER_FILE = "projection_center.safetensors"


class SoftPromptError(BladeError, ValueError):
    """A soft prompt that does not fit the model it is used with, or an unreadable soft-prompt folder."""


class ProjectionConfig(BaseModel):
    """What fixes the map z -> soft prompt: reproducible from these numbers alone."""

    intrinsic_dim: int = Field(default=10, ge=1)
    n_tokens: int = Field(default=5, ge=1)
    hidden_size: int = Field(ge=1)
    seed: int = 0
    scale: float = Field(gt=0, description="std of the projection's entries")


class SoftPrompt:
    """`n_tokens x hidden` embeddings, with the z and projection they came from when projected."""

    def __init__(
        self,
        embeddings: torch.Tensor,
        *,
        z: torch.Tensor | None = None,
        projection: ProjectionConfig | None = None,
        center: torch.Tensor | None = None,
        source: Path | None = None,
    ) -> None:
        if embeddings.ndim != 2:
            raise SoftPromptError(
                f"soft prompt embeddings must be (n_tokens, hidden), got shape {tuple(embeddings.shape)}"
            )
        self.embeddings = embeddings.detach().float().cpu()
        self.z = None if z is None else z.detach().float().cpu()
        self.projection = projection
        self.center = None if center is None else center.detach().float().cpu()
        self.source = source
        """The folder it was loaded from, named in errors; None when made in memory."""

    @property
    def n_tokens(self) -> int:
        return self.embeddings.shape[0]

    @property
    def hidden_size(self) -> int:
        return self.embeddings.shape[1]

    def check_fits(self, hidden_size: int, where: str = "the model") -> None:
        """Fail early and clearly: a mismatched prompt would otherwise crash deep in a matmul."""
        if self.hidden_size != hidden_size:
            loaded = f"{self.source}: " if self.source is not None else ""
            raise SoftPromptError(
                f"{loaded}soft prompt has hidden size {self.hidden_size} but {where} has {hidden_size}; "
                "it was made for another model: re-run BPO (or prompt tuning) for this one"
            )

    def save_pretrained(
        self,
        directory: str | Path,
        *,
        base_model_name_or_path: str | None = None,
        num_layers: int | None = None,
        num_attention_heads: int | None = None,
    ) -> None:
        """Write the peft prompt-tuning adapter (and the projection, when there is one)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        config = PromptTuningConfig(
            task_type=TaskType.CAUSAL_LM,
            num_virtual_tokens=self.n_tokens,
            token_dim=self.hidden_size,
            num_transformer_submodules=1,
            num_layers=num_layers,
            num_attention_heads=num_attention_heads,
            base_model_name_or_path=base_model_name_or_path,
            inference_mode=True,
        )
        config.save_pretrained(str(out))
        save_file(
            {"prompt_embeddings": self.embeddings.contiguous()},
            str(out / ADAPTER_WEIGHTS),
            metadata={"format": "pt"},
        )
        if self.projection is not None and self.z is not None:
            record = {"projection": self.projection.model_dump(), "z": self.z.tolist()}
            (out / PROJECTION_FILE).write_text(json.dumps(record, indent=2) + "\n")
            if self.center is not None:
                save_file({"center": self.center.contiguous()}, str(out / CENTER_FILE))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> SoftPrompt:
        """Load a peft prompt-tuning adapter folder (ours or one peft wrote)."""
        folder = Path(directory)
        weights = folder / ADAPTER_WEIGHTS
        if not folder.is_dir():
            raise SoftPromptError(f"{folder}: no such folder; give a peft prompt-tuning adapter folder")
        if not weights.is_file():
            inside = folder / "soft_prompt" / ADAPTER_WEIGHTS
            hint = (f"; it is a model directory: its soft prompt is {folder / 'soft_prompt'}" if inside.is_file()
                    else "; is this a peft prompt-tuning adapter?")
            raise SoftPromptError(f"{folder}: no {ADAPTER_WEIGHTS}{hint}")
        config = _read_json(folder / "adapter_config.json")
        if config.get("peft_type") != "PROMPT_TUNING":
            raise SoftPromptError(
                f"{folder / 'adapter_config.json'}: field 'peft_type' is {config.get('peft_type')!r}, "
                "expected 'PROMPT_TUNING'"
            )
        try:
            tensors = load_file(str(weights))
        except Exception as err:  # safetensors raises its own error types for corrupt files
            raise SoftPromptError(f"{weights}: unreadable safetensors file ({err})") from err
        if "prompt_embeddings" not in tensors:
            raise SoftPromptError(f"{weights}: no 'prompt_embeddings' tensor")
        embeddings = tensors["prompt_embeddings"]
        if embeddings.ndim != 2 or not embeddings.shape[0] or not torch.isfinite(embeddings).all():
            what = (f"a {embeddings.ndim}-D tensor, not (tokens x hidden)" if embeddings.ndim != 2 else
                    "empty" if not embeddings.shape[0] else "holds NaN or infinite values")
            raise SoftPromptError(f"{weights}: tensor 'prompt_embeddings' is {what}; train or save the soft prompt again")
        z = projection = center = None
        if (folder / PROJECTION_FILE).is_file():
            record = _read_json(folder / PROJECTION_FILE)
            try:
                projection = ProjectionConfig.model_validate(record["projection"])
                z = torch.tensor(record["z"], dtype=torch.float32)
            except (KeyError, TypeError, ValueError) as err:
                field = err.args[0] if isinstance(err, KeyError) else "projection"
                raise SoftPromptError(f"{folder / PROJECTION_FILE}: field {field!r} is missing or invalid; "
                                      "this file is written by BPO: remove it, or run BPO again") from None
            if (folder / CENTER_FILE).is_file():
                center = load_file(str(folder / CENTER_FILE))["center"]
        return cls(embeddings, z=z, projection=projection, center=center, source=folder)


def _read_json(path: Path) -> dict[str, Any]:
    """A soft-prompt folder's JSON file; a missing or broken one is a SoftPromptError naming it."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SoftPromptError(f"{path}: missing; is this a peft prompt-tuning adapter?") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise SoftPromptError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise SoftPromptError(f"{path}: expected a JSON object, got a {type(record).__name__}")
    return record


class RandomProjection:
    """The fixed map z (intrinsic_dim) -> soft prompt (n_tokens x hidden) that BPO searches through.

    The matrix is drawn from a seeded generator, so the seed alone reproduces it. Its scale is tied to
    the model's embedding statistics: with z uniform in [-1, 1]^d, each soft-token entry gets the
    standard deviation of a real token embedding entry, so soft tokens live where real tokens live
    (the authors' uniform [-1, 1] weights put them far outside, where the LM behaves erratically).
    An optional `center` (e.g. a prompt-tuned or text-initialized soft prompt) makes z = 0 that start.
    """

    def __init__(self, config: ProjectionConfig, center: torch.Tensor | None = None) -> None:
        if center is not None and tuple(center.shape) != (config.n_tokens, config.hidden_size):
            raise SoftPromptError(
                f"projection centre has shape {tuple(center.shape)}, expected "
                f"({config.n_tokens}, {config.hidden_size})"
            )
        self.config = config
        self.center = center
        generator = torch.Generator().manual_seed(config.seed)
        out_dim = config.n_tokens * config.hidden_size
        self.matrix = torch.randn(config.intrinsic_dim, out_dim, generator=generator) * config.scale

    @classmethod
    def for_embeddings(
        cls,
        embedding_weight: torch.Tensor,
        *,
        intrinsic_dim: int = 10,
        n_tokens: int = 5,
        seed: int = 0,
        center: torch.Tensor | None = None,
    ) -> RandomProjection:
        """A projection scaled to a model's input embedding matrix (`vocab x hidden`)."""
        emb_std = embedding_weight.detach().float().std().item()
        # Var(sum_i z_i a_i) = d * Var(z) * scale^2 with Var(z) = 1/3 for z ~ U[-1, 1].
        scale = emb_std * math.sqrt(3.0 / intrinsic_dim)
        config = ProjectionConfig(
            intrinsic_dim=intrinsic_dim,
            n_tokens=n_tokens,
            hidden_size=embedding_weight.shape[1],
            seed=seed,
            scale=scale,
        )
        return cls(config, center=center)

    def __call__(self, z: torch.Tensor) -> SoftPrompt:
        """z: (intrinsic_dim,) -> the soft prompt it stands for."""
        if z.shape != (self.config.intrinsic_dim,):
            raise SoftPromptError(f"z must have shape ({self.config.intrinsic_dim},), got {tuple(z.shape)}")
        flat = z.float() @ self.matrix
        embeddings = flat.view(self.config.n_tokens, self.config.hidden_size)
        if self.center is not None:
            embeddings = embeddings + self.center
        return SoftPrompt(embeddings, z=z, projection=self.config, center=self.center)
