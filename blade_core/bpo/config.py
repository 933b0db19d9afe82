"""What a user sets for BPO: one pydantic config, defaults beside each field.

`blade bpo`, `trainers/bpo.py` and Python callers all build their options from `BpoConfig` (see
`config_command`). No torch import here, so `blade --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from blade_core.client_options import ClientOptions
from blade_core.errors import require
from blade_core.outputs import Inputs, check_not_an_input, check_work_directory, prepare_model_directory


class BpoConfig(ClientOptions):
    """BPO: Bayesian optimization of a projected soft prompt on the black-box LLM's dev accuracy."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    model: str = Field(description="domain LM directory (after KIT) whose soft prompt is searched")
    dev: Path = Field(description="multiple-choice dev JSONL the LLM is scored on")
    out: Path = Field(description="model directory to write (the work dir is OUT.work)")
    llm: str = Field(default="offline", description="general LLM: 'offline', 'openai:MODEL' or 'provider:model'")
    init_soft_prompt: Path | None = Field(
        default=None, description="peft prompt-tuning folder to start from (default: the model's own)"
    )
    init_text: str | None = Field(
        default=None, description="start from this text's token embeddings (peft TEXT init)"
    )
    intrinsic_dim: int = Field(default=10, ge=1, description="dimension of z, the searched vector")
    n_tokens: int | None = Field(
        default=None, ge=1, description="soft prompt length; default: the start's length, else 5"
    )
    projection_seed: int = Field(default=0, description="seed of the fixed random projection z -> prompt")
    budget: int = Field(default=40, ge=1, description="candidate evaluations on the dev set (baselines excluded)")
    n_init: int = Field(default=8, ge=1, description="Sobol points evaluated before the GP is used")
    batch_size: int = Field(default=4, ge=1, description="candidates proposed per round (q of qLogEI)")
    patience: int = Field(
        default=5, ge=0, description="stop after this many BO rounds without improvement (0: never)"
    )
    num_restarts: int = Field(default=10, ge=1, description="optimize_acqf restarts")
    raw_samples: int = Field(default=256, ge=1, description="optimize_acqf raw samples for the restarts")
    acqf_maxiter: int = Field(default=200, ge=1, description="L-BFGS iterations per restart")
    seed: int = Field(default=0, description="seeds the Sobol points and the acquisition optimizer")
    dev_limit: int | None = Field(default=None, ge=1, description="use only the first N dev questions")
    max_new_tokens: int | None = Field(default=None, ge=1, description="knowledge length; default: the model's")
    generation_batch_size: int = Field(default=32, ge=1, description="questions per generate call")
    max_llm_calls: int | None = Field(
        default=None, ge=1, description="refuse to start if the estimated LLM calls exceed this"
    )
    llm_cache: Path | None = Field(
        default=None, description="SQLite cache of LLM answers; default OUT.work/llm_cache.sqlite"
    )
    use_cache: bool = Field(default=True, description="cache LLM answers so no call is ever paid twice")
    resume: bool = Field(default=False, description="continue the run saved in the work dir")
    overwrite: bool = Field(
        default=False,
        description="replace a model directory blade wrote at --out; without --resume, also start "
        "the search afresh (the LLM cache is kept, so answered calls are not paid again)",
    )
    guard: bool = Field(
        default=True,
        description="after the search, choose on dev the confidence below which knowledge is withheld "
        "(bpo.guard; a few more dev passes, mostly cached)",
    )
    progress: bool = True

    @field_validator("init_text")
    @classmethod
    def _one_start(cls, text: str | None, info: ValidationInfo) -> str | None:
        if text is not None and info.data.get("init_soft_prompt") is not None:
            raise ValueError("give --init-soft-prompt or --init-text, not both")
        return text

    @field_validator("n_init")
    @classmethod
    def _init_within_budget(cls, n_init: int, info: ValidationInfo) -> int:
        budget = info.data.get("budget")
        if budget is not None and n_init > budget:
            raise ValueError(f"{n_init} Sobol points exceed the budget of {budget} evaluations")
        return n_init

    @property
    def work_dir(self) -> Path:
        """State, per-evaluation answers and the LLM cache live beside the output, as for DP/KIT."""
        return self.out.with_name(self.out.name + ".work")

    @property
    def cache_path(self) -> Path:
        return self.llm_cache if self.llm_cache is not None else self.work_dir / "llm_cache.sqlite"

    def check_outputs(self) -> None:
        """Refuse an --out, work dir or cache that would destroy something (`outputs`), before a
        model loads or a call is paid."""
        require("botorch", "matplotlib")
        inputs: Inputs = {"--model": self.model, "--dev": self.dev, "--init-soft-prompt": self.init_soft_prompt}
        prepare_model_directory(self.out, inputs=inputs, overwrite=self.overwrite)
        check_work_directory(self.work_dir, inputs=inputs)
        check_not_an_input(self.cache_path, "--llm-cache", inputs)
