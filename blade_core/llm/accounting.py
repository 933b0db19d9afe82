"""One way to put an answer cache and call accounting on any chat model.

Every component that pays for general-LLM calls (KIT data, corpus augmentation, BPO, evaluation)
wraps its model with `accounted`, so all of them cache the same way (one SQLite file per run,
answers keyed by prompt and model, not by retry settings) and report the same counts (calls paid,
cache hits).

The cache is LangChain's own `BaseCache` interface over the standard library's sqlite3, in the table
layout of `langchain_community`'s `SQLiteCache` (which earlier versions used), so caches written
before still answer; rows are LangChain's serialized generations, read back with only generation
and message classes allowed, so a cache file cannot instantiate anything else.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core._api import suppress_langchain_beta_warning
from langchain_core.caches import RETURN_VAL_TYPE, BaseCache
from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
from langchain_core.language_models import BaseChatModel
from langchain_core.load import Serializable, dumps, loads
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, Generation

from blade_core.errors import OutputPathError

_TRANSPORT_SETTINGS = ("max_retries", "request_timeout", "timeout")
_ROW_CLASSES: list[type[Serializable]] = [Generation, ChatGeneration, ChatGenerationChunk, AIMessage, AIMessageChunk]
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS full_llm_cache "
    "(prompt VARCHAR NOT NULL, llm VARCHAR NOT NULL, idx INTEGER NOT NULL, response VARCHAR, "
    "PRIMARY KEY (prompt, llm, idx))"
)


def answer_key(llm_string: str) -> str:
    """LangChain's model key without the client's transport settings (retries, timeout).

    They change nothing in an answer, but LangChain keys cached answers by every constructor
    argument: raising --max-retries after an outage would otherwise miss every cached answer and
    pay for it again. Keys that are not a serialized model are left as they are.
    """
    model, separator, params = llm_string.partition("---")
    try:
        spec = json.loads(model)
    except ValueError:
        return llm_string
    kwargs = spec.get("kwargs") if isinstance(spec, dict) else None
    if isinstance(kwargs, dict):
        for setting in _TRANSPORT_SETTINGS:
            kwargs.pop(setting, None)
    return json.dumps(spec, sort_keys=True) + separator + params


class AnswerCache(BaseCache):
    """Chat answers in a SQLite file, keyed by prompt and `answer_key`; counts its hits."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.hits = 0
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False)
            with self._lock, self._db:
                self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as error:  # a user's file given as the cache, or no write access
            what = ("is not an SQLite answer cache (a file of yours?)" if path.is_file() and "not a database" in str(error)
                    else f"cannot be opened as an answer cache ({error})")
            raise OutputPathError(f"{path} {what}; give a new file name for the cache (--cache-path), "
                                  "or a folder you can write to") from None

    def lookup(self, prompt: str, llm_string: str) -> RETURN_VAL_TYPE | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT response FROM full_llm_cache WHERE prompt = ? AND llm = ? ORDER BY idx",
                (prompt, answer_key(llm_string)),
            ).fetchall()
            if not rows:
                return None
            self.hits += 1
        # `loads` is marked beta; with an allow-list it is the safe way to read LangChain's own rows.
        # Its warning is silenced here only, never by a filter on the whole process.
        with suppress_langchain_beta_warning():
            return [loads(row[0], allowed_objects=_ROW_CLASSES) for row in rows]

    def update(self, prompt: str, llm_string: str, return_val: RETURN_VAL_TYPE) -> None:
        if not any(generation.text.strip() for generation in return_val):
            return  # an empty answer is a failed call (`answers`): asked again, it must reach the LLM
        key = answer_key(llm_string)
        rows = [(prompt, key, i, dumps(generation)) for i, generation in enumerate(return_val)]
        with self._lock, self._db:
            self._db.execute("DELETE FROM full_llm_cache WHERE prompt = ? AND llm = ?", (prompt, key))
            self._db.executemany("INSERT INTO full_llm_cache VALUES (?, ?, ?, ?)", rows)

    def clear(self, **kwargs: Any) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM full_llm_cache")


class CallCounter(BaseCallbackHandler):
    """Counts chat-model calls LangChain starts (cache hits included; SDK retries not)."""

    def __init__(self) -> None:
        self.started = 0
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        with self._lock:
            self.started += 1


@dataclass
class Accounted:
    """A chat model with its call counter and (when caching) its answer cache."""

    model: BaseChatModel
    counter: CallCounter
    cache: AnswerCache | None

    @property
    def cache_hits(self) -> int:
        return self.cache.hits if self.cache is not None else 0

    @property
    def llm_calls(self) -> int:
        """Calls that reached the LLM: those started, less those the cache answered."""
        return self.counter.started - self.cache_hits


def accounted(llm: BaseChatModel, cache_path: Path | None) -> Accounted:
    """A copy of `llm` that counts the calls it starts and, with `cache_path`, caches its answers.

    A copy, so the caller's model is left as it was. Without a cache path caching is off (not the
    global LangChain cache either), so every call is real and counted.
    """
    counter = CallCounter()
    callbacks: BaseCallbackManager | Sequence[BaseCallbackHandler] | None = llm.callbacks
    if isinstance(callbacks, BaseCallbackManager):
        manager = callbacks.copy()
        manager.add_handler(counter)
        callbacks = manager
    else:
        callbacks = [*(callbacks or []), counter]
    cache = AnswerCache(cache_path) if cache_path is not None else None
    model = llm.model_copy(update={"callbacks": callbacks, "cache": cache if cache is not None else False})
    return Accounted(model, counter, cache)
