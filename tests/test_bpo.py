"""BPO end to end: the loop, its output directory, resume without repeats, the cache, flaky LLMs."""

from __future__ import annotations

import itertools
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr
from typer.testing import CliRunner

from blade_core.bpo import BpoConfig, run_bpo
from blade_core.bpo.loop import BpoBudgetError, save_result
from blade_core.bpo.objective import DevObjective
from blade_core.bpo.optimizer import fit_gp, propose, sobol_points
from blade_core.bpo.search_space import build_projection, text_soft_prompt
from blade_core.bpo.state import BpoState, Evaluation, ResumeError, write_answers
from blade_core.cli import app
from blade_core.data import load_mcq, read_jsonl
from blade_core.errors import LLMError
from blade_core.llm import OfflineChatModel
from blade_core.llm.answers import EMPTY_ANSWER_ATTEMPTS
from blade_core.retrieval import load_minilm
from blade_core.sample_domain import load_sample_domain
from blade_core.serve import OpenAICompatibleServer
from blade_core.writers.domain_lm import DomainLM
from tests.fault_server import FaultInjectingServer
from tests.local_llm_support import kill_while_held, reach

N_DEV = 12
ROOT = Path(__file__).resolve().parents[1]


class Interrupted(Exception):
    """Raised from the evaluation hook to simulate a run killed mid-way."""


class FlakyChatModel(BaseChatModel):
    """The offline model, but every `every`-th call raises (the server turns it into an HTTP 500)."""

    every: int = 5
    _inner: OfflineChatModel = PrivateAttr(default_factory=OfflineChatModel)
    _calls: itertools.count = PrivateAttr(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "flaky-offline"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        with self._lock:
            call = next(self._calls)
        if call % self.every == 0:
            raise RuntimeError(f"simulated outage on call {call}")
        return ChatResult(generations=[ChatGeneration(message=self._inner.invoke(messages, stop=stop))])


def config_for(model: Path, out: Path, **overrides: Any) -> BpoConfig:
    settings: dict[str, Any] = {
        "model": str(model), "dev": load_sample_domain().dev, "out": out, "dev_limit": N_DEV, "n_init": 3, "budget": 6,
        "batch_size": 3, "max_new_tokens": 16, "num_restarts": 2, "raw_samples": 32, "acqf_maxiter": 20, "progress": False,
        "guard": False,  # its extra dev passes would blur the call counts these tests check; see the full loop
    }
    return BpoConfig(**(settings | overrides))


def http_llm(server: OpenAICompatibleServer, max_retries: int = 0) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(base_url=server.base_url, api_key="test", model="offline", max_retries=max_retries,
                      temperature=0.0)


def test_full_loop_writes_a_model_that_reproduces_the_best_candidate(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = config_for(tiny_lm_dir, tmp_path / "out", guard=True)
    result = run_bpo(config)

    trace = json.loads((config.out / "bpo" / "trace.json").read_text())
    assert (config.out / "bpo" / "trace.png").stat().st_size > 1000
    assert len(trace["evaluations"]) == result.evaluations == 6
    assert [e["round"] for e in trace["evaluations"]] == [0, 0, 0, 1, 1, 1]
    assert all(len(e["correct"]) == N_DEV and len(e["z"]) == 10 for e in trace["evaluations"])
    calls = [e["llm_calls"] for e in trace["baselines"] + trace["evaluations"]]
    assert calls == [N_DEV * i for i in range(1, 8)]  # one baseline (no start) + 6 candidates
    best_candidate = max(e["score"] for e in trace["evaluations"])
    assert result.improved == (best_candidate > trace["baselines"][0]["score"])

    saved = DomainLM.from_pretrained(config.out)
    assert saved.config.provenance.stages[-1] == "bpo"
    assert saved.config.provenance.dev_score == result.dev_score == trace["dev_score"]
    winner = next(e for e in trace["baselines"] + trace["evaluations"] if e["label"] == result.best_label)
    if result.improved:
        assert saved.soft_prompt is not None and saved.soft_prompt.z is not None
        assert torch.allclose(saved.soft_prompt.z, torch.tensor(winner["z"]))
    else:
        assert saved.soft_prompt is None
    questions = load_mcq(config.dev)[:N_DEV]
    recorded = [r for _, r in read_jsonl(config.out / "bpo" / "knowledge.jsonl")]
    regenerated = saved.generate_knowledge([q.with_options_text() for q in questions], max_new_tokens=16,
                                           min_confidence=0.0)
    assert regenerated == [r["knowledge"] for r in recorded]

    guard = trace["guard"]  # the confidence threshold, chosen on dev for the saved soft prompt
    scores = {float(t): s for t, s in guard["dev_scores"].items()}
    assert scores[0.0] == result.dev_score  # threshold 0 keeps the knowledge BPO scored
    assert guard["withheld"]["0.0"] == 0 and guard["withheld"]["1.0"] == 1
    assert saved.config.generation.min_confidence == result.min_confidence == guard["min_confidence"]
    assert scores[guard["min_confidence"]] == max(scores.values()) or guard["min_confidence"] == 0.0


def test_killed_run_resumes_without_repeating_an_evaluation(tiny_lm_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def kill_after_four(evaluation: Evaluation) -> None:
        if evaluation.label == "eval-0003":  # mid-way through the first BO batch
            raise Interrupted

    with OpenAICompatibleServer(OfflineChatModel()) as server:
        llm = http_llm(server)
        with pytest.raises(Interrupted):
            run_bpo(config_for(tiny_lm_dir, out), llm=llm, on_evaluation=kill_after_four)
        state = BpoState.model_validate_json((out.with_name("out.work") / "state.json").read_text())
        assert len(state.evaluations) == 4 and len(state.pending) == 2 and not out.exists()
        with pytest.raises(ResumeError, match="--resume"):
            run_bpo(config_for(tiny_lm_dir, out), llm=llm)

        served_before = server.requests_served
        resumed: list[str] = []
        # No cache on the resumed run: every evaluation it repeated would reach the server.
        result = run_bpo(config_for(tiny_lm_dir, out, resume=True, use_cache=False), llm=llm,
                         on_evaluation=lambda e: resumed.append(e.label))
        assert resumed == ["eval-0004", "eval-0005"]
        assert server.requests_served - served_before == 2 * N_DEV
        assert result.evaluations == 6 and result.llm_calls == 7 * N_DEV

        # The first run's cache answers a fresh run over the same points: no call reaches the server.
        served_before = server.requests_served
        run_bpo(config_for(tiny_lm_dir, tmp_path / "again", budget=3,
                           llm_cache=out.with_name("out.work") / "llm_cache.sqlite"), llm=llm)
        assert server.requests_served == served_before


def test_flaky_llm_finishes_and_records_failures(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = config_for(tiny_lm_dir, tmp_path / "out", n_init=3, budget=3, use_cache=False)
    with OpenAICompatibleServer(FlakyChatModel(every=5)) as server:
        result = run_bpo(config, llm=http_llm(server, max_retries=0))
    trace = json.loads((config.out / "bpo" / "trace.json").read_text())
    evaluations = trace["baselines"] + trace["evaluations"]
    assert result.evaluations == 3
    unanswered = 4 * N_DEV - server.requests_served  # 1 baseline + 3 candidates; every 5th call fails
    assert unanswered >= 4 * N_DEV // 5
    assert sum(len(e["failed"]) for e in evaluations) == unanswered
    for e in evaluations:
        failed = {i for i, c in enumerate(e["correct"]) if c is None}
        assert len(failed) == len(e["failed"])
        answered = [c for c in e["correct"] if c is not None]
        assert e["score"] == pytest.approx(sum(answered) / len(answered))  # failures are not "wrong"


def test_an_unreachable_llm_stops_the_run_with_a_clear_error(tiny_lm_dir: Path, tmp_path: Path) -> None:
    config = config_for(tiny_lm_dir, tmp_path / "out", use_cache=False)
    with OpenAICompatibleServer(FlakyChatModel(every=1)) as server, pytest.raises(LLMError):
        run_bpo(config, llm=http_llm(server))
    assert not config.out.exists()


@pytest.mark.parametrize("reply, says", [
    ("", r"all 12 LLM calls failed \(e.g. the LLM returned no content\)"),
    ("   \n", r"all 12 LLM calls failed \(e.g. the LLM returned no content\)"),
    ("Certainly! Here is some information.", r"no reply names an option letter \(e.g. 'Certainly!"),
])
def test_an_llm_that_says_nothing_usable_stops_the_run_before_the_budget_is_spent(
    tiny_lm_dir: Path, tmp_path: Path, reply: str, says: str
) -> None:
    config = config_for(tiny_lm_dir, tmp_path / "out", use_cache=False)
    with OpenAICompatibleServer(FakeListChatModel(responses=[reply])) as server, pytest.raises(LLMError, match=says):
        run_bpo(config, llm=http_llm(server))
    asked = EMPTY_ANSWER_ATTEMPTS if not reply.strip() else 1  # an empty answer is asked again
    assert server.requests_served == N_DEV * asked  # the baseline only: no candidate was paid for
    assert not config.out.exists()


def test_cli_validates_options(tmp_path: Path) -> None:
    runner = CliRunner()
    assert "--init-text" in runner.invoke(app, ["bpo", "--help"]).output
    result = runner.invoke(app, ["bpo", "--model", "m", "--dev", "d.jsonl", "--out", str(tmp_path / "o"),
                                 "--init-text", "x", "--init-soft-prompt", str(tmp_path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: --init-text: give --init-soft-prompt or --init-text, "
                                          "not both, got 'x'"]


def test_standardize_with_all_equal_scores_gives_no_nan() -> None:
    x = sobol_points(6, 3, seed=0)
    y = torch.full((6,), 0.5)
    mean = fit_gp(x, y).posterior(x).mean
    assert not torch.isnan(mean).any() and torch.allclose(mean.squeeze(), y.double(), atol=1e-3)
    candidates = propose(x, y, q=2, num_restarts=2, raw_samples=16, maxiter=10)
    assert candidates.shape == (2, 3) and torch.isfinite(candidates).all()
    assert candidates.abs().max() <= 1.0


def test_sobol_points_fill_the_whole_box() -> None:
    points = sobol_points(64, 4, seed=0)
    assert points.min() < -0.9 and points.max() > 0.9 and points.abs().max() <= 1.0


def test_too_many_llm_calls_refuse_to_start(tmp_path: Path) -> None:
    config = config_for(tmp_path / "no-model-needed", tmp_path / "out", budget=10, max_llm_calls=100)
    with pytest.raises(BpoBudgetError, match="144"):  # 12 questions x (10 + 2)
        run_bpo(config)


def test_config_rejects_two_starts_and_oversized_init(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        config_for(tmp_path, tmp_path / "o", init_text="x", init_soft_prompt=tmp_path)
    with pytest.raises(ValueError, match="exceed the budget"):
        config_for(tmp_path, tmp_path / "o", n_init=9, budget=8)


def test_text_start_is_the_projection_centre(tiny_lm: DomainLM, tmp_path: Path) -> None:
    start = text_soft_prompt(tiny_lm, "Zorvanil", n_tokens=5)
    ids = tiny_lm.tokenizer("Zorvanil")["input_ids"]
    expected = tiny_lm.model.get_input_embeddings().weight[(ids * 5)[:5]]
    assert torch.equal(start.embeddings, expected.detach())
    projection = build_projection(tiny_lm, config_for(tmp_path, tmp_path / "o"), start)
    assert torch.equal(projection(torch.zeros(10)).embeddings, start.embeddings)
    assert not torch.equal(projection(torch.full((10,), 0.5)).embeddings, start.embeddings)


@pytest.mark.parametrize(("best", "improved"), [(0.5, False), (0.75, True)])
def test_only_a_strict_improvement_is_saved(tiny_lm: DomainLM, tmp_path: Path, best: float,
                                            improved: bool) -> None:
    config = config_for(tmp_path, tmp_path / "out")
    projection = build_projection(tiny_lm, config, None)
    state = BpoState(run={})
    for label, score, z in [("baseline-none", 0.5, None), ("eval-0000", 0.25, [0.1] * 10),
                            ("eval-0001", best, [0.2] * 10)]:
        write_answers(config.work_dir, label, [{"id": "q", "knowledge": label}])
        record = Evaluation(label=label, round=-1 if z is None else 0, z=z, score=score, correct=[True],
                            failed=[], llm_calls=1)
        (state.evaluations if z else state.baselines).append(record)
    result = save_result(config, DevObjective(tiny_lm, projection, [], OfflineChatModel()), None, projection, state)
    saved = DomainLM.from_pretrained(config.out)
    assert result.improved is improved
    assert result.best_label == ("eval-0001" if improved else "baseline-none")
    assert (saved.soft_prompt is not None) is improved
    assert saved.config.provenance.dev_score == best
    if not improved:
        assert "no improvement" in result.message



def saved_state(out: Path) -> BpoState:
    return BpoState.model_validate_json((out.with_name(out.name + ".work") / "state.json").read_text())


def test_an_outage_stops_the_run_faults_are_retried_and_nothing_is_paid_twice(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_minilm()  # the server's model must not spend the client's 1 s timeout loading
    out = tmp_path / "out"
    settings = {"llm": "openai:offline", "dev_limit": 8, "n_init": 2, "budget": 2, "batch_size": 2}
    with FaultInjectingServer(OfflineChatModel(), stall=3.0, retry_after=0.2) as server:
        reach(server, monkeypatch, "sk-test-bpo")
        server.outage("500")  # the endpoint is down: every call fails after its retries
        with pytest.raises(LLMError, match="all 8 LLM calls failed.*500.*--resume"):
            run_bpo(config_for(tiny_lm_dir, out, max_retries=1, timeout=1.0, **settings))
        assert [r.retry for r in server.log].count(1) == 8 and not server.answered()
        assert not out.exists()

        server.outage(None)  # back up, with a timeout, a 429, a 500 and a cut connection on the way
        start = len(server.log)
        server.inject("timeout", "429", "500", "drop")
        result = run_bpo(config_for(tiny_lm_dir, out, max_retries=2, timeout=1.0, resume=True, **settings))
        faulted = {r.prompt for r in server.log[start:start + 4]}
        assert faulted <= {r.prompt for r in server.log[start:] if r.retry and not r.fault}
        assert result.evaluations == 2 and not saved_state(out).baselines[0].failed

        # Another run on the same cache, with other retry settings, pays for nothing.
        asked = len(server.log)
        run_bpo(config_for(tiny_lm_dir, tmp_path / "again", max_retries=6, timeout=30.0,
                           llm_cache=out.with_name("out.work") / "llm_cache.sqlite", **settings))
        assert len(server.log) == asked
        answered = server.answered()
        assert len(answered) == len(set(answered)), "an answered prompt was asked again"
    DomainLM.from_pretrained(out)


def test_sigkilled_run_resumes_without_repaying_an_answered_call(
    tiny_lm_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_minilm()
    out = tmp_path / "out"
    config = config_for(tiny_lm_dir, out, llm="openai:offline", dev_limit=4, n_init=1, budget=1,
                        max_concurrency=1, max_retries=0, resume=True)
    with FaultInjectingServer(OfflineChatModel()) as server:
        env = reach(server, monkeypatch, "sk-test-bpo")
        # One call at a time: the first two dev questions are answered (and cached), the third is
        # held, and the kill lands while it waits, in the middle of the baseline evaluation.
        server.inject(None, None, "hold")
        args = [sys.executable, str(ROOT / "trainers" / "bpo.py"), "--model", str(tiny_lm_dir),
                "--dev", str(config.dev), "--out", str(out), "--llm", "openai:offline",
                "--dev-limit", "4", "--n-init", "1", "--budget", "1", "--max-new-tokens", "16",
                "--max-concurrency", "1", "--max-retries", "0", "--no-progress"]
        kill_while_held(server, args, env)
        assert not out.exists(), "a killed run must not leave a model directory"

        result = run_bpo(config)
        assert result.evaluations == 1
        answered = server.answered()
        assert len(set(answered)) >= 4 and len(answered) == len(set(answered)), (
            "an answered prompt was asked again"
        )
    assert DomainLM.from_pretrained(out).config.provenance.stages[-1] == "bpo"
