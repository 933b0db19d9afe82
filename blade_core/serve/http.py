"""Run an ASGI app on uvicorn, in the foreground (`blade serve-llm`) or on a background thread
(tests, benchmarks, a notebook), with the limits a server that others reach needs.

Why not uvicorn's own `limit_concurrency`: it answers a plain-text 503 without Retry-After. Here
at most `max_connections` connections are served at once; one beyond them takes an idle one's
place, or waits for a place (`_ConnectionCappedH11`), and only far beyond is it answered at accept
with an OpenAI-style JSON 503 and ``Retry-After``, which the OpenAI SDK honours; a body over
`max_body_bytes` is answered 413 before it is read, or as soon as a chunked one passes the limit. The socket is bound here, so a taken port is an option
error naming ``--port`` and port 0 gives a free port the caller can read at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import threading
import time
from collections import deque
from functools import partial
from typing import Any

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import Self
from uvicorn.protocols.http.h11_impl import H11Protocol

from blade_core.serve.limits import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    KEEP_ALIVE_SECONDS,
    bind_error,
    exposure_warning,
)

logger = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_SECONDS = 5
"""How long a stopping server lets requests in progress finish before it cancels them."""
FIRST_REQUEST_SECONDS = 10.0
"""A connection that sends no request within this long is closed: it holds a place otherwise."""
IDLE_SECONDS = 2.0
"""A connection with nothing in progress and nothing received for this long may give its place."""
MAX_WAITING = 1024
"""Connections over the cap that wait, unread, for a place; more are answered 503 at once."""


def error_body(message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    """The OpenAI API's error object, which its SDKs read into their exceptions."""
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def error_response(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind, param), status_code=status, headers=headers)


_BUSY_BODY = json.dumps(error_body("the server is at its connection limit; retry shortly", "server_error")).encode()
_BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                  b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                  + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY)


class _ConnectionCappedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a cap on the connections served at once that no client can
    hold the server with (the set of open connections is uvicorn's own, shared by the server's
    connections; the queue of waiting ones is kept beside it):

    * a connection that sends no request within `FIRST_REQUEST_SECONDS` is closed (uvicorn times out
      only idle keep-alive connections, so 64 silent ones held every place for ever);
    * at the cap, an idle connection (kept alive after its response, or silent since it opened,
      for `IDLE_SECONDS`) is closed to make room; with none idle, the new one waits, unread, until a place frees, and a
      response finished while others wait closes its connection, so the places turn over;
    * beyond `MAX_WAITING` waiting ones, a connection is answered 503 with Retry-After at once.

    So an OpenAI SDK client over the cap waits for its turn instead of having its connection reset
    before it could send its request."""

    def __init__(self, *args: Any, max_connections: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_connections = max_connections
        self.admitted = False
        self.idle_since = time.monotonic()
        self.waiting: deque[_ConnectionCappedH11] = vars(self.server_state).setdefault("blade_waiting", deque())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        if len(self.connections) >= self.max_connections and not self._close_an_idle_one():
            if len(self.waiting) >= MAX_WAITING:
                transport.write(_BUSY_RESPONSE)
                transport.close()
                return
            transport.pause_reading()
            self.waiting.append(self)
            return
        self._admit(transport)

    def _admit(self, transport: asyncio.Transport) -> None:
        self.admitted = True
        # asyncio turns Nagle's algorithm off only for sockets made with proto=IPPROTO_TCP, which
        # a socket from socket.create_server is not; with it on, a response waits for the client's
        # delayed ACK: ~40 ms per request on a kept-alive connection, 10x the whole local round trip.
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        # uvicorn cancels this timer when data arrives, as it does the keep-alive one
        self.timeout_keep_alive_task = self.loop.call_later(FIRST_REQUEST_SECONDS, self.timeout_keep_alive_handler)
        transport.resume_reading()

    def _close_an_idle_one(self) -> bool:
        """Close the connection idle longest (no request in progress, nothing received for
        `IDLE_SECONDS`: one just opened may have its request on the way), if any."""
        now = time.monotonic()
        idle = [c for c in self.connections if isinstance(c, _ConnectionCappedH11)
                and (c.cycle is None or c.cycle.response_complete) and now - c.idle_since >= IDLE_SECONDS
                and not c.transport.is_closing()]
        if not idle:
            return False
        min(idle, key=lambda c: c.idle_since).shutdown()
        return True

    def data_received(self, data: bytes) -> None:
        self.idle_since = time.monotonic()
        super().data_received(data)

    def on_response_complete(self) -> None:
        self.idle_since = time.monotonic()
        super().on_response_complete()
        if self.waiting and not self.transport.is_closing():
            self.shutdown()  # its place goes to a connection that waits

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            if self in self.waiting:
                self.waiting.remove(self)
            return
        super().connection_lost(exc)
        while self.waiting and len(self.connections) < self.max_connections:
            waiting = self.waiting.popleft()
            if not waiting.transport.is_closing():
                waiting._admit(waiting.transport)


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` is answered 413 and the connection closed.

    A declared Content-Length over the limit is refused unread; a chunked body is read up to the
    limit. The app then gets the body whole (at most `max_bytes` held in memory per request)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send, declared.decode("latin-1"))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, f"over {self.max_bytes}")
                return
            if not message.get("more_body", False):
                break
        whole: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal whole
            if whole is not None:
                first, whole = whole, None
                return first
            return await receive()  # later calls wait for the client to disconnect

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: str) -> None:
        # The body stays unread, so the connection cannot carry another request: say so.
        response = error_response(
            413, f"the request body ({size} bytes) exceeds the server's limit of {self.max_bytes} bytes",
            headers={"Connection": "close"})
        await response(scope, receive, send)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, backlog=128)
    except OSError as error:
        raise bind_error(host, port, error) from None


class HTTPServer:
    """`app` served at ``http://HOST:PORT`` by uvicorn, with the connection and body caps above.

    `start()` serves on a background thread (and `stop()` ends it; also a context manager);
    `serve_forever()` serves in the calling thread until Ctrl-C or SIGTERM. `port=0` picks a free
    port (`address` tells which). Bound beyond loopback it logs `exposure_warning`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.host = host
        self.port = port
        self._guarded = api_key is not None
        config = uvicorn.Config(
            BodyLimit(app, max_body_bytes),
            http=partial(_ConnectionCappedH11, max_connections=max_connections),  # type: ignore[arg-type]
            lifespan="off",
            log_config=None,  # a library does not configure logging; uvicorn's loggers propagate
            access_log=False,  # request lines stay out of logs, like headers (they carry API keys)
            timeout_keep_alive=int(KEEP_ALIVE_SECONDS),
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound; the port is the real one when 0 was asked for."""
        if self._socket is None:
            raise RuntimeError("the server is not running")
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host if ':' not in host else f'[{host}]'}:{port}/v1"

    def bind(self) -> socket.socket:
        """Listen on host:port now (once), so `address` and `base_url` are known before serving."""
        if self._socket is not None:
            return self._socket
        self._socket = _listening_socket(self.host, self.port)
        warning = exposure_warning(self.host, "set" if self._guarded else None)
        if warning:
            logger.warning(warning)
        return self._socket

    def start(self) -> Self:
        """Serve on a background thread; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        listening = self.bind()
        self._server.should_exit = self._server.force_exit = self._server.started = False
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [listening]},
                                        name="blade-http-server", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                self._release()
                raise RuntimeError("the HTTP server failed to start; see the log above")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, close idle connections, let requests in progress finish (a few seconds
        at most), and free the port."""
        thread = self._thread
        if thread is None:
            return
        self._server.should_exit = True
        thread.join(timeout=GRACEFUL_SHUTDOWN_SECONDS + 5)
        if thread.is_alive():
            self._server.force_exit = True
            thread.join(timeout=5)
        self._release()

    def _release(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = self._thread = None

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM, then shut down gracefully and return.

        uvicorn handles both signals while serving and raises them again once it has stopped; as
        KeyboardInterrupt, caught here, a requested stop ends the command with success."""
        listening = self.bind()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)  # even if inherited as ignored
        try:
            self._server.run(sockets=[listening])
        except KeyboardInterrupt:
            pass
        finally:
            self._release()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
