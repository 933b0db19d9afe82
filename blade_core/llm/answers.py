"""What counts as an answer from the general LLM: text with content, or a failed call.

An endpoint that answers 200 with empty content (a wrong model name behind a proxy, a content
filter, a token limit of 0) has not answered. Scored as a reply, it would be a wrong answer; kept by
a data generator, it would mark the item done with nothing written, so a re-run on a working
endpoint never asks it again. Every component that asks the LLM for text goes through
`answer_chain`: an empty reply raises `EmptyAnswerError`, is asked again, and is never cached
(`accounting.AnswerCache` stores no blank answer), so a retry really reaches the endpoint.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import Generation
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from blade_core.errors import LLMError

NO_CONTENT = "the LLM returned no content"
EMPTY_ANSWER_ATTEMPTS = 3
"""An empty reply is asked this many times in all before the call counts as failed."""
_CHECK_PROMPT = "Reply with the single word OK."


class EmptyAnswerError(LLMError):
    """The LLM answered, but with no content."""

    def __init__(self) -> None:
        super().__init__(NO_CONTENT)


class AnswerText(StrOutputParser):
    """The reply's text, refusing an empty or blank one (`EmptyAnswerError`)."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        text = super().parse_result(result, partial=partial)
        if not partial and not str(text).strip():
            raise EmptyAnswerError()
        return text


def answer_chain(model: BaseChatModel) -> Runnable[LanguageModelInput, str]:
    """`model | AnswerText()`, asking again (at once) when the reply is empty; transport errors are
    the client's to retry (`client_options.MAX_RETRIES`).

    Not `Runnable.with_retry`: its batch raises the first error of a batch for every input when
    that error is not one it retries, so one failed call would fail its whole chunk.
    """
    chain = model | AnswerText()

    def ask(prompt: LanguageModelInput, config: RunnableConfig) -> str:
        for attempt in range(1, EMPTY_ANSWER_ATTEMPTS + 1):
            try:
                return chain.invoke(prompt, config)
            except EmptyAnswerError:
                if attempt == EMPTY_ANSWER_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def aask(prompt: LanguageModelInput, config: RunnableConfig) -> str:
        for attempt in range(1, EMPTY_ANSWER_ATTEMPTS + 1):
            try:
                return await chain.ainvoke(prompt, config)
            except EmptyAnswerError:
                if attempt == EMPTY_ANSWER_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    return RunnableLambda(ask, afunc=aask, name="answer")


def describe_failure(error: BaseException) -> str:
    """A failed call in one line for reports and progress files, secrets masked."""
    from blade_core.llm.resolve import mask_secrets

    why = str(error) if isinstance(error, EmptyAnswerError) else f"{type(error).__name__}: {error}"
    return mask_secrets(" ".join(why.split()))


def check_llm_answers(model: BaseChatModel, *, before: str) -> None:
    """One short call, made before anything is removed (`before` says what would be): an endpoint
    that is down or answers nothing is found while every earlier output is still there."""
    try:
        answer_chain(model).invoke(_CHECK_PROMPT)
    except Exception as error:  # noqa: BLE001 - whatever the client raised, it is reported in one line
        raise LLMError(
            f"the LLM did not answer a test call ({describe_failure(error)[:300]}); nothing "
            f"was changed ({before} is kept): fix the endpoint and run the same command again"
        ) from None
