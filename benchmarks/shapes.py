"""The models the benchmarks run: the tests' `tiny` and the quickstart's `small` scratch shapes, and `0.5b`.

`0.5b` is a Qwen2.5-0.5B-shaped Qwen2 (896 hidden, 24 layers, 14 query / 2 KV heads, 4864 MLP,
151,936-token vocabulary, tied embeddings) with random weights: speed does not depend on the weights'
values, and the vocabulary's size sets the cost of the output layer. Every shape's tokenizer is a
byte-level BPE trained on the sample domain's corpus, general text and KIT pairs in the knowledge
template, so the template prefix is ~21 tokens and a question with options ~24, near what Qwen's own
tokenizer gives. For `0.5b`, added tokens fill the vocabulary to 151,936 ids, so every id the random
model writes decodes to its own text.
"""

from __future__ import annotations

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from blade_core.data import Document, load_corpus, load_instructions
from blade_core.model.config import BladeConfig
from blade_core.model.template import KnowledgeTemplate
from blade_core.sample_domain import load_sample_domain
from blade_core.training.model_builder import build_scratch_model, train_tokenizer
from blade_core.writers.domain_lm import DomainLM

SIZES = ("tiny", "small", "0.5b")
QWEN25_05B = {"vocab_size": 151936, "hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14,
              "num_key_value_heads": 2, "intermediate_size": 4864, "max_position_embeddings": 32768}


def tokenizer_texts() -> list[str]:
    domain = load_sample_domain()
    template = KnowledgeTemplate()
    return ([d.text for d in load_corpus(domain.corpus) + load_corpus(domain.general)]
            + [template.format(pair.question) + pair.output for pair in load_instructions(domain.kit)])


def build_lm(size: str, dtype: torch.dtype = torch.float32) -> DomainLM:
    """A model of `size` with random weights (seed 0) and no soft prompt."""
    texts = tokenizer_texts()
    torch.manual_seed(0)
    if size in ("tiny", "small"):
        lm = DomainLM.of(build_scratch_model([Document(text=t) for t in texts], size))
    else:
        tokenizer = train_tokenizer(texts, 4096, QWEN25_05B["max_position_embeddings"])
        tokenizer.add_tokens([f"<r{i}>" for i in range(len(tokenizer), QWEN25_05B["vocab_size"])])
        eos = tokenizer.eos_token_id
        config = Qwen2Config(**QWEN25_05B, tie_word_embeddings=True, bos_token_id=eos, eos_token_id=eos,
                             pad_token_id=eos)
        lm = DomainLM(Qwen2ForCausalLM(config), tokenizer, config=BladeConfig(), name_or_path="qwen2.5-0.5b-shape")
    lm.model.to(dtype)
    return lm


def parameters(lm: DomainLM) -> int:
    """Distinct parameters (tied input and output embeddings count once, as the matmul FLOPs do)."""
    return sum(p.numel() for p in lm.model.parameters())
