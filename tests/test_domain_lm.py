"""DomainLM: batched generation with a soft prompt, streaming, truncation, save and reload."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from blade_core.model.soft_prompt import RandomProjection, SoftPrompt, SoftPromptError
from blade_core.writers.domain_lm import DomainLM

QUESTIONS = [
    "What is Zorvanil indicated for?",
    "Who makes Quelmora tablets, and what colour are they? Answer for a pharmacist in detail.",
    "Brantovex?",
    "What is the common side effect of Idrassine?",
    "What is the maximum daily dose of Mevlocaine?",
]


def projected(lm: DomainLM, seed: int = 0) -> SoftPrompt:
    projection = RandomProjection.for_embeddings(lm.model.get_input_embeddings().weight, seed=seed)
    return projection(torch.linspace(-1, 1, projection.config.intrinsic_dim))


def test_generation_writes_text(tiny_lm: DomainLM) -> None:
    outputs = tiny_lm.generate_knowledge(QUESTIONS, max_new_tokens=24)
    assert len(outputs) == len(QUESTIONS)
    assert all(outputs), "a trained model must write something for every question"
    assert len(set(outputs)) > 1


def test_batched_equals_single_with_soft_prompt(tiny_lm: DomainLM) -> None:
    lm = tiny_lm.with_soft_prompt(projected(tiny_lm))
    batched = lm.generate_knowledge(QUESTIONS, max_new_tokens=24, batch_size=8)
    single = [lm.generate_knowledge([q], max_new_tokens=24)[0] for q in QUESTIONS]
    assert batched == single
    # a batch size smaller than the input (several batches, reordered by length) changes nothing
    assert lm.generate_knowledge(QUESTIONS, max_new_tokens=24, batch_size=2) == single


def uncached(lm: DomainLM) -> DomainLM:
    view = lm.with_soft_prompt(lm.soft_prompt)
    view.prefix_caching = False
    return view


@pytest.mark.parametrize("soft", [False, True])
def test_prefix_cache_gives_the_uncached_outputs(tiny_lm: DomainLM, soft: bool) -> None:
    lm = tiny_lm.with_soft_prompt(projected(tiny_lm) if soft else None)
    questions = QUESTIONS + [q.upper() for q in QUESTIONS] + [q[: len(q) // 2] for q in QUESTIONS]
    expected = uncached(lm).generate_knowledge(questions, max_new_tokens=24, batch_size=8)
    for batch_size in (1, 4, 16):
        assert lm.generate_knowledge(questions, max_new_tokens=24, batch_size=batch_size) == expected
    assert lm._prefix is not None and lm._prefix.layers is not None, "the cached path must have run"


def test_prefix_cache_follows_weight_updates(tiny_lm: DomainLM) -> None:
    lm = tiny_lm.with_soft_prompt(projected(tiny_lm))
    before = lm.generate_knowledge(QUESTIONS, max_new_tokens=16)
    with torch.no_grad():
        for parameter in lm.model.parameters():
            parameter.mul_(1.5)
    after = lm.generate_knowledge(QUESTIONS, max_new_tokens=16)
    assert after == uncached(lm).generate_knowledge(QUESTIONS, max_new_tokens=16)
    assert after != before


@pytest.mark.filterwarnings("ignore:Passing `repetition_penalty`:UserWarning")
def test_repetition_penalty_batched_equals_single(tiny_lm: DomainLM) -> None:
    # With left padding before the prompt, HF's penalty skipped as many generated tokens as a row
    # had padding; with the prefix cache the padding sits after the prefix and nothing is skipped.
    lm = tiny_lm.with_soft_prompt(projected(tiny_lm))
    settings = {"max_new_tokens": 24, "repetition_penalty": 1.3}
    batched = lm.generate_knowledge(QUESTIONS, batch_size=8, **settings)
    assert batched == [lm.generate_knowledge([q], **settings)[0] for q in QUESTIONS]


def test_soft_prompt_reaches_the_model(tiny_lm: DomainLM) -> None:
    # An overfit model may keep its greedy text under a soft prompt, so look at the logits.
    prompted = tiny_lm.with_soft_prompt(projected(tiny_lm, seed=3))
    ids = tiny_lm._prompt_ids(QUESTIONS[0], max_new_tokens=8)
    logits = []
    for lm in (tiny_lm, prompted):
        embeds, mask = lm._batch_inputs([ids])
        assert embeds.shape[1] == len(ids) + lm.n_soft_tokens
        with torch.no_grad():
            logits.append(lm.model(inputs_embeds=embeds, attention_mask=mask).logits[0, -1])
    assert (logits[0] - logits[1]).abs().max() > 0.1
    assert tiny_lm.soft_prompt is None, "with_soft_prompt must not change the original"


def test_stream_matches_generate(tiny_lm: DomainLM) -> None:
    question = QUESTIONS[0]
    pieces = list(tiny_lm.stream_knowledge(question, max_new_tokens=24))
    assert len(pieces) > 1
    assert "".join(pieces).strip() == tiny_lm.generate_knowledge([question], max_new_tokens=24)[0]


def test_long_question_is_truncated_with_warning(tiny_lm: DomainLM, caplog) -> None:
    long_question = "marsh fever " * 2000
    with caplog.at_level(logging.WARNING, logger="blade_core.writers.domain_lm"):
        out = tiny_lm.generate_knowledge([long_question, QUESTIONS[0]], max_new_tokens=8)
    assert len(out) == 2
    assert "truncated from the left" in caplog.text


def test_context_too_short_is_a_clear_error(tiny_lm: DomainLM) -> None:
    with pytest.raises(ValueError, match="too short"):
        tiny_lm.generate_knowledge(QUESTIONS[:1], max_new_tokens=tiny_lm.context_length)


def test_unknown_generation_setting_is_rejected(tiny_lm: DomainLM) -> None:
    with pytest.raises(TypeError, match="max_tokens"):
        tiny_lm.generate_knowledge(QUESTIONS[:1], max_tokens=5)
    with pytest.raises(TypeError, match="list of questions"):
        tiny_lm.generate_knowledge(QUESTIONS[0])


def test_sampling_follows_the_seed(tiny_lm: DomainLM) -> None:
    torch.manual_seed(1)
    first = tiny_lm.generate_knowledge(QUESTIONS, max_new_tokens=16, temperature=1.5)
    torch.manual_seed(1)
    again = tiny_lm.generate_knowledge(QUESTIONS, max_new_tokens=16, temperature=1.5)
    greedy = tiny_lm.generate_knowledge(QUESTIONS, max_new_tokens=16)
    assert first == again
    assert first != greedy


def test_save_and_reload_gives_identical_generations(tiny_lm: DomainLM, tmp_path: Path) -> None:
    lm = tiny_lm.with_soft_prompt(projected(tiny_lm))
    lm.config.generation.max_new_tokens = 20
    expected = lm.generate_knowledge(QUESTIONS)
    lm.save_pretrained(tmp_path / "model")
    reloaded = DomainLM.from_pretrained(tmp_path / "model")
    assert reloaded.config.generation.max_new_tokens == 20
    assert reloaded.soft_prompt is not None and reloaded.soft_prompt.z is not None
    assert torch.equal(reloaded.soft_prompt.z, lm.soft_prompt.z)
    assert reloaded.generate_knowledge(QUESTIONS) == expected


def test_soft_prompt_for_another_hidden_size_is_refused(tiny_lm: DomainLM) -> None:
    with pytest.raises(SoftPromptError, match="hidden size 32 but model .* has 64"):
        tiny_lm.with_soft_prompt(SoftPrompt(torch.zeros(5, 32)))


def test_failed_save_leaves_previous_directory_intact(tiny_lm: DomainLM, tmp_path: Path) -> None:
    target = tmp_path / "model"
    tiny_lm.save_pretrained(target)
    before = sorted(p.name for p in target.iterdir())
    broken = tiny_lm.with_soft_prompt(projected(tiny_lm))
    broken.soft_prompt.embeddings = "not a tensor"  # type: ignore[assignment]
    with pytest.raises(Exception):  # noqa: B017 - any failure will do; what matters is what is left
        broken.save_pretrained(target)
    assert sorted(p.name for p in target.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.tmp")]
    DomainLM.from_pretrained(target)
