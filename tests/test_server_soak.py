"""Neither server can be held by one local client: silent connections, oversized lists, and many
concurrent OpenAI SDK clients against both, bounded in time; every well-formed request answered."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from blade_core.llm.offline import OfflineChatModel
from blade_core.serve import OpenAICompatibleServer
from blade_core.serve import http as serve_http
from blade_core.serve.completions import KnowledgeServer
from blade_core.serve.protocol import MAX_PROMPTS, MAX_STOP_STRINGS
from tests.local_llm_support import bypass_proxies

MODELS_REQUEST = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(autouse=True)
def _local(monkeypatch: pytest.MonkeyPatch) -> None:
    bypass_proxies(monkeypatch)


@pytest.fixture(scope="module")
def knowledge(soft_prompted_lm_dir: Path) -> Iterator[KnowledgeServer]:
    with KnowledgeServer.from_directory(soft_prompted_lm_dir, batch_wait=0.005, max_connections=16) as running:
        yield running


def status(address: tuple[str, int], request: bytes = MODELS_REQUEST) -> str:
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(request)
        return connection.recv(4096).decode().split("\r\n")[0]


def test_silent_connections_give_their_places_to_clients_that_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_http, "FIRST_REQUEST_SECONDS", 1.0)
    monkeypatch.setattr(serve_http, "IDLE_SECONDS", 0.3)
    with OpenAICompatibleServer(OfflineChatModel(), max_connections=4) as server:
        silent = [socket.create_connection(server.address) for _ in range(8)]  # twice the cap, never a word
        time.sleep(serve_http.IDLE_SECONDS + 0.2)
        started = time.perf_counter()
        assert status(server.address) == "HTTP/1.1 200 OK"  # an idle one made room
        assert time.perf_counter() - started < 2
        time.sleep(1.5)  # past FIRST_REQUEST_SECONDS: the silent ones are closed
        assert all(connection.recv(1) == b"" for connection in silent[:4])
        for connection in silent:
            connection.close()


def test_a_connection_over_the_cap_waits_for_a_place_instead_of_a_reset() -> None:
    with OpenAICompatibleServer(OfflineChatModel(), max_connections=1) as server:
        busy = socket.create_connection(server.address)
        busy.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n")  # a request in progress: its body still to come
        time.sleep(0.2)
        waiting = socket.create_connection(server.address)
        waiting.sendall(MODELS_REQUEST)
        waiting.settimeout(0.5)
        with pytest.raises(TimeoutError):
            waiting.recv(4096)  # no 503, no reset: it waits
        busy.close()  # its place frees
        waiting.settimeout(10)
        assert waiting.recv(4096).decode().startswith("HTTP/1.1 200")
        waiting.close()


def test_oversized_lists_and_impossible_values_are_refused_naming_the_field(knowledge: KnowledgeServer) -> None:
    completions = openai.OpenAI(base_url=knowledge.base_url, api_key="x", max_retries=0)
    with OpenAICompatibleServer(OfflineChatModel()) as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="x", max_retries=0)
        message = [{"role": "user", "content": "Hello?"}]
        for extra, field in (({"stop": ["x"] * (MAX_STOP_STRINGS + 1)}, "stop"), ({"temperature": -1}, "temperature"),
                             ({"max_tokens": 0}, "max_tokens")):
            with pytest.raises(openai.BadRequestError, match=field):
                client.chat.completions.create(model="offline", messages=message, **extra)  # type: ignore[arg-type]
    started = time.perf_counter()
    for extra, field in (({"prompt": ["x"] * (MAX_PROMPTS + 1)}, "prompt"),
                         ({"prompt": "x", "stop": ["y" * 10] * 10_000}, "stop")):
        with pytest.raises(openai.BadRequestError, match=field):
            completions.completions.create(model=knowledge.model_name, max_tokens=2, **extra)  # type: ignore[arg-type]
    assert time.perf_counter() - started < 5  # refused before any work
    nan = httpx.post(f"{knowledge.base_url}/completions", content=b'{"prompt": "x", "logit_bias": {"5": NaN}}',
                     headers={"Content-Type": "application/json"})  # JSON as Python writes it, NaN and all
    assert nan.status_code == 400 and nan.json()["error"]["param"] == "logit_bias"


async def _many_clients(base_url: str, count: int, ask) -> list[str]:
    clients = [openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=2, timeout=120) for _ in range(count)]
    try:
        return await asyncio.gather(*(ask(client, i) for i, client in enumerate(clients)))
    finally:
        await asyncio.gather(*(client.close() for client in clients))


def test_three_hundred_concurrent_sdk_clients_are_all_answered_by_both_servers(knowledge: KnowledgeServer) -> None:
    async def chat(client: openai.AsyncOpenAI, i: int) -> str:
        reply = await client.chat.completions.create(model="offline", messages=[{"role": "user", "content": f"Q{i}?"}])
        return reply.choices[0].message.content or ""

    async def complete(client: openai.AsyncOpenAI, i: int) -> str:
        reply = await client.completions.create(model=knowledge.model_name, prompt=f"What is Zorvanil {i}?",
                                                max_tokens=2)
        return reply.choices[0].text

    started = time.perf_counter()
    with OpenAICompatibleServer(OfflineChatModel(), max_connections=64) as llm:
        replies = asyncio.run(_many_clients(llm.base_url, 300, chat))
    assert len(replies) == 300 and all(replies)
    completions = asyncio.run(_many_clients(knowledge.base_url, 300, complete))
    assert len(completions) == 300
    assert time.perf_counter() - started < 240
