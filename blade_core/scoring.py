"""Ask the general LLM multiple-choice questions with knowledge, and score its answers.

This is the one place where BLADE meets the black box: BPO's objective, `blade eval` and the
quickstart all call `ask_with_knowledge`, so every mode is scored with the same prompt, the same
concurrency and the same answer parsing.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from pydantic import BaseModel

from blade_core.data.records import MCQuestion
from blade_core.llm.resolve import mask_secrets
from blade_core.prompts import answer_prompt, format_mcq, knowledge_or_placeholder, parse_answer


class ScoredAnswer(BaseModel):
    """One question's outcome; `error` is set when the LLM call failed after its retries."""

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

    A call that still fails after the model's own retries is recorded with its error (secrets
    masked, and counted wrong), never raised: one bad call must not throw away a whole evaluation.
    """
    if len(questions) != len(knowledge):
        raise ValueError(f"{len(questions)} questions but {len(knowledge)} knowledge texts")
    chain = answer_prompt() | llm | StrOutputParser()
    inputs = [
        {"knowledge": knowledge_or_placeholder(k), "question": format_mcq(q)}
        for q, k in zip(questions, knowledge)
    ]
    replies = chain.batch(inputs, config={"max_concurrency": max_concurrency}, return_exceptions=True)
    scored = []
    for question, known, reply in zip(questions, knowledge, replies):
        failed = isinstance(reply, BaseException)
        predicted = set() if failed else parse_answer(reply, question.letters)
        scored.append(
            ScoredAnswer(
                id=question.id,
                knowledge=known,
                reply=None if failed else reply,
                predicted=sorted(predicted),
                gold=list(question.answer),
                correct=predicted == set(question.answer),
                error=mask_secrets(f"{type(reply).__name__}: {reply}") if failed else None,
            )
        )
    return scored


def accuracy(scored: Sequence[ScoredAnswer]) -> float:
    return sum(s.correct for s in scored) / len(scored) if scored else 0.0
