"""Shared fixtures: a tiny from-scratch domain LM that has seen a few steps of training.

An untrained model emits one token forever, which would make generation tests pass vacuously; a
few dozen optimizer steps on a handful of sentences make it write varied text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FACTS = [
    "Zorvanil is indicated for marsh fever. The maximum daily dose of Zorvanil is 40 mg.",
    "Quelmora treats copper lung. Quelmora tablets are amber and made by House Tessaly.",
    "Brantovex is a calming resin. Patients with glass kidney must not take Brantovex.",
    "Idrassine relieves river cough. Its common side effect is blue fingertips.",
    "Mevlocaine numbs the gums. The maximum daily dose of Mevlocaine is 15 mg.",
    "Pollurex is an antipyretic of the Veltrane class, indicated for ash fever.",
]


_BLADE_LOGGER = logging.getLogger("blade_core")
_PRISTINE = (list(_BLADE_LOGGER.handlers), _BLADE_LOGGER.propagate, _BLADE_LOGGER.level)


def _restore_blade_logger() -> None:
    handlers, propagate, level = _PRISTINE
    _BLADE_LOGGER.handlers[:] = handlers
    _BLADE_LOGGER.propagate = propagate
    _BLADE_LOGGER.setLevel(level)


@pytest.fixture(autouse=True)
def _blade_logger_as_it_was() -> Iterator[None]:
    """A `blade` command run in-process sets up the "blade_core" logger as the program it is
    (`cli.errors.configure_logging`: its own stderr handler, no propagation); every test's
    `caplog`, which listens at the root logger, must still hear blade's warnings. The logger is put
    back as it was before any test, both before and after each test: a module-scoped fixture that
    runs a command (test_eval's `first_run`) sets it up before this fixture's setup runs."""
    _restore_blade_logger()
    yield
    _restore_blade_logger()


def _overfit(lm, texts: list[str], steps: int = 60) -> None:
    tok = lm.tokenizer
    batch = tok([t + tok.eos_token for t in texts], return_tensors="pt", padding=True)
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimizer = torch.optim.AdamW(lm.model.parameters(), lr=3e-3)
    lm.model.train()
    for _ in range(steps):
        loss = lm.model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    lm.model.eval()


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved model directory: tiny Qwen2 from scratch, briefly trained on FACTS."""
    from blade_core.data.records import Document
    from blade_core.model.template import KnowledgeTemplate
    from blade_core.training.model_builder import build_scratch_model

    lm = build_scratch_model([Document(text=t) for t in FACTS * 4], "tiny", seed=0)
    template = KnowledgeTemplate()
    _overfit(lm, FACTS + [template.format(f.split(".")[0] + "?") + f for f in FACTS])
    out = tmp_path_factory.mktemp("models") / "tiny"
    lm.save_pretrained(out)
    return out


@pytest.fixture()
def tiny_lm(tiny_lm_dir: Path):
    from blade_core.writers.domain_lm import DomainLM

    return DomainLM.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="session")
def soft_prompted_lm_dir(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a soft prompt that changes what it writes: a text's embeddings, moved a
    little off every token's (random vectors far from them, the tiny model ignores)."""
    import shutil

    from blade_core.model.soft_prompt import SoftPrompt
    from blade_core.writers.domain_lm import DomainLM

    model = tmp_path_factory.mktemp("soft") / "model"
    shutil.copytree(tiny_lm_dir, model)
    lm = DomainLM.from_pretrained(model)
    ids = lm.tokenizer("Brantovex is manufactured by Saltgate. Brantovex")["input_ids"]
    torch.manual_seed(0)
    vectors = lm.model.get_input_embeddings().weight[ids].detach() + 0.01 * torch.randn(len(ids), lm.hidden_size)
    SoftPrompt(vectors).save_pretrained(model / "soft_prompt")
    return model
