"""DP: continue pretraining the small LM on domain text (causal-LM loss).

Documents are packed into fixed-length blocks with EOS between them, so no compute is spent on
padding (a `packing=False` mode pads each document instead, for comparison). DP alone stores facts
the model then cannot retrieve by question, so KIT pairs can be mixed into the stream (multi-task
instruction pretraining), and general text can be mixed in at a ratio to limit forgetting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase

from blade_core.data import Document, InstructionPair, load_corpus, load_instructions
from blade_core.model.directory import encode_knowledge_prompt
from blade_core.model.template import KnowledgeTemplate
from blade_core.training.augmentation import augment_documents
from blade_core.training.configs import PretrainConfig, budgeted_epochs
from blade_core.training.corpus_pairs import with_corpus_pairs
from blade_core.training.fact_recall import corpus_facts
from blade_core.training.name_hints import load_hints, name_lines
from blade_core.training.runner import TrainingError, load_for_training, run_stage
from blade_core.training.stand_alone import StandAlone, stand_alone
from blade_core.training.storage_stop import StopWhenStored

console = Console(stderr=True)

STORAGE_FACTS = 96
"""Corpus sentences DP's storage check completes after each epoch: enough that one fact is 1%."""


class TokenExamples(Dataset):
    """Tokenized training examples: `input_ids`, and `labels` where they differ from the inputs."""

    def __init__(self, examples: list[dict[str, list[int]]]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.examples[index]


def pack(sequences: list[list[int]], block_size: int, eos_id: int) -> list[list[int]]:
    """Concatenate sequences with EOS after each and cut into full blocks (the tail is dropped)."""
    stream: list[int] = []
    for ids in sequences:
        stream.extend(ids)
        stream.append(eos_id)
    return [stream[i : i + block_size] for i in range(0, len(stream) - block_size + 1, block_size)]


def split_unpacked(sequences: list[list[int]], block_size: int, eos_id: int) -> list[list[int]]:
    """One sequence per document (+EOS), split where longer than a block; padded at batch time."""
    blocks = []
    for ids in sequences:
        ids = ids + [eos_id]
        blocks += [ids[i : i + block_size] for i in range(0, len(ids), block_size)]
    return blocks


def pad_batch(tokenizer: PreTrainedTokenizerBase):
    """Right-pad a batch; padded positions get label -100 so they never count in the loss."""
    pad_id = tokenizer.pad_token_id

    def collate(examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
        labels = torch.full((len(examples), width), -100, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for row, example in enumerate(examples):
            n = len(example["input_ids"])
            ids[row, :n] = torch.tensor(example["input_ids"])
            labels[row, :n] = torch.tensor(example.get("labels", example["input_ids"]))
            mask[row, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


def instruction_texts(tokenizer: PreTrainedTokenizerBase, template: KnowledgeTemplate,
                      pairs: list[InstructionPair]) -> list[list[int]]:
    """KIT pairs in the knowledge template, tokenized exactly as KIT and inference cut them."""
    sequences = []
    for pair in pairs:
        prefix, question, suffix = encode_knowledge_prompt(tokenizer, template, pair.question)
        sequences.append(prefix + question + suffix + tokenizer(pair.output, add_special_tokens=False)["input_ids"])
    return sequences


def general_sample(tokenizer: PreTrainedTokenizerBase, general: list[Document], domain_tokens: int,
                   ratio: float, seed: int) -> list[list[int]]:
    """General documents (repeated if needed) amounting to `ratio` of all training tokens."""
    documents = [tokenizer(d.text, add_special_tokens=False, verbose=False)["input_ids"] for d in general]
    wanted = int(domain_tokens * ratio / (1 - ratio))
    rng = random.Random(seed)
    picked: list[list[int]] = []
    while sum(map(len, picked)) < wanted:
        picked.append(rng.choice(documents))
    return picked


@dataclass(frozen=True)
class PretrainData:
    """DP's text, read and checked before the model loads, so a bad line fails in a second."""

    corpus: list[Document]
    instructions: list[InstructionPair]
    general: list[Document]

    @classmethod
    def load(cls, config: PretrainConfig) -> PretrainData:
        return cls(corpus=load_corpus(config.corpus),
                   instructions=load_instructions(config.mix_instructions) if config.mix_instructions else [],
                   general=load_corpus(config.mix_general) if config.mix_general else [])


def build_blocks(config: PretrainConfig, data: PretrainData, tokenizer: PreTrainedTokenizerBase,
                 template: KnowledgeTemplate, context_length: int, corpus: StandAlone) -> list[list[int]]:
    block_size = config.block_size or min(512, context_length)
    if block_size > context_length:
        raise TrainingError(
            f"block size {block_size} is larger than the model's context ({context_length} tokens); "
            f"use --block-size {context_length} or less"
        )
    documents = augment_documents(data.corpus, corpus, config.sentence_permutations, config.entity_documents,
                                  config.seed)
    if config.entity_documents and not any(d.source.startswith("entity:") for d in documents):
        console.print("warning: augmentation found no recurring names in the corpus (capitalized names, or "
                      "Chinese terms), so no entity documents were added; facts are then recalled by name "
                      "less well. Check the corpus's language and size, or set --entity-documents 0",
                      markup=False)
    sequences = tokenizer([d.text for d in documents], add_special_tokens=False, verbose=False)["input_ids"]
    made = with_corpus_pairs(data.corpus, data.instructions, question_forms=config.question_forms,
                             recitations=config.recitations, seed=config.seed, corpus=corpus)
    for line in made.lines:
        console.print(line, markup=False)
    sequences += instruction_texts(tokenizer, template, made.pairs) * config.instruction_repeats
    if data.general and config.general_ratio > 0:
        domain_tokens = sum(map(len, sequences))
        sequences += general_sample(tokenizer, data.general, domain_tokens, config.general_ratio, config.seed)
    random.Random(config.seed).shuffle(sequences)  # interleave domain, instruction and general text
    eos = tokenizer.eos_token_id
    blocks = pack(sequences, block_size, eos) if config.packing else split_unpacked(sequences, block_size, eos)
    if not blocks:
        total = sum(map(len, sequences))
        raise TrainingError(f"the corpus has {total} tokens, less than one block of {block_size}; "
                            "lower --block-size or add text")
    return blocks


def within_token_budget(config: PretrainConfig, epoch_tokens: int) -> PretrainConfig:
    """The config with as many epochs as `--token-budget` allows (`budgeted_epochs`), said in a line
    when that is fewer than `--epochs`; `--max-steps` asks for exactly that many steps instead."""
    epochs = budgeted_epochs(config.epochs, epoch_tokens, config.token_budget)
    if epochs == config.epochs or config.max_steps != -1:
        return config
    console.print(f"DP: {epoch_tokens:,} tokens an epoch (the augmented corpus and its pairs); the token "
                  f"budget of {config.token_budget:,} allows {epochs:g} of {config.epochs:g} epochs "
                  "(where training is faster, as on a GPU, raise it: --token-budget, or --dp-token-budget "
                  "in blade train)", markup=False)
    return config.model_copy(update={"epochs": epochs})


def run_pretrain(config: PretrainConfig) -> Path | None:
    """DP: returns the written model directory (None on ranks other than 0)."""
    config.check_outputs()
    data = PretrainData.load(config)
    hints = load_hints(config.mix_instructions, config.dev, config.names)  # a bad line fails before the model loads
    lm = load_for_training(config)
    corpus = stand_alone(data.corpus, hints)
    for line in name_lines(corpus, hints):
        console.print(line, markup=False, soft_wrap=True)
    lm.config.names, lm.config.entities = corpus.names, corpus.entities  # for the gate and entity views
    blocks = build_blocks(config, data, lm.tokenizer, lm.template, lm.context_length, corpus)
    files: dict[str, str | Path] = {f"corpus{i}": p for i, p in enumerate(config.corpus)}
    if config.mix_instructions is not None:
        files["instructions"] = config.mix_instructions
    if config.mix_general is not None:
        files["general"] = config.mix_general
    config = within_token_budget(config, sum(map(len, blocks)))
    dataset = TokenExamples([{"input_ids": block} for block in blocks])
    callbacks = []
    if config.stop_when_stored and config.max_steps == -1:  # --max-steps asks for exactly that many
        facts = corpus_facts(corpus, limit=STORAGE_FACTS, seed=config.seed)
        callbacks.append(StopWhenStored(lm.tokenizer, lm.config.names, facts))
    return run_stage("dp", config, lm, dataset, pad_batch(lm.tokenizer), files, callbacks)
