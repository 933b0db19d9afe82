"""`blade train` on a domain it was not tuned on: a settings file, every stage, a report; a re-run
reuses the finished stages; without KIT pairs it makes them from training questions, or from the
corpus with an LLM that writes, or trains on the corpus's own pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from blade_core.cli import app
from scripts.domain_shapes import generate

QUICK = ["--size", "tiny", "--dp-epochs", "0.3", "--kit-epochs", "0.5", "--bpo-budget", "1"]


def test_train_from_a_settings_file_runs_every_stage_and_reports(tmp_path: Path) -> None:
    domain = generate("towns", tmp_path / "towns", entities=12)
    settings = domain / "train.yaml"  # paths in it are read from its own folder
    settings.write_text("corpus: [corpus.jsonl]\nkit: kit.jsonl\ndev: dev.jsonl\ntest: test.jsonl\nllm: offline\n")
    out = tmp_path / "run"
    first = CliRunner().invoke(app, ["train", str(settings), "--out", str(out), *QUICK])
    assert first.exit_code == 0, first.output
    for stage in ("init", "dp", "kit", "bpo"):
        assert (out / stage / "blade.json").is_file()
    for line in ("stage init: running", "estimate: DP (at most) ~", "KIT ~", "BPO (at most) ~", "evaluation ~",
                 "stage dp: done in", "stage bpo: done in", "fact recall: the DP model completes",
                 "DP epoch 0.3: the model completes", "guard: min_confidence"):
        assert line in first.stderr
    results = json.loads((out / "report.json").read_text())["results"]
    assert list(results) == ["none", "blade", "rag", "hybrid", "gold"]
    assert "| blade |" in (out / "report.md").read_text()
    assert "Storage: fact recall:" in (out / "report.md").read_text()
    assert "DP trained 0.3 of at most 0.3 epochs" in (out / "report.md").read_text()
    names = json.loads((out / "bpo" / "blade.json").read_text())["names"]
    assert "North Fellbridge" in names or any(" " in name for name in names)  # multi-word names kept whole

    weights = out / "kit" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    again = CliRunner().invoke(app, ["train", str(settings), "--out", str(out), *QUICK])
    assert again.exit_code == 0, again.output
    assert "stage kit: reused" in again.stderr and weights.stat().st_mtime_ns == stamp


def test_train_makes_kit_pairs_from_training_questions(tmp_path: Path) -> None:
    domain = generate("towns", tmp_path / "towns", entities=12)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--corpus", str(domain / "corpus.jsonl"), "--questions",
                                      str(domain / "train.jsonl"), "--dev", str(domain / "dev.jsonl"),
                                      "--out", str(out), *QUICK, "--dp-epochs", "0.1"])
    assert result.exit_code == 0, result.output
    assert "stage kit-data:" in result.stderr and (out / "kit.jsonl").stat().st_size > 0
    assert "No test set was given" in (out / "report.md").read_text()


def test_train_options_reach_the_stage_configs(tmp_path: Path) -> None:
    from blade_core.pipeline.recipe import DomainData, TrainConfig
    from blade_core.pipeline.run import _dp_config, _kit_config

    config = TrainConfig(corpus=[tmp_path / "c.jsonl"], kit=tmp_path / "k.jsonl", dev=tmp_path / "d.jsonl",
                         dp_epochs=3, dp_stop_when_stored=False, question_forms=False, out=tmp_path / "run",
                         dp_token_budget=12345)
    data = DomainData(corpus=config.corpus, kit=tmp_path / "k.jsonl", dev=config.dev)
    dp = _dp_config(config.recipe(), data, "init", tmp_path / "dp", {})
    assert (dp.epochs, dp.stop_when_stored, dp.question_forms, dp.mix_instructions, dp.token_budget) == (
        3, False, False, tmp_path / "k.jsonl", 12345)
    default = _dp_config(TrainConfig(**{**config.model_dump(), "dp_stop_when_stored": True,
                                        "question_forms": True}).recipe(), data, "init", tmp_path / "dp", {})
    assert default.stop_when_stored and default.question_forms
    kit = _kit_config(config.recipe(), data, "dp", tmp_path / "kit", {})
    assert (kit.corpus, kit.question_forms, kit.recitations, kit.dev) == (config.corpus, False, True, config.dev)
    recipe = TrainConfig(**{**config.model_dump(), "question_forms": True, "recitations": False}).recipe()
    assert _kit_config(recipe, data, "dp", tmp_path / "kit", {}).question_forms
    assert not _kit_config(recipe, data, "dp", tmp_path / "kit", {}).recitations


def test_train_without_kit_pairs_trains_on_the_corpus_own_pairs_and_reports_access(tmp_path: Path) -> None:
    domain = generate("towns", tmp_path / "towns", entities=12)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--corpus", str(domain / "corpus.jsonl"), "--dev",
                                      str(domain / "dev.jsonl"), "--out", str(out), *QUICK, "--dp-epochs", "0.1"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "recitations:" in said and "question forms" not in said  # forms need KIT pairs; recitations do not
    access = json.loads((out / "pipeline.json").read_text())["access"]
    assert [line.split("'s knowledge")[0] for line in access] == ["access: the KIT model", "access: the BPO model"]
    assert "Access (dev): access: the KIT model" in (out / "report.md").read_text()
    assert json.loads((out / "kit" / "blade.json").read_text())["generation"]["recite"] is True


def test_train_without_kit_pairs_has_an_llm_that_writes_make_them_from_the_corpus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blade_core.serve import OpenAICompatibleServer
    from tests.local_llm_support import reach
    from tests.test_augment_corpus import RewritingModel

    class WritingAndAnswering(RewritingModel):
        """Rewrites passages; answers a multiple-choice question with its first option."""

        def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                      **kwargs: Any) -> ChatResult:
            if "<question>" in str(messages[-1].text):
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content="A"))])
            return super()._generate(messages, stop, run_manager, **kwargs)

    domain = generate("towns", tmp_path / "towns", entities=12)
    out = tmp_path / "run"
    with OpenAICompatibleServer(WritingAndAnswering()) as server:
        reach(server, monkeypatch, "sk-test")
        result = CliRunner().invoke(app, ["train", "--corpus", str(domain / "corpus.jsonl"), "--dev",
                                          str(domain / "dev.jsonl"), "--llm", "openai:writer", "--out", str(out),
                                          *QUICK, "--dp-epochs", "0.1", "--bpo-budget", "1"])
    assert result.exit_code == 0, result.output
    assert "stage augment:" in result.stderr and "KIT pairs from the LLM's question-answer rewrites" in result.stderr
    pairs = [json.loads(line) for line in (out / "kit.jsonl").read_text().splitlines()]
    assert pairs and all(pair["instruction"].startswith("What does the text say about") for pair in pairs)
