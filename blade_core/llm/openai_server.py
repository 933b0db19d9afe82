"""A small OpenAI-compatible chat-completions server over any LangChain chat model.

Why: BLADE talks to its general LLM through the OpenAI protocol in deployment (vLLM, Ollama, a
hosted API). Serving the offline stand-in (or any other LangChain model) behind the same protocol
lets the whole HTTP path (client retries, streaming, concurrency) be exercised on a machine with
no API access, and lets benchmarks add a fixed `delay` to imitate a remote model's latency.

Standard library only (`http.server.ThreadingHTTPServer` on a background thread). Endpoints:
``GET /v1/models`` and ``POST /v1/chat/completions`` (string or list-of-parts content, ``n`` = 1,
``stream`` with SSE chunks and ``stream_options.include_usage``). Request headers are never logged,
so API keys sent by clients stay out of logs. Token counts in ``usage`` are whitespace word counts.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import logging
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from blade_core.errors import OptionError

logger = logging.getLogger(__name__)

_BUSY_BODY = json.dumps({"error": {"message": "the server is at its connection limit; retry shortly",
                                   "type": "server_error", "param": None, "code": None}}).encode()
_BUSY_RESPONSE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                  b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                  + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY)
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 64

_ROLES = {
    "system": SystemMessage,
    "developer": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}


class RequestError(ValueError):
    """A client mistake, answered with 400 and an OpenAI-style error body."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _content_text(content: Any, where: str) -> str:
    """Text of an OpenAI message `content`: a string, or a list of {"type": "text"} parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(
                part.get("text"), str
            ):
                raise RequestError(f"{where}: only text content parts are supported", where)
            texts.append(part["text"])
        return "".join(texts)
    raise RequestError(f"{where}: content must be a string or a list of text parts", where)


def parse_messages(raw: Any) -> list[BaseMessage]:
    """LangChain messages from an OpenAI `messages` array (system/developer/user/assistant)."""
    if not isinstance(raw, list) or not raw:
        raise RequestError("'messages' must be a non-empty array", "messages")
    messages: list[BaseMessage] = []
    for i, item in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(item, dict):
            raise RequestError(f"{where} must be an object", where)
        role = item.get("role")
        if role not in _ROLES:
            raise RequestError(
                f"{where}.role must be one of {', '.join(_ROLES)}, got {role!r}", f"{where}.role"
            )
        text = _content_text(item.get("content"), f"{where}.content")
        messages.append(_ROLES[role](content=text))
    return messages


def _words(text: str) -> int:
    return len(text.split())


def _usage(messages: list[BaseMessage], completion: str) -> dict[str, int]:
    prompt = sum(_words(str(m.text)) for m in messages)
    done = _words(completion)
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _chunk_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p if isinstance(p, str) else str(p.get("text", "")) for p in content if p
        )
    return ""


class _Handler(BaseHTTPRequestHandler):
    """One request; the server object carries the model and options."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, so concurrent benchmarks reuse connections
    timeout = 120  # idle keep-alive connections are dropped after this many seconds
    # Headers and body go out in separate writes; with Nagle's algorithm the body then waits for the
    # client's delayed ACK, ~40 ms per request (10x the whole local round trip).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    # Default logging writes the request line to stderr; route it to a debug logger instead and
    # never include headers (they carry API keys).
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # --- responses ---------------------------------------------------------------------------

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:  # say so, or a pooling client reuses a socket we are closing
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str, kind: str, param: str | None = None) -> None:
        body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
        self._send_json(status, body)

    def _authorized(self) -> bool:
        expected = self.server.api_key
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            return True
        self._send_error(401, "invalid API key", "invalid_request_error")
        return False

    # --- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path.rstrip("/") not in ("/v1/models", "/models"):
            self._send_error(404, f"unknown path {self.path}", "invalid_request_error")
            return
        if not self._authorized():
            return
        model = {"id": self.server.model_name, "object": "model", "created": 0, "owned_by": "blade"}
        self._send_json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        self._headers_sent = False  # the handler lives on across keep-alive requests
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._send_error(411, "a Content-Length header is required", "invalid_request_error")
            return
        if length < 0 or length > self.server.max_body_bytes:
            self.close_connection = True  # the body is not read, so the connection cannot be reused
            self._send_error(413, f"the request body ({length} bytes) exceeds the server's limit of "
                             f"{self.server.max_body_bytes} bytes", "invalid_request_error")
            return
        raw = self.rfile.read(length) if length > 0 else b""
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send_error(404, f"unknown path {self.path}", "invalid_request_error")
            return
        if not self._authorized():
            return
        try:
            request = self._parse(raw)
        except RequestError as error:
            self._send_error(400, str(error), "invalid_request_error", error.param)
            return
        messages, stream, include_usage, model_name, stop = request
        if self.server.owner.intercept(self, messages, stream):
            return
        if self.server.delay > 0:
            time.sleep(self.server.delay)
        try:
            if stream:
                self._stream(messages, model_name, include_usage, stop)
            else:
                self._complete(messages, model_name, stop)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        except Exception as error:  # the model failed: a 500 the client SDK will retry
            logger.exception("chat model failed")
            if self._headers_sent:  # mid-stream: the response cannot be completed, drop it
                self.close_connection = True
            else:  # the request was read whole, so the connection stays usable
                self._send_error(500, f"model error: {type(error).__name__}", "server_error")

    def _parse(self, raw: bytes) -> tuple[list[BaseMessage], bool, bool, str, list[str] | None]:
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RequestError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        messages = parse_messages(body.get("messages"))
        n = body.get("n", 1)
        if n not in (1, None):
            raise RequestError("only n=1 is supported", "n")
        temperature = body.get("temperature")
        if temperature is not None and not isinstance(temperature, (int, float)):
            raise RequestError("temperature must be a number", "temperature")
        stream = body.get("stream", False)
        if not isinstance(stream, bool):
            raise RequestError("stream must be a boolean", "stream")
        options = body.get("stream_options") or {}
        if not isinstance(options, dict):
            raise RequestError("stream_options must be an object", "stream_options")
        model = body.get("model", self.server.model_name)
        if not isinstance(model, str) or not model:
            raise RequestError("model must be a non-empty string", "model")
        stop = body.get("stop")
        if isinstance(stop, str):
            stop = [stop]
        if stop is not None and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)
        ):
            raise RequestError("stop must be a string or an array of strings", "stop")
        return messages, stream, bool(options.get("include_usage")), model, stop

    def _complete(self, messages: list[BaseMessage], model: str, stop: list[str] | None) -> None:
        reply = self.server.model.invoke(messages, stop=stop)
        text = _chunk_text(reply.content)
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(messages, text),
        }
        self.server.count_served()  # before the reply, so a client that has it sees the count
        self._send_json(200, body)

    def _stream(
        self, messages: list[BaseMessage], model: str, include_usage: bool, stop: list[str] | None
    ) -> None:
        pieces = self.server.model.stream(messages, stop=stop)
        first = next(pieces, None)  # fail (as a 500) before any header is sent
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._headers_sent = True
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def event(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**base, "choices": [choice]}

        def texts() -> Iterator[str]:
            if first is not None:
                yield _chunk_text(first.content)
            for chunk in pieces:
                yield _chunk_text(chunk.content)

        self._sse(event({"role": "assistant", "content": ""}))
        completion = []
        for text in texts():
            if text:
                completion.append(text)
                self._sse(event({"content": text}))
        self._sse(event({}, "stop"))
        if include_usage:
            self._sse({**base, "choices": [], "usage": _usage(messages, "".join(completion))})
        self.server.count_served()
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")  # the zero-length chunk ends the chunked body

    def _sse(self, payload: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # connections the kernel holds while every thread is busy (default 5)

    def __init__(self, address: tuple[str, int], owner: OpenAICompatibleServer) -> None:
        self.owner = owner
        self.model = owner.model
        self.model_name = owner.model_name
        self.delay = owner.delay
        self.api_key = owner.api_key
        self.max_body_bytes = owner.max_body_bytes
        self._slots = threading.BoundedSemaphore(owner.max_connections)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, at most `max_connections` at once; beyond that a 503 at once,
        so a flood of connections cannot start unbounded threads."""
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(_BUSY_RESPONSE)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(connection)

    def drop_connections(self) -> None:
        """Close idle keep-alive connections so a stopped server answers nothing more."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def count_served(self) -> None:
        self.owner._count_served()


class OpenAICompatibleServer:
    """Serve `model` at ``http://HOST:PORT/v1`` on a background thread.

    >>> with OpenAICompatibleServer() as server:  # doctest: +SKIP
    ...     ChatOpenAI(base_url=server.base_url, api_key="x", model="offline").invoke("hi")

    `port=0` picks a free port; `delay` seconds are slept before each answer (to imitate a remote
    model in concurrency benchmarks); `api_key`, when given, is required as a Bearer token. A
    request body over `max_body_bytes` is answered 413 unread, and at most `max_connections`
    connections are served at once (more get a 503 with Retry-After). `requests_served` counts
    chat completions answered successfully. Bound beyond loopback, it logs a warning
    (`exposure_warning`).
    """

    def __init__(
        self,
        model: BaseChatModel | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        model_name: str = "offline",
        api_key: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if model is None:
            from blade_core.llm.offline import OfflineChatModel

            model = OfflineChatModel()
        if delay < 0 or max_body_bytes < 1 or max_connections < 1:
            raise OptionError("delay must be >= 0, max_body_bytes and max_connections >= 1")
        self.model = model
        self.host = host
        self.port = port
        self.delay = delay
        self.model_name = model_name
        self.api_key = api_key
        self.max_body_bytes = max_body_bytes
        self.max_connections = max_connections
        self._served = 0
        self._served_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # no api_key here, ever
        state = self.base_url if self._httpd else "stopped"
        return f"OpenAICompatibleServer({type(self.model).__name__}, {state})"

    @property
    def requests_served(self) -> int:
        with self._served_lock:
            return self._served

    def _count_served(self) -> None:
        with self._served_lock:
            self._served += 1

    def intercept(self, handler: _Handler, messages: list[BaseMessage], stream: bool) -> bool:
        """Called for each well-formed chat completion before the model sees it.

        Return True after answering through `handler` in the model's place; the fault-injecting
        server (`tests.fault_server`) does, to stage outages. This one lets the model answer.
        """
        return False

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound; the port is the real one when 0 was asked for."""
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAICompatibleServer:
        if self._httpd is not None:
            return self
        try:
            self._httpd = _Server((self.host, self.port), self)
        except OSError as error:
            raise bind_error(self.host, self.port, error) from None
        warning = exposure_warning(self.host, self.api_key)
        if warning:
            logger.warning(warning)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="openai-compatible-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def serve_forever(self) -> None:
        """Start, then block until interrupted (Ctrl-C, or SIGTERM from a process manager)."""
        self.start()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
            signal.signal(signal.SIGINT, _raise_keyboard_interrupt)  # even if inherited ignored
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def exposure_warning(host: str, api_key: str | None) -> str | None:
    """What to warn about when the server answers beyond this machine, or None on loopback."""
    if is_loopback(host):
        return None
    unguarded = "" if api_key else "; without an API key anyone who can reach it can use the model"
    return f"serving on {host}, beyond this machine{unguarded}"


def bind_error(host: str, port: int, error: OSError) -> OptionError:
    """A failed bind as the option to change: the port in use, a privileged port, a foreign host."""
    if error.errno == errno.EADDRINUSE:
        return OptionError(f"--port {port}: the port is in use on {host}; choose another --port "
                           "(0 picks a free one)")
    if error.errno == errno.EACCES:
        return OptionError(f"--port {port}: binding it needs privileges; use a port above 1023")
    return OptionError(f"--host {host}: cannot listen there ({error.strerror or error}); use "
                       "127.0.0.1, or an address of this machine")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
