"""From-scratch domain LM: tokenizer trained on the corpus, Qwen2 model, saved and reloaded."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoConfig, AutoTokenizer
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.writers.domain_lm import DomainLM
from tests.conftest import FACTS


def write_corpus(path: Path) -> Path:
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in FACTS * 3), encoding="utf-8")
    return path


def test_init_model_cli_writes_a_loadable_directory(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    result = CliRunner().invoke(app, ["init-model", "--corpus", str(corpus), "--out", str(tmp_path / "m"),
                                      "--size", "tiny"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "blade.json"} <= names
    assert not any(n.endswith((".bin", ".pt", ".pkl")) for n in names)
    config = AutoConfig.from_pretrained(tmp_path / "m")
    assert config.model_type == "qwen2" and config.hidden_size == 64
    lm = DomainLM.from_pretrained(tmp_path / "m")
    assert lm.config.provenance.stages == ["init"]
    assert len(lm.generate_knowledge(["What is Zorvanil?"], max_new_tokens=4)) == 1


def test_tokenizer_is_trained_on_the_corpus_and_encodes_anything(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl")
    CliRunner().invoke(app, ["init-model", "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--size", "tiny"])
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "m")
    # domain words seen in the corpus become few tokens; unseen scripts still round-trip (byte level)
    assert len(tokenizer("Zorvanil")["input_ids"]) <= 2
    for text in ["Zorvanil is indicated for marsh fever.", "法律 ✓ naïve"]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_generate_cli_writes_knowledge(tiny_lm_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "x1", "question": "What is Zorvanil indicated for?",
                                     "options": {"A": "marsh fever", "B": "ash fever"}, "answer": "A"}) + "\n")
    out = tmp_path / "k.jsonl"
    result = CliRunner().invoke(app, ["generate", "--model", str(tiny_lm_dir), "--questions", str(questions),
                                      "--out", str(out), "--max-new-tokens", "12"])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text().splitlines()[0])
    assert record["id"] == "x1" and record["knowledge"]


def test_init_model_reports_an_empty_corpus(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(app, ["init-model", "--corpus", str(empty), "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "empty.jsonl" in str(result.exception) or "empty.jsonl" in result.output
    assert not (tmp_path / "m").exists()
