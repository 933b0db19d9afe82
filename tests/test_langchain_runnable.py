"""BladeKnowledgeRunnable with the tiny domain LM, in chains with ChatOpenAI over real local HTTP."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import ChatPromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import ConfigurableField, RunnableLambda, RunnablePassthrough
from langchain_core.runnables.utils import AddableDict
from langchain_openai import ChatOpenAI

from blade_core.knowledge.consistency import combine_samples
from blade_core.llm import OfflineChatModel
from blade_core.llm.answer_prompt import KNOWLEDGE_OPEN, NO_KNOWLEDGE
from blade_core.retrieval import load_minilm
from blade_core.serve import OpenAICompatibleServer
from blade_core.writers.domain_lm import DomainLM
from langchain_blade import SERIALIZABLE_MAPPING, BladeKnowledgeRunnable, BladePromptValue
from tests.async_support import LoopWatch
from tests.local_llm_support import bypass_proxies

Q1 = "What is Zorvanil indicated for?"
Q2 = "What colour are Quelmora tablets?"
Q3 = "Who must not take Brantovex?"
MAX = 16  # new tokens per knowledge text: enough to be real text, short enough to be quick
CUSTOM = ChatPromptTemplate.from_messages(
    [("system", "Use the notes."), ("human", "Notes: {knowledge}\nQ: {question}")]
)


@pytest.fixture(scope="module")
def lm(tiny_lm_dir: Path) -> DomainLM:
    return DomainLM.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    load_minilm()
    with OpenAICompatibleServer(OfflineChatModel()) as running:
        yield running


@pytest.fixture
def chat(server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch) -> ChatOpenAI:
    bypass_proxies(monkeypatch)
    # A fresh async HTTP client per test: langchain-openai caches its default one per process,
    # and its pooled connections belong to the event loop of the test that opened them.
    return ChatOpenAI(
        base_url=server.base_url, api_key="test", model="offline", max_retries=0, timeout=30,
        http_async_client=httpx.AsyncClient(timeout=30),
    )


def blade(lm: DomainLM, **fields: Any) -> BladeKnowledgeRunnable:
    return BladeKnowledgeRunnable(model=lm, **{"max_new_tokens": MAX, **fields})


def expected(lm: DomainLM, *questions: str) -> list[str]:
    return [lm.generate_knowledge([q], max_new_tokens=MAX)[0] for q in questions]


class Calls:
    """Records every generate_knowledge call made on one DomainLM instance."""

    def __init__(self, lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[list[str], dict[str, Any]]] = []
        original = lm.generate_knowledge

        def spy(questions: list[str], **kwargs: Any) -> list[str]:
            self.calls.append((list(questions), kwargs))
            return original(questions, **kwargs)

        monkeypatch.setattr(lm, "generate_knowledge", spy)


class Runs(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts: list[tuple[str, list[str], dict[str, Any]]] = []
        self.ends: dict[Any, Any] = {}
        self.names: dict[Any, str] = {}

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.names[run_id] = kwargs["name"]
        self.starts.append((kwargs["name"], kwargs.get("tags") or [], kwargs.get("metadata") or {}))

    def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
        self.ends[self.names[run_id]] = outputs


# --- prompt mode, end to end with ChatOpenAI over HTTP ----------------------------------------


def test_prompt_mode_holds_the_knowledge_in_the_answer_template(lm: DomainLM) -> None:
    value = blade(lm).invoke(Q1)
    knowledge = expected(lm, Q1)[0]
    assert knowledge and isinstance(value, ChatPromptValue) and isinstance(value, BladePromptValue)
    assert value.knowledge == knowledge
    system, human = value.to_messages()
    assert KNOWLEDGE_OPEN in system.text and f"{KNOWLEDGE_OPEN}\n{knowledge}\n" in human.text
    assert Q1 in human.text


def test_chain_invoke_and_batch_over_http(lm: DomainLM, chat: ChatOpenAI, server: Any) -> None:
    chain = blade(lm) | chat
    served = server.requests_served
    single = [chain.invoke(q) for q in (Q1, Q2)]
    assert all(isinstance(m, AIMessage) and m.text for m in single)
    assert server.requests_served == served + 2
    assert [m.text for m in chain.batch([Q1, Q2])] == [m.text for m in single]


async def test_chain_stream_and_astream(lm: DomainLM, chat: ChatOpenAI) -> None:
    chain = blade(lm) | chat
    whole = chain.invoke(Q1).text
    chunks = list(chain.stream(Q1))
    assert chunks and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert "".join(c.text for c in chunks) == whole
    assert "".join([c.text async for c in chain.astream(Q1)]) == whole
    assert (await chain.ainvoke(Q1)).text == whole


async def test_astream_events_show_the_knowledge_run(lm: DomainLM, chat: ChatOpenAI) -> None:
    chain = blade(lm) | chat
    events = [e async for e in chain.astream_events(Q1, version="v2")]
    kinds = {(e["event"], e["name"]) for e in events}
    assert ("on_chain_start", "BladeKnowledgeRunnable") in kinds
    assert ("on_chain_end", "BladeKnowledgeRunnable") in kinds
    end = next(e for e in events if e["event"] == "on_chain_end" and e["name"] == "BladeKnowledgeRunnable")
    assert end["data"]["output"].knowledge == expected(lm, Q1)[0]
    streamed = [e for e in events if e["event"] == "on_chat_model_stream"]
    assert streamed and "".join(e["data"]["chunk"].text for e in streamed)


def test_custom_prompt_and_extra_variables(lm: DomainLM) -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "[{topic}] {knowledge} | {question}")])
    value = blade(lm, prompt=prompt, question_key="query").invoke({"query": Q1, "topic": "pharma"})
    assert value.to_messages()[0].text == f"[pharma] {expected(lm, Q1)[0]} | {Q1}"
    with pytest.raises(ValueError, match="knowledge"):
        blade(lm, prompt=ChatPromptTemplate.from_messages([("human", "{question}")]))


def test_empty_knowledge_shows_the_placeholder(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm, "generate_knowledge", lambda questions, **_: [""] * len(questions))
    value = blade(lm).invoke(Q1)
    assert value.knowledge == "" and NO_KNOWLEDGE in value.to_messages()[1].text


# --- dict and str modes -------------------------------------------------------------------------


def test_dict_mode_inside_assign(lm: DomainLM, chat: ChatOpenAI) -> None:
    knowledge = expected(lm, Q1)[0]
    answer = blade(lm, output="dict") | CUSTOM | chat | StrOutputParser()
    chain = RunnablePassthrough.assign(answer=answer)
    result = chain.invoke({"question": Q1, "id": 7})
    assert set(result) == {"question", "id", "answer"} and result["answer"]
    assert blade(lm, output="dict").invoke({"question": Q1, "id": 7}) == {
        "question": Q1, "id": 7, "knowledge": knowledge,
    }
    streamed = list(chain.stream({"question": Q1, "id": 7}))
    assert "".join(c.get("answer", "") for c in streamed) == result["answer"]


def test_dict_mode_streams_addable_chunks(lm: DomainLM) -> None:
    chunks = list(blade(lm, output="dict").stream({"question": Q1, "id": 7}))
    assert all(isinstance(c, AddableDict) for c in chunks) and len(chunks) > 2
    assert chunks[0] == {"question": Q1, "id": 7, "knowledge": ""}
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total == {"question": Q1, "id": 7, "knowledge": expected(lm, Q1)[0]}


def test_str_mode_inside_assign_and_streaming(lm: DomainLM, chat: ChatOpenAI) -> None:
    knowledge = expected(lm, Q1)[0]
    runnable = blade(lm, output="str")
    assert runnable.invoke(Q1) == knowledge
    pieces = list(runnable.stream(Q1))
    assert len(pieces) > 1 and "".join(pieces) == knowledge
    chain = RunnablePassthrough.assign(knowledge=runnable) | CUSTOM
    value = chain.invoke({"question": Q1})
    assert value.to_messages()[1].text == f"Notes: {knowledge}\nQ: {Q1}"
    assert (chain | chat).invoke({"question": Q1}).text


async def test_async_str_stream_matches_invoke(lm: DomainLM) -> None:
    runnable = blade(lm, output="str")
    pieces = [p async for p in runnable.astream(Q2)]
    assert len(pieces) > 1 and "".join(pieces) == await runnable.ainvoke(Q2) == expected(lm, Q2)[0]


# --- callbacks, configuration, serialization -----------------------------------------------------


def test_callbacks_see_the_knowledge_run(lm: DomainLM, chat: ChatOpenAI) -> None:
    runs = Runs()
    chain = blade(lm).with_config(run_name="knowledge") | chat
    chain.invoke(Q1, {"callbacks": [runs], "tags": ["t1"], "metadata": {"user": "u"}})
    _name, tags, metadata = next(s for s in runs.starts if s[0] == "knowledge")
    assert "t1" in tags and metadata["user"] == "u"
    assert runs.ends["knowledge"].knowledge == expected(lm, Q1)[0]


def test_configurable_generation_fields(lm: DomainLM) -> None:
    runnable = blade(lm, output="str").configurable_fields(
        max_new_tokens=ConfigurableField(id="max_new_tokens"),
        n_samples=ConfigurableField(id="n_samples"),
    )
    short = runnable.with_config(configurable={"max_new_tokens": 3}).invoke(Q1)
    assert short == lm.generate_knowledge([Q1], max_new_tokens=3)[0] != expected(lm, Q1)[0]
    assert {s.id for s in runnable.config_specs} == {"max_new_tokens", "n_samples"}


def test_serialization_round_trip_of_a_chain(lm: DomainLM, tiny_lm_dir: Path, chat: ChatOpenAI) -> None:
    chain = BladeKnowledgeRunnable.from_pretrained(tiny_lm_dir, max_new_tokens=MAX) | chat
    text = dumps(chain)
    assert "model.safetensors" not in text and str(tiny_lm_dir) in text
    revived = loads(
        text,
        allowed_objects="all",
        valid_namespaces=["langchain_blade"],
        additional_import_mappings=SERIALIZABLE_MAPPING,
        secrets_map={"OPENAI_API_KEY": "test"},
    )
    assert isinstance(revived.first, BladeKnowledgeRunnable) and revived.first.model is not chain.first.model
    assert revived.first.invoke(Q1) == chain.first.invoke(Q1)
    assert revived.invoke(Q1).text == chain.invoke(Q1).text


def test_serialization_with_an_explicit_allow_list(tiny_lm_dir: Path) -> None:
    runnable = BladeKnowledgeRunnable.from_pretrained(
        tiny_lm_dir, output="str", max_new_tokens=MAX, question_key="q"
    )
    revived = loads(
        dumps(runnable), allowed_objects=[BladeKnowledgeRunnable], valid_namespaces=["langchain_blade"]
    )
    assert revived.question_key == "q" and revived.invoke({"q": Q3}) == runnable.invoke({"q": Q3})


# --- batching, concurrency ---------------------------------------------------------------------------


def test_batch_is_one_generate_call(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(lm, monkeypatch).calls
    runnable = blade(lm, output="str")
    result = runnable.batch([Q1, Q2, {"question": Q3}], {"max_concurrency": 2})
    assert len(calls) == 1 and calls[0][0] == [Q1, Q2, Q3] and calls[0][1]["batch_size"] == 2
    assert result == expected(lm, Q1, Q2, Q3)


def test_batch_keeps_bad_items_apart(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(lm, monkeypatch).calls
    result = blade(lm, output="str").batch([Q1, "", Q2], return_exceptions=True)
    assert len(calls) == 1 and calls[0][0] == [Q1, Q2]
    assert isinstance(result[1], ValueError) and [result[0], result[2]] == expected(lm, Q1, Q2)
    with pytest.raises(ValueError, match="empty"):
        blade(lm).batch([Q1, ""])


async def test_abatch_is_one_call_and_leaves_the_loop_free(
    lm: DomainLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = Calls(lm, monkeypatch).calls
    watch = LoopWatch(lm, monkeypatch)
    beat = asyncio.create_task(watch.heartbeat())
    result = await blade(lm, output="str", max_new_tokens=48).abatch([Q1, Q2, Q3])
    beat.cancel()
    assert len(calls) == 1 and len(result) == 3
    assert watch.loop_ran.is_set()  # the loop kept running while the model generated


def test_16_threads_share_one_runnable(lm: DomainLM) -> None:
    runnable = blade(lm, output="str")
    questions = [Q1, Q2, Q3] * 6
    single = dict(zip(questions, expected(lm, *questions)))  # greedy: one call per question
    results: dict[int, list[str]] = {}
    start = threading.Barrier(16)

    def work(thread: int) -> None:
        start.wait()  # all 16 call at once
        results[thread] = [runnable.invoke(q) for q in questions[thread : thread + 3]]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: [single[q] for q in questions[i : i + 3]] for i in range(16)}


async def test_200_tasks_share_one_runnable(lm: DomainLM) -> None:
    runnable = blade(lm, output="str", max_new_tokens=4)
    questions = [Q1, Q2, Q3, f"{Q1} And its dose?"] * 50
    single = {q: lm.generate_knowledge([q], max_new_tokens=4)[0] for q in set(questions)}
    results = await asyncio.gather(*(runnable.ainvoke(q) for q in questions))
    assert results == [single[q] for q in questions]


def test_callers_beyond_max_pending_wait_for_a_place(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    runnable = blade(lm, output="str", max_new_tokens=4, max_pending=2)
    single = lm.generate_knowledge([Q1], max_new_tokens=4)[0]
    generate, stream = lm.generate_knowledge, lm.stream_knowledge
    state = {"inside": 0, "peak": 0}
    lock = threading.Lock()

    def enter() -> None:
        with lock:
            state["inside"] += 1
            state["peak"] = max(state["peak"], state["inside"])
        time.sleep(0.02)  # hold the place long enough for the other callers to queue

    def leave() -> None:
        with lock:
            state["inside"] -= 1

    def counted_generate(questions: list[str], **kwargs: Any) -> list[str]:
        enter()
        try:
            return generate(questions, **kwargs)
        finally:
            leave()

    def counted_stream(question: str, **kwargs: Any) -> Iterator[str]:
        enter()
        try:
            yield from stream(question, **kwargs)
        finally:
            leave()

    monkeypatch.setattr(lm, "generate_knowledge", counted_generate)
    monkeypatch.setattr(lm, "stream_knowledge", counted_stream)
    start = threading.Barrier(16)
    results: dict[int, str] = {}

    def work(thread: int) -> None:
        start.wait()  # all 16 call at once, half invoking, half streaming
        results[thread] = runnable.invoke(Q1) if thread % 2 else "".join(runnable.stream(Q1))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == dict.fromkeys(range(16), single)
    assert state["peak"] == 2, "more calls were let into generation than max_pending allows"


def test_memory_is_flat_over_many_calls(lm: DomainLM) -> None:
    """A leak holds something per call; live objects must not grow with calls (benchmarks/
    runnable_memory.py runs 10 000 calls and prints the process's RSS)."""
    runnable = blade(lm, output="str", max_new_tokens=1)
    for _ in range(50):  # warm-up: lazy imports, caches that fill once
        runnable.invoke(Q1)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(400):
        runnable.invoke(Q1)
    gc.collect()
    assert len(gc.get_objects()) - before < 40, "live objects grew with the number of calls"


# --- self-consistency ----------------------------------------------------------------------------------


def test_samples_come_from_one_call_and_combine(lm: DomainLM, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = Calls(lm, monkeypatch).calls
    runnable = blade(lm, output="str", n_samples=3, sample_mode="vote")
    runnable.batch([Q1, Q2])
    questions, kwargs = calls[0]
    assert len(calls) == 1 and questions == [Q1] * 3 + [Q2] * 3 and kwargs["temperature"] > 0
    with pytest.raises(ValueError, match="temperature"):
        blade(lm, n_samples=2, temperature=0.0)


def test_vote_keeps_majority_sentences_and_join_keeps_all() -> None:
    samples = [
        "Zorvanil treats marsh fever. It is blue.",
        "Zorvanil treats marsh fever.  The dose is 40 mg.",
        "zorvanil treats marsh fever! The dose is 40 mg. It is red.",
    ]
    assert combine_samples(samples, "vote") == "Zorvanil treats marsh fever. The dose is 40 mg."
    assert combine_samples(["A b.", "C d.", "C d. A b."], "vote") == "A b. C d."
    no_majority = ["One. Two.", "Two. Three.", "Four.", "Five."]
    assert combine_samples(no_majority, "vote") == "One. Two."  # the medoid
    assert combine_samples(["x.", "", "x.", "y."], "join") == "x.\n\ny."


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "error"),
    [("", ValueError), ("   ", ValueError), ({"query": Q1}, ValueError), ({"question": 3}, TypeError),
     (42, TypeError)],
)
async def test_bad_input_raises_through_langchain(lm: DomainLM, bad: Any, error: type) -> None:
    runnable = blade(lm)
    runs = Runs()
    with pytest.raises(error):
        runnable.invoke(bad, {"callbacks": [runs]})
    assert "BladeKnowledgeRunnable" not in runs.ends  # the run ended in error, not with output
    with pytest.raises(error):
        await runnable.ainvoke(bad)
    with pytest.raises(error):
        list(runnable.stream(bad))


def test_with_fallbacks_catches_bad_input(lm: DomainLM) -> None:
    fallback = RunnableLambda(lambda _: "no question, no knowledge")
    guarded = blade(lm, output="str").with_fallbacks([fallback])
    assert guarded.invoke("") == "no question, no knowledge"
    assert guarded.invoke(Q1) == expected(lm, Q1)[0]


def test_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="model_path"):
        BladeKnowledgeRunnable()


def test_a_caller_waits_for_a_place_no_longer_than_pending_timeout(lm: DomainLM) -> None:
    runnable = blade(lm, output="str", max_new_tokens=4, max_pending=1, pending_timeout=0.3)
    holding = runnable.stream(Q1)
    next(holding)  # a stream being read holds the only place
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"waited 0.3 s for a place in generation: 1 calls \(max_pending\)"):
        runnable.invoke(Q1)
    assert 0.3 <= time.perf_counter() - started < 2
    "".join(holding)  # the stream ends and gives its place back
    assert runnable.invoke(Q1) == lm.generate_knowledge([Q1], max_new_tokens=4)[0]


def test_a_bad_field_is_one_line_as_the_cli_says_it(tmp_path: Path) -> None:
    """A wrong path or a nonsense setting: blade's own one-line error, not pydantic's report."""
    from blade_core.errors import OptionError
    from blade_core.model.checks import ModelDirectoryError

    with pytest.raises(ModelDirectoryError, match=r"^\S*nowhere: no such model directory; check the path"):
        BladeKnowledgeRunnable(model_path=str(tmp_path / "nowhere"))
    with pytest.raises(OptionError, match=r"^temperature: input should be greater than or equal to 0, got -1$"):
        BladeKnowledgeRunnable(model_path=str(tmp_path / "nowhere"), temperature=-1)
