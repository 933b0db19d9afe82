"""Do no harm, calibrated: the confidence below which the domain LM's knowledge is withheld.

A sentence's confidence (`blade_core.knowledge.confidence`) says how sure the small LM was of it, but what
probability is "too unsure" depends on the model, the domain and the LLM that reads the knowledge.
So it is measured where BPO measures everything, on the dev set with the black-box LLM: the
winning soft prompt writes its knowledge once, and the LLM answers the dev questions with the
sentences above each candidate threshold. Threshold 0 keeps every sentence (the knowledge BPO
scored), threshold 1 withholds all of it (the LLM alone); the candidates between are quantiles of
the confidences the model actually wrote. The lowest threshold whose dev accuracy is the best wins,
and only if it beats keeping everything by more than one question (one question is noise).

So on dev, blade with its guard scores at least as well as the LLM alone: a domain LM that stored
nothing is switched off rather than allowed to mislead. Answers are cached: threshold 0's calls are
the ones BPO already paid, and sentences every threshold keeps cost nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:  # the estimate imports this module before torch is needed
    from blade_core.bpo.objective import DevObjective
    from blade_core.model.soft_prompt import SoftPrompt

QUANTILES = (0.05, 0.1, 0.2, 0.3, 0.5)
"""Where between 0 and 1 the candidate thresholds sit in the written sentences' confidences."""
EXTRA_DEV_PASSES = len(QUANTILES) + 1
"""Dev passes the guard may pay for beyond BPO's (threshold 0's answers are BPO's own, cached)."""


class Guard(BaseModel):
    """The chosen threshold and the dev accuracy of every candidate (threshold -> accuracy)."""

    min_confidence: float
    dev_scores: dict[float, float]
    withheld: dict[float, float]
    """Share of the written sentences each threshold withholds."""

    def line(self) -> str:
        scores = ", ".join(f"{t:.3g}: {s:.3f} ({self.withheld[t]:.0%} withheld)" for t, s in self.dev_scores.items())
        return f"guard: min_confidence {self.min_confidence:.3g} (dev accuracy by threshold: {scores})"


def candidate_thresholds(confidences: Sequence[float]) -> list[float]:
    """0 (keep all), the confidences at `QUANTILES` (each withholds about that share), 1 (withhold all)."""
    ranked = sorted(confidences)
    inside = {ranked[min(len(ranked) - 1, int(q * len(ranked)))] for q in QUANTILES} if ranked else set()
    return sorted({0.0, 1.0} | {round(t, 6) for t in inside if 0.0 < t < 1.0})


def calibrate_guard(objective: DevObjective, prompt: SoftPrompt | None) -> Guard:
    """Score every candidate threshold on dev with `prompt`'s knowledge; choose as the module says."""
    lm = objective.lm.with_soft_prompt(prompt)
    written = lm.write_knowledge(objective.inputs, batch_size=objective.generation_batch_size,
                                 max_new_tokens=objective.max_new_tokens)
    confidences = [s.confidence for w in written for view in w.views for s in view.sentences]
    scores: dict[float, float] = {}
    withheld: dict[float, float] = {}
    for threshold in candidate_thresholds(confidences):
        scores[threshold] = objective.ask([w.render(threshold) for w in written]).score
        withheld[threshold] = sum(c <= threshold for c in confidences) / max(1, len(confidences))
    best = max(scores.values())
    chosen = min(t for t, s in scores.items() if s == best)
    if (best - scores[0.0]) * len(objective.questions) <= 1:
        chosen = 0.0
    return Guard(min_confidence=chosen, dev_scores=scores, withheld=withheld)
