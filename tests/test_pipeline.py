"""`blade train` on a domain it was not tuned on: a settings file, every stage, a report; a re-run
reuses the finished stages; without KIT pairs it makes them from training questions."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.sample_domain.shapes import generate

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
    from blade_core.pipeline import _dp_config, _kit_config
    from blade_core.recipe import DomainData, TrainConfig

    config = TrainConfig(corpus=[tmp_path / "c.jsonl"], kit=tmp_path / "k.jsonl", dev=tmp_path / "d.jsonl",
                         dp_epochs=3, dp_stop_when_stored=False, question_forms=False, out=tmp_path / "run")
    data = DomainData(corpus=config.corpus, kit=tmp_path / "k.jsonl", dev=config.dev)
    dp = _dp_config(config.recipe(), data, "init", tmp_path / "dp", {})
    assert (dp.epochs, dp.stop_when_stored, dp.question_forms, dp.mix_instructions) == (
        3, False, False, tmp_path / "k.jsonl")
    default = _dp_config(TrainConfig(**{**config.model_dump(), "dp_stop_when_stored": True,
                                        "question_forms": True}).recipe(), data, "init", tmp_path / "dp", {})
    assert default.stop_when_stored and default.question_forms
    assert _kit_config(config.recipe(), data, "dp", tmp_path / "kit", {}).question_forms is None
    recipe = TrainConfig(**{**config.model_dump(), "question_forms": True}).recipe()
    assert _kit_config(recipe, data, "dp", tmp_path / "kit", {}).question_forms == config.corpus
