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
from blade_core.llm import OfflineChatModel
from blade_core.llm.answer_prompt import answer_prompt, format_mcq
from blade_core.retrieval import load_minilm
from blade_core.serve import OpenAICompatibleServer
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


def test_a_body_over_the_limit_is_refused_unread() -> None:
    with OpenAICompatibleServer(OfflineChatModel(), max_body_bytes=2048) as small:
        status, body = post(small, _body(messages=[{"role": "user", "content": "x" * 4096}]))
        assert status == 413 and "exceeds the server's limit of 2048 bytes" in body["error"]["message"]
        assert post(small, _body(messages=[{"role": "user", "content": "Hello?"}]))[0] == 200


def test_connections_beyond_the_limit_and_its_waiting_room_get_503_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from blade_core.serve import http as serve_http

    monkeypatch.setattr(serve_http, "MAX_WAITING", 0)  # no room to wait (tests/test_server_soak.py: the waiting)
    with OpenAICompatibleServer(OfflineChatModel(), max_connections=2) as busy:
        held = [socket.create_connection(busy.address) for _ in range(2)]  # idle keep-alive clients
        time.sleep(0.2)
        started = time.perf_counter()
        with socket.create_connection(busy.address) as third:
            third.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = third.recv(4096).decode()
        assert answer.startswith("HTTP/1.1 503") and "Retry-After: 1" in answer
        assert time.perf_counter() - started < 2
        for connection in held:
            connection.close()
        time.sleep(0.2)  # their threads end and give their places back
        with socket.create_connection(busy.address) as fourth:
            fourth.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            assert fourth.recv(4096).decode().startswith("HTTP/1.1 200")


def test_an_api_key_is_required_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    bypass_proxies(monkeypatch)
    with OpenAICompatibleServer(OfflineChatModel(), api_key="right-key") as guarded:
        for key, answered in (("wrong-key", False), ("right-key", True)):
            client = ChatOpenAI(base_url=guarded.base_url, api_key=key, model="offline", max_retries=0)
            try:
                client.invoke("Hello?")
            except Exception as error:  # noqa: BLE001 - the SDK's AuthenticationError
                assert not answered and "401" in str(error)
            else:
                assert answered


def test_beyond_loopback_is_warned_and_a_taken_port_is_an_option_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from blade_core.errors import OptionError
    from blade_core.serve.limits import exposure_warning

    assert exposure_warning("127.0.0.1", None) is None and exposure_warning("localhost", None) is None
    assert exposure_warning("::1", None) is None
    assert "anyone who can reach it" in (exposure_warning("0.0.0.0", None) or "")
    assert "anyone" not in (exposure_warning("0.0.0.0", "key") or "anyone")
    with OpenAICompatibleServer(OfflineChatModel(), host="0.0.0.0") as open_server:
        assert "serving on 0.0.0.0, beyond this machine" in caplog.text
        with pytest.raises(OptionError, match=rf"--port {open_server.address[1]}: the port is in use"):
            OpenAICompatibleServer(OfflineChatModel(), port=open_server.address[1]).start()


def test_a_chunked_body_is_cut_off_at_the_limit() -> None:
    """No Content-Length to refuse up front: the body is read up to the limit, then refused."""
    import socket

    with OpenAICompatibleServer(OfflineChatModel(), max_body_bytes=2048) as small:
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"  # three 1 KiB chunks, sent at once
        request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 3 + b"0\r\n\r\n")
        with socket.create_connection(small.address, timeout=30) as connection:
            connection.sendall(request)
            answer = b""
            while part := connection.recv(4096):  # the server closes after answering
                answer += part
        head, _, body = answer.decode().partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 413") and "connection: close" in head.lower()
        assert "exceeds the server's limit of 2048 bytes" in json.loads(body)["error"]["message"]


def test_the_blade_command_serves_until_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    """`blade serve-llm` as a user runs it: it prints its URL, answers ChatOpenAI, and a process
    manager's SIGTERM ends it cleanly (exit 0)."""
    import os
    import signal
    import subprocess
    import sys

    bypass_proxies(monkeypatch)
    command = [sys.executable, "-m", "blade_core.cli", "serve-llm", "--port", "0", "--delay", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"}) as served:
        assert served.stdout is not None
        line = served.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        reply = ChatOpenAI(base_url=url, api_key="k", model="offline", max_retries=0, timeout=60).invoke("Hello?")
        assert reply.content == "I do not know."
        served.send_signal(signal.SIGTERM)
        assert served.wait(timeout=30) == 0
