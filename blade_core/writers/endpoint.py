"""`EndpointWriter`: knowledge written by an OpenAI-compatible completions endpoint.

One knowledge service on a GPU (vLLM, or `blade serve` on a CPU) serves the exported domain LM
(`blade export`) to every app; each app's chain holds an `EndpointWriter` in place of a loaded
`DomainLM`, and behaves the same (`KnowledgeWriter`: knowledge per option, the guards, streaming).

What the writer sends is what `blade_prompt.json` says an engine needs:

* the knowledge prompt as text, soft tokens spelled out, with `add_special_tokens: false` (so the
  token ids are `DomainLM`'s) and the `logit_bias` that keeps the soft tokens out of the text;
* many prompts per request (the completions API takes a list), `batch_size` at a time, and up to
  `max_concurrency` requests in flight, so the engine batches across them;
* `logprobs: 1`, so each sentence's confidence (`min_confidence`, BPO's calibration) is judged as
  in-process.

The openai client does the HTTP: timeouts, and retries with backoff on connection errors, 408, 429
and 5xx. When they run out, a `KnowledgeEndpointError` names the endpoint: no knowledge is made up,
so a failing service is never scored as a wrong answer.

Where the prompt comes from: an export directory (`export=`; only its small JSON files are read, so
an app can ship them without the weights), or, from `blade serve`, the model list it answers
(`GET /v1/models`, each model with a `blade` field holding both files).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import openai

from blade_core.client_options import MAX_CONCURRENCY, MAX_RETRIES, TIMEOUT
from blade_core.errors import KnowledgeEndpointError, OptionError
from blade_core.knowledge.confidence import scored_pieces
from blade_core.knowledge.entity_views import anchor
from blade_core.knowledge.types import Written
from blade_core.knowledge.writer import KnowledgeWriter
from blade_core.model.config import BladeConfig
from blade_core.model.directory import DEFAULT_CONTEXT_LENGTH
from blade_core.model.export import PROMPT_FILE, read_prompt
from blade_core.model.generation_settings import GenerationDefaults
from blade_core.progress_bars import progress_bar

CONNECT_OPTIONS = frozenset({"api_key", "timeout", "max_retries", "max_concurrency"})
"""`connect`'s options for the connection itself, which adapters pass through."""
API_KEY_VARIABLE = "BLADE_ENDPOINT_API_KEY"
"""Where the endpoint's key is read from when none is given; never OPENAI_API_KEY, which must not
be sent to a self-hosted server."""


def _client(base_url: str, api_key: str | None, timeout: float, max_retries: int) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key or os.environ.get(API_KEY_VARIABLE) or "none",
                         timeout=timeout, max_retries=max_retries)


class EndpointWriter(KnowledgeWriter):
    """Writes knowledge through the completions API of an endpoint serving an exported model.

    Build it with `EndpointWriter.connect(base_url, model)`; `config` is the export's `blade.json`
    (its template holds the soft tokens), `logit_bias` the export's (`blade_prompt.json`).
    `name_or_path` is a reference (`reference`) that `connect_reference` connects to again, so
    adapters serialize an endpoint as they serialize a model directory.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        config: BladeConfig,
        logit_bias: dict[str, int] | None = None,
        export: str | Path | None = None,
        context_length: int = DEFAULT_CONTEXT_LENGTH,
        api_key: str | None = None,
        timeout: float = TIMEOUT,
        max_retries: int = MAX_RETRIES,
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        if max_concurrency < 1:
            raise OptionError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.export = None if export is None else str(export)
        self.name_or_path = reference(self.base_url, model, self.export)
        self.config = config
        self.logit_bias = dict(logit_bias or {})
        self.max_concurrency = max_concurrency
        self._context_length = context_length
        self._client = _client(self.base_url, api_key, timeout, max_retries)

    @classmethod
    def connect(
        cls,
        base_url: str,
        model: str | None = None,
        *,
        export: str | Path | None = None,
        api_key: str | None = None,
        timeout: float = TIMEOUT,
        max_retries: int = MAX_RETRIES,
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> EndpointWriter:
        """A writer for `model` at `base_url` (e.g. "http://127.0.0.1:8000/v1"), its prompt read
        from `export` (the export directory) or, when None, from the endpoint's model list (what
        `blade serve` answers). `model` may be left out when the endpoint serves one model."""
        client = _client(base_url, api_key, timeout, max_retries)
        served = _served_models(client, base_url)  # also: is the endpoint up, now rather than mid-chain
        if model is None:
            if len(served) > 1:
                raise OptionError(f"the endpoint {base_url} serves several models ({sorted(served)}); "
                                  "pass model= the one to use")
            model = next(iter(served))
        described = served.get(model, {})
        if export is not None:
            config = BladeConfig.load(export)
            if config is None or not Path(export, PROMPT_FILE).is_file():
                raise OptionError(f"{export}: not a `blade export` directory (no blade.json and "
                                  f"{PROMPT_FILE}); export the model with `blade export`")
            prompt = read_prompt(export)
        elif "blade" in described:
            config, prompt = BladeConfig.model_validate(described["blade"]["config"]), described["blade"]["prompt"]
        else:
            raise OptionError(
                f"the endpoint {base_url} does not describe model {model!r} as a BLADE export "
                f"(it serves {sorted(served)}; only `blade serve` describes its prompt): pass "
                "export= the directory `blade export` wrote, or the model name it serves")
        context = described.get("max_model_len")
        return cls(base_url, model, config=config, logit_bias=prompt.get("logit_bias"), export=export,
                   context_length=context if isinstance(context, int) else DEFAULT_CONTEXT_LENGTH,
                   api_key=api_key, timeout=timeout, max_retries=max_retries, max_concurrency=max_concurrency)

    @property
    def context_length(self) -> int:
        """The served model's context (`max_model_len` in its model list), else the usual default."""
        return self._context_length

    # --- the completions API ----------------------------------------------------------------------

    def _prompt(self, question: str) -> str:
        prefix, suffix = self.config.knowledge_template.split()
        return prefix + question + suffix

    def _request(self, settings: GenerationDefaults, stop: Sequence[str] | None, confidence: bool) -> dict[str, Any]:
        """The completions arguments for `settings` (sampling ones only when sampling; logprobs only
        when sentences are judged by them)."""
        request: dict[str, Any] = {"model": self.model, "max_tokens": settings.max_new_tokens,
                                   "temperature": settings.temperature}
        if confidence:
            request["logprobs"] = 1
        extra: dict[str, Any] = {"add_special_tokens": False}
        if settings.temperature > 0:
            request["top_p"] = settings.top_p
        if settings.repetition_penalty != 1.0:
            extra["repetition_penalty"] = settings.repetition_penalty  # vLLM's and `blade serve`'s extension
        if self.logit_bias:
            request["logit_bias"] = self.logit_bias
        if stop := [s for s in stop or [] if s]:
            request["stop"] = stop
        request["extra_body"] = extra
        return request

    def _failed(self, err: Exception) -> KnowledgeEndpointError:
        status = getattr(err, "status_code", None)
        refused = isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)
        hint = ("the server refused the request; its message above says why" if refused else
                "check that the server is up (`blade serve`, vLLM) and serves this model; calls are "
                "retried (max_retries) before this error")
        return KnowledgeEndpointError(
            f"the knowledge endpoint {self.base_url} (model {self.model!r}) failed"
            + (f" with HTTP {status}" if status else "") + f": {err}; no knowledge was written: {hint}")

    def _complete(self, questions: Sequence[str], request: dict[str, Any]) -> list[Written]:
        """One request for `questions`; their texts in order, with each sentence's confidence."""
        starts = [anchor(q) for q in questions]  # a recitation's text starts with its entity's name
        try:
            response = self._client.completions.create(
                prompt=[self._prompt(q) + start for q, start in zip(questions, starts)], **request)
        except openai.OpenAIError as err:
            raise self._failed(err) from err
        choices = sorted(response.choices, key=lambda choice: choice.index)
        if len(choices) != len(questions):
            raise self._failed(RuntimeError(f"{len(choices)} completions for {len(questions)} prompts"))
        return [_written(choice, start) for choice, start in zip(choices, starts)]

    def _texts(self, questions: Sequence[str], settings: GenerationDefaults, stop: Sequence[str] | None,
               batch_size: int, progress: bool, confidence: bool = True) -> list[Written]:
        """`batch_size` prompts per request, grouped by length (so the server's batches pad little),
        `max_concurrency` requests in flight; in the input order."""
        request = self._request(settings, stop, confidence)
        order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if len(chunks) <= 1:  # one request: no thread to start
            return self._complete(questions, request) if chunks else []
        with ThreadPoolExecutor(min(self.max_concurrency, len(chunks)), thread_name_prefix="blade-endpoint") as pool:
            done: Iterator[list[Written]] = pool.map(
                lambda chunk: self._complete([questions[i] for i in chunk], request), chunks)
            if progress:
                done = iter(progress_bar(done, total=len(chunks), desc="knowledge", unit="request"))
            results: list[Written] = [Written("", [])] * len(questions)
            for chunk, written in zip(chunks, done):
                for index, text in zip(chunk, written):
                    results[index] = text
            return results

    def _stream_text(self, question: str, settings: GenerationDefaults, stop: Sequence[str] | None) -> Iterator[str]:
        request = {**self._request(settings, stop, confidence=False), "stream": True}
        try:
            for chunk in self._client.completions.create(prompt=self._prompt(question), **request):
                if chunk.choices and chunk.choices[0].text:
                    yield chunk.choices[0].text
        except openai.OpenAIError as err:
            raise self._failed(err) from err


def reference(base_url: str, model: str, export: str | None = None) -> str:
    """One string naming an endpoint's model (and the export its prompt came from):
    ``http://127.0.0.1:8000/v1#model=NAME&export=PATH``."""
    return f"{base_url}#{urlencode({'model': model, **({'export': export} if export else {})})}"


def is_reference(source: str | Path) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def connect_reference(source: str, **options: Any) -> EndpointWriter:
    """The writer a `reference` names (a bare URL: the model the endpoint serves)."""
    base_url, _, fragment = source.partition("#")
    given = {key: values[-1] for key, values in parse_qs(fragment).items()}
    return EndpointWriter.connect(base_url, given.get("model"), export=given.get("export"), **options)


def _served_models(client: openai.OpenAI, base_url: str) -> dict[str, dict[str, Any]]:
    """What the endpoint says of each model it serves, by name (vLLM: `max_model_len`; `blade serve`
    also `blade`, the export's prompt files)."""
    try:
        models = list(client.models.list())
    except openai.OpenAIError as err:
        raise KnowledgeEndpointError(f"the knowledge endpoint {base_url} did not list its models: {err}; "
                                     "check the URL (it ends in /v1) and that the server is up") from err
    if not models:
        raise KnowledgeEndpointError(f"the knowledge endpoint {base_url} serves no model")
    return {model.id: dict(model.model_extra or {}) for model in models}


def _written(choice: Any, start: str = "") -> Written:
    """A completion choice as `Written`: its text (after the `start` the prompt ended with) and
    sentences, each judged by its least probable token. Token texts that do not add up to the text
    (a character split across tokens) are cut from it at their offsets. Without logprobs (not asked
    for, or not given), every sentence counts as sure: there is nothing to judge it by, and the gate
    still sees every sentence."""
    text: str = choice.text or ""
    logprobs = choice.logprobs
    pieces: list[str] = list(logprobs.tokens or []) if logprobs is not None else []
    values = [1.0 if value is None else min(1.0, math.exp(value))
              for value in (logprobs.token_logprobs or [] if logprobs is not None else [])]
    if pieces and "".join(pieces) != text:
        offsets = list(logprobs.text_offset or [])
        pieces = ([text[a - offsets[0] : b - offsets[0]] for a, b in zip(offsets, [*offsets[1:], offsets[0] + len(text)])]
                  if offsets and len(offsets) == len(values) else [])
    if not pieces or len(pieces) != len(values):
        pieces, values = [text], [1.0]
    if start:
        text, pieces, values = start + text, [start, *pieces], [1.0, *values]
    return Written(text.strip(), scored_pieces(pieces, values))
