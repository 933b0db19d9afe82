"""A deterministic stand-in for the black-box general LLM, for machines with no API access.

`OfflineChatModel` has NO domain knowledge of its own. It reads multiple-choice prompts in the
project's answer-with-knowledge format and picks options by how well each one agrees with the
knowledge it is handed, using the bundled MiniLM sentence encoder. So, like a real general LLM on a
fictional or private domain, it is accurate with the right knowledge, follows the knowledge when the
knowledge points elsewhere, and is near chance with none. That makes it a fair, fast, free judge of
the knowledge a domain LM writes (in BPO and in evaluation) when no real LLM can be reached; it is
not a substitute for one when reporting results.

Scoring (per option o, knowledge sentences s, question stem q; cosines of unit MiniLM vectors):

* with knowledge, support(o) = max_s cos(q + " " + o, s): the option read as an answer to the
  question, against the knowledge sentence that best states that answer. (Relevance-weighted and
  option-only variants were tried on hand-made invented-domain items and were no better.)
* with no knowledge, support(o) = cos(q, o): a surface guess, near chance on an invented domain.

Chinese text is read through word and character-bigram counts instead of MiniLM, an English
encoder (`retrieval.lexical`): the same cosines, over those vectors.

One option is chosen for single-answer questions; for multi-answer ones, the options above the
largest drop in the sorted scores, at least two. Other prompts get the supplied sentence closest to
the last human message, or "I do not know." when nothing was supplied.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from blade_core.knowledge.options import split_options
from blade_core.llm.answer_prompt import (
    KNOWLEDGE_CLOSE,
    KNOWLEDGE_OPEN,
    MULTI_HINT,
    NO_KNOWLEDGE,
    QUESTION_CLOSE,
    QUESTION_OPEN,
    SINGLE_HINT,
)
from blade_core.llm.chunks import reply_chunks
from blade_core.retrieval.lexical import lexical_similarity
from blade_core.retrieval.minilm import MINILM_DIM, encode_array
from blade_core.text import cut_at_stop, is_cjk, split_sentences

UNKNOWN_REPLY = "I do not know."

_CONTEXT_SECTION = re.compile(
    r"<(knowledge|context|documents?|reference)>(.*?)</\1>", re.DOTALL | re.IGNORECASE
)


@dataclass(frozen=True)
class MCQPrompt:
    stem: str
    options: dict[str, str]
    multi: bool
    knowledge: str | None


def _message_text(message: BaseMessage) -> str:
    return str(message.text)


def _between(text: str, open_tag: str, close_tag: str, end: int | None = None) -> str | None:
    """Text from the first `open_tag` to the last `close_tag` before `end`, or None."""
    head = text if end is None else text[:end]
    start = head.find(open_tag)
    stop = head.rfind(close_tag)
    if start < 0 or stop < start:
        return None
    return head[start + len(open_tag) : stop]


def read_answer_prompt(text: str) -> MCQPrompt | None:
    """The stem, options, multi flag and knowledge of an answer-with-knowledge prompt, or None."""
    q_start = text.rfind(QUESTION_OPEN)
    q_stop = text.rfind(QUESTION_CLOSE)
    if q_start < 0 or q_stop < q_start:
        return None
    block = text[q_start + len(QUESTION_OPEN) : q_stop]
    lines = [line for line in block.splitlines() if line.strip() not in (SINGLE_HINT, MULTI_HINT)]
    stem, texts = split_options("\n".join(lines))  # the one option parser (`knowledge.options`)
    if len(texts) < 2:
        return None
    options = {chr(ord("A") + i): option for i, option in enumerate(texts)}
    stem_lines = [line.strip() for line in stem.splitlines() if line.strip()]
    knowledge = _between(text, KNOWLEDGE_OPEN, KNOWLEDGE_CLOSE, end=q_start)
    if knowledge is not None and knowledge.strip() in ("", NO_KNOWLEDGE):
        knowledge = None
    return MCQPrompt(
        stem=" ".join(stem_lines),
        options=options,
        multi=MULTI_HINT in block,
        knowledge=knowledge.strip() if knowledge else None,
    )


def choose_options(scores: dict[str, float], multi: bool, min_multi: int = 2) -> list[str]:
    """The letters a judge answers with, from a score per option: the best one for a single-answer
    question; for a multi-answer one, those above the largest drop in the sorted scores, between
    `min_multi` and all but one."""
    # Rounded so float noise from batch composition (cached vs fresh embeddings) cannot flip a
    # near-tie; ties go to the earlier letter.
    scores = {letter: round(value, 5) for letter, value in scores.items()}
    ranked = sorted(scores, key=lambda letter: (-scores[letter], letter))
    if not multi or len(ranked) <= min_multi:
        return sorted(ranked[: min_multi if multi else 1])
    values = [scores[letter] for letter in ranked]
    cut = max(range(min_multi, len(ranked)), key=lambda k: (values[k - 1] - values[k], -k))
    return sorted(ranked[:cut])


def _word_count(text: str) -> int:
    return len(text.split())


class _EmbeddingCache:
    """A thread-safe LRU of text -> unit vector. Copies and pickles start empty (locks can't be
    copied, and a cache is cheap to refill), so the model stays deep-copyable and picklable."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[_EmbeddingCache], tuple[()]]:
        return (_EmbeddingCache, ())

    def __len__(self) -> int:
        return len(self._items)

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {text: self._items[text] for text in texts if text in self._items}
            for text in found:
                self._items.move_to_end(text)
        return found

    def put_many(self, items: dict[str, np.ndarray], maxsize: int) -> None:
        with self._lock:
            self._items.update(items)
            while len(self._items) > maxsize:
                self._items.popitem(last=False)


class OfflineChatModel(BaseChatModel):
    """Deterministic MiniLM-based stand-in general LLM with no domain knowledge of its own.

    Answers answer-with-knowledge multiple-choice prompts by comparing options with the supplied
    knowledge (see the module docstring); replies to other prompts with the supplied sentence most
    relevant to the last human message. Thread-safe; sentence embeddings are LRU-cached so the
    repeated calls of BPO cost little after the first.
    """

    model_name: str = "blade-offline"
    """Reported in response metadata (and by the OpenAI-compatible server)."""
    temperature: float = Field(default=0.0, ge=0.0)
    """Accepted for interface parity and ignored: the model is deterministic."""
    min_multi: int = Field(default=2, ge=1)
    """Fewest options chosen when the prompt says several options are correct."""
    cache_size: int = Field(default=20_000, ge=0)
    """How many sentence embeddings are kept (LRU)."""

    _cache: _EmbeddingCache = PrivateAttr(default_factory=_EmbeddingCache)

    @property
    def _llm_type(self) -> str:
        return "blade-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    # --- embeddings -------------------------------------------------------------------------

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Rows of unit vectors for `texts`: cached ones reused, the rest encoded in one batch."""
        if not texts:
            return np.zeros((0, MINILM_DIM), dtype=np.float32)
        found = self._cache.get_many(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            new = dict(zip(missing, encode_array(missing), strict=True))
            found.update(new)
            self._cache.put_many(new, self.cache_size)
        return np.stack([found[text] for text in texts])

    # --- answering --------------------------------------------------------------------------

    def _option_scores(self, prompt: MCQPrompt) -> dict[str, float]:
        letters = list(prompt.options)
        texts = [prompt.options[letter] for letter in letters]
        stem = prompt.stem or " "
        sentences = split_sentences(prompt.knowledge) if prompt.knowledge else []
        if not sentences:
            return dict(zip(letters, self._similarity(texts, [stem])[:, 0].tolist(), strict=True))
        hypotheses = [f"{stem} {text}" for text in texts]
        support = self._similarity(hypotheses, sentences).max(axis=1)
        return dict(zip(letters, support.tolist(), strict=True))

    def _similarity(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        """queries x documents: MiniLM cosines, or for Chinese text (which MiniLM, an English
        encoder, reads poorly) cosines of word and character-bigram counts."""
        if is_cjk("".join([*queries, *documents])):
            return lexical_similarity(queries, documents)
        vectors = self._embed([*documents, *queries])
        return vectors[len(documents):] @ vectors[: len(documents)].T

    def _reply_to_other(self, messages: list[BaseMessage]) -> str:
        texts = [_message_text(message) for message in messages]
        last_human = max(
            (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)),
            default=len(messages) - 1,
        )
        if last_human < 0:
            return UNKNOWN_REPLY
        query_text = texts[last_human]
        query = _between(query_text, QUESTION_OPEN, QUESTION_CLOSE) or query_text
        sections = [m.group(2) for text in texts for m in _CONTEXT_SECTION.finditer(text)]
        if sections:
            query = _CONTEXT_SECTION.sub(" ", query)
            source = "\n".join(sections)
        else:
            source = "\n".join(texts[:last_human])
        sentences = [s for s in split_sentences(source) if s.strip() != NO_KNOWLEDGE]
        if not sentences or not query.strip():
            return UNKNOWN_REPLY
        best = int(np.argmax(self._similarity([query.strip()], sentences)[0]))
        return sentences[best]

    def reply(self, messages: list[BaseMessage]) -> str:
        """The model's whole reply to `messages` (what `invoke` returns as content)."""
        for message in reversed(messages):
            prompt = read_answer_prompt(_message_text(message))
            if prompt is not None:
                scores = self._option_scores(prompt)
                return ", ".join(choose_options(scores, prompt.multi, self.min_multi))
        return self._reply_to_other(messages)

    # --- LangChain interface ----------------------------------------------------------------

    def _finish(
        self, messages: list[BaseMessage], stop: list[str] | None
    ) -> tuple[str, UsageMetadata]:
        text = cut_at_stop(self.reply(messages), stop)
        prompt_tokens = sum(_word_count(_message_text(m)) for m in messages)
        completion_tokens = _word_count(text)
        usage: UsageMetadata = {  # type: ignore[typeddict-item]  # the token details are optional
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return text, usage

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, usage = self._finish(messages, stop)
        message = AIMessage(
            content=text,
            usage_metadata=usage,
            response_metadata={"model_name": self.model_name, "finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text, usage = self._finish(messages, stop)
        yield from reply_chunks(text, self.model_name, run_manager, usage)
