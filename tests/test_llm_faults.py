"""The black-box LLM failing on the wire: a fault-injecting OpenAI-compatible server on 127.0.0.1,
met by the real client (`ChatOpenAI`, resolved from an "openai:" spec with its retries and timeout).

Each fault is retried by the OpenAI SDK with backoff and the call succeeds; a 429 is retried after
its Retry-After; retries exhausted end in a clear error, recorded per question, never raised out of
an evaluation; a stream cut mid-way raises instead of returning a truncated answer. The BPO and
make-kit-data runs under these faults are in test_bpo.py and test_kit_data.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from blade_core.data.records import MCQuestion
from blade_core.llm import resolve_llm
from blade_core.llm.scoring import ask_with_knowledge
from tests.fault_server import Fault, FaultInjectingServer
from tests.local_llm_support import reach

TIMEOUT = 1.0  # the client's, in seconds; the server stalls longer
QUESTION = MCQuestion(id="q", question="Which?", options={"A": "x", "B": "y"}, answer="B")


@pytest.fixture(scope="module")
def server() -> Iterator[FaultInjectingServer]:
    with FaultInjectingServer(FakeListChatModel(responses=["B"]), stall=3 * TIMEOUT) as running:
        yield running


@pytest.fixture(autouse=True)
def endpoint(server: FaultInjectingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`openai:` specs reach the fault server; it starts each test with no fault pending."""
    reach(server, monkeypatch, "sk-test-faults")
    server.outage(None)


def calls_since(server: FaultInjectingServer, start: int) -> list[tuple[Fault | None, int]]:
    return [(request.fault, request.retry) for request in server.log[start:]]


@pytest.mark.parametrize("fault", ["timeout", "429", "500", "drop"])
def test_each_fault_is_retried_until_the_call_succeeds(server: FaultInjectingServer, fault: Fault) -> None:
    llm = resolve_llm("openai:offline", max_retries=2, timeout=TIMEOUT)
    start = len(server.log)
    server.inject(fault)

    assert llm.invoke("Which? A. x B. y").content == "B"
    assert calls_since(server, start) == [(fault, 0), (None, 1)]  # the SDK's retry, answered


def test_429_is_retried_after_its_retry_after(server: FaultInjectingServer) -> None:
    llm = resolve_llm("openai:offline", max_retries=1, timeout=TIMEOUT)
    start = len(server.log)
    server.inject("429")

    llm.invoke("Which?")

    limited, retried = server.log[start:]
    # the SDK's own first backoff is at most 0.5 s; the server asked for retry_after (1 s)
    assert retried.at - limited.at >= server.retry_after


def test_exhausted_retries_back_off_and_end_in_a_clear_error(server: FaultInjectingServer) -> None:
    llm = resolve_llm("openai:offline", max_retries=2, timeout=TIMEOUT)
    start = len(server.log)
    server.outage("500")

    with pytest.raises(Exception, match="500") as caught:
        llm.invoke("Which?")

    assert "injected fault: internal server error" in str(caught.value)
    attempts = server.log[start:]
    assert [(r.fault, r.retry) for r in attempts] == [("500", 0), ("500", 1), ("500", 2)]
    first_wait, second_wait = (b.at - a.at for a, b in itertools.pairwise(attempts))
    assert first_wait >= 0.375 and second_wait >= 0.75  # 0.5 s then 1 s, less at most 25% jitter


@pytest.mark.parametrize(("fault", "message"), [("500", "500"), ("timeout", "timed out")])
def test_a_failed_call_is_recorded_per_question_not_raised(
    server: FaultInjectingServer, fault: Fault, message: str
) -> None:
    llm = resolve_llm("openai:offline", max_retries=0, timeout=TIMEOUT)
    server.inject(fault)

    failed, answered = ask_with_knowledge(llm, [QUESTION, QUESTION], [None, None], max_concurrency=1)

    assert failed.error is not None and message in failed.error and not failed.correct
    assert answered.error is None and answered.correct


def test_a_stream_cut_mid_way_raises_rather_than_returning_part(server: FaultInjectingServer) -> None:
    llm = resolve_llm("openai:offline", max_retries=0, timeout=TIMEOUT)
    server.inject("drop")

    with pytest.raises(Exception, match="(?i)connection"):
        list(llm.stream("Which?"))
    assert "".join(str(chunk.content) for chunk in llm.stream("Which?")) == "B"
