"""`blade eval`: every mode scored the same way, a consistent report, a cache that makes re-runs free.

The LLM is the offline stand-in behind the local OpenAI-compatible server, reached through
`resolve_llm("openai:offline")`, so the HTTP path runs for real and the server counts every call
that reached it: the report's `llm_calls` are checked against that count, not against themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.data import load_mcq
from blade_core.evaluation import (
    EvalConfig,
    EvalInputError,
    EvalSettings,
    evaluate,
)
from blade_core.evaluation.rag import with_passages
from blade_core.llm import OfflineChatModel
from blade_core.retrieval import PassageIndex, load_minilm
from blade_core.sample_domain import load_sample_domain
from blade_core.serve import OpenAICompatibleServer
from tests.local_llm_support import reach

ALL_MODES = ["none", "blade", "rag", "hybrid", "gold"]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["eval", *args, "--no-progress"])


def one_error_line(result: Any) -> str:
    """The one line a failed command printed; it fails the test when there is more or none."""
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def write_questions(path: Path, singles: int, multis: int, knowledge: bool = True) -> Path:
    """The first sample test questions of each kind, with or without their reference knowledge."""
    records = [json.loads(line) for line in load_sample_domain().test.read_text().splitlines()]
    chosen = [r for r in records if len(r["answer"]) == 1][:singles]
    chosen += [r for r in records if len(r["answer"]) > 1][:multis]
    if not knowledge:
        for record in chosen:
            del record["knowledge"]
    path.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    load_minilm()  # the few-second load, once
    with OpenAICompatibleServer(OfflineChatModel()) as running:
        yield running


@pytest.fixture
def remote(server: OpenAICompatibleServer, monkeypatch: pytest.MonkeyPatch) -> OpenAICompatibleServer:
    """`resolve_llm("openai:offline")` now reaches the local server."""
    reach(server, monkeypatch, "sk-test-local")
    return server


class Run(NamedTuple):
    args: list[str]
    out: Path
    served: int
    report: dict[str, Any]
    answers: list[dict[str, Any]]
    output: str


@pytest.fixture(scope="module")
def first_run(
    server: OpenAICompatibleServer, tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    """Every mode, once, on 10 single- and 2 multi-answer sample questions."""
    folder = tmp_path_factory.mktemp("eval")
    test = write_questions(folder / "test.jsonl", 10, 2)
    out = folder / "report.json"
    args = ["--test", str(test), "--llm", "openai:offline", "--model", str(tiny_lm_dir),
            "--rag-corpus", str(load_sample_domain().corpus), "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        reach(server, patch, "sk-test-local")
        before = server.requests_served
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        answers = [json.loads(line) for line in out.with_suffix(".questions.jsonl").read_text().splitlines()]
        yield Run(args, out, server.requests_served - before, json.loads(out.read_text()), answers, result.output)


def test_every_mode_runs_and_the_report_matches_its_answers(first_run: Run, tiny_lm_dir: Path) -> None:
    report = first_run.report
    assert list(report["results"]) == ALL_MODES and report["skipped"] == {}
    assert report["n"] == 12 and report["llm"] == "openai:offline" and report["model"] == str(tiny_lm_dir)
    assert report["dataset"].endswith("test.jsonl") and report["answers_file"] == "report.questions.jsonl"
    assert first_run.out.with_suffix(".png").stat().st_size > 0
    for mode, result in report["results"].items():
        rows = [a for a in first_run.answers if a["mode"] == mode]
        assert len(rows) == result["n"] == 12 and len({r["id"] for r in rows}) == 12
        assert result["correct"] == sum(r["correct"] for r in rows)
        assert result["accuracy"] == pytest.approx(result["correct"] / result["n"])
        assert (result["single"]["n"], result["multi"]["n"]) == (10, 2)
        assert result["single"]["correct"] + result["multi"]["correct"] == result["correct"]
        assert result["failed"] == sum(r["error"] is not None for r in rows) == 0
        assert result["seconds"] > 0
        for row in rows:
            assert set(row) >= {"id", "question", "knowledge", "reply", "predicted", "gold", "correct", "error"}
            assert row["correct"] == (row["predicted"] == row["gold"])
            assert (row["knowledge"] is None) == (mode == "none")
        assert mode in first_run.output
    # every call the report counts reached the server, and no other did
    assert sum(r["llm_calls"] for r in report["results"].values()) == first_run.served
    by_mode = {m: {r["id"]: r["knowledge"] for r in first_run.answers if r["mode"] == m} for m in ALL_MODES}
    for qid, generated in by_mode["blade"].items():  # hybrid = passages, then the same generated text
        assert by_mode["hybrid"][qid].endswith(generated) and len(by_mode["hybrid"][qid]) > len(generated)
        assert by_mode["rag"][qid].count("\n\n") == 2  # top-3 passages


def test_gold_and_rag_beat_the_llm_alone(first_run: Run) -> None:
    accuracy = {mode: r["accuracy"] for mode, r in first_run.report["results"].items()}
    assert accuracy["gold"] >= accuracy["none"] + 0.3, accuracy
    assert accuracy["rag"] >= accuracy["none"] + 0.3, accuracy
    assert accuracy["gold"] >= 0.8, accuracy


def test_rerun_is_answered_from_the_cache(first_run: Run, remote: OpenAICompatibleServer) -> None:
    before = remote.requests_served
    refused = invoke(*first_run.args)
    assert "already exists; pass --overwrite" in one_error_line(refused)
    result = invoke(*first_run.args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert remote.requests_served == before
    again = json.loads(first_run.out.read_text())["results"]
    for mode, result_ in again.items():
        assert (result_["llm_calls"], result_["cache_hits"]) == (0, 12)
        assert result_["correct"] == first_run.report["results"][mode]["correct"]

    uncached = invoke(*first_run.args, "--modes", "none", "--no-cache", "--overwrite")
    assert uncached.exit_code == 0, uncached.output
    assert remote.requests_served == before + 12
    assert json.loads(first_run.out.read_text())["results"]["none"]["llm_calls"] == 12


def test_modes_without_their_input_are_skipped_or_refused(tmp_path: Path) -> None:
    test = write_questions(tmp_path / "plain.jsonl", 3, 0, knowledge=False)
    out = tmp_path / "report.json"
    result = invoke("--test", str(test), "--llm", "offline", "--out", str(out), "--no-plot")
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert list(report["results"]) == ["none"] and report["model"] is None
    assert set(report["skipped"]) == {"blade", "rag", "hybrid", "gold"}
    assert "--model" in report["skipped"]["blade"] and "--rag-corpus" in report["skipped"]["rag"]
    assert "0 of 3" in report["skipped"]["gold"]
    assert "skipped gold" in " ".join(result.output.split())
    assert not out.with_suffix(".png").exists()

    refused = tmp_path / "refused.json"
    asked = invoke("--test", str(test), "--llm", "offline", "--out", str(refused), "--modes", "none,rag")
    assert "--rag-corpus" in one_error_line(asked)
    for bad in (["--model", str(tmp_path / "no-model")], ["--rag-corpus", str(tmp_path / "no-corpus")]):
        missing = invoke("--test", str(test), "--llm", "offline", "--out", str(refused), *bad)
        assert bad[1] in one_error_line(missing)
    assert not refused.exists()


def test_bad_question_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "test.jsonl"
    good = {"id": "q1", "question": "Which?", "options": {"A": "x", "B": "y"}, "answer": "A"}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "q2", "answer": "E"}) + "\n")
    out = tmp_path / "report.json"
    result = invoke("--test", str(path), "--llm", "offline", "--out", str(out))
    line = one_error_line(result)
    assert f"{path}:2" in line and "answer" in line and not out.exists()


def test_api_scores_several_models_and_given_knowledge(tmp_path: Path, tiny_lm_dir: Path, tiny_lm: Any) -> None:
    questions = load_mcq(write_questions(tmp_path / "api.jsonl", 4, 0))
    llm = OfflineChatModel()
    report = evaluate(
        questions, llm, models={"blade: saved": tiny_lm_dir, "blade: loaded": tiny_lm},
        knowledge_sources={"gold, given": [q.knowledge for q in questions]},
        modes=["none", "blade"], settings=EvalSettings(progress=False),
    )
    assert list(report.results) == ["none", "blade: saved", "blade: loaded", "gold, given"]
    saved = [a.knowledge for a in report.answers if a.mode == "blade: saved"]
    assert saved == [a.knowledge for a in report.answers if a.mode == "blade: loaded"]  # greedy
    assert all(saved) and report.results["gold, given"].accuracy >= 0.75
    assert llm.callbacks is None and llm.cache is None  # the caller's model is left as it was
    texts = [q.with_options_text() for q in questions]
    assert saved == tiny_lm.generate_knowledge(texts)  # knowledge per option, the model's default
    whole_only = evaluate(questions, llm, models={"blade": tiny_lm}, modes=["blade"],
                          settings=EvalSettings(progress=False, option_knowledge=False))
    assert [a.knowledge for a in whole_only.answers] == tiny_lm.generate_knowledge(texts, option_knowledge=False)
    assert [a.knowledge for a in whole_only.answers] != saved

    with pytest.raises(EvalInputError, match="2 texts for 4 questions"):
        evaluate(questions, llm, knowledge_sources={"short": ["a", "b"]}, modes=["none"])
    with pytest.raises(EvalInputError, match="named"):
        evaluate(questions, llm, models={"none": tiny_lm}, modes=["none", "blade"])
    assert EvalConfig(test=Path("t"), llm="offline", out=Path("r.json"), modes=["none, rag", "gold"]).modes == [
        "none", "rag", "gold"]
    with pytest.raises(ValidationError, match="unknown modes"):
        EvalConfig(test=Path("t"), llm="offline", out=Path("r.json"), modes="none,retrieval")


def test_retrieval_finds_the_passage_and_hybrid_puts_knowledge_last() -> None:
    retriever = PassageIndex.from_corpus([load_sample_domain().corpus], passage_words=120)
    assert len(retriever) >= 154  # every document, long ones in several passages
    found = retriever.search(["Which house manufactures Durvisto?", "What is Sastimar indicated for?"], k=3)
    assert [len(hits) for hits in found] == [3, 3]
    assert "Durvisto" in found[0][0] and "Sastimar" in found[1][0]
    assert all(len(p.split()) <= 150 for hits in found for p in hits)
    assert with_passages(" known. ", ["p1", "p2"]) == "p1\n\np2\n\nknown."  # knowledge nearest the question
    assert with_passages(None, ["p1"]) == with_passages("", ["p1"]) == "p1"


def test_hybrid_gives_only_passages_about_the_asked_entity(tmp_path: Path, tiny_lm_dir: Path) -> None:
    from blade_core.data.records import MCQuestion
    from blade_core.writers.domain_lm import DomainLM

    lm = DomainLM.from_pretrained(tiny_lm_dir)
    lm.config.names = ["Zorvanil", "Quelmora", "Brantovex", "Mevlocaine", "House Tessaly"]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in [
        "Zorvanil is indicated for marsh fever.", "The maximum daily dose of Mevlocaine is 15 mg.",
        "The maximum daily dose of Zorvanil is 40 mg.", "Quelmora tablets are made by House Tessaly."]))
    question = MCQuestion(id="q1", question="What is the maximum daily dose of Zorvanil?",
                          options={"A": "40 mg", "B": "15 mg"}, answer=("A",))
    texts = {}
    for gate in (True, False):
        report = evaluate([question], "offline", models={"blade": lm}, rag_corpus=corpus, modes=["blade", "hybrid"],
                          settings=EvalSettings(progress=False, entity_gate=gate, top_k=2))
        by_mode = {a.mode: a.knowledge or "" for a in report.answers}
        texts[gate] = by_mode["hybrid"].removesuffix(by_mode["blade"]).strip().split("\n\n")
    assert sorted(texts[True]) == ["The maximum daily dose of Zorvanil is 40 mg.", "Zorvanil is indicated for marsh fever."]
    assert "The maximum daily dose of Mevlocaine is 15 mg." in texts[False]  # the gate off: as retrieved


def test_failed_calls_are_not_scored_and_the_rerun_retries_only_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fault_server import FaultInjectingServer

    test = write_questions(tmp_path / "test.jsonl", 6, 0)
    out = tmp_path / "report.json"
    args = ["--test", str(test), "--llm", "openai:offline", "--out", str(out), "--modes", "none,gold",
            "--max-retries", "0", "--max-concurrency", "1"]
    with FaultInjectingServer(OfflineChatModel()) as faulty:
        reach(faulty, monkeypatch, "sk-test-local")
        faulty.inject("500", None, "500")  # the 1st and 3rd calls fail after their (zero) retries
        result = invoke(*args)
        line = one_error_line_with_code(result, 3)
        assert "LLM calls failed after their retries (none 2 of 6 questions)" in line and "--overwrite" in line
        none = json.loads(out.read_text())["results"]["none"]
        assert (none["n"], none["answered"], none["failed"]) == (6, 4, 2)
        assert none["accuracy"] == pytest.approx(none["correct"] / 4)  # over the answered four
        answered_before = len(faulty.answered())

        rerun = invoke(*args, "--overwrite")
        assert rerun.exit_code == 0, rerun.output
        assert len(faulty.answered()) == answered_before + 2  # only the two that failed were asked
    assert json.loads(out.read_text())["results"]["none"]["answered"] == 6


def one_error_line_with_code(result: Any, code: int) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.exit_code == code and len(lines) == 1, result.output
    return lines[0]
