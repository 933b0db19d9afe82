"""How sure the domain LM was of each sentence it wrote: the least probable token in it.

A small LM that has not stored a fact still writes a fluent sentence; what gives it away is the
token that carries the fact ("Zorvanil is indicated for *marsh* fever"): where the model knows,
that token is near certain, where it guesses, the probability is spread over many candidates. So a
sentence's confidence is the lowest probability the decoder gave any token of it, and knowledge
below the threshold that BPO calibrates on dev (`bpo.guard`) is withheld (`knowledge_gate`).

The probabilities are recorded while `generate` runs, by a logits processor that keeps one row of
probabilities per step and looks up each chosen token at the next step: no second forward pass
and no (steps x vocabulary) score tensor, which for a 150k vocabulary would be gigabytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from typing import cast

import torch
from transformers import LogitsProcessor, PreTrainedTokenizerBase

from blade_core.knowledge.types import Sentence
from blade_core.text import split_sentences


class TokenProbabilities(LogitsProcessor):
    """Records the probability of every token `generate` writes, as the decoder chose it.

    Last in the processor list, it sees the distribution after repetition penalty, temperature and
    top-p; the chosen token of step t is known at step t+1 (it is then the last input id), and the
    final step's is looked up by `finish`.
    """

    def __init__(self) -> None:
        self._last: torch.Tensor | None = None
        self._taken: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        self._record(input_ids[:, -1:])
        self._last = scores.float().softmax(-1)
        return scores

    def _record(self, chosen: torch.Tensor) -> None:
        if self._last is not None and chosen.shape[1]:
            self._taken.append(self._last.gather(1, chosen.to(self._last.device)).squeeze(1))

    def finish(self, new_tokens: torch.Tensor) -> torch.Tensor:
        """(batch x new tokens) probabilities of `new_tokens`, the ids `generate` returned."""
        if new_tokens.shape[1]:
            self._record(new_tokens[:, -1:])
        self._last = None
        probabilities = torch.stack(self._taken, 1) if self._taken else new_tokens.new_zeros((len(new_tokens), 0))
        self._taken = []
        return probabilities[:, : new_tokens.shape[1]].cpu()


def scored_sentences(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int],
                     probabilities: Sequence[float]) -> list[Sentence]:
    """The sentences of the text `ids` decode to, each with its least probable token's probability.

    A token belongs to the sentence its text starts in (leading spaces skipped). A sentence with no
    token of its own, or not found verbatim (split_sentences strips bullets, so it always is), has
    nothing to judge it by and gets confidence 1.
    """
    special = set(tokenizer.all_special_ids)
    while ids and ids[-1] in special:  # the padding after EOS is not part of the text
        ids = ids[:-1]
    text = cast(str, tokenizer.decode(list(ids), skip_special_tokens=True))
    return _sentences(text, token_ends(tokenizer, ids, text), probabilities)


def scored_pieces(pieces: Sequence[str], probabilities: Sequence[float]) -> list[Sentence]:
    """The sentences of the text `pieces` add up to, each with its least probable piece's
    probability: `scored_sentences` for tokens that come as text (an OpenAI-style endpoint's
    `logprobs.tokens`)."""
    return _sentences("".join(pieces), _piece_ends(pieces), probabilities)


def _sentences(text: str, ends: Sequence[int], probabilities: Sequence[float]) -> list[Sentence]:
    """`text`'s sentences, each with the lowest probability of the tokens (ending at `ends`) that
    start in it."""
    positions = [_first_visible(text, start, end) for start, end in zip([0, *ends[:-1]], ends)]
    found: list[Sentence] = []
    cursor = 0
    for sentence in split_sentences(text):
        begin = text.find(sentence, cursor)
        if begin < 0:
            found.append(Sentence(sentence, 1.0))
            continue
        end = begin + len(sentence)
        cursor = max(cursor, end)
        inside = [p for position, p in zip(positions, probabilities)
                  if position is not None and begin <= position < end]
        found.append(Sentence(sentence, min(inside, default=1.0)))
    return found


def token_ends(tokenizer: PreTrainedTokenizerBase, ids: Sequence[int], text: str) -> list[int]:
    """Where each token's text ends in `text`: from the tokens decoded one by one when they add up
    to the text (the usual case), else from decoding every prefix (a character split across
    tokens, or a decoder that cleans up spaces)."""
    pieces = tokenizer.batch_decode([[i] for i in ids], skip_special_tokens=True)
    if "".join(pieces) == text:
        return _piece_ends(pieces)
    prefixes = tokenizer.batch_decode([list(ids[: k + 1]) for k in range(len(ids))], skip_special_tokens=True)
    return [len(prefix) for prefix in prefixes]


def _piece_ends(pieces: Sequence[str]) -> list[int]:
    """Where each piece ends in the text the pieces add up to."""
    return list(accumulate(len(piece) for piece in pieces))


def _first_visible(text: str, start: int, end: int) -> int | None:
    """Where token text[start:end] starts once its leading whitespace is skipped; None if all space."""
    for index in range(start, min(end, len(text))):
        if not text[index].isspace():
            return index
    return None
