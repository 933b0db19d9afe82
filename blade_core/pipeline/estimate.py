"""How long `blade train` will take, said before the long stages start: measured, not guessed.

A user about to spend an afternoon of CPU wants a number first. The work is counted from the data
(tokens DP and KIT will see, knowledge texts BPO and the evaluation will write), and its speed is
timed on this machine with the model about to be trained: two optimizer steps of a DP batch and
one batch of knowledge generation, a few seconds in all. The LLM's own time (an API's latency)
is not known beforehand and is not counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from blade_core.bpo.guard import EXTRA_DEV_PASSES
from blade_core.data import load_corpus, load_instructions, load_mcq
from blade_core.knowledge.options import option_views
from blade_core.pipeline.recipe import DomainData, Recipe
from blade_core.training.configs import budgeted_epochs
from blade_core.training.corpus_pairs import with_corpus_pairs

BLOCK = 256
BATCH = 8
# The Trainer's step costs more than a bare forward/backward/optimizer step (scheduler, gradient
# clipping, data collation, logging, checkpoints): measured 1.58x on the pharmacopoeia domain
# (estimated DP 6 min, took 9.5 min on an idle 2-core machine).
TRAINER_OVERHEAD = 1.5


@dataclass(frozen=True)
class Estimate:
    """Seconds per stage, for the stages about to run."""

    seconds: dict[str, float]

    def line(self) -> str:
        parts = ", ".join(f"{stage} ~{_minutes(s)}" for stage, s in self.seconds.items())
        return (f"estimate: {parts}; about {_minutes(sum(self.seconds.values()))} in all on this machine "
                "(the LLM's own response time not included)")


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60))} min"


def estimate(model_dir: Path | str, data: DomainData, recipe: Recipe, *, bpo: bool) -> Estimate:
    """The expected seconds of DP, KIT, BPO (when `bpo`) and evaluation (when there is a test set)."""
    from blade_core.writers.domain_lm import DomainLM

    lm = DomainLM.from_pretrained(model_dir)
    documents = load_corpus(data.corpus)
    sample = " ".join(d.text for d in documents[:50])
    tokens_per_char = len(lm.tokenizer(sample, add_special_tokens=False, verbose=False)["input_ids"]) / max(1, len(sample))
    copies = 1 + recipe.sentence_permutations + recipe.entity_documents  # what augmentation multiplies by
    # DP and KIT also train on the corpus's own pairs (question forms, recitations)
    pairs = with_corpus_pairs(documents, load_instructions(data.kit) if data.kit else [],
                              question_forms=recipe.question_forms, recitations=recipe.recitations).pairs
    pair_tokens = tokens_per_char * sum(len(p.question) + len(p.output) + 80 for p in pairs)  # + template
    dp_tokens = tokens_per_char * sum(len(d.text) for d in documents) * copies
    dp_tokens += pair_tokens * recipe.instruction_repeats if recipe.instruction_repeats else 0
    step = _train_step_seconds(lm) * TRAINER_OVERHEAD
    epochs = budgeted_epochs(recipe.dp_epochs, dp_tokens, recipe.dp_token_budget)
    seconds = {"DP (at most)": dp_tokens * epochs / (BLOCK * BATCH) * step}
    if recipe.kit_epochs:
        seconds["KIT"] = len(pairs) * recipe.kit_epochs / BATCH * step * (pair_tokens / max(1, len(pairs))) / BLOCK
    # The untrained model writes to the token limit; once KIT has trained, it stops after about
    # the length of a KIT answer, and a batch lasts as long as its longest text.
    answer_tokens = tokens_per_char * sum(len(p.output) for p in pairs) / max(1, len(pairs))
    per_text = _generation_seconds(lm, data.dev) * min(1.0, 2 * answer_tokens / lm.config.generation.max_new_tokens)
    if bpo:
        dev = load_mcq(data.dev)[: recipe.bpo_dev_questions]
        passes = recipe.bpo_budget + 2 + EXTRA_DEV_PASSES  # candidates, baselines, the guard
        seconds["BPO (at most)"] = passes * sum(len(option_views(q.with_options_text())) for q in dev) * per_text
    if data.test is not None:
        test = load_mcq(data.test)[: recipe.test_questions]
        seconds["evaluation"] = sum(len(option_views(q.with_options_text())) for q in test) * per_text
    return Estimate(seconds)


def _train_step_seconds(lm: object) -> float:
    """One optimizer step of a DP batch (8 x 256 tokens), timed after a warm-up step."""
    import torch

    model = lm.model  # type: ignore[attr-defined]
    model.train()
    ids = torch.randint(0, model.config.vocab_size, (BATCH, BLOCK), device=model.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        timings.append(time.perf_counter() - started)
    model.eval()
    return timings[-1]


def _generation_seconds(lm: object, questions: Path) -> float:
    """Seconds per knowledge text, from one batch of 32 texts as generation batches them (dev
    questions and their one-option views)."""
    texts = [view for q in load_mcq(questions)[:8] for view in option_views(q.with_options_text())][:32]
    started = time.perf_counter()
    lm.generate_knowledge(texts, option_knowledge=False, batch_size=32)  # type: ignore[attr-defined]
    return (time.perf_counter() - started) / max(1, len(texts))
