"""An OpenAI-compatible server that fails on demand: a paid API's outages, staged on 127.0.0.1.

Why: BLADE promises that an outage of the general LLM costs neither data nor money: the OpenAI
SDK retries with backoff, answers are cached, BPO and make-kit-data resume. That can only be shown
against real faults on the wire, met by the real client (`ChatOpenAI`), so this server stages them:

* ``"timeout"``: the answer stalls for `stall` seconds (longer than the client's timeout), then the
  connection closes with nothing sent;
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

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from blade_core.llm.openai_server import OpenAICompatibleServer

if TYPE_CHECKING:
    from blade_core.llm.openai_server import _Handler

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

    def intercept(self, handler: _Handler, messages: list[BaseMessage], stream: bool) -> bool:
        with self._lock:
            fault = self._queued.popleft() if self._queued else self._outage
            self._log.append(
                LoggedRequest(
                    messages=tuple((message.type, str(message.text)) for message in messages),
                    fault=fault,
                    retry=int(handler.headers.get("x-stainless-retry-count") or 0),
                    at=time.monotonic(),
                )
            )
        if fault is None:
            return False
        _STAGED[fault](self, handler, stream)
        return True


def _stall(server: FaultInjectingServer, handler: _Handler, stream: bool) -> None:
    server._stopping.wait(server.stall)
    handler.close_connection = True


def _rate_limit(server: FaultInjectingServer, handler: _Handler, stream: bool) -> None:
    body = {"error": {"message": "injected fault: rate limited", "type": "rate_limit_error",
                      "param": None, "code": "rate_limit_exceeded"}}
    handler._send_json(429, body, headers={"Retry-After": f"{server.retry_after:g}"})


def _server_error(server: FaultInjectingServer, handler: _Handler, stream: bool) -> None:
    handler._send_error(500, "injected fault: internal server error", "server_error")


def _drop(server: FaultInjectingServer, handler: _Handler, stream: bool) -> None:
    """Promise a whole answer, send part of it, then close the connection."""
    handler.send_response(200)
    if stream:
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        delta = {"role": "assistant", "content": "A"}
        chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
        handler._write_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
    else:
        body = json.dumps({"object": "chat.completion", "choices": []}).encode()
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2])
        handler.wfile.flush()
    handler.close_connection = True


def _hold(server: FaultInjectingServer, handler: _Handler, stream: bool) -> None:
    server.held.set()
    server._released.wait()
    handler.close_connection = True


_STAGED: dict[Fault, Callable[[FaultInjectingServer, _Handler, bool], None]] = {
    "timeout": _stall,
    "429": _rate_limit,
    "500": _server_error,
    "drop": _drop,
    "hold": _hold,
}
