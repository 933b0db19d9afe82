"""A new user's mistakes, made through the real `blade` command: each ends in one line, exit code 2
(3 when the LLM endpoint failed), no traceback, and nothing in the working folder lost or changed.

Every case runs in the same kind of folder: a corpus, questions, KIT pairs, a model directory
blade wrote, a folder and a file of the user's own. The folder is fingerprinted (every file's bytes
and mode) before and after; a user's mistake must leave it exactly as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.errors import EXIT_LLM_FAILED, EXIT_USER_ERROR
from blade_core.retrieval.minilm import minilm_path
from blade_core.sample_domain import load_sample_domain
from tests.local_llm_support import bypass_proxies

ROOT = Path(__file__).resolve().parents[1]
DEAD_ENDPOINT = "http://127.0.0.1:9/v1"  # nothing listens on the discard port: connection refused


def _head(path: Path, lines: int) -> str:
    return "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:lines])


def _first_question() -> dict:
    return json.loads(_head(load_sample_domain().dev, 1))


def _write(name: str, text: str | bytes) -> None:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class Mistake:
    """One mistake: the command line, the exit code and what its one error line must say."""

    name: str
    args: list[str]
    says: str
    code: int = EXIT_USER_ERROR
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


QUESTION = _first_question()
MISTAKES = [
    # --- options out of range, unknown, missing or of the wrong type --------------------------
    Mistake("max-steps 0", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                            "--max-steps", "0"], r"--max-steps: must be -1 .* or at least 1, got 0"),
    Mistake("block-size 0", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                             "--block-size", "0"], r"--block-size: input should be greater than or equal to 2"),
    Mistake("learning rate 0", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k",
                                "--learning-rate", "0"], r"--learning-rate: input should be greater than 0"),
    Mistake("learning rate inf", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k",
                                  "--learning-rate", "inf"], r"--learning-rate: input should be a finite number"),
    Mistake("epochs 0", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k", "--epochs", "0"],
            r"--epochs: input should be greater than 0"),
    Mistake("unknown scheduler", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                                  "--lr-scheduler", "cosine_annealing"], r"'cosine_annealing' is not one of 'cosine'"),
    Mistake("unknown precision", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                                  "--precision", "fp8"], r"'fp8' is not one of 'auto', 'fp32', 'bf16', 'fp16'"),
    Mistake("template without slot", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k",
                                      "--template", "Knowledge:"], r"--template: .*'\{question\}' exactly once"),
    Mistake("deepspeed file missing", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                                       "--deepspeed", "ds.json"], r"--deepspeed: no such file"),
    Mistake("negative temperature", ["generate", "--model", "model", "--question", "What?", "--temperature", "-1"],
            r"--temperature: input should be greater than or equal to 0, got -1"),
    Mistake("zero new tokens", ["generate", "--model", "model", "--question", "What?", "--max-new-tokens", "0"],
            r"--max-new-tokens: input should be greater than or equal to 1"),
    Mistake("zero batch size", ["generate", "--model", "model", "--question", "What?", "--batch-size", "0"],
            r"--batch-size: input should be greater than or equal to 1"),
    Mistake("no question", ["generate", "--model", "model"], r"give --question TEXT .* or --questions FILE"),
    Mistake("budget 0", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "b", "--budget", "0"],
            r"--budget: input should be greater than or equal to 1"),
    Mistake("more start points than budget", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "b",
                                              "--n-init", "10", "--budget", "5"], r"--n-init: 10 Sobol points exceed"),
    Mistake("unknown mode", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "r.json",
                             "--modes", "none,retrieval"], r"--modes: unknown modes \['retrieval'\]"),
    Mistake("unknown size", ["init-model", "--corpus", "corpus.jsonl", "--out", "m", "--size", "huge"],
            r"'huge' is not one of 'auto', 'tiny', 'small', 'medium'"),
    Mistake("export of a model that is not there", ["export", "--model", "nomodel", "--out", "exported"],
            r"--model nomodel: file or folder not found; check the path"),
    Mistake("port out of range", ["serve-llm", "--port", "70000"],
            r"--port: input should be less than or equal to 65535"),
    Mistake("tiny body limit", ["serve-llm", "--max-body-bytes", "10"], r"--max-body-bytes: input should be greater"),
    Mistake("knowledge server of a model that is not there", ["serve", "--model", "nomodel"],
            r"--model nomodel: file or folder not found; check the path"),
    Mistake("a sentence encoder as the domain LM", ["generate", "--model", str(minilm_path()), "--question", "What?"],
            r"config.json: field 'architectures' is \['BertModel'\] \(a sentence encoder: modules.json\), not a "
            r"causal language model"),
    Mistake("a GPU this machine does not have", ["serve", "--model", "model",
                                                 "--device", "cuda:7"],
            r"--device cuda:7: this machine has .*CUDA device.*; use --device cpu"),
    Mistake("knowledge server batch of zero", ["serve", "--model", "model", "--max-batch", "0"],
            r"--max-batch: input should be greater than or equal to 1"),
    Mistake("more new tokens than the context", ["generate", "--model", "model", "--question", "What?",
                                                 "--max-new-tokens", "100000"],
            r"model context \(512 tokens\) is too short .* lower --max-new-tokens"),
    Mistake("KIT examples longer than the context", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k",
                                                     "--max-length", "100000"],
            r"--max-length 100000 exceeds the model's context \(512 tokens\); use 512 or less"),
    Mistake("unknown option", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl", "--out", "dp",
                               "--lr", "1e-3"], r"No such option: --lr .*see '.* pretrain --help'"),
    Mistake("missing option", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl"], r"Missing option '--out'"),
    Mistake("not a number", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k", "--batch-size", "eight"],
            r"Invalid value for '--batch-size'"),
    Mistake("a names file line that is no name", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl",
                                                  "--out", "dp", "--names", "names.txt"],
            r"names.txt:2: 129 characters is no name \(at most 120\); write one entity a line",
            files={"names.txt": "metformin\n" + "metformin is a drug " * 6 + "and more.\n"}),
    # --- outputs that would destroy something -----------------------------------------------------
    Mistake("out is the corpus", ["init-model", "--corpus", "corpus.jsonl", "--out", "corpus.jsonl"],
            r"--out corpus.jsonl is the input --corpus corpus.jsonl"),
    Mistake("out is the current folder", ["init-model", "--corpus", "corpus.jsonl", "--out", "."],
            r"--out \. holds the input --corpus corpus.jsonl"),
    Mistake("out is the user's folder", ["init-model", "--corpus", "corpus.jsonl", "--out", "user"],
            r"--out user is a folder blade did not write \(1 entry: notes.txt\)"),
    Mistake("out is the user's folder, with --overwrite", ["init-model", "--corpus", "corpus.jsonl", "--out", "user",
                                                         "--overwrite"], r"blade never replaces what it did not write"),
    Mistake("out is a model blade wrote", ["init-model", "--corpus", "corpus.jsonl", "--out", "model"],
            r"--out model already holds a model blade wrote; pass --overwrite"),
    Mistake("out is a file", ["init-model", "--corpus", "corpus.jsonl", "--out", "notes.md"],
            r"--out notes.md is a file, and a model directory is a folder"),
    Mistake("out is the model it trains", ["pretrain", "--model", "model", "--corpus", "corpus.jsonl",
                                           "--out", "model"], r"--out model is the input --model model"),
    Mistake("out inside the corpus folder", ["pretrain", "--model", "model", "--corpus", "docs", "--out", "docs/dp"],
            r"--out docs/dp is inside the input --corpus docs"),
    Mistake("out under a file", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "notes.md/model"],
            r"notes.md is a file, not a folder"),
    Mistake("bpo into the user's folder", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "user"],
            r"--out user is a folder blade did not write"),
    Mistake("bpo over its model", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "model", "--overwrite"],
            r"--out model is the input --model model"),
    Mistake("quickstart into the user's folder", ["quickstart", "--out", "user"],
            r"user \(the working folder of --out\) exists and blade did not write it"),
    Mistake("work folder is the user's", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "user2"],
            r"user2.work \(the working folder of --out\) exists and blade did not write it",
            files={"user2.work/mine.txt": "mine"}),
    Mistake("report over the questions", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "dev.jsonl"],
            r"--out dev.jsonl is the input --test dev.jsonl"),
    Mistake("report into a folder", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "user"],
            r"user is a folder, and a file is written there"),
    Mistake("report over a file", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "notes.md"],
            r"--out notes.md already exists; pass --overwrite"),
    Mistake("report beside a file", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "notes.json"],
            r"notes.questions.jsonl, written beside it\) already exists", files={"notes.questions.jsonl": "{}\n"}),
    Mistake("knowledge over a file", ["generate", "--model", "model", "--question", "What?", "--out", "notes.md"],
            r"--out notes.md already exists; pass --overwrite"),
    Mistake("kit data over the questions", ["make-kit-data", "--questions", "dev.jsonl", "--llm", "offline",
                                            "--out", "dev.jsonl"],
            r"--out dev.jsonl is the input --questions dev.jsonl"),
    Mistake("kit data over the user's file", ["make-kit-data", "--questions", "dev.jsonl", "--llm", "offline",
                                              "--out", "notes.md"], r"notes.md exists but has no progress file"),
    Mistake("rewrites into the corpus folder", ["augment-corpus", "--corpus", "docs", "--llm", "openai:gpt",
                                                "--out", "docs/aug.jsonl"],
            r"--out docs/aug.jsonl is inside the input --corpus docs", env={"OPENAI_BASE_URL": DEAD_ENDPOINT}),
    # --- model directories -------------------------------------------------------------------------
    Mistake("start soft prompt is a model directory", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "b",
                                                       "--init-soft-prompt", "model"],
            r"model: no adapter_model.safetensors; is this a peft prompt-tuning adapter\?"),
    Mistake("start soft prompt missing", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--out", "b",
                                          "--init-soft-prompt", "prompts/start"], r"prompts/start: no such folder"),
    Mistake("mistyped model path", ["generate", "--model", "./runs/dpp", "--question", "What?"],
            r"\./runs/dpp: no such model directory; check the path"),
    Mistake("model path under an existing folder", ["generate", "--model", "user/dp", "--question", "What?"],
            r"user/dp: no such model directory"),
    Mistake("hub id, offline", ["generate", "--model", "nosuchorg/nosuchmodel", "--question", "What?"],
            r"nosuchorg/nosuchmodel: no such folder here, and no such model in the local hub cache"),
    Mistake("model is the corpus folder", ["generate", "--model", "docs", "--question", "What?"],
            r"docs: no config.json, so it is not a model directory"),
    Mistake("model is a work folder", ["generate", "--model", "dp.work", "--question", "What?"],
            r"dp.work: no config.json, .*the model is written to dp when the run completes",
            files={"dp.work/checkpoint-2/trainer_state.json": "{}"}),
    Mistake("model is a file", ["kit", "--model", "kit.jsonl", "--data", "kit.jsonl", "--out", "k"],
            r"kit.jsonl is a file; give the model directory"),
    Mistake("model without tokenizer", ["generate", "--model", "bare", "--question", "What?"],
            r"bare: no tokenizer files", files={"bare/config.json": "{}"}),
    Mistake("model config not JSON", ["generate", "--model", "broken", "--question", "What?"],
            r"broken/config.json: not valid JSON .*; save the model again", files={"broken/config.json": "{not json", "broken/tokenizer.json": "{}",
                                                     "broken/model.safetensors": b"\0" * 16}),
    # --- data ------------------------------------------------------------------------------------------
    Mistake("corpus missing", ["pretrain", "--model", "model", "--corpus", "corpus.jsnol", "--out", "dp"],
            r"--corpus corpus.jsnol: file or folder not found"),
    Mistake("KIT corpus missing", ["kit", "--model", "model", "--data", "kit.jsonl", "--out", "k",
                                   "--corpus", "missing.jsonl"],
            r"^error: --corpus missing.jsonl: file or folder not found; check the path$"),
    Mistake("option key given twice", ["eval", "--test", "twice.jsonl", "--llm", "offline", "--out", "r.json"],
            r"twice.jsonl:1: field 'A': key 'A' is given twice in one object, and only one value can count",
            files={"twice.jsonl": '{"id": "q", "question": "Which?", "options": {"A": "x", "B": "y", "A": "z"}, '
                                  '"answer": "A"}\n'}),
    Mistake("setting given twice", ["train", "twice.yaml"],
            r"twice.yaml:3: field 'dev': given twice; only one value can count: keep the right one",
            files={"twice.yaml": "corpus: corpus.jsonl\ndev: dev.jsonl\ndev: kit.jsonl\n"}),
    Mistake("a setting of the wrong type in a settings file", ["train", "wrong.yaml"],
            r"wrong.yaml:2: field 'dp-epochs': input should be a valid number, unable to parse string as a number, "
            r"got 'many'", files={"wrong.yaml": "corpus: corpus.jsonl\ndp-epochs: many\ndev: dev.jsonl\nkit: kit.jsonl\n"}),
    Mistake("KIT pairs and training questions both given", ["train", "--corpus", "corpus.jsonl", "--kit", "kit.jsonl",
                                                             "--questions", "dev.jsonl", "--dev", "dev.jsonl"],
            r"give --kit PAIRS or --questions TRAIN .*, not both"),
    Mistake("corpus in UTF-16", ["pretrain", "--model", "model", "--corpus", "utf16.txt", "--out", "dp"],
            r"utf16.txt:1: is UTF-16 text .*iconv -f UTF-16 -t UTF-8",
            files={"utf16.txt": "Zorvanil treats marsh fever.".encode("utf-16")}),
    Mistake("corpus folder without text", ["pretrain", "--model", "model", "--corpus", "pdfs", "--out", "dp"],
            r"pdfs: the corpus is empty", files={"pdfs/a.pdf": b"%PDF-1.4"}),
    Mistake("corpus not UTF-8", ["pretrain", "--model", "model", "--corpus", "gbk.jsonl", "--out", "dp"],
            r"gbk.jsonl:1: not valid UTF-8 .*iconv -f GBK",
            files={"gbk.jsonl": '{"text": "中文"}\n'.encode("gbk")}),
    Mistake("a .gz that is not gzip", ["pretrain", "--model", "model", "--corpus", "plain.jsonl.gz", "--out", "dp"],
            r"plain.jsonl.gz: is not a valid gzip file", files={"plain.jsonl.gz": '{"text": "x"}\n'}),
    Mistake("answer is a word", ["eval", "--test", "word.jsonl", "--llm", "offline", "--out", "r.json"],
            r"word.jsonl:1: field 'answer': answer 'bad' is not option letters",
            files={"word.jsonl": json.dumps({**QUESTION, "answer": "bad"}) + "\n"}),
    Mistake("answer not among the options", ["eval", "--test", "far.jsonl", "--llm", "offline", "--out", "r.json"],
            r"far.jsonl:1: field 'answer': answer Z is not among the options",
            files={"far.jsonl": json.dumps({**QUESTION, "answer": "Z"}) + "\n"}),
    Mistake("option keys differ in case", ["eval", "--test", "case.jsonl", "--llm", "offline", "--out", "r.json"],
            r"case.jsonl:1: field 'options': option keys 'A' and 'a' are the same letter",
            files={"case.jsonl": json.dumps({**QUESTION, "options": {**QUESTION["options"], "a": "again"}}) + "\n"}),
    Mistake("questions cut off", ["eval", "--test", "cut.jsonl", "--llm", "offline", "--out", "r.json"],
            r"cut.jsonl:1: malformed JSON: .*the file looks cut off",
            files={"cut.jsonl": json.dumps(QUESTION)[:-20]}),
    Mistake("questions file is a folder", ["eval", "--test", "docs", "--llm", "offline", "--out", "r.json"],
            r"docs: is a folder; give the data file itself"),
    Mistake("questions file is a corpus", ["generate", "--model", "model", "--questions", "corpus.jsonl"],
            r"corpus.jsonl:1: cannot tell the question layout from the keys \['text'\]"),
    Mistake("KIT pairs are questions", ["kit", "--model", "model", "--data", "dev.jsonl", "--out", "k"],
            r"dev.jsonl:1: holds multiple-choice questions, not alpaca pairs; .*blade make-kit-data"),
    Mistake("kit data, corpus line broken", ["make-kit-data", "--questions", "dev.jsonl", "--llm", "offline",
                                              "--corpus", "broken.jsonl", "--out", "pairs.jsonl"],
            r"broken.jsonl:2: malformed JSON", files={"broken.jsonl": '{"text": "a"}\n{"text": \n'}),
    Mistake("eval, corpus line broken", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--rag-corpus",
                                         "broken.jsonl", "--out", "r.json"],
            r"broken.jsonl:2: malformed JSON", files={"broken.jsonl": '{"text": "a"}\n{"text": \n'}),
    Mistake("eval, rag asked without a corpus", ["eval", "--test", "dev.jsonl", "--llm", "offline", "--modes", "rag",
                                                 "--out", "r.json"], r"mode 'rag' needs a corpus to retrieve from"),
    Mistake("KIT pair without output", ["kit", "--model", "model", "--data", "pairs.jsonl", "--out", "k"],
            r"pairs.jsonl:1: field 'output': is missing",
            files={"pairs.jsonl": json.dumps({"instruction": "What?"}) + "\n"}),
    # --- the LLM --------------------------------------------------------------------------------------------
    Mistake("openai spec without key or server", ["eval", "--test", "dev.jsonl", "--llm", "openai:gpt-4o-mini",
                                                  "--out", "r.json"], r"needs OPENAI_API_KEY, or OPENAI_BASE_URL"),
    Mistake("spec without provider", ["eval", "--test", "dev.jsonl", "--llm", "gpt4", "--out", "r.json"],
            r"cannot resolve LLM spec 'gpt4'"),
    Mistake("offline cannot paraphrase", ["augment-corpus", "--corpus", "corpus.jsonl", "--llm", "offline",
                                          "--out", "aug.jsonl"], r"offline stand-in LLM cannot paraphrase"),
    Mistake("eval, endpoint down", ["eval", "--test", "dev.jsonl", "--llm", "openai:gpt", "--out", "r.json",
                                    "--modes", "none", "--max-retries", "0", "--no-progress"],
            r"all 6 LLM calls failed \(e.g. .*Connection error.*\); mode none got no answer", EXIT_LLM_FAILED,
            env={"OPENAI_BASE_URL": DEAD_ENDPOINT}),
    Mistake("kit data, endpoint down", ["make-kit-data", "--questions", "dev.jsonl", "--llm", "openai:gpt",
                                        "--out", "pairs.jsonl", "--max-retries", "0", "--no-progress"],
            r"all 6 LLM calls of the last chunk failed .*run the same command again", EXIT_LLM_FAILED,
            env={"OPENAI_BASE_URL": DEAD_ENDPOINT}),
    Mistake("bpo, endpoint down", ["bpo", "--model", "model", "--dev", "dev.jsonl", "--llm", "openai:gpt",
                                   "--out", "b", "--budget", "2", "--n-init", "2", "--max-retries", "0",
                                   "--max-new-tokens", "4", "--no-progress"],
            r"all 6 LLM calls failed .*re-run with --resume", EXIT_LLM_FAILED, env={"OPENAI_BASE_URL": DEAD_ENDPOINT}),
]


def fingerprint(root: Path) -> dict[str, str]:
    """Every file's bytes and mode, every folder's mode: what a mistake must leave as it was."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        mode = oct(path.stat().st_mode & 0o777)
        found[key] = mode if path.is_dir() else f"{mode} {hashlib.sha256(path.read_bytes()).hexdigest()}"
    return found


@pytest.fixture()
def workspace(tmp_path: Path, tiny_lm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sample = load_sample_domain()
    monkeypatch.chdir(tmp_path)
    bypass_proxies(monkeypatch)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    _write("corpus.jsonl", _head(sample.corpus, 40))
    _write("docs/a.jsonl", _head(sample.corpus, 10))
    _write("dev.jsonl", _head(sample.dev, 6))
    _write("kit.jsonl", _head(sample.kit, 8))
    _write("user/notes.txt", "my notes")
    _write("notes.md", "# my notes")
    shutil.copytree(tiny_lm_dir, "model")
    return tmp_path


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_mistake_ends_in_one_line_and_loses_nothing(mistake: Mistake, workspace: Path) -> None:
    for name, text in mistake.files.items():
        _write(name, text)
    before = fingerprint(workspace)
    result = CliRunner().invoke(app, mistake.args, env=mistake.env)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == mistake.code, result.output
    assert len(errors) == 1 and re.search(mistake.says, errors[0]), errors
    assert result.stderr.rstrip().endswith(errors[0]) and "Traceback" not in result.output
    after = fingerprint(workspace)
    if mistake.code == EXIT_USER_ERROR:
        assert after == before, "a refused command changed the folder"
    else:  # an LLM failure keeps what a re-run needs (progress, cache, BPO state), and loses nothing
        assert {k: v for k, v in after.items() if k in before} == before


def test_debug_adds_the_traceback(workspace: Path) -> None:
    args = ["generate", "--model", "./nowhere", "--question", "What?"]
    plain = CliRunner().invoke(app, args)
    debug = CliRunner().invoke(app, [*args, "--debug"])
    by_env = CliRunner().invoke(app, args, env={"BLADE_DEBUG": "1"})
    assert "Traceback" not in plain.stderr and plain.stderr.count("\n") == 1
    for result in (debug, by_env):
        assert result.exit_code == 2 and "Traceback" in result.stderr and "ModelDirectoryError" in result.stderr
        assert result.stderr.splitlines()[-1] == plain.stderr.strip()


def test_a_bug_is_called_a_bug(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import blade_core.data

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("internal")

    monkeypatch.setattr(blade_core.data, "load_mcq", broken)
    result = CliRunner().invoke(app, ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "r.json"])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["error: unexpected KeyError: 'internal'. This is a bug in blade, not in "
                                          "your input: please report it (add --debug or set BLADE_DEBUG=1 for the "
                                          "traceback)"]


def test_a_missing_extra_names_the_pip_install_that_brings_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import blade_core.data

    def without_botorch(*args: object, **kwargs: object) -> None:
        raise ModuleNotFoundError("No module named 'botorch'", name="botorch")

    monkeypatch.setattr(blade_core.data, "load_mcq", without_botorch)
    result = CliRunner().invoke(app, ["eval", "--test", "dev.jsonl", "--llm", "offline", "--out", "r.json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: this needs botorch, which is not installed: pip install 'blade-lm[train]'"]


@pytest.mark.parametrize(("args", "module", "extra"), [
    (["quickstart", "--fast", "--out", "qs"], "botorch", "train"),
    (["serve-llm", "--port", "0"], "fastapi", "serve"),
], ids=["quickstart", "serve-llm"])
def test_a_missing_extra_is_refused_before_anything_is_written(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], module: str, extra: str
) -> None:
    import importlib.util

    found = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == module else found(name, *rest))
    before = fingerprint(workspace)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: this needs {module}, which is not installed: pip install 'blade-lm[{extra}]'"]
    assert fingerprint(workspace) == before and not (workspace / "qs").exists()


def test_data_that_is_merely_unusual_is_read(workspace: Path) -> None:
    """A BOM on a later line (files joined with cat), upper-case .GZ, gzip under a plain name, a
    corpus folder of JSONL files: each is read as the user meant, and no one is told off."""
    dev = Path("dev.jsonl").read_bytes()
    lines = dev.splitlines(keepends=True)
    _write("joined.jsonl", b"\xef\xbb\xbf" + lines[0] + b"\xef\xbb\xbf" + lines[1])
    _write("upper.JSONL.GZ", gzip.compress(dev))
    _write("hidden-gzip.jsonl", gzip.compress(dev))
    for name, count in (("joined.jsonl", 2), ("upper.JSONL.GZ", 6), ("hidden-gzip.jsonl", 6)):
        result = CliRunner().invoke(app, ["generate", "--model", "model", "--questions", name,
                                          "--max-new-tokens", "2", "--no-option-knowledge", "--out", f"{name}.out"])
        assert result.exit_code == 0, result.output
        assert len(Path(f"{name}.out").read_text().splitlines()) == count
    init = CliRunner().invoke(app, ["init-model", "--corpus", "docs", "--out", "from-folder", "--size", "tiny"])
    assert init.exit_code == 0 and "(10 documents" in init.stdout, init.output


@pytest.mark.parametrize("program", [["-m", "blade_core.cli", "pretrain"], ["trainers/pretrain.py"]],
                         ids=["blade", "trainer script"])
def test_as_a_process_the_error_is_the_only_output(program: list[str], workspace: Path) -> None:
    """The same one line and exit code from the `blade` program and the `trainers/` scripts
    (`torchrun trainers/pretrain.py ...`), outside any test runner."""
    script = [str(ROOT / program[0])] if program[0].endswith(".py") else program
    args = [sys.executable, *script, "--model", "model", "--corpus", "corpus.jsonl", "--out", "corpus.jsonl"]
    before = fingerprint(workspace)
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                          timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ("error: --out corpus.jsonl is the input --corpus corpus.jsonl; write the output "
                           "somewhere else (a command never writes over or into its own inputs)\n")
    assert fingerprint(workspace) == before


def test_every_case_is_listed_in_the_reliability_document() -> None:
    document = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert [m.name for m in MISTAKES if f"| {m.name} |" not in document] == []


def test_blade_alone_shows_the_help(workspace: Path) -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0 and "Usage:" in result.stdout and "pretrain" in result.stdout
    assert result.stderr == ""


def test_the_adapters_raise_blades_own_error_for_a_bad_directory(workspace: Path) -> None:
    """Not a pydantic ValidationError wrapped around it: the same one-line message as the CLI."""
    from blade_core.model.checks import ModelDirectoryError
    from langchain_blade import BladeKnowledgeRunnable
    from llamaindex_blade import BladeQueryTransform

    for build in (BladeKnowledgeRunnable.from_pretrained, BladeQueryTransform):
        with pytest.raises(ModelDirectoryError, match=r"^\./nowhere: no such model directory"):
            build("./nowhere")


def test_a_second_run_on_an_output_being_written_is_refused(workspace: Path) -> None:
    """One run holds `--out` while it writes (here: this test, through the same lock); a second
    run on it is refused in one line naming the first, and nothing is written."""
    from blade_core.outputs import output_lock

    before = fingerprint(workspace)
    with output_lock(workspace / "m"):
        result = CliRunner().invoke(app, ["init-model", "--corpus", "corpus.jsonl", "--out", "m"])
    assert result.exit_code == EXIT_USER_ERROR
    assert re.fullmatch(rf"error: --out m is being written by another blade run \(process {os.getpid()}: blade .*\); "
                        r"wait for it to finish, or choose another --out\n", result.stderr)
    assert fingerprint(workspace) == before
    assert CliRunner().invoke(app, ["init-model", "--corpus", "corpus.jsonl", "--out", "m"]).exit_code == 0  # released
