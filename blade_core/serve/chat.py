"""An OpenAI-compatible chat-completions server over any LangChain chat model.

Why: BLADE talks to its general LLM through the OpenAI protocol in deployment (vLLM, Ollama, a
hosted API). Serving the offline stand-in (or any other LangChain model) behind the same protocol
lets the whole HTTP path (client retries, streaming, concurrency) be exercised on a machine with
no API access, and lets benchmarks add a fixed `delay` to imitate a remote model's latency.

Endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions`` (string or list-of-text-parts
content, ``n`` = 1, ``stop``, ``stream`` with SSE chunks and ``stream_options.include_usage``).
The request is validated by its pydantic model; a mistake is a 400 in the OpenAI error format,
naming the field. Token counts in ``usage`` are whitespace word counts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any, Literal

import anyio
from fastapi import Request
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from blade_core.errors import OptionError
from blade_core.serve.api import OpenAIStyleApp
from blade_core.serve.http import HTTPServer, error_response
from blade_core.serve.limits import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONNECTIONS
from blade_core.serve.protocol import SSE_DONE, Stop, StreamOptions, sse, usage

logger = logging.getLogger(__name__)

_ROLES = {"system": SystemMessage, "developer": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def to_langchain(self) -> BaseMessage:
        content = self.content
        text = "".join(part.text for part in content) if isinstance(content, list) else content or ""
        return _ROLES[self.role](content=text)


class ChatCompletionRequest(BaseModel):
    """The fields this server acts on; the OpenAI API's others (top_p, ...) are accepted and left to
    the model's own settings. Token limits and the temperature are checked as the OpenAI API checks
    them, so a value no API accepts is a 400 here too, not a reply."""

    model_config = ConfigDict(extra="allow")

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = Field(default=None, min_length=1)
    n: Literal[1] | None = 1
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: Stop = None

    def stop_list(self) -> list[str] | None:
        return [self.stop] if isinstance(self.stop, str) else self.stop


def _words(text: str) -> int:
    return len(text.split())


def _usage(messages: list[BaseMessage], completion: str) -> dict[str, int]:
    """Words stand in for tokens: the served model may have no tokenizer."""
    return usage(sum(_words(str(m.text)) for m in messages), _words(completion))


class ChatApp:
    """The FastAPI app and the state it shares with its `OpenAICompatibleServer`."""

    def __init__(self, server: OpenAICompatibleServer) -> None:
        self.server = server
        self._limiter: anyio.CapacityLimiter | None = None
        api = OpenAIStyleApp("blade serve-llm", server.api_key)
        api.route("GET", "/models", self.models)
        api.route("POST", "/chat/completions", self.chat)
        self.app = api.app

    # --- routes ------------------------------------------------------------------------------

    async def models(self) -> dict[str, Any]:
        model = {"id": self.server.model_name, "object": "model", "created": 0, "owned_by": "blade"}
        return {"object": "list", "data": [model]}

    async def chat(self, body: ChatCompletionRequest, request: Request) -> Response:
        messages = [message.to_langchain() for message in body.messages]
        intercepted = await self.server.intercept(request, messages, body.stream)
        if intercepted is not None:
            return intercepted
        if self.server.delay > 0:
            await asyncio.sleep(self.server.delay)
        name = body.model or self.server.model_name
        stop = body.stop_list()
        model = self.server.model
        try:
            if not body.stream:
                reply = await self._in_thread(partial(model.invoke, messages, stop=stop))
                return self._completion(messages, name, reply.text)
            pieces = iter(model.stream(messages, stop=stop))
            first = await self._in_thread(partial(next, pieces, None))  # a failure here is still a 500
        except Exception as error:  # the model failed: a 500 the client SDK will retry
            logger.exception("chat model failed")
            return error_response(500, f"model error: {type(error).__name__}", "server_error")
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(self._events(messages, name, first, pieces, include_usage),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def _in_thread(self, call: partial[Any]) -> Any:
        """Run a blocking model call on a worker thread: as many at once as connections allowed."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.server.max_connections)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    def _completion(self, messages: list[BaseMessage], model: str, text: str) -> JSONResponse:
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                  "finish_reason": "stop"}
        body = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": model, "choices": [choice], "usage": _usage(messages, text)}
        self.server.count_served()  # before the reply, so a client that has it sees the count
        return JSONResponse(body)

    async def _events(self, messages: list[BaseMessage], model: str, first: BaseMessageChunk | None,
                      pieces: Iterator[BaseMessageChunk], include_usage: bool) -> AsyncIterator[str]:
        """The SSE events of one streamed completion; a model failure mid-way drops the connection
        (the response has begun, so it cannot become an error), which the client reports."""
        base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        def delta(content: dict[str, Any], finish: str | None = None) -> str:
            return sse({**base, "choices": [{"index": 0, "delta": content, "logprobs": None,
                                             "finish_reason": finish}]})

        yield delta({"role": "assistant", "content": ""})
        completion: list[str] = []
        chunk = first
        while chunk is not None:
            if chunk.text:
                completion.append(chunk.text)
                yield delta({"content": chunk.text})
            chunk = await self._in_thread(partial(next, pieces, None))
        yield delta({}, "stop")
        if include_usage:
            yield sse({**base, "choices": [], "usage": _usage(messages, "".join(completion))})
        self.server.count_served()
        yield SSE_DONE


class OpenAICompatibleServer(HTTPServer):
    """Serve `model` at ``http://HOST:PORT/v1``: `start()` on a background thread, or
    `serve_forever()` in this one.

    >>> with OpenAICompatibleServer() as server:  # doctest: +SKIP
    ...     ChatOpenAI(base_url=server.base_url, api_key="x", model="offline").invoke("hi")

    `port=0` picks a free port; `delay` seconds are awaited before each answer (to imitate a remote
    model in concurrency benchmarks); `api_key`, when given, is required as a Bearer token. A
    request body over `max_body_bytes` is answered 413 unread, and at most `max_connections`
    connections are served at once (more get a 503 with Retry-After). `requests_served` counts
    chat completions answered successfully. Bound beyond loopback, it logs a warning.
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
        self.delay = delay
        self.model_name = model_name
        self.api_key = api_key
        self.max_connections = max_connections
        self._served = 0
        self._served_lock = threading.Lock()
        super().__init__(ChatApp(self).app, host=host, port=port, api_key=api_key,
                         max_body_bytes=max_body_bytes, max_connections=max_connections)

    def __repr__(self) -> str:  # no api_key here, ever
        state = self.base_url if self._socket is not None else "stopped"
        return f"OpenAICompatibleServer({type(self.model).__name__}, {state})"

    @property
    def requests_served(self) -> int:
        with self._served_lock:
            return self._served

    def count_served(self) -> None:
        with self._served_lock:
            self._served += 1

    async def intercept(self, request: Request, messages: list[BaseMessage], stream: bool) -> Response | None:
        """Called for each well-formed chat completion before the model sees it.

        Return a response (any ASGI app) to answer in the model's place; the fault-injecting
        server (`tests.fault_server`) does, to stage outages. This one lets the model answer.
        """
        return None
