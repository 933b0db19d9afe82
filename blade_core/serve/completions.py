"""`blade serve`: the OpenAI completions API over an exported domain LM, batching across requests.

The stand-in for vLLM on a CPU and in tests, and a small deployment of its own: every chain's
`EndpointWriter` (or any OpenAI client) asks it for completions, and requests that arrive within
`batch_wait` seconds of each other, or while a batch is generating, share one batched `generate`
call (`DomainLM.complete`, which also computes the prompts' shared beginning once). At most
`max_queue` requests wait; more are answered 503 with Retry-After, so a burst turns into back-off
in the client, not into memory.

Endpoints: ``GET /v1/models`` (each model also carries a `blade` field: its `blade.json` and
`blade_prompt.json`, which `EndpointWriter.connect` reads) and ``POST /v1/completions``: a prompt
as text, token ids, or a list of either; `max_tokens`, `temperature`, `top_p`, `stop`,
`logit_bias`, `logprobs` (the sampled token's; `top_logprobs` holds it alone), `stream`, and
vLLM's `add_special_tokens` and `repetition_penalty`. Unset settings are the model directory's.
Any other field is a 400 naming it: a setting the server cannot honour is refused, not ignored.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import anyio
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import JSONResponse, Response, StreamingResponse
from transformers import TextIteratorStreamer

from blade_core.errors import OptionError
from blade_core.knowledge.confidence import token_ends
from blade_core.model.directory import ModelDirectory
from blade_core.model.export import PROMPT_FILE, exported, read_prompt
from blade_core.model.generation_settings import GenerationDefaults
from blade_core.serve.api import OpenAIStyleApp
from blade_core.serve.http import HTTPServer, error_response
from blade_core.serve.limits import (
    DEFAULT_BATCH_WAIT_MS,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_QUEUE,
)
from blade_core.serve.protocol import MAX_PROMPTS, SSE_DONE, LogitBias, Stop, StreamOptions, sse, usage
from blade_core.text import StopCutter, cut_at_stop
from blade_core.writers.domain_lm import Completion, DomainLM

logger = logging.getLogger(__name__)

class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    prompt: str | list[str] | list[int] | list[list[int]]
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: Literal[1] = 1
    stop: Stop = None
    logit_bias: LogitBias = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: Literal[False] = False
    stream: bool = False
    stream_options: StreamOptions | None = None
    add_special_tokens: bool = True
    repetition_penalty: float | None = Field(default=None, gt=0)
    user: str | None = None

    @field_validator("prompt")
    @classmethod
    def _bounded(cls, prompt: str | list[str] | list[int] | list[list[int]]) -> object:
        if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int) and len(prompt) > MAX_PROMPTS:
            raise ValueError(f"at most {MAX_PROMPTS} prompts in one request, got {len(prompt)}; send several requests")
        return prompt

    def prompts(self) -> list[str] | list[list[int]]:
        if isinstance(self.prompt, str):
            return [self.prompt]
        if self.prompt and isinstance(self.prompt[0], int):
            return [cast(list[int], self.prompt)]
        return cast("list[str] | list[list[int]]", self.prompt)

    def stops(self) -> tuple[str, ...]:
        return tuple(s for s in ([self.stop] if isinstance(self.stop, str) else self.stop or []) if s)


LONGEST_WAIT = 10
"""A batch waits at most this many `batch_wait`s for more requests, however steadily they come."""


@dataclass
class _Job:
    """One request's prompts, waiting for a batch; `key` says which requests may share one."""

    prompts: list[list[int]]
    settings: GenerationDefaults
    stop: tuple[str, ...]
    logit_bias: dict[int, float]
    streamer: TextIteratorStreamer | None = None
    future: Future[list[Completion]] = field(default_factory=Future)

    @property
    def key(self) -> tuple[Any, ...]:
        return self.settings.model_dump_json(), self.stop, tuple(sorted(self.logit_bias.items()))


class Batcher:
    """One thread that owns generation: it takes the first waiting request and gathers more (those
    already waiting first), then runs each group of requests with the same settings as one
    `complete` call. A batch closes when `max_batch` prompts are in; or, once it holds as many
    requests as the previous batch answered, when `wait` seconds pass with no new one; and at the
    latest `LONGEST_WAIT` x `wait`, or half the last generate call's time if longer, after
    gathering began. A streamed request runs alone, its tokens going to its streamer as they are
    written.

    Why wait for the previous batch's count: the clients it answered send their next requests
    over several milliseconds (their responses are written one by one), and a generate call costs
    nearly the same for 1 prompt as for 32, so a fixed window that closes before the last of them
    leaves those to batches of their own (measured: batches of 2 and 30 alternating, at 32
    clients, as 32 responses took 55-120 ms to reach their clients and come back). Waiting up to
    half a generate call for them costs less than the extra call. A lone client pays no wait
    beyond the quiet gap."""

    def __init__(self, lm: DomainLM, *, max_batch: int, wait: float, max_queue: int) -> None:
        self.lm = lm
        self.max_batch = max_batch
        self.wait = wait
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self._held: _Job | None = None
        self._closing = False
        self._answered = 0
        """Requests the last batch answered."""
        self._last_seconds = 0.0
        """How long the last generate call took."""
        self.generate_calls = 0
        """How many batched `generate` calls ran (for tests and benchmarks)."""
        self._thread = threading.Thread(target=self._run, name="blade-batcher", daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> Future[list[Completion]]:
        """Queue `job`; raises `queue.Full` when `max_queue` requests already wait."""
        self._queue.put_nowait(job)
        return job.future

    def close(self) -> None:
        """Answer what is queued, then end the thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=60)

    def _next_batch(self) -> list[_Job] | None:
        """The requests of the next batch (a streamed one alone), or None once closed."""
        first: _Job | None
        if self._held is not None:
            first, self._held = self._held, None
        elif self._closing:
            return None
        else:
            first = self._queue.get()
        if first is None or first.streamer is not None:
            return None if first is None else [first]
        jobs, size = [first], len(first.prompts)
        now = time.monotonic()
        cap, quiet = now + max(LONGEST_WAIT * self.wait, self._last_seconds / 2), now + self.wait
        while size < self.max_batch:
            # fewer requests than the last batch answered: its clients are still coming back
            deadline = cap if len(jobs) < self._answered else min(cap, quiet)
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            quiet = time.monotonic() + self.wait
            if job is None:
                self._closing = True  # this batch is still answered
                break
            if job.streamer is not None:
                self._held = job  # a stream runs alone, next
                break
            jobs.append(job)
            size += len(job.prompts)
        return jobs

    def _run(self) -> None:
        while (jobs := self._next_batch()) is not None:
            self._answered = len(jobs)
            groups: dict[tuple[Any, ...], list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.key, []).append(job)
            for group in groups.values():
                self._generate(group)

    def _generate(self, jobs: list[_Job]) -> None:
        """Complete every prompt of `jobs` (which share settings), `max_batch` per `generate` call."""
        first = jobs[0]
        prompts = [prompt for job in jobs for prompt in job.prompts]
        # by length, so each generate call pads little (as `DomainLM` orders its own batches)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        try:
            done: list[Completion] = [Completion([], [], False)] * len(prompts)
            for start in range(0, len(order), self.max_batch):
                self.generate_calls += 1
                began = time.monotonic()
                chunk = order[start : start + self.max_batch]
                extra = {"streamer": first.streamer} if first.streamer is not None else {}
                completed = self.lm.complete([prompts[i] for i in chunk], first.settings,
                                             stop=first.stop, logit_bias=first.logit_bias, **extra)
                for index, completion in zip(chunk, completed):
                    done[index] = completion
                self._last_seconds = time.monotonic() - began
        except Exception as err:  # each waiting request answers it as a 500
            logger.exception("generation failed")
            if first.streamer is not None:
                first.streamer.end()
            for job in jobs:
                job.future.set_exception(err)
            return
        results = iter(done)
        for job in jobs:
            job.future.set_result([next(results) for _ in job.prompts])


@dataclass(frozen=True)
class _Choice:
    text: str
    finish_reason: str
    n_tokens: int
    tokens: list[str]
    probabilities: list[float]
    offsets: list[int]


class KnowledgeApp:
    """The FastAPI app of one `KnowledgeServer`."""

    def __init__(self, server: KnowledgeServer) -> None:
        self.server = server
        api = OpenAIStyleApp("blade serve", server.api_key)
        api.route("GET", "/models", self.models)
        api.route("POST", "/completions", self.completions)
        self.app = api.app

    async def models(self) -> dict[str, Any]:
        server = self.server
        model = {"id": server.model_name, "object": "model", "created": 0, "owned_by": "blade",
                 "max_model_len": server.lm.context_length,
                 "blade": {"config": server.lm.config.model_dump(mode="json"), "prompt": server.prompt_file}}
        return {"object": "list", "data": [model]}

    def _job(self, body: CompletionRequest) -> _Job | JSONResponse:
        """The request as a job, or the 400 that says what is wrong with it."""
        lm = self.server.lm
        if body.model is not None and body.model != self.server.model_name:
            return error_response(404, f"model {body.model!r} is not served here; this server serves "
                                       f"{self.server.model_name!r}", param="model")
        raw = body.prompts()
        if not raw:
            return error_response(400, "prompt: give at least one prompt", param="prompt")
        if body.stream and len(raw) > 1:
            return error_response(400, "prompt: a streamed completion takes one prompt", param="prompt")
        vocabulary = len(lm.tokenizer)
        prompts = [lm.tokenizer(p, add_special_tokens=body.add_special_tokens)["input_ids"] if isinstance(p, str)
                   else list(p) for p in raw]
        overrides = {"max_new_tokens": body.max_tokens, "temperature": body.temperature, "top_p": body.top_p,
                     "repetition_penalty": body.repetition_penalty}
        settings = lm.config.generation.model_copy(update={k: v for k, v in overrides.items() if v is not None})
        for index, ids in enumerate(prompts):
            if not ids or any(not 0 <= i < vocabulary for i in ids):
                return error_response(400, f"prompt[{index}]: empty, or a token id outside the vocabulary "
                                           f"(0..{vocabulary - 1})", param="prompt")
            if len(ids) + settings.max_new_tokens > lm.context_length:
                return error_response(400, f"prompt[{index}]: {len(ids)} tokens plus max_tokens "
                                           f"{settings.max_new_tokens} exceed the model's context "
                                           f"({lm.context_length}); shorten the prompt or lower max_tokens",
                                      param="prompt")
        bias = dict(body.logit_bias or {})
        if any(not 0 <= token < vocabulary for token in bias):
            return error_response(400, "logit_bias: a token id outside the vocabulary", param="logit_bias")
        streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True) if body.stream else None
        return _Job(prompts, settings, body.stops(), bias, streamer)

    async def completions(self, body: CompletionRequest) -> Response:
        job = self._job(body)
        if isinstance(job, JSONResponse):
            return job
        try:
            future = self.server.batcher.submit(job)
        except queue.Full:
            return error_response(503, f"{self.server.max_queue} requests are already waiting (max_queue); "
                                       "retry shortly", "server_error", headers={"Retry-After": "1"})
        name = self.server.model_name
        if job.streamer is not None:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(self._events(name, job, future, include_usage), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        try:
            completions = await asyncio.wrap_future(future)
        except Exception as err:  # noqa: BLE001 - the model failed: a 500 the client SDK retries
            return error_response(500, f"generation failed: {type(err).__name__}", "server_error")
        logprobs = body.logprobs is not None
        choices = [self._choice(c, job.stop, logprobs) for c in completions]
        return JSONResponse({
            "id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()), "model": name,
            "choices": [{"index": i, "text": c.text, "finish_reason": c.finish_reason,
                         "logprobs": _logprobs(c) if logprobs else None} for i, c in enumerate(choices)],
            "usage": usage(sum(len(p) for p in job.prompts), sum(c.n_tokens for c in choices)),
        })

    def _choice(self, completion: Completion, stops: Sequence[str], logprobs: bool) -> _Choice:
        """A completion's text cut at its stop string, and, for `logprobs`, its tokens as pieces of
        that text (decoding token by token is most of a request's cost here: only when asked)."""
        tokenizer = self.server.lm.tokenizer
        text = cast(str, tokenizer.decode(completion.ids, skip_special_tokens=True))
        full, text = text, cut_at_stop(text, stops)
        stopped = len(text) < len(full)
        finish = "stop" if completion.ended or stopped else "length"
        if not logprobs:
            return _Choice(text, finish, len(completion.ids), [], [], [])
        ends = token_ends(tokenizer, completion.ids, full)
        starts = [0, *ends[:-1]]
        kept = [i for i, start in enumerate(starts) if start < len(text)]
        return _Choice(text, finish, len(completion.ids), [text[starts[i] : min(ends[i], len(text))] for i in kept],
                       [completion.probabilities[i] for i in kept], [starts[i] for i in kept])

    async def _events(self, model: str, job: _Job, future: Future[list[Completion]],
                      include_usage: bool) -> AsyncIterator[str]:
        """SSE chunks of one streamed completion: text as the batcher's generate writes it, held back
        while it could still be the start of a stop string, and cut at one."""
        base = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": model}

        def chunk(text: str, finish: str | None = None) -> str:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
            return sse({**base, "choices": [choice]})

        streamer = cast(TextIteratorStreamer, job.streamer)
        cutter = StopCutter(job.stop)
        pieces: Iterator[str] = iter(streamer)
        while (piece := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
            if ready := cutter.feed(piece):  # after a stop: nothing, while the batcher finishes the call
                yield chunk(ready)
        try:
            completion = (await asyncio.wrap_future(future))[0]
        except Exception:  # the response has begun: drop it, the client reports it
            logger.exception("streamed generation failed")
            raise
        if rest := cutter.rest():
            yield chunk(rest)
        yield chunk("", "stop" if completion.ended or cutter.stopped else "length")
        if include_usage:
            yield sse({**base, "choices": [], "usage": usage(len(job.prompts[0]), len(completion.ids))})
        yield SSE_DONE


def _logprobs(choice: _Choice) -> dict[str, Any]:
    values = [math.log(max(p, 1e-45)) for p in choice.probabilities]
    return {"tokens": choice.tokens, "token_logprobs": values, "text_offset": choice.offsets,
            "top_logprobs": [{token: value} for token, value in zip(choice.tokens, values)]}


def load_served(model: str | Path, device: str | None = None) -> tuple[DomainLM, dict[str, Any]]:
    """The model to serve, as an export (`blade export`'s directory as it is; a BLADE model
    directory exported in memory), and its `blade_prompt.json`."""
    if (Path(model) / PROMPT_FILE).is_file():
        return DomainLM.from_pretrained(model, device=device), read_prompt(model)
    plain, prompt_file = exported(ModelDirectory.from_pretrained(model, device=device))
    return DomainLM.of(plain), prompt_file


class KnowledgeServer(HTTPServer):
    """Serve a domain LM's completions at ``http://HOST:PORT/v1``, batching across requests.

    >>> with KnowledgeServer.from_directory("runs/my-model") as server:  # doctest: +SKIP
    ...     writer = EndpointWriter.connect(server.base_url)

    `max_batch` prompts at most per `generate` call (1: no batching, for comparison);
    `batch_wait` seconds a batch waits for more requests; `max_queue` requests wait at most (more
    get a 503 with Retry-After). The connection and body caps are `HTTPServer`'s.
    """

    def __init__(
        self,
        lm: DomainLM,
        prompt_file: dict[str, Any],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model_name: str | None = None,
        api_key: str | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        batch_wait: float = DEFAULT_BATCH_WAIT_MS / 1000,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if max_batch < 1 or max_queue < 1 or batch_wait < 0:
            raise OptionError("--max-batch and --max-queue must be at least 1, --batch-wait-ms at least 0")
        self.lm = lm
        self.prompt_file = prompt_file
        self.model_name = model_name or Path(str(lm.name_or_path or "blade")).name
        self.api_key = api_key
        self.max_queue = max_queue
        self.batcher = Batcher(lm, max_batch=max_batch, wait=batch_wait, max_queue=max_queue)
        super().__init__(KnowledgeApp(self).app, host=host, port=port, api_key=api_key,
                         max_body_bytes=max_body_bytes, max_connections=max_connections)

    @classmethod
    def from_directory(cls, model: str | Path, *, device: str | None = None, **options: Any) -> KnowledgeServer:
        """Serve the model directory `model` (an export, or a BLADE model directory exported in memory)."""
        lm, prompt_file = load_served(model, device)
        return cls(lm, prompt_file, **{"model_name": Path(model).name, **options})

    def __repr__(self) -> str:  # no api_key here, ever
        state = self.base_url if self._socket is not None else "stopped"
        return f"KnowledgeServer({self.model_name!r}, {state})"

    def stop(self) -> None:
        super().stop()
        self.batcher.close()
