"""The one training log: a line per logging step, and the same as JSON lines beside the checkpoints.

The Trainer prints a raw `str(dict)` every logging step and draws tqdm bars with carriage
returns; piped to a file, as every run on a server is, that is megabytes of bars and dicts. This
callback replaces both: one formatted line per logging step ("DP step 120/1,256 (10%): loss 2.341,
lr 8.1e-04, 6,210 tokens/s, 11 min left"), written above the bar on a terminal and plainly
elsewhere; the Trainer's own bar is kept only on a terminal. Each line's values also go, as they
come, to `training/STAGE_trainer_log.jsonl` in the work folder, which the model directory keeps,
so a run that dies leaves its log.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from blade_core.progress_bars import on_a_terminal


class QuietProgress(ProgressCallback):
    """The Trainer's progress bar, without the dict it prints at every logging step."""

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        return None


class TrainingLog(TrainerCallback):
    """A formatted line per logging step on stderr, and a JSON line per step in `path`."""

    def __init__(self, stage: str, path: Path, tokens_per_step: int) -> None:
        self.stage = stage.upper()
        self.path = path
        self.tokens_per_step = tokens_per_step
        self.started = time.perf_counter()
        self.first_step = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.started, self.first_step = time.perf_counter(), state.global_step  # a resumed run counts from here
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs or not state.is_world_process_zero:
            return
        elapsed = time.perf_counter() - self.started
        done = max(state.global_step - self.first_step, 1)
        rate = done * self.tokens_per_step / elapsed if elapsed > 0 else 0.0
        left = elapsed / done * max(state.max_steps - state.global_step, 0)
        entry = {"step": state.global_step, "max_steps": state.max_steps, "epoch": round(state.epoch or 0, 3),
                 "loss": logs["loss"], "learning_rate": logs.get("learning_rate"), "grad_norm": logs.get("grad_norm"),
                 "tokens_per_second": round(rate), "seconds_left": round(left)}
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        share = state.global_step / state.max_steps if state.max_steps else 0.0
        lr = f", lr {entry['learning_rate']:.1e}" if entry["learning_rate"] is not None else ""
        line = (f"{self.stage} step {state.global_step:,}/{state.max_steps:,} ({share:.0%}): loss {logs['loss']:.3f}"
                f"{lr}, {rate:,.0f} tokens/s, {_duration(left)} left")
        if on_a_terminal():
            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def quiet_trainer_output(trainer: Any, show_bar: bool) -> None:
    """Replace the Trainer's own printing: no dicts ever, a bar only when `show_bar`."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if show_bar:
        trainer.add_callback(QuietProgress())
