"""BPO's black-box objective: a soft prompt's accuracy when the LLM answers the dev set with its knowledge.

Per candidate: z -> soft prompt (fixed random projection) -> knowledge for every dev question, in
batched generate calls -> the LLM answers every question, calls in flight concurrently -> accuracy,
the per-question correctness vector and the ids of questions whose call failed.

Several candidates are evaluated as a pipeline: while the LLM answers candidate i, the domain LM
already writes candidate i+1's knowledge. Generating across candidates in one batch is not possible
(`DomainLM` holds one soft prompt per view, and its lock serializes generate calls anyway), and with a
remote LLM the network, not the small LM, is the slow part, so overlapping the two is the gain.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import torch
from langchain_core.language_models import BaseChatModel

from blade_core.data.records import MCQuestion
from blade_core.errors import LLMError
from blade_core.llm.scoring import (
    ScoredAnswer,
    accuracy,
    ask_with_knowledge,
    require_answers,
    unreadable_replies,
)
from blade_core.model.soft_prompt import RandomProjection, SoftPrompt
from blade_core.writers.domain_lm import DomainLM

RESUME_ADVICE = "fix the endpoint and re-run with --resume: finished evaluations are kept"


@dataclass(frozen=True)
class Outcome:
    """What the optimizer and the trace need from one evaluation."""

    score: float
    correct: list[bool | None]
    failed: list[str]
    answers: list[ScoredAnswer]


def summarize(answers: Sequence[ScoredAnswer]) -> Outcome:
    """Accuracy over the answered questions; failed calls are set apart, not counted as wrong.

    A transient failure says nothing about the soft prompt, so it must not lower its score; an
    evaluation the LLM answered not at all stops the run (`LLMError`), which can resume.
    """
    require_answers(answers, then=RESUME_ADVICE)
    unreadable = unreadable_replies(answers)
    if unreadable is not None:  # every candidate would score 0: the budget would buy nothing
        raise LLMError(f"{unreadable}; nothing was saved")
    failed = [a.id for a in answers if a.error is not None]
    correct = [None if a.error is not None else a.correct for a in answers]
    return Outcome(accuracy(answers), correct, failed, list(answers))


class DevObjective:
    """Scores soft prompts (or candidate z's) by the LLM's dev accuracy with the knowledge they yield."""

    def __init__(
        self,
        lm: DomainLM,
        projection: RandomProjection,
        questions: Sequence[MCQuestion],
        llm: BaseChatModel,
        *,
        max_new_tokens: int | None = None,
        generation_batch_size: int = 32,
        max_concurrency: int = 8,
    ) -> None:
        self.lm = lm
        self.projection = projection
        self.questions = list(questions)
        self.llm = llm
        self.max_new_tokens = max_new_tokens
        self.generation_batch_size = generation_batch_size
        self.max_concurrency = max_concurrency
        self.inputs = [q.with_options_text() for q in self.questions]
        """The dev questions as the domain LM reads them (with their options)."""

    def knowledge(self, soft_prompt: SoftPrompt | None) -> list[str]:
        view = self.lm.with_soft_prompt(soft_prompt)
        return view.generate_knowledge(
            self.inputs, batch_size=self.generation_batch_size, max_new_tokens=self.max_new_tokens
        )

    def ask(self, knowledge: Sequence[str]) -> Outcome:
        answers = ask_with_knowledge(self.llm, self.questions, knowledge, max_concurrency=self.max_concurrency)
        return summarize(answers)

    def evaluate_prompts(self, prompts: Iterable[SoftPrompt | None]) -> Generator[Outcome, None, None]:
        """Outcomes in order; candidate i+1's knowledge is generated while the LLM answers candidate i.

        Closing the generator early waits for the call in flight, so nothing runs on after it.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bpo-llm") as pool:
            in_flight: Future[Outcome] | None = None
            for prompt in prompts:
                submitted = pool.submit(self.ask, self.knowledge(prompt))
                if in_flight is not None:
                    yield in_flight.result()
                in_flight = submitted
            if in_flight is not None:
                yield in_flight.result()

    def evaluate(self, zs: Iterable[Sequence[float]]) -> Generator[Outcome, None, None]:
        """`evaluate_prompts` for points z in [-1, 1]^d, through the fixed projection."""
        return self.evaluate_prompts(self.projection(torch.tensor(z, dtype=torch.float32)) for z in zs)
