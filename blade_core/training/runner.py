"""Run one training stage on the Hugging Face Trainer and write the result as a model directory.

DP and KIT differ only in their data; everything else — precision, LoRA, checkpoints and resume,
NaN guard, loss plot, DDP/DeepSpeed through `torchrun`/`accelerate launch`, and the atomic final
save — is here, once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from pickle import UnpicklingError
from typing import TYPE_CHECKING, Any, cast

import torch
from torch.utils.data import Dataset
from transformers import PreTrainedModel, Trainer, TrainerCallback, TrainingArguments

from blade_core.errors import BladeError
from blade_core.model.config import file_hash
from blade_core.model.directory import ModelDirectory
from blade_core.model.hf_compat import CHECKPOINTING
from blade_core.outputs import make_work_directory
from blade_core.training.configs import TrainOptions
from blade_core.training.log import TrainingLog, on_a_terminal, quiet_trainer_output

if TYPE_CHECKING:
    from peft import PeftModel

logger = logging.getLogger(__name__)

TRAINING_DIR = "training"


class TrainingError(BladeError, RuntimeError):
    """A training run that cannot go on (NaN loss, bad LoRA targets, stale checkpoints)."""


class NanLossGuard(TrainerCallback):
    """Stop at the first NaN/inf loss: every later step would only train garbage."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
               **kwargs: Any) -> None:
        for key in ("loss", "grad_norm"):
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                last = last_complete_checkpoint(self.work_dir) if self.work_dir.is_dir() else None
                then = (f"then --resume from the last good checkpoint ({last})" if last else
                        "then run again (no checkpoint was saved before it)")
                raise TrainingError(
                    f"{key} became {value} at step {state.global_step}; lower the learning rate (or use fp32), {then}"
                )


def precision_flags(precision: str) -> dict[str, Any]:
    """bf16 where the GPU has it, fp16 on older GPUs, fp32 on CPU (autocast is slower there).

    An explicit bf16 without a GPU means CPU autocast, which the Trainer accepts only with `use_cpu`.
    """
    if precision == "auto":
        if not torch.cuda.is_available():
            return {}
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    cpu_bf16 = precision == "bf16" and not torch.cuda.is_available()
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"} | ({"use_cpu": True} if cpu_bf16 else {})


def load_for_training(options: TrainOptions) -> ModelDirectory:
    """fp32 master weights on the CPU; the Trainer moves them and applies mixed precision."""
    return ModelDirectory.from_pretrained(options.model, device="cpu", dtype=torch.float32)


def apply_lora(model: torch.nn.Module, options: TrainOptions) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = options.lora_targets or [
        t for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "c_attn",
                    "c_proj", "c_fc")
        if t in present
    ]
    missing = [t for t in targets if t not in present]
    if missing or not targets:
        linear = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                         if isinstance(m, torch.nn.Linear)})
        raise TrainingError(
            f"LoRA target modules {missing or targets} are not in this model; its linear layers are {linear}"
        )
    config = LoraConfig(r=options.lora_r, lora_alpha=options.lora_alpha, lora_dropout=options.lora_dropout,
                        target_modules=targets, task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft asks transformers >= 5.23 for a renamed attribute, which warns
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        return get_peft_model(model, config)


def ddp_backend() -> str | None:
    """gloo for CPU processes started by torchrun/accelerate; otherwise the launcher's default."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return "gloo" if distributed and not torch.cuda.is_available() else None


def training_arguments(options: TrainOptions, learning_rate: float) -> TrainingArguments:
    checkpointing: dict[str, Any] = {CHECKPOINTING: options.gradient_checkpointing}
    return TrainingArguments(
        output_dir=str(options.work_dir),
        num_train_epochs=options.epochs,
        max_steps=options.max_steps,
        learning_rate=learning_rate,
        per_device_train_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        warmup_steps=options.warmup,
        weight_decay=options.weight_decay,
        lr_scheduler_type=options.lr_scheduler,
        logging_nan_inf_filter=False,  # a NaN must reach NanLossGuard, not be logged as 0
        save_strategy="steps",
        save_steps=options.save_steps,
        save_total_limit=options.save_total_limit,
        logging_steps=options.logging_steps,
        seed=options.seed,
        deepspeed=options.deepspeed,
        report_to=options.report_to or "none",
        disable_tqdm=not options.progress,
        remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinning without a GPU only warns, each epoch
        ddp_backend=ddp_backend(),
        **precision_flags(options.precision),
        **checkpointing,
    )


def last_complete_checkpoint(work_dir: Path) -> str | None:
    """The newest checkpoint whose `trainer_state.json` (the Trainer writes it last) is readable.

    A process killed while saving leaves a half-written checkpoint folder; resuming from it would
    fail or, worse, load a partial optimizer state. The one before it is complete.
    """
    folders = [p for p in work_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    for folder in sorted(folders, key=lambda p: int(p.name.split("-")[-1]), reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text())
        except (OSError, ValueError):
            logger.warning("skipping incomplete checkpoint %s (interrupted while saving)", folder)
            continue
        return str(folder)
    return None


def resume_checkpoint(options: TrainOptions, args: TrainingArguments) -> str | None:
    """The checkpoint to continue from; never mix a fresh run into an old run's checkpoints.

    With --overwrite (and no --resume) the old checkpoints are removed: the work dir is blade's
    (`TrainOptions.check_outputs` checked its marker). Every process removes them, the main one first.
    """
    if not any(options.work_dir.glob("checkpoint-*")):
        if options.resume:
            logger.debug("no checkpoint in %s: starting from the beginning", options.work_dir)
        return None
    if options.resume:
        return last_complete_checkpoint(options.work_dir)
    if not options.overwrite:
        raise TrainingError(
            f"{options.work_dir} holds checkpoints of an earlier run; pass --resume to continue it, "
            "or --overwrite to start over"
        )
    with args.main_process_first(desc="removing the earlier run's checkpoints"):
        for folder in options.work_dir.glob("checkpoint-*"):
            shutil.rmtree(folder, ignore_errors=True)
    return None


def write_loss_plot(log_history: list[dict[str, Any]], path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend is left as it is

    points = [(entry["step"], entry["loss"]) for entry in log_history if "loss" in entry]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    if points:
        steps, losses = zip(*points)
        ax.plot(steps, losses, marker=".")
    ax.set(xlabel="step", ylabel="training loss", title=title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run_stage(
    stage: str,
    options: TrainOptions,
    lm: ModelDirectory,
    dataset: Dataset,
    collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    data_files: dict[str, str | Path],
    callbacks: Sequence[TrainerCallback] = (),
) -> Path | None:
    """Train `lm` on `dataset` and write `options.out`; rank 0 writes and returns it, others None.
    `callbacks` join the NaN guard (DP's storage check, `storage_stop`)."""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise TrainingError(f"{stage}: no training examples")
    make_work_directory(options.work_dir)
    trainer = train(stage, options, lm, dataset, collator, callbacks)
    if not trainer.is_world_process_zero():
        return None
    result = trained_model(trainer, lm, options.lora)
    result.config.provenance.stages.append(stage)
    result.config.provenance.data_hashes.update({f"{stage}:{k}": file_hash(v) for k, v in data_files.items()})
    log_dir = write_training_logs(stage, options, trainer.state.log_history)
    result.save_pretrained(options.out, extra_dirs={TRAINING_DIR: log_dir})
    return options.out


def train(
    stage: str,
    options: TrainOptions,
    lm: ModelDirectory,
    dataset: Dataset,
    collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    callbacks: Sequence[TrainerCallback] = (),
) -> Trainer:
    """The HF Trainer run itself: full or LoRA, resumed from the newest complete checkpoint, its
    progress told by the one training log (`log.TrainingLog`)."""
    args = training_arguments(options, options.learning_rate_for(lm.config.provenance.base_model))
    checkpoint = resume_checkpoint(options, args)
    model: torch.nn.Module = lm.model
    if options.lora:
        model = apply_lora(model, options)
    if options.gradient_checkpointing:
        lm.model.config.use_cache = False
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=lm.tokenizer,
        callbacks=[NanLossGuard(options.work_dir), *callbacks],
    )
    sample = [len(dataset[i]["input_ids"]) for i in range(min(len(dataset), 256))]  # type: ignore[arg-type]
    per_step = sum(sample) / max(1, len(sample)) * options.batch_size * options.grad_accum * args.world_size
    trainer.add_callback(TrainingLog(stage, options.work_dir / TRAINING_DIR / f"{stage}_trainer_log.jsonl",
                                     round(per_step)))
    quiet_trainer_output(trainer, show_bar=options.progress and on_a_terminal())
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
    except UnpicklingError as error:  # torch.load(weights_only=True) refused it: nothing ran
        reason = str(error).strip().splitlines()[0][:160]
        raise TrainingError(
            f"{checkpoint}: a file there holds pickled objects other than tensors, which are never loaded "
            f"({reason}); remove that checkpoint folder to resume from an earlier one, or start over with "
            "--overwrite"
        ) from None
    return trainer


def trained_model(trainer: Trainer, lm: ModelDirectory, lora: bool) -> ModelDirectory:
    """The trained weights as a plain model (LoRA merged in) with `lm`'s tokenizer, soft prompt and
    config."""
    trained = cast(PreTrainedModel, trainer.model)
    if lora:
        trained = cast("PeftModel", trained).merge_and_unload()
    trained.config.use_cache = True
    return ModelDirectory(trained, lm.tokenizer, soft_prompt=lm.soft_prompt, config=lm.config,
                          name_or_path=lm.name_or_path)


def write_training_logs(stage: str, options: TrainOptions, history: list[dict[str, Any]]) -> Path:
    """The stage's log history (JSON) and loss plot (PNG), beside the earlier stages' ones."""
    log_dir = options.work_dir / TRAINING_DIR
    earlier = Path(options.model) / TRAINING_DIR  # keep the logs of the stages before this one
    if earlier.is_dir():
        shutil.copytree(earlier, log_dir, dirs_exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{stage}_log.json").write_text(json.dumps(history, indent=1) + "\n")
    if options.plot_loss:
        write_loss_plot(history, log_dir / f"{stage}_loss.png", f"{stage.upper()} loss")
    return log_dir
