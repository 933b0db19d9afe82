"""`blade export`: the soft prompt becomes tokens of a plain model directory, and plain
transformers, given the exported text prompt, writes exactly the greedy text DomainLM writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from blade_core.model.export import export_model, read_prompt
from blade_core.writers.domain_lm import DomainLM

QUESTIONS = ["What is Zorvanil indicated for?", "Which house makes Brantovex?\nA. Saltgate\nB. Orrin Brothers",
             "潮港渔税条例由哪个机关负责执行？"]
PLAIN = {"option_knowledge": False, "entity_gate": False, "min_confidence": 0.0, "max_new_tokens": 24}


@pytest.fixture(scope="module")
def with_soft_prompt(soft_prompted_lm_dir: Path) -> Path:
    return soft_prompted_lm_dir


@pytest.fixture(scope="module")
def exported(with_soft_prompt: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "plain"
    export_model(with_soft_prompt, out)
    return out


def test_plain_transformers_writes_what_domain_lm_writes(with_soft_prompt: Path, exported: Path) -> None:
    lm = DomainLM.from_pretrained(with_soft_prompt)
    expected = lm.generate_knowledge(QUESTIONS, **PLAIN)
    assert expected != DomainLM.from_pretrained(with_soft_prompt).with_soft_prompt(None).generate_knowledge(
        QUESTIONS, **PLAIN), "the soft prompt must matter, or the test shows nothing"
    prompt = read_prompt(exported)
    tokenizer = AutoTokenizer.from_pretrained(exported)
    model = AutoModelForCausalLM.from_pretrained(exported)
    written = []
    for question in QUESTIONS:
        ids = tokenizer(str(prompt["prompt"]).format(question=question), add_special_tokens=False,
                        return_tensors="pt")["input_ids"]
        out = model.generate(ids, max_new_tokens=24, do_sample=False)  # generation_config: soft tokens suppressed
        written.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip())
        assert not set(out[0, ids.shape[1]:].tolist()) & set(prompt["soft_token_ids"])  # type: ignore[arg-type]
    assert written == expected


def test_the_export_states_its_prompt_three_ways(with_soft_prompt: Path, exported: Path) -> None:
    prompt = read_prompt(exported)
    ids = prompt["soft_token_ids"]
    assert isinstance(ids, list) and len(ids) == DomainLM.from_pretrained(with_soft_prompt).n_soft_tokens and prompt["logit_bias"] == {str(i): -100 for i in ids}
    assert str(prompt["prompt"]).startswith("<|blade_soft_0|><|blade_soft_1|>") and prompt["add_special_tokens"] is False
    tokenizer = AutoTokenizer.from_pretrained(exported)
    chat = tokenizer.apply_chat_template([{"role": "user", "content": QUESTIONS[0]}], tokenize=False)
    assert chat == str(prompt["prompt"]).format(question=QUESTIONS[0])
    assert not (exported / "soft_prompt").exists()  # the vectors live in the embeddings now


def test_domain_lm_on_the_export_writes_the_same_knowledge(with_soft_prompt: Path, exported: Path) -> None:
    """The export keeps blade.json (its template holds the soft tokens): DomainLM still works on it,
    knowledge per option and all."""
    original = DomainLM.from_pretrained(with_soft_prompt)
    again = DomainLM.from_pretrained(exported)
    assert again.soft_prompt is None and again.config.provenance.stages[-1] == "export"
    settings = {"max_new_tokens": 24, "entity_gate": False}
    assert again.generate_knowledge(QUESTIONS, **settings) == original.generate_knowledge(QUESTIONS, **settings)
