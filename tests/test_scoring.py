"""Scoring: the LLM answers sample-domain questions with knowledge; failures are recorded, not raised."""

from __future__ import annotations

import socket

import pytest
from langchain_openai import ChatOpenAI

from blade_core.data import load_mcq
from blade_core.llm import resolve_llm
from blade_core.llm.scoring import accuracy, ask_with_knowledge
from blade_core.sample_domain import load_sample_domain


@pytest.fixture(scope="module")
def dev():
    return load_mcq(load_sample_domain().dev)


def test_gold_knowledge_lifts_the_offline_llm_far_above_none(dev) -> None:
    llm = resolve_llm("offline")
    gold = ask_with_knowledge(llm, dev, [q.knowledge for q in dev])
    none = ask_with_knowledge(llm, dev, [None] * len(dev))
    assert accuracy(gold) >= 0.9
    assert accuracy(none) <= 0.45
    multi = [s for s, q in zip(gold, dev) if q.multi]
    assert multi and all(len(s.predicted) >= 2 for s in multi)


def test_a_failing_llm_is_recorded_per_question(dev) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = ChatOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="test", model="x", max_retries=0, timeout=2)
    scored = ask_with_knowledge(dead, dev[:3], [None] * 3)
    assert [s.correct for s in scored] == [False] * 3
    assert all(s.error and "Connection" in s.error and s.reply is None for s in scored)


def test_mismatched_lengths_are_refused(dev) -> None:
    with pytest.raises(ValueError, match="2 questions but 1"):
        ask_with_knowledge(resolve_llm("offline"), dev[:2], [None])
