"""An OpenAI-compatible server that fails on demand: a paid API's outages, staged on 127.0.0.1.

Why: BLADE promises that an outage of the general LLM costs neither data nor money: the OpenAI
SDK retries with backoff, answers are cached, BPO and make-kit-data resume. That can only be shown
against real faults on the wire, met by the real client (`ChatOpenAI`), so this server stages them:

* ``"timeout"``: nothing is answered for `stall` seconds (longer than the client's timeout), or
  until the client gives up and hangs up;
* ``"429"``: rate limited, with a ``Retry-After: retry_after`` header;
* ``"500"``: an internal server error;
* ``"drop"``: the connection closes mid-answer (half a JSON body, or mid-stream after one chunk);
* ``"hold"``: the request waits, unanswered, until `release()` or `stop()` (a test kills its client
  meanwhile, to know exactly which calls were answered before the kill).

`inject` queues faults for the next requests, one each (None: answer that one); `outage` meets
every request after the queued ones with a fault until it is lifted. Every request is logged with
its messages, the fault met (None: the model answered) and the client's retry count, so a test can
show that retries happened and that no answered prompt was ever asked again.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from blade_core.serve import OpenAICompatibleServer
from blade_core.serve.http import error_response

Fault = Literal["timeout", "429", "500", "drop", "hold"]


@dataclass(frozen=True)
class LoggedRequest:
    """One chat completion request as the server met it."""

    messages: tuple[tuple[str, str], ...]
    """(role, text) of each message, as parsed from the request."""
    fault: Fault | None
    """What the server did instead of answering; None when the model answered."""
    retry: int
    """The client's retry count for this call (the OpenAI SDK's x-stainless-retry-count)."""
    at: float
    """`time.monotonic()` when the request arrived."""

    @property
    def prompt(self) -> str:
        """The messages as one text: what identifies a call."""
        return "\n".join(f"{role}: {text}" for role, text in self.messages)


class FaultInjectingServer(OpenAICompatibleServer):
    """`OpenAICompatibleServer` that meets chosen requests with faults (see the module docstring)."""

    def __init__(
        self,
        model: BaseChatModel | None = None,
        *,
        stall: float = 5.0,
        retry_after: float = 1.0,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        self.stall = stall
        self.retry_after = retry_after
        self.held = threading.Event()
        """Set when a "hold" request has arrived."""
        self._queued: deque[Fault | None] = deque()
        self._outage: Fault | None = None
        self._log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._stopping = threading.Event()

    def inject(self, *faults: Fault | None) -> None:
        """Meet the next requests with these faults, one each, in order; None lets one be answered
        (so a fault, or an `outage`, can start after an exact number of requests)."""
        with self._lock:
            self._queued.extend(faults)

    def outage(self, fault: Fault | None) -> None:
        """Meet every request (after the queued faults) with `fault`; None ends the outage."""
        with self._lock:
            self._outage = fault

    def release(self) -> None:
        """Let held requests go (they close unanswered); later "hold" faults no longer wait."""
        self._released.set()

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def answered(self) -> list[str]:
        """The prompts that met no fault and went to the model, in arrival order, repeats included."""
        return [request.prompt for request in self.log if request.fault is None]

    def stop(self) -> None:
        self._stopping.set()  # held and stalled requests end now, not after their wait
        self._released.set()
        super().stop()

    async def intercept(self, request: Request, messages: list[BaseMessage], stream: bool) -> Response | None:
        with self._lock:
            fault = self._queued.popleft() if self._queued else self._outage
            self._log.append(
                LoggedRequest(
                    messages=tuple((message.type, str(message.text)) for message in messages),
                    fault=fault,
                    retry=int(request.headers.get("x-stainless-retry-count") or 0),
                    at=time.monotonic(),
                )
            )
        return None if fault is None else _STAGED[fault](self, stream)


class _Unanswered(Response):
    """Answer nothing until the client hangs up, `seconds` pass, or `until` is set (uvicorn then
    closes the connection; a client still there would get its 500 for a response never begun)."""

    def __init__(self, seconds: float, *until: threading.Event, on_start: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.seconds = seconds
        self.until = until
        self.on_start = on_start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.on_start()
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and not any(event.is_set() for event in self.until):
            try:
                if (await asyncio.wait_for(receive(), 0.05))["type"] == "http.disconnect":
                    return
            except asyncio.TimeoutError:
                continue


class _CutShort(Response):
    """Promise a whole answer, send part of it, then end without finishing: uvicorn closes the
    connection mid-answer (half a JSON body, or mid-stream after one chunk)."""

    def __init__(self, stream: bool) -> None:
        super().__init__()
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.stream:
            delta = {"role": "assistant", "content": "A"}
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            headers = [(b"content-type", b"text/event-stream")]
            part = f"data: {json.dumps(chunk)}\n\n".encode()
        else:
            body = json.dumps({"object": "chat.completion", "choices": []}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            part = body[: len(body) // 2]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": part, "more_body": True})


_STAGED: dict[Fault, Callable[[FaultInjectingServer, bool], Response]] = {
    "timeout": lambda server, stream: _Unanswered(server.stall, server._stopping),
    "429": lambda server, stream: error_response(
        429, "injected fault: rate limited", "rate_limit_error", headers={"Retry-After": f"{server.retry_after:g}"}),
    "500": lambda server, stream: error_response(500, "injected fault: internal server error", "server_error"),
    "drop": lambda server, stream: _CutShort(stream),
    "hold": lambda server, stream: _Unanswered(float("inf"), server._released, server._stopping,
                                               on_start=server.held.set),
}
