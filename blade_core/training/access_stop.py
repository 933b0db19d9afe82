"""KIT trains until the knowledge stops reaching more of the asked facts, not for a fixed number
of epochs.

How long KIT must train depends on the domain: a user's 200 KIT pairs give ~50 optimizer steps in
two epochs, after which the model has not learned to write the asked entity's facts; the corpus's
own pairs (`corpus_pairs`) make that thousands of pairs on another domain. So after every epoch the
model writes knowledge for held-out questions (dev, at most `ACCESS_QUESTIONS` of them) and
`access.knowledge_access` counts how many reach a corpus fact about the asked entity and how many
state the answer; KIT stops once `PATIENCE` epochs in a row bring no new best, and keeps the
weights of its best epoch. `--epochs` is then the most KIT trains (and what its schedule spans). The storage check of DP
(`storage_stop`) is the same idea one stage earlier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from transformers import TrainerCallback

from blade_core.data.records import MCQuestion
from blade_core.model.directory import ModelDirectory
from blade_core.training.access import Access, CorpusFacts, knowledge_access

console = Console(stderr=True)

ACCESS_KEY = "access_reached"
ACCESS_QUESTIONS = 64
"""Dev questions checked after each epoch: a few seconds of generation for a small model."""
PATIENCE = 1
"""Epochs without a new best before KIT stops: access measured on 64 questions moves by whole
questions, and a flat epoch on the way up was not seen on the family's tuning shapes."""


def score(access: Access) -> tuple[int, int]:
    """What KIT maximizes: questions whose knowledge states the answer, then those reached."""
    return access.answered, access.reached


class StopWhenReached(TrainerCallback):
    """After each epoch: measure access on dev, log it, stop when it no longer rises."""

    def __init__(self, parts: ModelDirectory, questions: Sequence[MCQuestion], facts: CorpusFacts) -> None:
        self.parts = parts
        self.questions = list(questions)[:ACCESS_QUESTIONS]
        self.facts = facts
        self.history: list[tuple[int, int]] = []
        self.best: dict[str, Any] | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        # A resumed run continues the count from the checkpoint's log.
        self.history = [(e["access_answered"], e[ACCESS_KEY]) for e in state.log_history if ACCESS_KEY in e]

    def on_epoch_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        from blade_core.writers.domain_lm import DomainLM

        if not self.questions or model is None or args.deepspeed:
            return
        model.eval()
        lm = DomainLM(model, self.parts.tokenizer, soft_prompt=self.parts.soft_prompt, config=self.parts.config,
                      prefix_caching=False)
        knowledge = lm.generate_knowledge([q.with_options_text() for q in self.questions])
        model.train()
        access = knowledge_access(self.questions, knowledge, self.facts)
        state.log_history.append({"epoch": state.epoch, "step": state.global_step, ACCESS_KEY: access.reached,
                                  "access_answered": access.answered, "access_questions": access.n})
        scores = [*self.history, score(access)]
        since_best = len(scores) - 1 - scores.index(max(scores))
        stop = since_best >= PATIENCE
        if state.is_world_process_zero:
            verdict = "still rising" if since_best == 0 else "no new best: KIT stops here" if stop else "no new best"
            console.print(f"KIT epoch {round(state.epoch, 1):g}: {access.line('the model')} ({verdict})",
                          markup=False)
        self.history.append(score(access))
        if since_best == 0:  # kept on the CPU: restored if later epochs do worse
            self.best = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if stop:
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.best is not None and model is not None and self.history and self.history[-1] < max(self.history):
            model.load_state_dict(self.best)
            if state.is_world_process_zero:
                console.print("KIT keeps the weights of its best epoch", markup=False)
