"""Where BPO searches: the starting soft prompt and the random projection centred on it.

Searching around a good start (a prompt-tuned folder, an instruction's token embeddings, or the soft
prompt the model already has) refines it; searching around zero starts from noise. With a start,
z = 0 is exactly that start, and the box [-1, 1]^d spans perturbations at the embeddings' scale.
"""

from __future__ import annotations

import math

import torch

from blade_core.bpo.config import BpoConfig
from blade_core.model.soft_prompt import RandomProjection, SoftPrompt
from blade_core.writers.domain_lm import DomainLM

DEFAULT_N_TOKENS = 5


def text_soft_prompt(lm: DomainLM, text: str, n_tokens: int) -> SoftPrompt:
    """peft's TEXT init: the text's token embeddings, cut to n_tokens or repeated to fill them."""
    ids = lm.tokenizer(text)["input_ids"]
    if not ids:
        raise ValueError("--init-text tokenizes to nothing; give a non-empty instruction")
    ids = (ids * math.ceil(n_tokens / len(ids)))[:n_tokens]
    weight = lm.model.get_input_embeddings().weight
    return SoftPrompt(weight[torch.tensor(ids, device=weight.device)].detach())


def starting_prompt(lm: DomainLM, config: BpoConfig) -> SoftPrompt | None:
    """--init-soft-prompt, else --init-text, else the model's own soft prompt, else none."""
    start: SoftPrompt | None
    if config.init_soft_prompt is not None:
        start = SoftPrompt.from_pretrained(config.init_soft_prompt)
        start.check_fits(lm.hidden_size, where=f"model {config.model}")
    elif config.init_text is not None:
        start = text_soft_prompt(lm, config.init_text, config.n_tokens or DEFAULT_N_TOKENS)
    else:
        start = lm.soft_prompt
    if start is not None and config.n_tokens is not None and start.n_tokens != config.n_tokens:
        raise ValueError(
            f"the starting soft prompt has {start.n_tokens} tokens but --n-tokens is {config.n_tokens}; "
            "drop --n-tokens to search at the start's length"
        )
    return start


def build_projection(lm: DomainLM, config: BpoConfig, start: SoftPrompt | None) -> RandomProjection:
    """The fixed map z -> soft prompt at the model's embedding scale, z = 0 being the start."""
    return RandomProjection.for_embeddings(
        lm.model.get_input_embeddings().weight,
        intrinsic_dim=config.intrinsic_dim,
        n_tokens=start.n_tokens if start is not None else config.n_tokens or DEFAULT_N_TOKENS,
        seed=config.projection_seed,
        center=None if start is None else start.embeddings,
    )
