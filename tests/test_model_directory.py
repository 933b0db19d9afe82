"""Model directories that cannot work fail at load time naming the file and field; saving over one
that works either replaces it whole or leaves it untouched, even when the disk is full."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from blade_core.model import directory as model_directory
from blade_core.model.checks import ModelDirectoryError
from blade_core.model.config import BladeConfigError
from blade_core.model.directory import encode_knowledge_prompt
from blade_core.model.soft_prompt import SoftPrompt, SoftPromptError
from blade_core.writers.domain_lm import DomainLM


@pytest.fixture
def model_dir(tiny_lm_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model directory, to damage."""
    return Path(shutil.copytree(tiny_lm_dir, tmp_path / "model"))


def edit_json(path: Path, **changes: object) -> None:
    record = json.loads(path.read_text())
    record.update(changes)
    path.write_text(json.dumps({k: v for k, v in record.items() if v is not None}))


def test_missing_weights_name_the_directory_and_never_load_a_pickle(model_dir: Path) -> None:
    (model_dir / "model.safetensors").unlink()
    (model_dir / "pytorch_model.bin").write_bytes(b"not loaded")

    with pytest.raises(ModelDirectoryError, match="no model.safetensors; it holds pytorch_model.bin") as caught:
        DomainLM.from_pretrained(model_dir)
    assert str(model_dir) in str(caught.value) and "never loaded" in str(caught.value)


@pytest.mark.parametrize("damage", ["cut off", "garbage"])
def test_damaged_weights_name_the_file(model_dir: Path, damage: str) -> None:
    weights = model_dir / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "cut off" else b"\x00garbage" * 8)

    with pytest.raises(ModelDirectoryError, match="unreadable safetensors file") as caught:
        DomainLM.from_pretrained(model_dir)
    assert str(caught.value).startswith(f"{weights}:")


def test_soft_prompt_for_another_hidden_size_names_its_folder(model_dir: Path) -> None:
    SoftPrompt(torch.zeros(5, 32)).save_pretrained(model_dir / "soft_prompt")

    with pytest.raises(SoftPromptError, match="hidden size 32 but model .* has 64") as caught:
        DomainLM.from_pretrained(model_dir)
    assert str(caught.value).startswith(f"{model_dir / 'soft_prompt'}:")


def test_broken_soft_prompt_config_names_the_file(model_dir: Path) -> None:
    SoftPrompt(torch.zeros(5, 64)).save_pretrained(model_dir / "soft_prompt")
    (model_dir / "soft_prompt" / "adapter_config.json").write_text('{"peft_type": "PROMPT_TU')

    with pytest.raises(SoftPromptError, match="adapter_config.json: not valid JSON"):
        DomainLM.from_pretrained(model_dir)


def test_blade_json_from_a_future_version_is_refused(model_dir: Path) -> None:
    edit_json(model_dir / "blade.json", format_version=99)

    with pytest.raises(BladeConfigError, match="field 'format_version' is 99, newer") as caught:
        DomainLM.from_pretrained(model_dir)
    assert str(caught.value).startswith(f"{model_dir / 'blade.json'}:")
    assert "upgrade" in str(caught.value)


def test_tokenizer_without_pad_token_pads_with_eos(model_dir: Path) -> None:
    edit_json(model_dir / "tokenizer_config.json", pad_token=None)

    lm = DomainLM.from_pretrained(model_dir)

    assert lm.tokenizer.pad_token == lm.tokenizer.eos_token and lm.tokenizer.padding_side == "left"
    assert all(lm.generate_knowledge(["What is Zorvanil?", "Brantovex?"], max_new_tokens=4))


def test_tokenizer_without_pad_or_eos_token_names_the_fields(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # transformers falls back on a default EOS when the config names none, so strip it after loading
    load = model_directory.AutoTokenizer.from_pretrained

    def without_special_tokens(*args: Any, **kwargs: Any) -> Any:
        tokenizer = load(*args, **kwargs)
        tokenizer.pad_token = tokenizer.eos_token = None
        return tokenizer

    monkeypatch.setattr(model_directory.AutoTokenizer, "from_pretrained", without_special_tokens)
    with pytest.raises(ModelDirectoryError, match="neither a pad nor an EOS token") as caught:
        DomainLM.from_pretrained(model_dir)
    assert str(caught.value).startswith(f"{model_dir}:")
    assert "'pad_token' or 'eos_token' in tokenizer_config.json" in str(caught.value)


def test_context_too_short_for_soft_prompt_and_template_is_refused_at_load(model_dir: Path) -> None:
    lm = DomainLM.from_pretrained(model_dir)
    prefix, _, suffix = encode_knowledge_prompt(lm.tokenizer, lm.template, "")
    edit_json(model_dir / "config.json", max_position_embeddings=len(prefix) + len(suffix) + 3)
    assert DomainLM.from_pretrained(model_dir)  # the template alone still leaves room

    SoftPrompt(torch.zeros(5, lm.hidden_size)).save_pretrained(model_dir / "soft_prompt")
    with pytest.raises(ModelDirectoryError, match="'max_position_embeddings' is .*leaving no room"):
        DomainLM.from_pretrained(model_dir)


DISK_FULL = """
import resource, signal, sys
from blade_core.writers.domain_lm import DomainLM

lm = DomainLM.from_pretrained(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
try:
    lm.save_pretrained(sys.argv[2])
except OSError as error:
    print(f"{type(error).__name__}: {error}")
    sys.exit(3)
"""


def test_disk_full_while_saving_is_a_clear_error_and_keeps_the_previous_directory(
    tiny_lm_dir: Path, model_dir: Path
) -> None:
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-c", DISK_FULL, str(tiny_lm_dir), str(model_dir)], env=env,
                         capture_output=True, text=True, timeout=300, check=False)

    assert run.returncode == 3, run.stderr[-2000:]
    assert run.stdout.startswith(f"AtomicWriteError: could not write {model_dir} (")
    assert "File too large" in run.stdout and "the previous one is untouched" in run.stdout
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["model"]  # no temp folder left


def test_a_run_folder_means_its_last_finished_stage(tiny_lm_dir: Path, tmp_path: Path) -> None:
    """Wherever a model directory is asked for, `blade train`'s --out means its last stage."""
    import shutil

    from typer.testing import CliRunner

    from blade_core.cli import app
    from blade_core.outputs import make_work_directory
    from langchain_blade import BladeKnowledgeRunnable

    run = make_work_directory(tmp_path / "run")
    shutil.copytree(tiny_lm_dir, run / "dp")
    shutil.copytree(tiny_lm_dir, run / "kit")
    (run / "bpo.work").mkdir()  # a stage still running is not a stage
    assert DomainLM.from_pretrained(run).name_or_path == str(run / "kit")
    result = CliRunner().invoke(app, ["generate", "--model", str(run), "--question", "What is Zorvanil?",
                                      "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output
    assert f"{run} is a blade train run folder: using its last stage, {run / 'kit'}" in result.stderr
    assert BladeKnowledgeRunnable(model_path=str(run), max_new_tokens=4).invoke("What is Zorvanil?") is not None


def test_a_tokenizer_or_config_that_does_not_fit_the_weights_is_one_line(tiny_lm_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from transformers import AutoTokenizer

    from blade_core.model.checks import ModelDirectoryError

    bigger = tmp_path / "bigger-tokenizer"
    shutil.copytree(tiny_lm_dir, bigger)
    tokenizer = AutoTokenizer.from_pretrained(bigger)
    tokenizer.add_tokens([f"<extra_{i}>" for i in range(5000)])
    tokenizer.save_pretrained(bigger)
    with pytest.raises(ModelDirectoryError, match=r"the tokenizer has \d+ tokens but the model's embedding table \d+ rows"):
        DomainLM.from_pretrained(bigger)

    other = tmp_path / "other-vocabulary"
    shutil.copytree(tiny_lm_dir, other)
    config = json.loads((other / "config.json").read_text())
    config["vocab_size"] += 100
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelDirectoryError, match=r"cannot load the model \((RuntimeError|ValueError): .*(size|shape)"):
        DomainLM.from_pretrained(other)


def test_a_users_file_is_no_answer_cache(tmp_path: Path) -> None:
    from blade_core.errors import OutputPathError
    from blade_core.llm.accounting import AnswerCache

    notes = tmp_path / "notes.md"
    notes.write_text("my notes")
    with pytest.raises(OutputPathError, match=r"notes.md is not an SQLite answer cache \(a file of yours\?\)"):
        AnswerCache(notes)
    assert notes.read_text() == "my notes"
