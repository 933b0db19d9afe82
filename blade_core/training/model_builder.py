"""Build a small domain LM from scratch: a byte-level BPE tokenizer trained on the corpus, and a
small Qwen2-architecture model with random weights, saved as a normal model directory.

This is the offline path (no hub download) and what the tests and the quickstart train; the same
trainers run unchanged on a real base such as Qwen2.5-0.5B, since the result is an ordinary
Hugging Face directory of the same architecture family.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from blade_core.data.records import Document
from blade_core.model.config import BladeConfig
from blade_core.model.directory import ModelDirectory
from blade_core.text import CJK_CHARACTER
from blade_core.training.model_size import SIZES, ModelSize, ScratchModelConfig

EOS_TOKEN = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int, context_length: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (as GPT-2 and Qwen use): any text encodes, nothing is unknown.

    Each Chinese character is its own piece before BPE, so no token spans two characters. Chinese
    has no spaces to stop merges at, and on a small, repetitive domain corpus BPE otherwise fuses
    whole phrases into single tokens ("最高罚金为四十贯": the attribute and its value as one
    token), which a small model cannot store or recombine as facts (benchmarks/knowledge_quality.md,
    "Chinese"). Latin text is split exactly as before."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CJK_CHARACTER), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        model_max_length=context_length,
        padding_side="left",
    )


def build_scratch_model(
    documents: list[Document],
    size: ModelSize | ScratchModelConfig = "tiny",
    *,
    seed: int = 0,
) -> ModelDirectory:
    """Tokenizer trained on `documents` and a randomly initialized Qwen2 model sized to it."""
    if not documents:
        raise ValueError("cannot train a tokenizer on an empty corpus")
    shape = SIZES[size] if isinstance(size, str) else size
    tokenizer = train_tokenizer((d.text for d in documents), shape.vocab_size, shape.context_length)
    eos_id = tokenizer.eos_token_id
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        intermediate_size=shape.intermediate_size,
        max_position_embeddings=shape.context_length,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    blade_config = BladeConfig()
    blade_config.provenance.base_model = f"scratch-{size if isinstance(size, str) else 'custom'}"
    blade_config.provenance.stages.append("init")
    return ModelDirectory(model, tokenizer, config=blade_config, name_or_path=blade_config.provenance.base_model)


def init_model(documents: list[Document], out: str | Path, size: ModelSize = "tiny", seed: int = 0) -> Path:
    """Build a from-scratch model and save it as a model directory; returns the directory."""
    build_scratch_model(documents, size, seed=seed).save_pretrained(out)
    return Path(out)
