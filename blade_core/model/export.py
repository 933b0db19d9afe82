"""`blade export`: a trained domain LM as a plain Hugging Face model directory any engine serves.

Inference engines (vLLM, TGI, llama.cpp's server) serve models from text prompts, and BLADE's soft
prompt is a few vectors no token spells. So the export gives each vector a token of its own:

* n special tokens `<|blade_soft_0|>` ... are added to the tokenizer, and their rows of the input
  embeddings are the soft prompt's vectors (the embedding matrix is resized; with tied input and
  output embeddings the output rows are those vectors too);
* the model must never write them: `generation_config.json` suppresses them (transformers honours
  it), and `blade_prompt.json` gives the `logit_bias` that does the same through an OpenAI-style
  API (vLLM takes it on /v1/completions);
* the knowledge template, with the soft tokens in front, is written three ways: in
  `blade_prompt.json` (the prompt with a `{question}` slot, to tokenize without special tokens),
  as the tokenizer's chat template (a user message is the question), and in `blade.json`, so
  `DomainLM.from_pretrained(export)` still writes knowledge (knowledge per option, the gate) from
  the same ids.

The soft tokens' embeddings are the soft prompt's, in the same place in the sequence, so greedy
generation from the exported prompt gives exactly the text `DomainLM` gives with its soft prompt
(a test checks it). A tokenizer that adds a BOS token would put it before the soft tokens, where
`DomainLM` has it after them; so the prompt spells the BOS token after the soft tokens, and is
tokenized without special tokens (`add_special_tokens: false`, which vLLM's completions API takes).

`blade serve` exports in memory (`exported`) and serves the result, as vLLM would serve the
directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from blade_core.atomic import atomic_directory
from blade_core.model.directory import ModelDirectory
from blade_core.model.template import KnowledgeTemplate

PROMPT_FILE = "blade_prompt.json"
SOFT_TOKEN = "<|blade_soft_{}|>"
NEVER = -100
"""The OpenAI API's strongest logit bias: the token is never sampled."""


@dataclass(frozen=True)
class Export:
    """What `export_model` wrote."""

    directory: Path
    soft_token_ids: list[int]
    prompt: str
    """The knowledge prompt with a `{question}` slot, soft tokens in front."""


def _chat_template(prompt: str) -> str:
    """A Jinja chat template that renders the last user message as the question in `prompt`."""
    prefix, suffix = prompt.split("{question}")
    raw = "{{% raw %}}{}{{% endraw %}}"
    return (raw.format(prefix) + "{{ (messages | selectattr('role', 'equalto', 'user') | list | last)['content'] }}"
            + raw.format(suffix))


def exported(parts: ModelDirectory) -> tuple[ModelDirectory, dict[str, Any]]:
    """`parts` as a plain model (the soft prompt in the embeddings; `parts` is changed in place),
    and what `blade_prompt.json` holds; see the module docstring."""
    tokenizer, soft = parts.tokenizer, parts.soft_prompt
    tokens = [SOFT_TOKEN.format(i) for i in range(soft.n_tokens if soft is not None else 0)]
    ids: list[int] = []
    if soft is not None:
        tokenizer.add_tokens(tokens, special_tokens=True)
        vocabulary = tokenizer.get_vocab()
        ids = [vocabulary[token] for token in tokens]
        parts.model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with torch.no_grad():
            embeddings = parts.model.get_input_embeddings().weight
            embeddings[ids] = soft.embeddings.to(embeddings.dtype)
        parts.model.generation_config.suppress_tokens = ids
    adds_bos = bool(tokenizer("", add_special_tokens=True)["input_ids"])
    prompt = "".join(tokens) + (str(tokenizer.bos_token) if adds_bos else "") + parts.template.text
    tokenizer.chat_template = _chat_template(prompt)
    config = parts.config.model_copy(deep=True)
    config.knowledge_template = KnowledgeTemplate(text=prompt)
    config.provenance.stages.append("export")
    prompt_file = {
        "prompt": prompt,
        "add_special_tokens": False,
        "soft_token_ids": ids,
        "logit_bias": {str(i): NEVER for i in ids},
        "max_new_tokens": config.generation.max_new_tokens,
        "stop_token_ids": [tokenizer.eos_token_id],
    }
    return ModelDirectory(parts.model, tokenizer, config=config, name_or_path=parts.name_or_path), prompt_file


def export_model(model: str | Path, out: str | Path) -> Export:
    """Write `model` (a BLADE model directory) to `out` as a plain model directory; see the module
    docstring. `out` is written whole or not at all (callers check it may be written)."""
    plain, prompt_file = exported(ModelDirectory.from_pretrained(model, device="cpu"))
    with atomic_directory(out) as staging:
        plain.save_pretrained(staging)
        (staging / PROMPT_FILE).write_text(json.dumps(prompt_file, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return Export(Path(out), list(prompt_file["soft_token_ids"]), str(prompt_file["prompt"]))


def read_prompt(directory: str | Path) -> dict[str, Any]:
    """An export's `blade_prompt.json`."""
    return dict(json.loads((Path(directory) / PROMPT_FILE).read_text(encoding="utf-8")))

