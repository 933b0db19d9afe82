"""DP and KIT on the Hugging Face Trainer: data preparation, masking, LoRA, checkpoints, bad input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.data.records import InstructionPair
from blade_core.errors import OutputPathError
from blade_core.model.directory import encode_knowledge_prompt
from blade_core.model.template import KnowledgeTemplate
from blade_core.sample_domain import load_sample_domain
from blade_core.training import (
    KitConfig,
    PretrainConfig,
    TrainingError,
    run_kit,
    run_pretrain,
)
from blade_core.training.configs import budgeted_epochs
from blade_core.training.kit import IGNORE, sft_example
from blade_core.training.pretrain import (
    PretrainData,
    build_blocks,
    pack,
    split_unpacked,
)
from blade_core.training.stand_alone import stand_alone
from blade_core.writers.domain_lm import DomainLM

FAST = {"max_steps": 4, "batch_size": 4, "save_steps": 2, "logging_steps": 1, "progress": False}


@pytest.fixture(scope="module")
def sample():
    return load_sample_domain()


def test_pack_fills_blocks_with_eos_between_documents() -> None:
    blocks = pack([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block_size=4, eos_id=0)
    assert blocks == [[1, 2, 3, 0], [4, 5, 0, 6], [7, 8, 9, 0]]
    assert split_unpacked([[1, 2, 3, 4, 5], [6]], block_size=4, eos_id=0) == [[1, 2, 3, 4], [5, 0], [6, 0]]


def test_kit_loss_covers_the_knowledge_only(tiny_lm: DomainLM) -> None:
    pair = InstructionPair(instruction="What is Zorvanil indicated for?", output="Zorvanil treats marsh fever.")
    example = sft_example(tiny_lm.tokenizer, tiny_lm.template, pair, max_length=512)
    prefix, question, suffix = encode_knowledge_prompt(tiny_lm.tokenizer, tiny_lm.template, pair.question)
    n_prompt = len(prefix) + len(question) + len(suffix)
    assert example["labels"][:n_prompt] == [IGNORE] * n_prompt
    answer = example["labels"][n_prompt:]
    assert IGNORE not in answer and answer[-1] == tiny_lm.tokenizer.eos_token_id
    assert tiny_lm.tokenizer.decode(answer, skip_special_tokens=True) == pair.output
    assert example["input_ids"][n_prompt:] == answer
    # too long: the question is cut from the left, the template and the answer survive
    short = sft_example(tiny_lm.tokenizer, tiny_lm.template, pair, max_length=n_prompt)
    assert len(short["input_ids"]) == n_prompt and short["labels"][-1] == tiny_lm.tokenizer.eos_token_id


def blocks(config: PretrainConfig, lm: DomainLM) -> list[list[int]]:
    data = PretrainData.load(config)
    return build_blocks(config, data, lm.tokenizer, lm.template, lm.context_length, stand_alone(data.corpus))


def test_instruction_mixing_adds_templated_pairs_to_the_stream(tiny_lm_dir: Path, tiny_lm: DomainLM,
                                                                 sample) -> None:
    base = PretrainConfig(model=str(tiny_lm_dir), out=Path("unused"), corpus=[sample.corpus], block_size=128,
                          sentence_permutations=0, entity_documents=0, recitations=False)
    plain = blocks(base, tiny_lm)
    recited = blocks(base.model_copy(update={"recitations": True}), tiny_lm)  # every entity, asked by name
    assert len(recited) > len(plain) * 1.3
    assert "What is known about Flunovane?" in tiny_lm.tokenizer.decode([i for ids in recited for i in ids])
    mixed = blocks(base.model_copy(update={"mix_instructions": sample.kit, "question_forms": False}), tiny_lm)
    assert len(mixed) > len(plain) * 1.3
    # question forms: corpus facts the KIT pairs do not ask about, asked in the KIT pairs' words
    with_forms = blocks(base.model_copy(update={"mix_instructions": sample.kit}), tiny_lm)
    assert len(with_forms) > len(mixed)
    text = tiny_lm.tokenizer.decode([i for ids in mixed for i in ids])
    assert "### Knowledge:" in text and "### Knowledge:" not in tiny_lm.tokenizer.decode([i for ids in plain for i in ids])
    general = blocks(base.model_copy(update={"mix_general": sample.general, "general_ratio": 0.2}), tiny_lm)
    assert len(plain) * 1.1 < len(general) < len(plain) * 1.5


def test_dp_augments_the_corpus_by_default(tiny_lm_dir: Path, tiny_lm: DomainLM, sample) -> None:
    """Each sentence permutation adds about one corpus; entity documents add the rest."""
    default = PretrainConfig(model=str(tiny_lm_dir), out=Path("unused"), corpus=[sample.corpus], block_size=128,
                             recitations=False)
    sizes = {
        (perms, entities): len(blocks(default.model_copy(update={"sentence_permutations": perms,
                                                                  "entity_documents": entities}), tiny_lm))
        for perms, entities in ((0, 0), (1, 0), (0, 1))
    }
    one = sizes[0, 0]
    assert 1.9 * one < sizes[1, 0] < 2.1 * one and sizes[0, 1] > 1.5 * one
    augmented = blocks(default, tiny_lm)
    assert len(augmented) > 12 * one


def test_dp_then_kit_write_complete_model_directories(tiny_lm_dir: Path, sample, tmp_path: Path, capsys) -> None:
    dp = run_pretrain(PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "dp", corpus=[sample.corpus],
                                     block_size=64, **FAST))
    kit = run_kit(KitConfig(model=str(dp), out=tmp_path / "kit", data=sample.kit, max_length=128,
                            corpus=[sample.corpus], **FAST))
    said = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    forms = re.search(r"question forms: (\d+) from the KIT pairs .*: (\d+) corpus sentences as answers", said)
    assert forms and int(forms[1]) >= 14 and int(forms[2]) >= 153  # what the sample's pairs gave before alignment
    assert "recitations: " in said
    lm = DomainLM.from_pretrained(kit)
    assert lm.config.provenance.stages[-2:] == ["dp", "kit"]
    assert {"dp:corpus0", "kit:data", "kit:corpus0"} <= set(lm.config.provenance.data_hashes)
    logs = {p.name for p in (kit / "training").iterdir()}
    assert {"dp_log.json", "dp_loss.png", "kit_log.json", "kit_loss.png"} <= logs
    history = json.loads((kit / "training" / "kit_log.json").read_text())
    assert [h["step"] for h in history if "loss" in h] == [1, 2, 3, 4]
    # the one training log: a line per logging step, the same as JSON lines, no dicts, no bars
    assert re.search(r"DP step 1/4 \(25%\): loss \d+\.\d{3}, lr [\d.e+-]+, [\d,]+ tokens/s, \d+ s left", said)
    assert "{'loss'" not in said and "\r" not in said
    logged = [json.loads(line) for line in (kit / "training" / "kit_trainer_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in logged] == [1, 2, 3, 4] and all(e["tokens_per_second"] > 0 for e in logged)
    assert (kit / "training" / "dp_trainer_log.jsonl").is_file()  # the earlier stage's, kept
    assert lm.generate_knowledge(["What is Grelulan indicated for?"], max_new_tokens=8)


def test_a_token_budget_trains_fewer_epochs_and_says_so(tiny_lm_dir: Path, sample, tmp_path: Path,
                                                       capsys) -> None:
    config = PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "dp", corpus=[sample.corpus], block_size=64,
                            sentence_permutations=0, entity_documents=0, recitations=False, epochs=3,
                            batch_size=16, save_steps=1000, progress=False, plot_loss=False)
    data = PretrainData.load(config)
    lm = DomainLM.from_pretrained(tiny_lm_dir)
    corpus = stand_alone(data.corpus)
    epoch = sum(map(len, build_blocks(config, data, lm.tokenizer, lm.template, lm.context_length, corpus)))
    assert budgeted_epochs(3, epoch, None) == 3 and budgeted_epochs(3, epoch, 3 * epoch) == 3
    assert budgeted_epochs(3, epoch, epoch // 10) == 1  # never under one pass over the corpus
    dp = run_pretrain(config.model_copy(update={"token_budget": int(1.5 * epoch)}))
    said = " ".join(capsys.readouterr().err.split())
    assert f"DP: {epoch:,} tokens an epoch" in said and "allows 1.5 of 3 epochs" in said
    history = json.loads((dp / "training" / "dp_log.json").read_text())
    checks = [h for h in history if "facts_completed" in h]
    assert checks and {h["epochs_at_most"] for h in checks} == {1.5}
    assert 1.4 < history[-1]["epoch"] <= 1.5


def test_kit_saves_a_custom_template_for_inference(tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    template = "Q: {question}\nFacts:"
    out = run_kit(KitConfig(model=str(tiny_lm_dir), out=tmp_path / "kit", data=sample.kit, template=template,
                            max_length=96, **FAST))
    assert DomainLM.from_pretrained(out).template == KnowledgeTemplate(text=template)


def test_lora_is_merged_into_a_plain_directory(tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    out = run_kit(KitConfig(model=str(tiny_lm_dir), out=tmp_path / "lora", data=sample.kit, lora=True,
                            lora_r=4, learning_rate=1e-2, max_length=96, **FAST))
    names = {p.name for p in out.iterdir()}
    assert "adapter_config.json" not in names and "model.safetensors" in names
    before = DomainLM.from_pretrained(tiny_lm_dir).model.state_dict()
    after = DomainLM.from_pretrained(out).model.state_dict()
    assert set(before) == set(after), "merged weights keep the base model's parameter names"
    assert any(not before[k].equal(after[k]) for k in before), "LoRA training must change the merged weights"


def test_bad_lora_target_names_the_model_layers(tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="not in this model; its linear layers are .*q_proj"):
        run_kit(KitConfig(model=str(tiny_lm_dir), out=tmp_path / "x", data=sample.kit, lora=True,
                          lora_targets=["query_key_value"], **FAST))
    assert not (tmp_path / "x").exists()


def test_block_larger_than_context_is_refused(tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="larger than the model's context"):
        run_pretrain(PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "x", corpus=[sample.corpus],
                                    block_size=100_000, **FAST))


def test_nan_loss_stops_the_run_without_a_model_directory(tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"(loss|grad_norm) became nan at step \d+; lower the learning rate \(or use fp32\), then (run again \(no checkpoint was saved before it\)|--resume from the last good checkpoint \(.*checkpoint-\d+\))"):
        run_pretrain(PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "x", corpus=[sample.corpus],
                                    block_size=64, learning_rate=1e12, warmup=0, **FAST))
    assert not (tmp_path / "x").exists()


def test_a_finished_run_needs_overwrite_and_its_checkpoints_resume_or_overwrite(
    tiny_lm_dir: Path, sample, tmp_path: Path
) -> None:
    config = PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "dp", corpus=[sample.corpus], block_size=64,
                            **FAST)
    run_pretrain(config)
    first = (config.out / "model.safetensors").read_bytes()
    with pytest.raises(OutputPathError, match="already holds a model blade wrote; pass --overwrite"):
        run_pretrain(config)
    assert (config.out / "model.safetensors").read_bytes() == first

    shutil.rmtree(config.out)  # as after a crash: checkpoints, no model directory
    with pytest.raises(TrainingError, match="pass --resume to continue it, or --overwrite to start over"):
        run_pretrain(config)
    assert run_pretrain(config.model_copy(update={"resume": True})) == config.out

    run_pretrain(config.model_copy(update={"overwrite": True}))  # from step 0: old checkpoints gone
    log = json.loads((config.out / "training" / "dp_log.json").read_text())
    assert [entry["step"] for entry in log if "loss" in entry] == [1, 2, 3, 4]


def test_cli_pretrain_reports_bad_options_and_empty_corpus(tiny_lm_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["pretrain", "--model", str(tiny_lm_dir), "--out", str(tmp_path / "x"),
                              "--corpus", str(tmp_path), "--precision", "fp8"])
    assert bad.exit_code != 0 and "precision" in bad.output
    (tmp_path / "empty.txt").write_text("  \n")
    empty = runner.invoke(app, ["pretrain", "--model", str(tiny_lm_dir), "--out", str(tmp_path / "x"),
                                "--corpus", str(tmp_path / "empty.txt")])
    assert empty.exit_code == 2
    assert empty.stderr == (f"error: {tmp_path / 'empty.txt'}: the file is empty; remove it from the corpus "
                            "(a failed export?)\n")
    assert not (tmp_path / "x").exists()


def test_bf16_without_a_gpu_is_cpu_autocast_the_trainer_accepts(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    import torch
    from transformers import TrainingArguments

    from blade_core.training.runner import precision_flags

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert precision_flags("auto") == {}, "fp32 stays the CPU default: bf16 autocast is slower there"
    flags = precision_flags("bf16")
    assert flags["use_cpu"] and flags["bf16"]
    TrainingArguments(output_dir=str(tmp_path), report_to="none", **flags)  # refused without use_cpu


def test_report_to_reaches_the_trainer(tmp_path: Path) -> None:
    """TensorBoard, W&B and the like are the Trainer's own integrations: blade only passes them on."""
    from blade_core.training.runner import training_arguments

    corpus = tmp_path / "c.txt"
    corpus.write_text("Zorvanil treats marsh fever.")
    default = PretrainConfig(model="m", out=tmp_path / "out", corpus=[corpus])
    assert training_arguments(default, 1e-3).report_to == []
    tracked = default.model_copy(update={"report_to": ["tensorboard"]})
    assert training_arguments(tracked, 1e-3).report_to == ["tensorboard"]


def test_kit_with_no_pairs_of_the_users_trains_on_the_corpus_and_stops_by_access(
        tiny_lm_dir: Path, sample, tmp_path: Path, capsys) -> None:
    """Zero KIT pairs: the corpus's own pairs (question forms need KIT pairs; recitations do not);
    after each epoch the dev questions' knowledge access is measured, logged and printed."""
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(sample.dev.read_text().splitlines(keepends=True)[:8]))
    kit = run_kit(KitConfig(model=str(tiny_lm_dir), out=tmp_path / "kit", corpus=[sample.corpus], dev=dev,
                            epochs=2, batch_size=8, max_length=128, progress=False, save_steps=1000))
    said = " ".join(capsys.readouterr().err.split())
    assert "recitations:" in said and "KIT epoch 1: access:" in said
    lm = DomainLM.from_pretrained(kit)
    assert lm.config.generation.recite and "Flunovane" in lm.config.entities
    checks = [e for e in json.loads((kit / "training" / "kit_log.json").read_text()) if "access_reached" in e]
    assert checks and all(c["access_questions"] == 8 for c in checks)
    with pytest.raises(TrainingError, match="no KIT pairs"):
        run_kit(KitConfig(model=str(tiny_lm_dir), out=tmp_path / "none", progress=False))


def test_a_checkpoint_holding_other_pickled_objects_is_refused_in_one_line(
        tiny_lm_dir: Path, sample, tmp_path: Path) -> None:
    import pickle

    config = PretrainConfig(model=str(tiny_lm_dir), out=tmp_path / "dp", corpus=[sample.corpus], block_size=64,
                            **FAST)
    run_pretrain(config)
    shutil.rmtree(config.out)  # as after a crash: checkpoints, no model directory
    newest = max(config.work_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    (newest / "rng_state.pth").write_bytes(pickle.dumps(Path("anything")))  # not a tensor: never unpickled
    result = CliRunner().invoke(app, ["pretrain", "--model", str(tiny_lm_dir), "--corpus", str(sample.corpus),
                                      "--out", str(config.out), "--block-size", "64", "--max-steps", "4",
                                      "--batch-size", "4", "--save-steps", "2", "--resume", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f"error: {newest}: a file there holds pickled objects other than tensors" in " ".join(result.stderr.split())
