"""Ask the general LLM multiple-choice questions with knowledge, and score its answers.

This is the one place where BLADE meets the black box: BPO's objective, `blade eval` and the
quickstart all call `ask_with_knowledge`, so every mode is scored with the same prompt, the same
concurrency and the same answer parsing.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from blade_core.data.records import MCQuestion
from blade_core.errors import LLMError
from blade_core.llm.answer_prompt import answer_prompt, format_mcq, knowledge_or_placeholder, parse_answer
from blade_core.llm.answers import answer_chain, describe_failure


class ScoredAnswer(BaseModel):
    """One question's outcome; `error` is set when the LLM call failed after its retries or
    returned no content, and such a question is neither right nor wrong."""

    id: str
    knowledge: str | None
    reply: str | None
    predicted: list[str]
    gold: list[str]
    correct: bool
    error: str | None = None


def ask_with_knowledge(
    llm: BaseChatModel,
    questions: Sequence[MCQuestion],
    knowledge: Sequence[str | None],
    *,
    max_concurrency: int = 8,
) -> list[ScoredAnswer]:
    """Answer every question given its knowledge; calls run concurrently up to `max_concurrency`.

    A call that still fails after the model's own retries, or returns no content, is recorded
    with its error (secrets masked), never raised: one bad call must not throw away a whole
    evaluation. Callers leave such answers out of accuracy (`accuracy`) and stop when none was
    answered (`require_answers`).
    """
    if len(questions) != len(knowledge):
        raise ValueError(f"{len(questions)} questions but {len(knowledge)} knowledge texts")
    chain = answer_prompt() | answer_chain(llm)
    inputs = [
        {"knowledge": knowledge_or_placeholder(k), "question": format_mcq(q)}
        for q, k in zip(questions, knowledge)
    ]
    replies = chain.batch(inputs, config={"max_concurrency": max_concurrency}, return_exceptions=True)
    scored = []
    for question, known, reply in zip(questions, knowledge, replies):
        error = None
        if isinstance(reply, BaseException):  # an empty reply too, once asked again: not scored
            error = describe_failure(reply)
        predicted = set() if error else parse_answer(reply, question.letters)
        scored.append(
            ScoredAnswer(
                id=question.id,
                knowledge=known,
                reply=None if isinstance(reply, BaseException) else reply,
                predicted=sorted(predicted),
                gold=list(question.answer),
                correct=error is None and predicted == set(question.answer),
                error=error,
            )
        )
    return scored


def accuracy(scored: Sequence[ScoredAnswer]) -> float:
    """Accuracy over the questions the LLM answered; failed calls count neither way."""
    answered = [s for s in scored if s.error is None]
    return sum(s.correct for s in answered) / len(answered) if answered else 0.0


def require_answers(scored: Sequence[ScoredAnswer], *, then: str) -> None:
    """Raise `LLMError` when the LLM answered none of `scored`: a dead endpoint is no score.

    `then` says what the user can do next (how to re-run), as the command that called knows.
    """
    if scored and all(s.error is not None for s in scored):
        errors = sorted({s.error for s in scored if s.error})
        raise LLMError(f"all {len(scored)} LLM calls failed (e.g. {errors[0]}); {then}")


def unreadable_replies(scored: Sequence[ScoredAnswer]) -> str | None:
    """Why the answered replies cannot be scored at all, or None: when the LLM answered and not one
    reply names an option letter, the model is not following the answer prompt (a base model, a
    wrong model name), and every score would be 0 whatever the knowledge."""
    answered = [s for s in scored if s.error is None]
    if not answered or any(s.predicted for s in answered):
        return None
    example = (answered[0].reply or "").strip().replace("\n", " ")[:80]
    return (f"the LLM answered {len(answered)} questions but no reply names an option letter "
            f"(e.g. {example!r}); check that --llm is an instruction-following chat model")
