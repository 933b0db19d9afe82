"""`blade make-kit-data`: knowledge written by a general LLM, verified, saved resumably.

The LLM is the offline stand-in, in process or behind the local OpenAI-compatible server, so the
HTTP path (ChatOpenAI, its retries, the SQLite cache) is exercised for real and every request the
server answers can be counted.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.data import DataError, MCQuestion, load_mcq
from blade_core.datagen import kit_data, progress
from blade_core.datagen.kit_data import LEAK, make_kit_data, screen
from blade_core.datagen.kit_data_config import KitDataConfig
from blade_core.datagen.progress import LLM_ERROR, Outcome
from blade_core.errors import LLMError
from blade_core.knowledge.options import option_pairs
from blade_core.llm import OfflineChatModel
from blade_core.llm.answers import EMPTY_ANSWER_ATTEMPTS
from blade_core.llm.scoring import ask_with_knowledge
from blade_core.retrieval import load_minilm
from blade_core.sample_domain import load_sample_domain
from blade_core.serve import OpenAICompatibleServer
from tests.fault_server import FaultInjectingServer
from tests.local_llm_support import kill_while_held, reach

SECRET = "sk-test-never-print-me-0123456789"
ROOT = Path(__file__).resolve().parents[1]
FAIL_MARKER = "[fail-here]"


class RecordingModel(BaseChatModel):
    """The offline model, recording every prompt it answers; fails on prompts with the marker
    (raises, or, with `empty`, answers them with no content)."""

    inner: OfflineChatModel
    seen: list[str] = []  # noqa: RUF012 - a pydantic field: each instance gets its own copy
    fail: bool = True
    empty: bool = False

    @property
    def _llm_type(self) -> str:
        return "recording"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "\n".join(str(m.text) for m in messages)
        if self.fail and FAIL_MARKER in text:
            if not self.empty:
                raise RuntimeError("injected failure")
            self.seen.append(text)
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=""))])
        self.seen.append(text)
        return self.inner._generate(messages, stop)


def write_questions(path: Path, count: int, marked: tuple[int, ...] = ()) -> list[str]:
    """The first `count` sample train questions, `marked` ones carrying the failure marker."""
    lines = load_sample_domain().train.read_text().splitlines()[:count]
    records = [json.loads(line) for line in lines]
    for i in marked:
        records[i]["question"] += f" {FAIL_MARKER}"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return [r["id"] for r in records]


def progress_of(config: KitDataConfig) -> list[Outcome]:
    lines = config.progress_file.read_text().splitlines()
    return [Outcome.model_validate_json(line) for line in lines]


def pairs_of(config: KitDataConfig) -> list[dict[str, str]]:
    return [json.loads(line) for line in config.out.read_text().splitlines()]


@pytest.fixture(scope="module")
def minilm() -> None:
    load_minilm()  # the few-second load, once


@pytest.fixture(scope="module")
def served(minilm: None) -> Iterator[tuple[OpenAICompatibleServer, RecordingModel]]:
    model = RecordingModel(inner=OfflineChatModel())
    with OpenAICompatibleServer(model) as server:
        yield server, model


@pytest.fixture
def remote(
    served: tuple[OpenAICompatibleServer, RecordingModel], monkeypatch: pytest.MonkeyPatch
) -> tuple[OpenAICompatibleServer, RecordingModel]:
    """`resolve_llm("openai:offline")` now reaches the local server; the model starts afresh."""
    server, model = served
    reach(server, monkeypatch, SECRET)
    model.seen.clear()
    model.fail = True
    model.empty = False
    return server, model


def test_offline_with_corpus_keeps_verified_pairs(tmp_path: Path, minilm: None) -> None:
    questions_path = tmp_path / "train.jsonl"
    ids = write_questions(questions_path, 20)
    config = KitDataConfig(
        questions=questions_path, llm="offline", out=tmp_path / "kit.jsonl",
        corpus=[load_sample_domain().corpus], chunk_size=8, progress=False,
    )
    report = make_kit_data(config)

    assert report.kept + sum(report.dropped.values()) == report.questions == 20
    assert report.kept >= 14, report.summary()  # 16 of 20 when written
    screened_out = sum(n for why, n in report.dropped.items() if why != "wrong answer")
    assert report.llm_calls == 20 + (20 - screened_out)  # one to write, one to verify
    outcomes = progress_of(config)
    assert [o.id for o in outcomes] == ids
    assert sum(o.kept for o in outcomes) == report.kept
    pairs = pairs_of(config)
    assert len(pairs) == report.pairs
    assert all(set(p) == {"instruction", "input", "output"} and p["input"] == "" for p in pairs)

    # Every kept pair really passes: a fresh, uncached LLM answers right with its knowledge.
    by_text = {q.with_options_text(): q for q in load_mcq(questions_path)}
    by_stem = {q.question: q for q in load_mcq(questions_path)}
    with_options = [p for p in pairs if p["instruction"] in by_text]
    plain = [p for p in pairs if p["instruction"] in by_stem]
    assert len(with_options) == len(plain) == report.kept
    # the rest are one-option views, only of knowledge naming every option, one per option
    for pair in with_options:
        views = option_pairs(pair["instruction"], pair["output"])
        assert all(p in pairs for p in ({"instruction": v, "input": "", "output": k} for v, k in views))
    assert len(pairs) == 2 * report.kept + sum(
        len(option_pairs(p["instruction"], p["output"])) for p in with_options)
    kept_questions = [by_text[p["instruction"]] for p in with_options]
    assert [p["instruction"] for p in plain] == [q.question for q in kept_questions]
    knowledge = [p["output"] for p in with_options]
    scored = ask_with_knowledge(OfflineChatModel(), kept_questions, knowledge)
    assert all(s.correct for s in scored)


def test_resume_asks_nothing_twice(
    tmp_path: Path,
    remote: tuple[OpenAICompatibleServer, RecordingModel],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, model = remote
    questions_path = tmp_path / "train.jsonl"
    ids = write_questions(questions_path, 12)
    base = {"questions": questions_path, "llm": "openai:offline", "out": tmp_path / "kit.jsonl",
                "chunk_size": 3, "progress": False, "max_retries": 0}

    start = server.requests_served
    first = make_kit_data(KitDataConfig(**base, limit=6))  # a run stopped halfway
    assert first.questions == 6 and first.llm_calls == server.requests_served - start

    real_verify, calls = kit_data.ask_with_knowledge, []

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(kit_data, "ask_with_knowledge", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):  # interrupted after one more chunk of three
        make_kit_data(KitDataConfig(**base))
    assert len(progress_of(KitDataConfig(**base))) == 9
    monkeypatch.setattr(kit_data, "ask_with_knowledge", real_verify)

    final = make_kit_data(KitDataConfig(**base))
    assert final.done_before == 9 and final.questions == 12
    assert len(model.seen) == len(set(model.seen)), "a prompt reached the LLM twice"
    assert final.cache_hits > 0  # the interrupted chunk's knowledge came from the cache
    outcomes = progress_of(KitDataConfig(**base))
    assert sorted(o.id for o in outcomes) == ids
    pairs = pairs_of(KitDataConfig(**base))
    assert len(pairs) == len({p["instruction"] for p in pairs}) == 2 * final.kept

    before = server.requests_served
    again = make_kit_data(KitDataConfig(**base, overwrite=True))  # everything again, from the cache
    assert server.requests_served == before + 1 and again.llm_calls == 0  # + the test call before removing
    assert again.kept == final.kept and pairs_of(KitDataConfig(**base)) == pairs


def test_llm_errors_are_dropped_and_retried_on_resume(
    tmp_path: Path, remote: tuple[OpenAICompatibleServer, RecordingModel]
) -> None:
    _server, model = remote
    questions_path = tmp_path / "train.jsonl"
    write_questions(questions_path, 8, marked=(1, 4))
    config = KitDataConfig(
        questions=questions_path, llm="openai:offline", out=tmp_path / "kit.jsonl",
        progress=False, max_retries=0,
    )
    report = make_kit_data(config)

    assert report.dropped.get(LLM_ERROR) == 2
    assert report.kept + sum(report.dropped.values()) == 8
    failed = {o.id: o for o in progress_of(config) if o.reason == LLM_ERROR}
    assert set(failed) == {"orren-train-002", "orren-train-005"}
    details = [o.detail or "" for o in failed.values()]
    assert all("500" in detail and SECRET not in detail for detail in details)

    model.fail = False  # the outage is over: a resumed run asks only the failed two again
    seen = len(model.seen)
    retried = make_kit_data(config)
    assert retried.done_before == 6 and LLM_ERROR not in retried.dropped
    asked = model.seen[seen:]
    assert asked and all(FAIL_MARKER in text for text in asked)


def test_empty_answers_are_failed_calls_asked_again_not_questions_done(
    tmp_path: Path, remote: tuple[OpenAICompatibleServer, RecordingModel]
) -> None:
    _server, model = remote
    model.empty = True
    questions_path = tmp_path / "train.jsonl"
    write_questions(questions_path, 6, marked=(1, 4))
    out = tmp_path / "kit.jsonl"
    args = ["make-kit-data", "--questions", str(questions_path), "--llm", "openai:offline", "--out", str(out),
            "--no-progress", "--max-retries", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3
    assert "2 of 6 questions failed on LLM errors (e.g. the LLM returned no content)" in result.stderr
    asked = [text for text in model.seen if FAIL_MARKER in text]
    assert len(asked) == 2 * EMPTY_ANSWER_ATTEMPTS  # each empty answer asked again before it failed
    config = KitDataConfig(questions=questions_path, llm="openai:offline", out=out)
    failed = {o.id for o in progress_of(config) if o.reason == LLM_ERROR}
    assert failed == {"orren-train-002", "orren-train-005"}  # failed, so not done

    model.fail = False  # a working endpoint: the re-run asks exactly those again (nothing empty was cached)
    seen = len(model.seen)
    result = CliRunner().invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert model.seen[seen:] and all(FAIL_MARKER in text for text in model.seen[seen:])


def test_screen_drops_letters_and_echoes() -> None:
    question = MCQuestion(id="q", question="What is Troltimar indicated for?", answer="D", options={
        "A": "copper lung", "B": "quarry wheeze", "C": "salt palsy", "D": "bog chill"})
    assert screen(question, "The correct answer is D.", 5) == LEAK
    assert screen(question, "Troltimar treats bog chill (D).", 5) == LEAK
    assert screen(question, "D. bog chill", 5) == LEAK
    assert screen(question, "  ", 5) == "empty knowledge"
    assert screen(question, "I do not know.", 5) == "declined"
    assert screen(question, "Na salts do not help bog chill.", 5) is None
    assert screen(question, "What is Troltimar indicated for?", 5) == "echoes the prompt"
    rule = "Write the facts a reader needs to answer the question, plainly, in at most 3 sentences"
    assert screen(question, rule, 3) == "echoes the prompt"
    assert screen(question, "Troltimar is indicated for bog chill. A dose is 40 mg.", 5) is None


def test_existing_output_is_trimmed_refused_or_overwritten(tmp_path: Path) -> None:
    config = KitDataConfig(
        questions=tmp_path / "q.jsonl", llm="offline", out=tmp_path / "kit.jsonl"
    )
    pair = json.dumps({"instruction": "q", "input": "", "output": "k"}) + "\n"
    # A crash after appending a chunk's pairs and before its progress records:
    config.out.write_text(pair * 2 + pair * 2 + '{"instr')
    first = Outcome(id="a", kept=True, pairs=2).model_dump_json()
    config.progress_file.write_text(first + '\n{"id": "b", "ke')
    assert set(prepare(config)) == {"a"}
    assert config.out.read_text() == pair * 2
    assert progress_of(config) == [Outcome(id="a", kept=True, pairs=2)]

    with pytest.raises(progress.ResumeError, match="--resume"):
        prepare(config.model_copy(update={"resume": False}))
    config.progress_file.unlink()
    with pytest.raises(progress.ResumeError, match="no progress file"):
        prepare(config)
    assert prepare(config.model_copy(update={"overwrite": True})) == {}
    assert not config.out.exists()


def prepare(config: KitDataConfig) -> dict[str, Outcome]:
    return progress.prepare_output(config.out, config.progress_file, resume=config.resume, llm=OfflineChatModel(),
                                   overwrite=config.overwrite, inputs={"--questions": config.questions})


def test_bad_question_file_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    good = {"id": "q1", "question": "Which?", "options": {"A": "x", "B": "y"}, "answer": "A"}
    bad = {**good, "id": "q2", "answer": "E"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    config = KitDataConfig(questions=path, llm="offline", out=tmp_path / "kit.jsonl")
    with pytest.raises(DataError) as caught:
        make_kit_data(config)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 2, "answer")

    args = ["make-kit-data", "--questions", str(path), "--llm", "offline", "--out", str(config.out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stderr.splitlines() == [f"error: {caught.value}"]
    assert not config.out.exists()



def assert_nothing_paid_twice(server: FaultInjectingServer) -> None:
    answered = server.answered()
    assert answered and len(answered) == len(set(answered)), "an answered prompt was asked again"


def test_faults_are_retried_and_an_outage_resumes_without_repaying(
    tmp_path: Path, minilm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions_path = tmp_path / "train.jsonl"
    ids = write_questions(questions_path, 8)
    base = {"questions": questions_path, "llm": "openai:offline", "out": tmp_path / "kit.jsonl",
                "chunk_size": 4, "max_concurrency": 4, "timeout": 1.0, "progress": False}
    with FaultInjectingServer(OfflineChatModel(), stall=3.0, retry_after=0.2) as server:
        reach(server, monkeypatch, SECRET)
        server.inject("timeout", "429", "500", "drop")
        first = make_kit_data(KitDataConfig(**base, limit=4, max_retries=2))
        faulted = [request for request in server.log if request.fault]
        assert sorted(request.fault or "" for request in faulted) == ["429", "500", "drop", "timeout"]
        retried = {request.prompt for request in server.log if request.retry and not request.fault}
        assert {request.prompt for request in faulted} <= retried  # each retried, then answered
        assert first.questions == 4 and LLM_ERROR not in first.dropped

        server.outage("500")  # the endpoint goes down for the second half: the run stops
        with pytest.raises(LLMError, match="all 4 LLM calls of the last chunk failed.*500"):
            make_kit_data(KitDataConfig(**base, max_retries=1))
        reports = [o.detail or "" for o in progress_of(KitDataConfig(**base)) if o.reason == LLM_ERROR]
        assert len(reports) == 4 and all("500" in r and SECRET not in r for r in reports)

        server.outage(None)  # back up, and more retries allowed: only the failed four are asked
        healed = make_kit_data(KitDataConfig(**base, max_retries=6))
        assert healed.done_before == 4 and LLM_ERROR not in healed.dropped
        assert_nothing_paid_twice(server)
    outcomes = {o.id: o for o in progress_of(KitDataConfig(**base))}
    assert sorted(outcomes) == sorted(ids)
    assert len(pairs_of(KitDataConfig(**base))) == sum(o.pairs for o in outcomes.values())


def test_sigkilled_run_resumes_without_repaying_an_answered_call(
    tmp_path: Path, minilm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions_path = tmp_path / "train.jsonl"
    ids = write_questions(questions_path, 6)
    config = KitDataConfig(questions=questions_path, llm="openai:offline", out=tmp_path / "kit.jsonl",
                           chunk_size=2, max_concurrency=1, max_retries=0, progress=False)
    with FaultInjectingServer(OfflineChatModel()) as server:
        env = reach(server, monkeypatch, SECRET)
        # Calls run one at a time, two per chunk (without a corpus the offline writer only echoes,
        # so nothing is verified): the 3rd call is answered and cached, the 4th is held, and the
        # kill lands while it waits, in the middle of the second chunk.
        server.inject(None, None, None, "hold")
        args = [sys.executable, str(ROOT / "trainers" / "make_kit_data.py"), "--questions",
                str(questions_path), "--llm", "openai:offline", "--out", str(config.out),
                "--chunk-size", "2", "--max-concurrency", "1", "--max-retries", "0", "--no-progress"]
        kill_while_held(server, args, env)
        assert [o.id for o in progress_of(config)] == ids[:2]  # the first chunk, recorded
        assert len(pairs_of(config)) == sum(o.pairs for o in progress_of(config))

        resumed = make_kit_data(config)
        assert resumed.done_before == 2 and resumed.questions == 6
        assert resumed.cache_hits == 1  # the 3rd call, answered before the kill, is not paid again
        assert_nothing_paid_twice(server)
    assert sorted(o.id for o in progress_of(config)) == sorted(ids)
    assert len(pairs_of(config)) == resumed.pairs == sum(o.pairs for o in progress_of(config))


def test_overwrite_with_the_endpoint_down_keeps_the_earlier_output(
    tmp_path: Path, remote: tuple[OpenAICompatibleServer, RecordingModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions_path = tmp_path / "train.jsonl"
    write_questions(questions_path, 3)
    out = tmp_path / "kit.jsonl"
    args = ["make-kit-data", "--questions", str(questions_path), "--llm", "openai:offline", "--out", str(out),
            "--no-progress", "--max-retries", "0", "--no-cache"]
    assert CliRunner().invoke(app, args).exit_code == 0
    before = out.read_text(), KitDataConfig(questions=questions_path, llm="x", out=out).progress_file.read_text()
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    result = CliRunner().invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 3
    assert "did not answer a test call" in result.stderr and f"--out {out} is kept" in result.stderr
    assert (out.read_text(), KitDataConfig(questions=questions_path, llm="x", out=out).progress_file.read_text()) == before
