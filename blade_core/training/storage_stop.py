"""DP trains until the corpus's facts are stored, not for a fixed number of epochs.

How many passes a domain needs depends on the domain: on three generated domains the DP model's
fact recall stopped rising after 4 or 5 of the recipe's 8 epochs, and the passes after that cost
time and stored nothing (`benchmarks/knowledge_quality.md`, "DP budget"). So after every epoch the
model completes a fixed sample of named corpus sentences from their opening (`fact_recall`, a
second or two), and DP stops once `PATIENCE` epochs in a row complete no more of them than the
best epoch before, and at least half are stored. `--epochs` is then the most DP trains (and what its
learning-rate schedule spans); a domain that keeps improving uses all of it, and the check's line
says so. The sample is the corpus's own sentences, never the test set's.

Every process of a distributed run checks the same facts with the same weights, so all of them
decide alike; under DeepSpeed (sharded weights) the check is skipped and DP trains every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from transformers import PreTrainedTokenizerBase, TrainerCallback

from blade_core.training.fact_recall import completed_facts

console = Console(stderr=True)

RECALL_KEY = "facts_completed"
EPOCHS_KEY = "epochs_at_most"
"""The epochs DP was to train at most: `--epochs`, or fewer within the token budget."""
PATIENCE = 2
"""Epochs without a new best count before DP stops. One was enough on the three domains it was
measured on (nothing more was stored in the epochs after), but a 500-document domain flattened
after 4 epochs (71, 80, 80 of 96) where a longer run was not measured; an epoch more costs 12-25%
of DP and buys certainty."""
STORED_ENOUGH = 0.5
"""Stop only once at least this share of the sampled facts is stored: an early flat epoch (still
in warm-up) is not a plateau."""


class StopWhenStored(TrainerCallback):
    """After each epoch: count the facts completed, log it, stop when it no longer rises."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, names: Sequence[str], facts: Sequence[str]) -> None:
        self.tokenizer = tokenizer
        self.names = list(names)
        self.facts = list(facts)
        self.history: list[int] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # A resumed run continues the count from the checkpoint's log.
        self.history = [entry[RECALL_KEY] for entry in state.log_history if RECALL_KEY in entry]

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not self.facts or model is None or args.deepspeed:
            return
        model.eval()
        completed = completed_facts(model, self.tokenizer, self.names, self.facts)
        model.train()
        state.log_history.append({"epoch": state.epoch, "step": state.global_step, RECALL_KEY: completed,
                                  "facts_checked": len(self.facts), EPOCHS_KEY: args.num_train_epochs})
        counts = [*self.history, completed]
        since_best = len(counts) - 1 - counts.index(max(counts))  # epochs since the first best count
        stop = since_best >= PATIENCE and completed >= STORED_ENOUGH * len(self.facts)
        if state.is_world_process_zero:
            verdict = ("still rising" if since_best == 0 else
                       f"no new best for {since_best} epoch{'s' * (since_best > 1)}: DP stops here" if stop else
                       f"no new best for {since_best} epoch{'s' * (since_best > 1)}")
            console.print(f"DP epoch {round(state.epoch, 1):g}: the model completes {completed} of {len(self.facts)} "
                          f"corpus facts from their opening ({verdict})", markup=False)
        self.history.append(completed)
        if stop:
            control.should_training_stop = True
