"""The knowledge prompt's shared prefix, computed once and reused by every generate call.

Every knowledge prompt starts with the same tokens (the soft prompt, then the template's opening),
so their keys and values are computed once per weights and soft prompt, and each batch starts
from a copy. This leans on how transformers lays out a `DynamicCache` (per-layer `DynamicLayer`s
with `keys` and `values`); a model whose cache is laid out otherwise (sliding windows, linear
attention) gets no cached prefix and generates as usual, so nothing breaks, it is only slower.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from transformers import DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer

from blade_core.model.hf_compat import CACHE


@dataclass(frozen=True)
class PrefixCache:
    """The shared prefix's embeddings (1 x P x hidden) and per-layer keys and values (1 x heads x P x d).

    `key` says what it was computed from; `layers` is None when the model's cache cannot be reused
    this way (not a plain `DynamicCache`), and generation then runs uncached.
    """

    key: tuple[Any, ...]
    embeds: torch.Tensor
    layers: list[tuple[torch.Tensor, torch.Tensor]] | None

    @property
    def length(self) -> int:
        return self.embeds.shape[1]

    def expand(self, batch: int) -> DynamicCache:
        """A fresh cache for `batch` rows; generation appends to it, the stored tensors stay as they are."""
        assert self.layers is not None
        return DynamicCache(ddp_cache_data=[(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1))
                                            for k, v in self.layers])

    @classmethod
    def compute(cls, model: PreTrainedModel, embeds: torch.Tensor, key: tuple[Any, ...]) -> PrefixCache:
        """The cache of `embeds` (1 x P x hidden) through `model`; `layers` None when it cannot be reused."""
        layers = None
        if embeds.shape[1] > 0:
            extra = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
            cache = model(inputs_embeds=embeds, use_cache=True, **extra)[CACHE]
            if isinstance(cache, DynamicCache) and all(type(layer) is DynamicLayer for layer in cache.layers):
                plain = cast(list[DynamicLayer], cache.layers)  # checked just above
                layers = [(cast(torch.Tensor, layer.keys), cast(torch.Tensor, layer.values)) for layer in plain]
        return cls(key, embeds, layers)

    def batch_inputs(
        self, model: PreTrainedModel, pad_id: int, rests: Sequence[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`inputs_embeds` (batch x (P + seq) x hidden) and mask for [prefix][pad ... pad][rest].

        Generation takes the first P positions from the cache and feeds only the rest; the padding
        sits between the prefix and each row's question, masked out.
        """
        width = max(len(rest) for rest in rests)
        ids = torch.full((len(rests), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(rests), self.length + width), dtype=torch.long)
        mask[:, : self.length] = 1
        for row, rest in enumerate(rests):
            ids[row, width - len(rest) :] = torch.tensor(rest)
            mask[row, self.length + width - len(rest) :] = 1
        device = self.embeds.device
        embeds = model.get_input_embeddings()(ids.to(device))
        embeds = torch.cat([self.embeds.expand(len(rests), -1, -1), embeds], dim=1)
        return embeds, mask.to(device)
