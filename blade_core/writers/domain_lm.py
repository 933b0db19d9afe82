"""`DomainLM`: the small domain LM that writes, through its soft prompt, the knowledge a question needs.

Input layout for every question (what KIT trains on and BPO optimizes):

    [soft prompt (n virtual tokens)][template prefix][question][template suffix]

The soft prompt goes first, as in peft's prompt tuning, so a peft-loaded adapter and this class see
the same sequence. The soft prompt and the template prefix are the same for every question, so by
default their key/value cache is computed once (and kept until the weights or the soft prompt
change) and each batch starts from it (prefix caching):

    cached:   [soft prompt][template prefix] (from the cache) [pad ... pad][question][suffix]
    uncached: [pad ... pad][soft prompt][template prefix][question][suffix]

Padding is masked out and position ids count only real tokens, so in both layouts every real token
has the same position and attends to the same tokens: greedy outputs do not depend on the layout or
on which other questions share the batch.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from transformers import (
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    TextIteratorStreamer,
)

from blade_core.errors import OptionError
from blade_core.knowledge.confidence import TokenProbabilities, scored_sentences
from blade_core.knowledge.entity_views import anchor
from blade_core.knowledge.types import Written
from blade_core.knowledge.writer import KnowledgeWriter
from blade_core.model.config import BladeConfig
from blade_core.model.directory import ModelDirectory, encode_knowledge_prompt
from blade_core.model.generation_settings import GenerationDefaults
from blade_core.model.hf_compat import CACHE
from blade_core.model.soft_prompt import SoftPrompt
from blade_core.progress_bars import progress_bar
from blade_core.writers.prefix_cache import PrefixCache

logger = logging.getLogger(__name__)


class DomainLM(ModelDirectory, KnowledgeWriter):
    """A loaded model directory that writes knowledge: batched, streamed, with its soft prompt.

    Thread-safe: generation holds a lock, so one instance can serve many threads or tasks.
    `with_soft_prompt` gives a view with another soft prompt that shares the weights (BPO evaluates
    many candidate prompts on one loaded model this way). `prefix_caching=False` generates without
    the shared prefix's cache (same outputs, slower; for comparison).
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        soft_prompt: SoftPrompt | None = None,
        config: BladeConfig | None = None,
        name_or_path: str | None = None,
        prefix_caching: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self.prefix_caching = prefix_caching
        self._prefix: PrefixCache | None = None
        self._soft_embeds: torch.Tensor | None = None
        super().__init__(model.eval(), tokenizer, soft_prompt=soft_prompt, config=config, name_or_path=name_or_path)

    @classmethod
    def of(cls, parts: ModelDirectory, *, prefix_caching: bool = True) -> DomainLM:
        """A `DomainLM` over parts already loaded or built (training's output), sharing them."""
        return cls(parts.model, parts.tokenizer, soft_prompt=parts.soft_prompt, config=parts.config,
                   name_or_path=parts.name_or_path, prefix_caching=prefix_caching)

    def _set_soft_prompt(self, soft_prompt: SoftPrompt | None) -> None:
        super()._set_soft_prompt(soft_prompt)
        self._soft_embeds = None if soft_prompt is None else soft_prompt.embeddings.to(self.device, self.model.dtype)
        self._prefix = None

    def with_soft_prompt(self, soft_prompt: SoftPrompt | None) -> DomainLM:
        """A view of this model with another (or no) soft prompt; weights are shared, not copied."""
        view = copy.copy(self)
        view._lock = self._lock  # one model, one lock: views must not generate concurrently either
        view.config = self.config.model_copy(deep=True)
        view._set_soft_prompt(soft_prompt)
        return view

    def _prompt_parts(self, question: str, max_new_tokens: int) -> tuple[list[int], list[int]]:
        """(template prefix, question + suffix) token ids; the question is cut from the left to fit."""
        prefix, body, suffix = encode_knowledge_prompt(self.tokenizer, self.template, question)
        budget = self.context_length - self.n_soft_tokens - len(prefix) - len(suffix) - max_new_tokens
        if budget <= 0:
            raise OptionError(
                f"model context ({self.context_length} tokens) is too short for the soft prompt "
                f"({self.n_soft_tokens} tokens), the template ({len(prefix) + len(suffix)}) and "
                f"{max_new_tokens} new tokens; lower --max-new-tokens (or the soft prompt's "
                "--n-tokens), or use a longer-context model"
            )
        if len(body) > budget:
            logger.warning(
                "question of %d tokens truncated from the left to %d to fit the context",
                len(body),
                budget,
            )
            body = body[-budget:]
        return prefix, body + suffix

    def _prompt_ids(self, question: str, max_new_tokens: int) -> list[int]:
        """The question's token ids in the template, cut from the left to fit the context."""
        prefix, rest = self._prompt_parts(question, max_new_tokens)
        return prefix + rest

    def _batch_inputs(self, prompts: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded `inputs_embeds` (batch x seq x hidden) with the soft prompt, and the mask."""
        embed = self.model.get_input_embeddings()
        n_soft = self.n_soft_tokens
        length = n_soft + max(len(p) for p in prompts)
        pad_id = self.tokenizer.pad_token_id
        ids = torch.full((len(prompts), length - n_soft), pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), length), dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, length - n_soft - len(prompt) :] = torch.tensor(prompt)
            mask[row, length - n_soft - len(prompt) :] = 1
        embeds = embed(ids.to(self.device))
        if self._soft_embeds is not None:
            # Each row's soft prompt sits right before its own first real token, after its padding.
            rows = []
            for row, prompt in enumerate(prompts):
                pad = length - n_soft - len(prompt)
                rows.append(torch.cat([embeds[row, :pad], self._soft_embeds, embeds[row, pad:]]))
            embeds = torch.stack(rows)
        return embeds, mask.to(self.device)

    def _weights_key(self) -> tuple[Any, ...]:
        """Changes whenever the weights or the soft prompt change (in-place updates bump `_version`)."""
        tensors = [*self.model.parameters()] + ([self._soft_embeds] if self._soft_embeds is not None else [])
        version = sum(0 if t.is_inference() else t._version for t in tensors)
        return self.model.dtype, self.device, id(self._soft_embeds), version

    def _prefix_cache(self, prefix_ids: list[int]) -> PrefixCache | None:
        """The shared prefix's cache: computed on first use, then reused until the weights change.

        Call with the lock held. None when the model's cache cannot be reused (`PrefixCache`).
        """
        key = (tuple(prefix_ids), *self._weights_key())
        if self._prefix is None or self._prefix.key != key:
            ids = torch.tensor([prefix_ids], dtype=torch.long, device=self.device)
            embeds = self.model.get_input_embeddings()(ids)
            if self._soft_embeds is not None:
                embeds = torch.cat([self._soft_embeds[None], embeds], dim=1)
            self._prefix = PrefixCache.compute(self.model, embeds, key)
        return self._prefix if self._prefix.layers is not None else None

    def _generate(self, prompts: Sequence[tuple[list[int], list[int]]], **kwargs: Any) -> torch.Tensor:
        """HF `generate` for one batch of (prefix, rest) prompts that share one prefix: new tokens only."""
        with self._lock, torch.inference_mode():
            prefix = self._prefix_cache(prompts[0][0]) if self.prefix_caching and prompts[0][0] else None
            if prefix is None:
                embeds, mask = self._batch_inputs([p + rest for p, rest in prompts])
            else:
                embeds, mask = prefix.batch_inputs(self.model, self.tokenizer.pad_token_id, [rest for _, rest in prompts])
                kwargs[CACHE] = prefix.expand(len(prompts))
            return self.model.generate(inputs_embeds=embeds, attention_mask=mask, **kwargs)

    def _generation_kwargs(self, settings: GenerationDefaults, stop: Sequence[str] | None = None) -> dict[str, Any]:
        """HF `generate` arguments for `settings`; generation ends at any of the `stop` strings (the
        text still holds it: callers cut there, as LangChain's `stop` asks)."""
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "repetition_penalty": settings.repetition_penalty,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }
        if settings.temperature > 0:
            kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop := [s for s in stop or [] if s]:
            kwargs.update(stop_strings=stop, tokenizer=self.tokenizer)
        return kwargs

    def _texts(self, questions: Sequence[str], settings: GenerationDefaults, stop: Sequence[str] | None,
               batch_size: int, progress: bool, confidence: bool = True) -> list[Written]:
        """One generated text per question, with its sentences' confidence (recorded in any case:
        it costs nothing here), in batches of similar length (little compute wasted on padding), in
        the input order. A recitation's text starts with its entity's name (`entity_views.anchor`)."""
        kwargs = self._generation_kwargs(settings, stop)
        starts = [self.tokenizer(anchor(q), add_special_tokens=False)["input_ids"] if anchor(q) else [] for q in questions]
        prompts = [(prefix, rest + start) for (prefix, rest), start in
                   zip((self._prompt_parts(q, settings.max_new_tokens) for q in questions), starts)]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i][1]))
        results: list[Written] = [Written("", [])] * len(prompts)
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if progress:
            batches = progress_bar(batches, desc="knowledge", unit="batch")
        for batch in batches:
            output, probabilities = self._recorded([prompts[i] for i in batch], kwargs)
            for row, index in enumerate(batch):
                ids = starts[index] + output[row].tolist()  # an anchored view's start is its text's too
                sure = [1.0] * len(starts[index]) + probabilities[row].tolist()
                text = cast(str, self.tokenizer.decode(ids, skip_special_tokens=True)).strip()
                results[index] = Written(text, scored_sentences(self.tokenizer, ids, sure))
        return results

    def _recorded(self, prompts: Sequence[tuple[list[int], list[int]]],
                  kwargs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """`_generate`'s new tokens, and the probability the decoder gave each (`confidence`)."""
        recorder = TokenProbabilities()
        output = self._generate(prompts, logits_processor=LogitsProcessorList([recorder]), **kwargs)
        return output, recorder.finish(output)

    def complete(
        self,
        prompts: Sequence[Sequence[int]],
        settings: GenerationDefaults,
        *,
        stop: Sequence[str] | None = None,
        logit_bias: Mapping[int, float] | None = None,
        streamer: TextIteratorStreamer | None = None,
    ) -> list[Completion]:
        """Continue token-id prompts, all in one batched `generate` (the knowledge server's batch).

        The prompts' longest shared beginning (an exported model's soft tokens and template
        prefix) is computed once and reused while it stays the same, as `_texts` does with the
        template prefix. `logit_bias` adds to the logits of single tokens (the OpenAI API's
        meaning; -100 keeps an export's soft tokens out of the text). A `streamer` (one prompt)
        receives the text as it is written.
        """
        kwargs = self._generation_kwargs(settings, stop)
        if streamer is not None:
            kwargs["streamer"] = streamer
        if logit_bias:
            kwargs["sequence_bias"] = {(int(token),): float(bias) for token, bias in logit_bias.items()}
        shared = _shared_length(prompts)
        output, probabilities = self._recorded([(list(p[:shared]), list(p[shared:])) for p in prompts], kwargs)
        completions = []
        for row in range(len(prompts)):
            ids = output[row].tolist()
            ended = self.tokenizer.eos_token_id in ids
            end = ids.index(self.tokenizer.eos_token_id) if ended else len(ids)
            completions.append(Completion(ids[:end], probabilities[row, :end].tolist(), ended))
        return completions

    def _stream_text(self, question: str, settings: GenerationDefaults, stop: Sequence[str] | None) -> Iterator[str]:
        """The question's text as `generate` writes it, from a worker thread through a streamer."""
        kwargs = self._generation_kwargs(settings, stop)
        prompt = self._prompt_parts(question, settings.max_new_tokens)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self._generate([prompt], streamer=streamer, **kwargs)
            except BaseException as err:  # noqa: BLE001 - re-raised in the consumer's thread below
                errors.append(err)
                streamer.end()

        worker = threading.Thread(target=run, name="blade-stream", daemon=True)
        worker.start()
        yield from streamer
        worker.join()
        if errors:
            raise errors[0]


@dataclass(frozen=True)
class Completion:
    """New token ids for one prompt (up to, not including, EOS), with their probabilities."""

    ids: list[int]
    probabilities: list[float]
    ended: bool
    """True when the model wrote EOS (a stop string the caller finds in the text)."""


def _shared_length(prompts: Sequence[Sequence[int]]) -> int:
    """How many first tokens every prompt shares, leaving each at least one of its own to feed."""
    shortest = min(len(p) for p in prompts)
    length = 0
    while length < shortest - 1 and all(p[length] == prompts[0][length] for p in prompts):
        length += 1
    return length
