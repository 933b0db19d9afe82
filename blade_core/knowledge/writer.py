"""`KnowledgeWriter`: what every adapter calls to have knowledge written, wherever the model runs.

Two writers share everything but the generation itself:

* `DomainLM` generates in this process (the model directory loaded here);
* `EndpointWriter` asks an OpenAI-compatible completions endpoint serving an exported model
  (`blade serve`, vLLM, ...), so many apps share one batched knowledge service.

What a question's knowledge is, is decided here, once, for both: the views written for it (the
question, and each option alone with `option_knowledge`), the guards (`entity_gate`,
`min_confidence`) and how the views are merged. A subclass only turns prompts into generated text
with each sentence's confidence (`_texts`), and streams one (`_stream_text`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from blade_core.knowledge.entity_views import recite
from blade_core.knowledge.gate import Anchor, Asked, WrittenKnowledge, anchors, asked_entities, passages_about
from blade_core.knowledge.options import merge_option_knowledge, option_views, split_options
from blade_core.knowledge.types import Written
from blade_core.model.config import BladeConfig
from blade_core.model.generation_settings import GenerationDefaults, apply_settings

logger = logging.getLogger(__name__)


class KnowledgeWriter(ABC):
    """Writes the knowledge questions need: batched (`generate_knowledge`), streamed
    (`stream_knowledge`), or raw, before the guards (`write_knowledge`, which BPO calibrates on).

    `config` is the model directory's `blade.json` (template, generation defaults, the domain's
    names for the entity gate); `name_or_path` says where the model is, for metadata.
    """

    config: BladeConfig
    name_or_path: str | None

    @property
    @abstractmethod
    def context_length(self) -> int:
        """How many tokens the model reads at once, prompt and written text together."""

    @abstractmethod
    def _texts(self, questions: Sequence[str], settings: GenerationDefaults, stop: Sequence[str] | None,
               batch_size: int, progress: bool, confidence: bool = True) -> list[Written]:
        """One generated text per question (in the template), with its sentences' confidence, in
        the input order; at most `batch_size` questions per forward pass or request. Without
        `confidence`, a writer may leave every sentence at confidence 1 when that saves work."""

    @abstractmethod
    def _stream_text(self, question: str, settings: GenerationDefaults,
                     stop: Sequence[str] | None) -> Iterator[str]:
        """One question's generated text, piece by piece as it is written."""

    def settings(self, overrides: Mapping[str, Any]) -> GenerationDefaults:
        """The directory's generation defaults with the caller's non-None `overrides` applied and
        checked (`generation_settings.apply_settings`)."""
        return apply_settings(self.config.generation, overrides)

    def write_knowledge(
        self,
        questions: Sequence[str],
        *,
        batch_size: int = 32,
        progress: bool = False,
        stop: Sequence[str] | None = None,
        confidence: bool = True,
        **generation: Any,
    ) -> list[WrittenKnowledge]:
        """What the domain LM writes for each question, before the guards: every view's text and
        its sentences' confidence (`generate_knowledge` renders it; BPO calibrates on it; without
        `confidence`, sentences may all count as sure)."""
        if isinstance(questions, str):
            raise TypeError("knowledge is written for a list of questions; wrap a single one in a list")
        settings = self.settings(generation)
        asked = [self._recited(q, settings) for q in questions]
        views = [(option_views(q) if settings.option_knowledge else [q]) + [recite(e) for e in about.entities]
                 for q, about in zip(questions, asked)]
        texts = iter(self._texts([v for group in views for v in group], settings, stop, batch_size, progress,
                                 confidence))
        written = []
        for question, group, about in zip(questions, views, asked):
            anchors = self._gate_anchors(question, settings)
            if anchors is not None:  # a recitation's sentences name its entity, and what the question's do
                anchors = anchors + [(frozenset({e}), *anchors[0]) for e in about.entities]
            stem, options = split_options(question)
            written.append(WrittenKnowledge([next(texts) for _ in group], anchors, self.config.names,
                                            about.entities, stem, tuple(options), about.options))
        return written

    def _recited(self, question: str, settings: GenerationDefaults) -> Asked:
        """The entities to recite for `question` (`entity_views`)."""
        if not settings.recite or not self.config.entities:
            return Asked()
        stem, options = split_options(question)
        return asked_entities(stem, options, self.config.entities)

    def generate_knowledge(
        self,
        questions: Sequence[str],
        *,
        batch_size: int = 32,
        progress: bool = False,
        stop: Sequence[str] | None = None,
        **generation: Any,
    ) -> list[str]:
        """The knowledge text for each question, generated in batches.

        `generation` overrides the directory's defaults (max_new_tokens, temperature, top_p,
        repetition_penalty, option_knowledge, entity_gate, min_confidence). With
        `option_knowledge`, a multiple-choice question is also shown with each option alone, in the
        same batches, and the first sentence of each of those is added to its knowledge. Sentences
        about other entities (`entity_gate`) or written with too little confidence
        (`min_confidence`) are withheld (`knowledge_gate`). Results come back in the input order.
        Generation ends at any of the `stop` strings.
        """
        min_confidence = self.settings(generation).min_confidence
        results = []
        for written in self.write_knowledge(questions, batch_size=batch_size, progress=progress, stop=stop,
                                            confidence=min_confidence > 0, **generation):
            text = written.render(min_confidence)
            if logger.isEnabledFor(logging.DEBUG) and text != written.render():  # a second render, when asked
                logger.debug("withheld knowledge: %r -> %r", [v.text for v in written.views], text)
            results.append(text)
        return results

    def passages_about(self, question: str, passages: Sequence[str], k: int, **generation: Any) -> list[int]:
        """The indices of the first `k` retrieved `passages` (best first) to give beside this model's
        knowledge: those about the question's entities (`gate.passages_about`), under the same
        `entity_gate` setting that screens the knowledge; the first `k` when it is off or the
        domain's names are unknown."""
        if not self.settings(generation).entity_gate or not self.config.names:
            return list(range(min(k, len(passages))))
        return passages_about(question, passages, self.config.names, k)

    def _gate_anchors(self, question: str, settings: GenerationDefaults) -> list[Anchor] | None:
        """What each view's sentences must name (`knowledge_gate`), or None when nothing is gated."""
        if not settings.entity_gate or not self.config.names:
            return None
        stem, options = split_options(question)
        found = anchors(stem, options, self.config.names)
        if found is None:
            return None
        return found if settings.option_knowledge else found[:1]

    def stream_knowledge(self, question: str, stop: Sequence[str] | None = None, **generation: Any) -> Iterator[str]:
        """Yield the knowledge for one question piece by piece, as it is generated; with
        `option_knowledge`, the option sentences follow in one piece once the question's own
        knowledge is complete, so the streamed text equals `generate_knowledge`'s. When a guard
        applies (the entity gate, or `min_confidence`) or entities are recited, sentences are
        judged whole, so the knowledge comes in one piece."""
        settings = self.settings(generation)
        if self._gate_anchors(question, settings) is not None or settings.min_confidence > 0 \
                or self._recited(question, settings).entities:
            # a sentence is judged once it is complete
            yield self.generate_knowledge([question], stop=stop, **generation)[0]
            return
        views = option_views(question) if settings.option_knowledge else [question]
        streamed = ""
        for piece in self._stream_text(question, settings, stop):
            if not streamed:
                piece = piece.lstrip()
            if piece:
                streamed += piece
                yield piece
        if len(views) > 1:
            per_option = [w.text for w in self._texts(views[1:], settings, stop, len(views) - 1, False, False)]
            rest = merge_option_knowledge(streamed, per_option)[len(streamed.strip()):]
            if rest.strip():
                yield rest.lstrip() if streamed.endswith((" ", "\n")) or not streamed else rest
