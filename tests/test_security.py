"""Security: no pickles, no remote code by default, API keys nowhere a run writes, ids are not paths."""

from __future__ import annotations

import ast
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.data.records import MCQuestion
from blade_core.llm import OfflineChatModel, resolve_llm
from blade_core.llm.scoring import ask_with_knowledge
from blade_core.retrieval import load_minilm
from blade_core.sample_domain import load_sample_domain
from tests.fault_server import FaultInjectingServer
from tests.local_llm_support import reach

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("blade_core", "langchain_blade", "llamaindex_blade", "trainers", "examples", "benchmarks")
SECRET = "sk-test-SECRET-" + "0123456789abcdef" * 2
UNPICKLERS = {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve"}


def shipped_python() -> Iterator[tuple[Path, str]]:
    for folder in SHIPPED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, path.read_text(encoding="utf-8")


def run_cli(command: str, args: list[str]) -> str:
    """Run one `blade` command; its whole output, stdout and stderr."""
    return CliRunner().invoke(app, [command, *args]).output


def unsafe_code(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, problem) for each unpickling import (the exception class alone, to catch torch.load's
    refusal, loads nothing), torch.load without weights_only=True, and
    trust_remote_code or safetensors switched by code (a default, or a literal in a call)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            only_the_error = isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["UnpicklingError"]
            if any(name.split(".")[0] in UNPICKLERS for name in names) and not only_the_error:
                yield node.lineno, f"imports {', '.join(names)}"
        if isinstance(node, ast.Call):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            if ast.unparse(node.func) == "torch.load" and not _is(keywords.get("weights_only"), True):
                yield node.lineno, "torch.load without weights_only=True"
            if _is(keywords.get("trust_remote_code"), True):
                yield node.lineno, "trust_remote_code=True"
            if _is(keywords.get("safe_serialization"), False) or _is(keywords.get("use_safetensors"), False):
                yield node.lineno, "weights without safetensors"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
            defaults += node.args.kw_defaults
            for arg, default in zip(args, defaults):
                if arg.arg == "trust_remote_code" and _is(default, True):
                    yield node.lineno, "trust_remote_code defaults to True"


def _is(node: ast.AST | None, value: bool) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def test_no_pickle_no_unsafe_torch_load_no_remote_code_by_default() -> None:
    problems = [f"{path.relative_to(ROOT)}:{line}: {problem}"
                for path, text in shipped_python() for line, problem in unsafe_code(ast.parse(text))]
    assert not problems, "\n".join(problems)
    planted = "import pickle\nfrom pickle import loads\ntorch.load(f)\ndef load(trust_remote_code=True): pass\nm.save(safe_serialization=False)"
    assert len(list(unsafe_code(ast.parse(planted)))) == 5  # the checks do find what they look for


def test_model_directories_hold_safetensors_and_json_only(tiny_lm_dir: Path) -> None:
    suffixes = {p.suffix for p in tiny_lm_dir.rglob("*") if p.is_file()}
    assert suffixes <= {".safetensors", ".json", ".txt", ".md", ".png", ".jsonl"}, suffixes


def test_echoed_keys_are_masked_in_recorded_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    class Echoing(FakeListChatModel):
        def _call(self, *args: Any, **kwargs: Any) -> str:
            raise RuntimeError(f"401 Incorrect API key provided: {SECRET}")

    question = MCQuestion(id="q", question="Which?", options={"A": "x", "B": "y"}, answer="A")
    [scored] = ask_with_knowledge(Echoing(responses=["A"]), [question], [None])
    assert scored.error is not None and "Incorrect API key" in scored.error and SECRET not in scored.error


def test_api_key_is_in_no_file_output_log_or_error_a_run_writes(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    load_minilm()
    caplog.set_level(logging.DEBUG)  # every logger, the OpenAI SDK's and httpx's included
    sample = load_sample_domain()
    questions = tmp_path / "dev.jsonl"
    questions.write_text("".join(sample.dev.read_text().splitlines(keepends=True)[:6]))
    outputs: list[str] = []
    # The server accepts only this key, so every call below really sends it.
    with FaultInjectingServer(OfflineChatModel(), api_key=SECRET) as server:
        reach(server, monkeypatch, SECRET)
        assert SECRET not in repr(resolve_llm("openai:offline"))
        server.inject("500", "500")  # two calls fail for good (no retries): errors are recorded
        common = ["--llm", "openai:offline", "--max-retries", "0", "--no-progress"]
        outputs.append(run_cli("make-kit-data", ["--questions", str(questions), "--out",
                                                       str(tmp_path / "kit" / "kit.jsonl"), *common]))
        server.inject("500")
        outputs.append(run_cli("eval", ["--test", str(questions), "--out", str(tmp_path / "eval" / "r.json"),
                                              "--modes", "none,gold", *common]))
        bpo = ["--model", str(tiny_lm_dir), "--dev", str(questions), "--n-init", "1", "--budget", "1",
               "--max-new-tokens", "8", *common]
        outputs.append(run_cli("bpo", [*bpo, "--out", str(tmp_path / "bpo" / "ok")]))
        server.outage("500")  # an outage ends a run with an error message
        outputs.append(run_cli("bpo", [*bpo, "--out", str(tmp_path / "bpo" / "down")]))
        server.outage(None)
    assert "pairs in the output" in outputs[0] and (tmp_path / "bpo" / "ok" / "bpo" / "trace.json").is_file()
    assert "error: all 6 LLM calls failed" in outputs[-1] and "--resume" in outputs[-1]
    recorded = [(tmp_path / "kit" / "kit.jsonl.progress.jsonl"), (tmp_path / "eval" / "r.questions.jsonl")]
    assert all("Error code: 500" in path.read_text() for path in recorded)  # the errors were written

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in written)  # the LLM caches are searched too
    leaks = [str(p) for p in written if SECRET.encode() in p.read_bytes()]
    captured = capfd.readouterr()
    streams = {"cli output": "".join(outputs), "stdout": captured.out, "stderr": captured.err,
               "logs": caplog.text}
    leaks += [name for name, text in streams.items() if SECRET in text]
    assert caplog.text and not leaks, f"the API key leaked into {leaks}"


def test_ids_and_paths_from_data_files_cannot_place_a_write(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids never become file names: hostile ones ("../../x", absolute paths) change nothing on disk."""
    load_minilm()
    marker = f"escape-{uuid.uuid4().hex}"
    hostile = [f"../../{marker}", f"/tmp/{marker}", f"..\\..\\{marker}", f"a/../../../{marker}"]
    records = [json.loads(line) for line in load_sample_domain().dev.read_text().splitlines()[:4]]
    data = tmp_path / "data"
    data.mkdir()
    (data / "q.jsonl").write_text("".join(json.dumps({**r, "id": i}) + "\n" for r, i in zip(records, hostile)))
    work = tmp_path / "work" / "deep" / "cwd"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    questions = str(data / "q.jsonl")

    run_cli("make-kit-data", ["--questions", questions, "--llm", "offline", "--out", "out/kit.jsonl",
                                    "--no-progress"])
    run_cli("eval", ["--test", questions, "--llm", "offline", "--out", "out/report.json",
                           "--modes", "none,gold", "--no-progress"])
    result = CliRunner().invoke(app, ["generate", "--model", str(tiny_lm_dir), "--questions", questions,
                                      "--out", "out/knowledge.jsonl", "--max-new-tokens", "4"])
    assert result.exit_code == 0, result.output

    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert {p for p in written if work / "out" not in p.parents} == {data / "q.jsonl"}
    assert not list(tmp_path.parent.rglob(f"*{marker}*")) and not Path(f"/tmp/{marker}").exists()
    ids = [json.loads(line)["id"] for line in (work / "out" / "knowledge.jsonl").open()]
    assert ids == hostile  # kept as data, verbatim
