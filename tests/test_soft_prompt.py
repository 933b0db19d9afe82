"""Soft prompts: the random projection, and the peft prompt-tuning format round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from blade_core.model.soft_prompt import ProjectionConfig, RandomProjection, SoftPrompt, SoftPromptError
from blade_core.writers.domain_lm import DomainLM


def test_projection_is_fixed_by_its_seed_and_scaled_to_embeddings() -> None:
    weight = torch.randn(1000, 64) * 0.05
    a = RandomProjection.for_embeddings(weight, intrinsic_dim=10, n_tokens=5, seed=7)
    b = RandomProjection.for_embeddings(weight, intrinsic_dim=10, n_tokens=5, seed=7)
    c = RandomProjection.for_embeddings(weight, intrinsic_dim=10, n_tokens=5, seed=8)
    assert torch.equal(a.matrix, b.matrix) and not torch.equal(a.matrix, c.matrix)
    zs = torch.rand(400, 10) * 2 - 1
    prompts = torch.stack([a(z).embeddings for z in zs])
    assert prompts.shape == (400, 5, 64)
    ratio = prompts.std().item() / weight.std().item()
    assert 0.8 < ratio < 1.2, f"soft tokens should have the embeddings' spread, got ratio {ratio:.2f}"


def test_projection_centre_is_z_zero() -> None:
    centre = torch.randn(5, 16)
    config = ProjectionConfig(intrinsic_dim=4, n_tokens=5, hidden_size=16, scale=0.1)
    projection = RandomProjection(config, center=centre)
    assert torch.allclose(projection(torch.zeros(4)).embeddings, centre)
    with pytest.raises(SoftPromptError, match="shape"):
        projection(torch.zeros(3))
    with pytest.raises(SoftPromptError, match="centre"):
        RandomProjection(config, center=torch.zeros(4, 16))


def test_peft_loads_our_soft_prompt_and_generates_the_same(tiny_lm: DomainLM, tmp_path: Path) -> None:
    projection = RandomProjection.for_embeddings(tiny_lm.model.get_input_embeddings().weight, seed=1)
    soft = projection(torch.linspace(-1, 1, 10))
    lm = tiny_lm.with_soft_prompt(soft)
    lm.save_pretrained(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "soft_prompt" / "adapter_config.json").read_text())
    assert config["peft_type"] == "PROMPT_TUNING" and config["num_virtual_tokens"] == 5

    base = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    peft_model = PeftModel.from_pretrained(base, tmp_path / "model" / "soft_prompt").eval()
    assert torch.allclose(peft_model.get_prompt_embedding_to_save("default"), soft.embeddings)

    question = "What is Zorvanil indicated for?"
    ids = torch.tensor([[i for part in _prompt_parts(lm, question) for i in part]])
    # Greedy decoding through the peft model's own forward pass, without a KV cache: peft 0.21's
    # `generate` for prompt tuning misplaces the positions of cached steps under transformers 5.24
    # (its second token onwards differs from a plain greedy loop over the same forward pass).
    generated = ids
    with torch.no_grad():
        for _ in range(16):
            logits = peft_model(input_ids=generated, attention_mask=torch.ones_like(generated)).logits
            token = logits[0, -1].argmax().view(1, 1)
            generated = torch.cat([generated, token], dim=1)
            if token.item() == lm.tokenizer.eos_token_id:
                break
    peft_text = lm.tokenizer.decode(generated[0, ids.shape[1]:], skip_special_tokens=True).strip()
    ours = lm.generate_knowledge([question], max_new_tokens=16, option_knowledge=False)[0]
    assert ours and ours == peft_text


def _prompt_parts(lm: DomainLM, question: str):
    from blade_core.model.directory import encode_knowledge_prompt

    return encode_knowledge_prompt(lm.tokenizer, lm.template, question)


def test_a_peft_written_adapter_loads_as_soft_prompt(tiny_lm: DomainLM, tmp_path: Path) -> None:
    from peft import PromptTuningConfig, TaskType, get_peft_model

    peft_model = get_peft_model(
        tiny_lm.model, PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4)
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    loaded = SoftPrompt.from_pretrained(tmp_path / "adapter")
    assert loaded.n_tokens == 4 and loaded.hidden_size == tiny_lm.hidden_size
    assert torch.allclose(loaded.embeddings, peft_model.get_prompt_embedding_to_save("default"))


def test_unreadable_soft_prompt_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SoftPromptError, match="no adapter_model.safetensors"):
        SoftPrompt.from_pretrained(tmp_path)
    SoftPrompt(torch.zeros(2, 8)).save_pretrained(tmp_path / "sp")
    (tmp_path / "sp" / "adapter_model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(SoftPromptError, match="unreadable safetensors"):
        SoftPrompt.from_pretrained(tmp_path / "sp")


def test_a_soft_prompt_that_cannot_work_is_refused_at_load(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from blade_core.model.soft_prompt import ADAPTER_WEIGHTS, PROJECTION_FILE

    good = tmp_path / "good"
    SoftPrompt(torch.randn(3, 8)).save_pretrained(good)
    cases = {"flat": torch.randn(8), "nan": torch.full((3, 8), float("nan")), "none": torch.zeros(0, 8)}
    says = {"flat": "a 1-D tensor, not", "nan": "holds NaN or infinite values", "none": "empty"}
    for name, tensor in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "adapter_config.json").write_text((good / "adapter_config.json").read_text())
        save_file({"prompt_embeddings": tensor}, str(folder / ADAPTER_WEIGHTS))
        with pytest.raises(SoftPromptError, match=rf"{ADAPTER_WEIGHTS}: tensor 'prompt_embeddings' is {says[name]}"):
            SoftPrompt.from_pretrained(folder)
    (good / PROJECTION_FILE).write_text("")
    with pytest.raises(SoftPromptError, match=rf"{PROJECTION_FILE}: not valid JSON"):
        SoftPrompt.from_pretrained(good)
    (good / PROJECTION_FILE).write_text("{}")
    with pytest.raises(SoftPromptError, match=rf"{PROJECTION_FILE}: field 'projection' is missing or invalid"):
        SoftPrompt.from_pretrained(good)
