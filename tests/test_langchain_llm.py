"""BladeLLM: the domain LM behind LangChain's LLM interface, with real generation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.load import dumps, loads
from langchain_core.prompts import PromptTemplate

from blade_core.writers.domain_lm import DomainLM
from langchain_blade import BladeLLM
from langchain_blade.llms import _stop_stream

Q1 = "What is Zorvanil indicated for?"
Q2 = "Who must not take Brantovex?"
MAX = 16


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(tiny_lm_dir)


@pytest.fixture
def llm(lm: DomainLM) -> BladeLLM:
    return BladeLLM(model=lm, max_new_tokens=MAX)


def expected(lm: DomainLM, question: str) -> str:
    return lm.generate_knowledge([question], max_new_tokens=MAX)[0]


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.llm_ends = 0

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.llm_ends += 1


class AsyncTokens(AsyncCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_invoke_is_the_knowledge(llm: BladeLLM, lm: DomainLM) -> None:
    assert llm.invoke(Q1) == expected(lm, Q1)
    assert llm.invoke(Q1, max_new_tokens=3) == lm.generate_knowledge([Q1], max_new_tokens=3)[0]


def test_batch_is_one_generate_call(llm: BladeLLM, lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    original = lm.generate_knowledge

    def spy(questions: list[str], **kwargs: Any) -> list[str]:
        calls.append(list(questions))
        return original(questions, **kwargs)

    monkeypatch.setattr(lm, "generate_knowledge", spy)
    assert llm.batch([Q1, Q2]) == [expected(lm, Q1), expected(lm, Q2)]
    assert calls[0] == [Q1, Q2]


def test_stream_reports_tokens_to_callbacks(llm: BladeLLM, lm: DomainLM) -> None:
    handler = Tokens()
    chunks = list(llm.stream(Q1, {"callbacks": [handler]}))
    assert len(chunks) > 1 and "".join(chunks) == expected(lm, Q1)
    assert handler.tokens == chunks and handler.llm_ends == 1


async def test_async_variants(llm: BladeLLM, lm: DomainLM) -> None:
    handler = AsyncTokens()
    chunks = [c async for c in llm.astream(Q1, {"callbacks": [handler]})]
    assert "".join(chunks) == expected(lm, Q1) and handler.tokens == chunks
    assert await llm.ainvoke(Q1) == expected(lm, Q1)
    assert await llm.abatch([Q1, Q2]) == [expected(lm, Q1), expected(lm, Q2)]
    assert await asyncio.gather(llm.ainvoke(Q2), llm.ainvoke(Q1)) == [expected(lm, Q2), expected(lm, Q1)]


def test_in_a_prompt_chain(llm: BladeLLM, lm: DomainLM) -> None:
    chain = PromptTemplate.from_template("What is {drug} indicated for?") | llm
    assert chain.invoke({"drug": "Zorvanil"}) == expected(lm, Q1)


def test_stop_sequences(llm: BladeLLM, lm: DomainLM) -> None:
    full = expected(lm, Q1)
    word = full.split()[2]
    cut = full[: full.index(word)]
    assert llm.invoke(Q1, stop=[word]) == cut
    assert "".join(llm.stream(Q1, stop=[word])) == cut
    # generation itself stops at the stop string: the text ends with it, nothing generated after
    written = lm.generate_knowledge([Q1], max_new_tokens=MAX, stop=[word], option_knowledge=False)[0]
    assert written.startswith(cut) and written.endswith(word)
    assert "".join(lm.stream_knowledge(Q1, max_new_tokens=MAX, stop=[word], option_knowledge=False)) == written
    assert "".join(_stop_stream(iter(["ab", "cX", "Yd"]), ["XY"])) == "abc"
    assert list(_stop_stream(iter(["ab", "cd"]), ["zz"])) == ["a", "bc", "d"]


def test_serialization_round_trip(tiny_lm_dir: Path, lm: DomainLM) -> None:
    llm = BladeLLM.from_pretrained(tiny_lm_dir, max_new_tokens=MAX)
    revived = loads(dumps(llm), allowed_objects=[BladeLLM], valid_namespaces=["langchain_blade"])
    assert revived.invoke(Q1) == expected(lm, Q1)
