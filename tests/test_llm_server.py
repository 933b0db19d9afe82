"""The OpenAI-compatible server, driven by the real OpenAI client (ChatOpenAI) over HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from blade_core.data.records import MCQuestion
from blade_core.llm import OfflineChatModel, OpenAICompatibleServer, load_minilm
from blade_core.prompts import answer_prompt, format_mcq
from tests.local_llm_support import bypass_proxies

CROPS = MCQuestion(
    id="crops",
    question="Which crops do Keth farmers grow?",
    options={"A": "Zorblax", "B": "Stonewheat", "C": "Mirefruit", "D": "Glassberries"},
    answer="AC",
)
KNOWLEDGE = (
    "Keth farmers grow zorblax and mirefruit on their terraces. Glassberries are imported from "
    "the coast of Ulm. Stonewheat is banned in Keth."
)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    model = OfflineChatModel()
    load_minilm()  # the few-second load happens once, here
    with OpenAICompatibleServer(model) as running:
        yield running


@pytest.fixture
def client(server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch) -> ChatOpenAI:
    bypass_proxies(monkeypatch)
    return ChatOpenAI(
        base_url=server.base_url, api_key="test-key", model="offline", max_retries=0, timeout=30
    )


def mcq_messages() -> list[BaseMessage]:
    value = answer_prompt().invoke({"knowledge": KNOWLEDGE, "question": format_mcq(CROPS)})
    return value.to_messages()


def post(
    server: OpenAICompatibleServer, body: bytes, path: str = "/chat/completions"
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.base_url + path, data=body, headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_binds_loopback(server: OpenAICompatibleServer) -> None:
    host, port = server.address
    assert host == "127.0.0.1" and port > 0
    assert server.base_url == f"http://127.0.0.1:{port}/v1"


def test_invoke_answers_like_the_model(client: ChatOpenAI, server: OpenAICompatibleServer) -> None:
    before = server.requests_served
    reply = client.invoke(mcq_messages())
    assert reply.content == "A, C"
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 2
    assert server.requests_served == before + 1


def test_batch(client: ChatOpenAI, server: OpenAICompatibleServer) -> None:
    before = server.requests_served
    context = "<context>Saradon is the capital of Ulm. Teverin is a port.</context>"
    prompts = [
        mcq_messages(),
        [
            SystemMessage("Answer from the context."),
            HumanMessage(f"{context} What is the capital of Ulm?"),
        ],
        "Hello?",
    ]
    replies = client.batch(prompts)
    expected = ["A, C", "Saradon is the capital of Ulm.", "I do not know."]
    assert [r.content for r in replies] == expected
    assert server.requests_served == before + 3


def test_stream_matches_invoke(client: ChatOpenAI) -> None:
    messages = mcq_messages()
    chunks = list(client.stream(messages))
    assert len(chunks) > 2
    assert "".join(str(c.content) for c in chunks) == client.invoke(messages).content


def test_stream_usage_chunk(client: ChatOpenAI) -> None:
    streaming = client.model_copy(update={"stream_usage": True})
    chunks = list(streaming.stream(mcq_messages()))
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 2


async def test_async_invoke_and_stream(client: ChatOpenAI) -> None:
    messages = mcq_messages()
    assert (await client.ainvoke(messages)).content == "A, C"
    chunks = [chunk async for chunk in client.astream(messages)]
    assert "".join(str(c.content) for c in chunks) == "A, C"


def test_list_of_parts_content(server: OpenAICompatibleServer) -> None:
    body = {
        "model": "offline",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Mirefruit grows in Ulm. "}]},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": [{"type": "text", "text": "Where does mirefruit grow?"}]},
        ],
        "temperature": 0.7,
    }
    status, reply = post(server, json.dumps(body).encode())
    assert status == 200 and reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"] == "Mirefruit grows in Ulm."
    assert reply["usage"]["total_tokens"] == reply["usage"]["prompt_tokens"] + 4


def _body(**fields: Any) -> bytes:
    return json.dumps({"model": "offline", **fields}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        _body(),
        _body(messages=[{"role": "wizard", "content": "hi"}]),
        _body(messages=[{"role": "user", "content": "hi"}], n=2),
        _body(messages=[{"role": "user", "content": [{"type": "image_url"}]}]),
    ],
    ids=["not-json", "not-object", "no-messages", "bad-role", "n-2", "image-part"],
)
def test_bad_request_is_400(server: OpenAICompatibleServer, body: bytes) -> None:
    before = server.requests_served
    status, reply = post(server, body)
    assert status == 400
    assert reply["error"]["type"] == "invalid_request_error" and reply["error"]["message"]
    assert server.requests_served == before


def test_models_and_unknown_path(server: OpenAICompatibleServer) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(server.base_url + "/models", timeout=30) as response:
        assert json.loads(response.read())["data"][0]["id"] == "offline"
    status, reply = post(server, b"{}", path="/nowhere")
    assert status == 404 and "error" in reply


def test_delay_is_served_concurrently_and_stop_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    bypass_proxies(monkeypatch)
    with OpenAICompatibleServer(OfflineChatModel(), delay=0.5) as server:
        client = ChatOpenAI(base_url=server.base_url, api_key="k", model="offline", max_retries=0)
        start = time.perf_counter()
        replies = client.batch(["Hello?"] * 4, config={"max_concurrency": 4})
        elapsed = time.perf_counter() - start
        assert [r.content for r in replies] == ["I do not know."] * 4
        assert 0.5 <= elapsed < 1.8  # one after another would take 2 s
        assert server.requests_served == 4
        url = server.base_url
    with pytest.raises(Exception):  # noqa: B017 - any connection error: nothing listens any more
        ChatOpenAI(base_url=url, api_key="k", model="offline", max_retries=0, timeout=5).invoke(
            "hi"
        )
