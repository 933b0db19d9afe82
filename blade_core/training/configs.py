"""What a user sets for DP and KIT: pydantic configs, defaults beside each field.

The CLI and the trainer scripts build their options from these classes (see `config_command`), so
this is the one place a setting is declared. No torch import here: `blade --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from blade_core.errors import require
from blade_core.outputs import Inputs, check_inputs_exist, check_work_directory, prepare_model_directory

Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup", "cosine_with_restarts",
                    "polynomial", "inverse_sqrt"]
"""The Hugging Face learning-rate schedules that need no settings beyond the warm-up."""


class TrainOptions(BaseModel):
    """Optimizer, schedule, precision, checkpointing: shared by DP and KIT."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    model: str = Field(description="model directory or hub id to start from")
    out: Path = Field(description="model directory to write")
    epochs: float = Field(default=8.0, gt=0, description="passes over the data (the quickstart recipe's)")
    max_steps: int = Field(default=-1, ge=-1, description="stop after this many steps (-1: by epochs)")
    learning_rate: float | None = Field(
        default=None, gt=0,
        description="default: the recipe's, 1e-3 for DP and 1e-4 for KIT from scratch, 5e-5 on a pretrained model",
    )
    batch_size: int = Field(default=8, ge=1, description="per device")
    grad_accum: int = Field(default=1, ge=1)
    warmup: float = Field(default=0.05, ge=0, description="warm-up steps, or a ratio of all steps if < 1")
    weight_decay: float = Field(default=0.0, ge=0)
    lr_scheduler: Scheduler = Field(default="cosine", description="learning-rate schedule after the warm-up")
    lora: bool = Field(default=False, description="train LoRA adapters, merged into the result")
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    lora_targets: list[str] | None = Field(
        default=None, description="module names to adapt (default: all attention and MLP projections)"
    )
    gradient_checkpointing: bool = False
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    save_steps: int = Field(default=200, ge=1, description="checkpoint every this many steps")
    save_total_limit: int = Field(default=2, ge=1)
    logging_steps: int = Field(default=10, ge=1)
    report_to: list[str] = Field(
        default_factory=list,
        description="also log to these trackers (the HF Trainer's report_to: tensorboard, wandb, mlflow, ...); "
        "none by default, the loss plot and log history are always written",
    )
    seed: int = 0
    deepspeed: str | None = Field(default=None, description="DeepSpeed config JSON, passed through")
    resume: bool = Field(default=False, description="continue from the last checkpoint in the work dir")
    overwrite: bool = Field(
        default=False,
        description="replace a model directory blade wrote at --out; without --resume, also start "
        "over from step 0 (the earlier run's checkpoints are removed)",
    )
    plot_loss: bool = True
    progress: bool = True

    @field_validator("max_steps")
    @classmethod
    def _steps_or_epochs(cls, steps: int) -> int:
        if steps == 0:
            raise ValueError("must be -1 (train for --epochs) or at least 1")
        return steps

    @field_validator("deepspeed")
    @classmethod
    def _deepspeed_file(cls, path: str | None) -> str | None:
        if path is not None and not Path(path).is_file():
            raise ValueError("no such file; give the path of a DeepSpeed config JSON")
        return path

    SCRATCH_LEARNING_RATE: ClassVar[float] = 1e-3
    PRETRAINED_LEARNING_RATE: ClassVar[float] = 5e-5

    def learning_rate_for(self, base_model: str | None) -> float:
        """The set learning rate, or the recipe's: high for a from-scratch model (`blade init-model`
        records its base as `scratch-...`), gentle for a pretrained one, which a high rate wrecks."""
        if self.learning_rate is not None:
            return self.learning_rate
        scratch = (base_model or "").startswith("scratch-")
        return self.SCRATCH_LEARNING_RATE if scratch else self.PRETRAINED_LEARNING_RATE

    @property
    def work_dir(self) -> Path:
        """Checkpoints and logs live beside the output, so the output appears only when complete."""
        return self.out.with_name(self.out.name + ".work")

    @property
    def inputs(self) -> Inputs:
        """Every path the stage reads, by option: what its output must never replace."""
        return {"--model": self.model, "--deepspeed": self.deepspeed}

    def check_outputs(self) -> None:
        """Refuse a missing input (naming its option) or an --out (or its work dir) that would destroy
        something (`outputs`): called before the data is read or the model loads, and before torch
        is even imported by the commands."""
        if self.plot_loss:
            require("matplotlib")  # or the run would end unsaved, at the plot
        check_inputs_exist(self.inputs)
        prepare_model_directory(self.out, inputs=self.inputs, overwrite=self.overwrite)
        check_work_directory(self.work_dir, inputs=self.inputs)


def budgeted_epochs(epochs: float, epoch_tokens: float, budget: int | None) -> float:
    """`epochs`, or fewer passes (never under one) when `epochs` passes of `epoch_tokens` would
    train on more than `budget` tokens: a compute budget that holds whatever the corpus's size."""
    if budget is None or epoch_tokens * epochs <= budget:
        return epochs
    return round(min(epochs, max(1.0, budget / epoch_tokens)), 2)


NAMES_HELP = ("a names file: the domain's entities, one a line (from a database, a formulary index or a "
              "catalogue); the name finder also reads the corpus and the questions for them")


class PretrainConfig(TrainOptions):
    """DP: continued pretraining on domain text."""

    corpus: list[Path] = Field(min_length=1, description="corpus folders / .txt / JSONL files")
    block_size: int | None = Field(default=None, ge=2, description="tokens per block; default min(512, context)")
    packing: bool = Field(default=True, description="pack documents into full blocks (else pad each)")
    # Without augmentation a from-scratch model recalls almost no fact by question; 12 and 6 were
    # best on the sample domain's dev split. 4 and 3 stored as much where each fact is stated twice
    # (the family's drugs-a: 84 of 96) but not where once (drugs-zero: 37 of 96, blade 26% against
    # rag 88%): the facts need the exposures (benchmarks/knowledge_quality.md, "The family"). Set
    # both to 0 for a corpus too large to multiply by ~19.
    sentence_permutations: int = Field(
        default=12, ge=0, description="copies of each document with its sentences shuffled (augmentation)"
    )
    entity_documents: int = Field(
        default=6, ge=0, description="documents per recurring name, gathering its sentences (augmentation)"
    )
    token_budget: int | None = Field(
        default=None, ge=1,
        description="the most tokens DP trains on: when --epochs passes over the augmented corpus would "
        "exceed it, DP trains fewer passes (never under one); default: --epochs alone",
    )
    mix_instructions: Path | None = Field(default=None, description="KIT pairs to mix into the stream")
    instruction_repeats: int = Field(default=1, ge=1, description="copies of each mixed pair")
    question_forms: bool = Field(
        default=True,
        description="also mix in every corpus sentence that answers one of the mixed KIT pairs' question "
        "templates, as an answer to that question about its own entity (needs --mix-instructions)",
    )
    recitations: bool = Field(
        default=True,
        description="also mix in, for every entity of the corpus, 'What is known about NAME?' answered by "
        "its stand-alone sentences (so any entity's facts can be asked for, whatever the KIT pairs cover)",
    )
    stop_when_stored: bool = Field(
        default=True,
        description="after each epoch, count the corpus facts the model completes and stop once "
        "that no longer rises (--epochs is then the most DP trains); off with --max-steps",
    )
    mix_general: Path | None = Field(default=None, description="general text against forgetting")
    general_ratio: float = Field(default=0.1, ge=0.0, lt=1.0, description="share of general tokens")
    dev: Path | None = Field(
        default=None, description="dev questions: the entities they ask about show the name finder how this "
        "domain writes its names (with the mixed KIT pairs' questions)")
    names: Path | None = Field(default=None, description=NAMES_HELP)

    @property
    def inputs(self) -> Inputs:
        return {**super().inputs, "--corpus": self.corpus, "--mix-instructions": self.mix_instructions,
                "--mix-general": self.mix_general, "--dev": self.dev, "--names": self.names}


class KitConfig(TrainOptions):
    """KIT: supervised tuning on (question -> knowledge) pairs."""

    SCRATCH_LEARNING_RATE: ClassVar[float] = 1e-4
    """Gentle: at 5e-4 KIT erased facts that DP had stored (the DP model completes 86 of 100 towns
    test facts, the KIT model 43); at 1e-4 it keeps them. Chosen on four domains' dev splits
    (`benchmarks/knowledge_quality.md`, "Transfer")."""

    data: Path | None = Field(default=None, description="alpaca JSONL of question -> knowledge pairs (optional "
                              "with --corpus: the corpus's own pairs are then all KIT trains on)")
    corpus: list[Path] | None = Field(
        default=None,
        description="the domain corpus: its own pairs are added (question forms of the pairs' questions, "
        "recitations of every entity); `blade train` passes its corpus",
    )
    question_forms: bool = Field(
        default=True, description="with --corpus: add every corpus sentence that answers one of the pairs' "
        "question templates, asked about its own entity")
    recitations: bool = Field(
        default=True, description="with --corpus: also train 'What is known about NAME?' for every "
        "entity of the corpus, answered by its stand-alone sentences, and recite at inference")
    dev: Path | None = Field(
        default=None, description="with --corpus: dev questions; after each epoch KIT measures whether "
        "the knowledge reaches the asked entity's corpus facts, and stops once that no longer rises "
        "(--epochs is then the most it trains)")
    names: Path | None = Field(default=None, description=NAMES_HELP)
    template: str | None = Field(default=None, description="knowledge template; default: the model's own")
    max_length: int | None = Field(default=None, ge=8, description="tokens per example; default: the context")
    epochs: float = Field(default=2.0, gt=0, description="passes over the pairs (the quickstart recipe's)")

    @property
    def inputs(self) -> Inputs:
        return {**super().inputs, "--data": self.data, "--corpus": self.corpus, "--dev": self.dev,
                "--names": self.names}

    @field_validator("template")
    @classmethod
    def _one_question_slot(cls, text: str | None) -> str | None:
        from blade_core.model.template import check_template

        return None if text is None else check_template(text)
