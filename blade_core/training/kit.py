"""KIT: knowledge instruction tuning — teach the LM to write, for a question, the knowledge that answers it.

Each alpaca pair becomes [knowledge template with the question][knowledge][EOS]; the loss covers the
knowledge and EOS only (the prompt's labels are -100), so the model learns to answer, not to repeat
questions. The template is saved in the output's `blade.json`, so inference uses the exact template
the model was tuned with.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from transformers import PreTrainedTokenizerBase

from blade_core.data import load_corpus, load_instructions, load_mcq, load_names
from blade_core.data.records import Document, InstructionPair
from blade_core.knowledge.name_sources import NameHints
from blade_core.model.directory import encode_knowledge_prompt
from blade_core.model.template import KnowledgeTemplate
from blade_core.training.access import CorpusFacts
from blade_core.training.access_stop import StopWhenReached
from blade_core.training.configs import KitConfig
from blade_core.training.corpus_pairs import with_corpus_pairs
from blade_core.training.name_hints import name_lines
from blade_core.training.pretrain import TokenExamples, pad_batch
from blade_core.training.runner import TrainingError, load_for_training, run_stage
from blade_core.training.stand_alone import StandAlone, stand_alone

IGNORE = -100
NO_PAIRS = "no KIT pairs: give --data PAIRS, or --corpus CORPUS to make them from the corpus"
"""Refused before the model loads when neither is given, and after, when the corpus gave none."""

console = Console(stderr=True)


def sft_example(tokenizer: PreTrainedTokenizerBase, template: KnowledgeTemplate, pair: InstructionPair,
                max_length: int) -> dict[str, list[int]]:
    """input_ids and labels for one pair; the question is cut from the left if the example is too long."""
    prefix, question, suffix = encode_knowledge_prompt(tokenizer, template, pair.question)
    answer = tokenizer(pair.output, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    answer = answer[: max_length - len(prefix) - len(suffix) - 1]
    room = max_length - len(prefix) - len(suffix) - len(answer)
    question = question[-room:] if room > 0 else []
    prompt = prefix + question + suffix
    return {"input_ids": prompt + answer, "labels": [IGNORE] * len(prompt) + answer}


def _read_with_names(documents: Sequence[Document], hints: NameHints, names: Sequence[str],
                     entities: Sequence[str]) -> StandAlone:
    """The corpus made to stand alone with the names DP found (the model keeps them), unless a
    names file is given; on a model without (a --base model, the without-DP ablation), with names
    found from the same hints as DP's (its KIT pairs, dev questions and names file)."""
    if names and not hints.listed:
        return stand_alone(documents, known=(names, entities))
    corpus = stand_alone(documents, hints)
    for line in name_lines(corpus, hints):
        console.print(line, markup=False, soft_wrap=True)
    return corpus


def run_kit(config: KitConfig) -> Path | None:
    """KIT: returns the written model directory (None on ranks other than 0)."""
    config.check_outputs()
    pairs = load_instructions(config.data) if config.data else []  # a bad line fails before the model loads
    dev = load_mcq(config.dev) if config.dev else []
    hints = NameHints.of(pairs, dev, load_names(config.names) if config.names else [])
    files: dict[str, str | Path] = {"data": config.data} if config.data else {}
    if not pairs and not config.corpus:
        raise TrainingError(NO_PAIRS)
    lm = load_for_training(config)
    made = None
    if config.corpus:
        documents = load_corpus(config.corpus)
        made = with_corpus_pairs(documents, pairs, question_forms=config.question_forms,
                                 recitations=config.recitations, seed=config.seed,
                                 corpus=_read_with_names(documents, hints, lm.config.names, lm.config.entities))
        for line in made.lines:
            console.print(line, markup=False, soft_wrap=True)
        pairs = made.pairs
        files.update({f"corpus{i}": p for i, p in enumerate(config.corpus)})
    if not pairs:
        raise TrainingError(NO_PAIRS)
    if made is not None and made.recited:  # what it was taught to recite, it recites at inference (`entity_views`)
        lm.config.generation.recite = True
        lm.config.names, lm.config.entities = made.corpus.names, made.corpus.entities
    if config.template is not None:
        lm.config.knowledge_template = KnowledgeTemplate(text=config.template)
    if config.max_length is not None and config.max_length > lm.context_length:
        raise TrainingError(f"--max-length {config.max_length} exceeds the model's context "
                            f"({lm.context_length} tokens); use {lm.context_length} or less")
    max_length = config.max_length or lm.context_length
    examples = [sft_example(lm.tokenizer, lm.template, pair, max_length) for pair in pairs]
    callbacks = []
    if config.dev is not None and made is not None and config.max_steps == -1:
        callbacks.append(StopWhenReached(lm, dev, CorpusFacts(made.corpus)))
    return run_stage("kit", config, lm, TokenExamples(examples), pad_batch(lm.tokenizer), files, callbacks)
