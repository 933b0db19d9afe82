"""The BPO loop, then saving its result: `run_bpo(config)`.

`run_bpo` is the whole algorithm on one screen: measure the baselines, evaluate Sobol start points,
then repeatedly fit the GP and maximize qLogEI for the next q candidates, evaluating each and
checkpointing after every evaluation, until the budget is spent or patience runs out. Everything
below it is bookkeeping: the cost estimate, the LLM cache, and writing the output directory with its
trace and plot.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import torch
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel
from rich.console import Console

from blade_core.atomic import write_text_atomic
from blade_core.bpo.config import BpoConfig
from blade_core.bpo.guard import EXTRA_DEV_PASSES, calibrate_guard
from blade_core.bpo.objective import DevObjective, Outcome
from blade_core.bpo.optimizer import propose, sobol_points
from blade_core.bpo.search_space import build_projection, starting_prompt
from blade_core.bpo.state import ANSWERS_DIR, BpoState, Evaluation, write_answers
from blade_core.data import load_mcq
from blade_core.data.records import MCQuestion
from blade_core.errors import OptionError
from blade_core.llm import resolve_llm
from blade_core.llm.accounting import accounted
from blade_core.llm.answer_prompt import answer_prompt, format_mcq
from blade_core.model.config import BladeConfig, file_hash
from blade_core.model.soft_prompt import RandomProjection, SoftPrompt
from blade_core.outputs import make_work_directory
from blade_core.progress_bars import progress_bar
from blade_core.writers.domain_lm import DomainLM

REPORT_DIR = "bpo"
console = Console(stderr=True)
EvaluationHook = Callable[[Evaluation], None]


class BpoBudgetError(OptionError):
    """The run would need more LLM calls than --max-llm-calls allows."""


class BpoResult(BaseModel):
    """What a run wrote and why: the saved model is the best candidate only if `improved`."""

    out: Path
    improved: bool
    dev_score: float
    baseline_scores: dict[str, float]
    best_label: str
    evaluations: int
    llm_calls: int
    message: str
    min_confidence: float | None = None
    """The guard's threshold (`bpo.guard`); None when it was not calibrated."""


def run_bpo(config: BpoConfig, *, llm: BaseChatModel | None = None,
            on_evaluation: EvaluationHook | None = None) -> BpoResult:
    """Search the soft prompt; write `config.out` (best prompt, or the better baseline) and return why.

    `llm` overrides `config.llm` with a ready chat model; `on_evaluation` is called after each
    candidate evaluation is checkpointed (progress reporting, tests that interrupt a run).
    """
    config.check_outputs()
    questions = load_dev(config)
    check_cost(config, questions)
    chat = llm if llm is not None else resolve_llm(config.llm, max_retries=config.max_retries,
                                                   timeout=config.timeout)  # before the model loads
    lm = DomainLM.from_pretrained(config.model)
    start = starting_prompt(lm, config)
    projection = build_projection(lm, config, start)
    make_work_directory(config.work_dir)  # every input is read: nothing is left behind by a bad one
    objective = DevObjective(lm, projection, questions, with_cache(config, chat),
                             max_new_tokens=config.max_new_tokens, max_concurrency=config.max_concurrency,
                             generation_batch_size=config.generation_batch_size)
    state = BpoState.open(config.work_dir, run_identity(config, llm, questions, projection), resume=config.resume,
                          overwrite=config.overwrite)
    work = config.work_dir

    measure_baselines(state, objective, start, work)  # 1. no soft prompt, and the start (if any)
    if not state.evaluations and not state.pending:  # 2. Sobol start points, drawn once and saved
        state.pending = sobol_points(config.n_init, config.intrinsic_dim, config.seed).tolist()
        state.save(work)
    with progress_bar(total=config.budget, initial=len(state.evaluations), desc="BPO", unit="eval",
                      disable=not config.progress) as bar:
        while True:
            todo = state.pending[: max(0, config.budget - len(state.evaluations))]
            with closing(objective.evaluate(todo)) as outcomes:  # 3. evaluate; checkpoint each one
                for z, outcome in zip(todo, outcomes):
                    state.add(record(state, work, state.next_label(), z, state.round, outcome))
                    state.save(work)
                    bar.update(1)
                    bar.set_postfix(best=f"{state.best_score():.3f}", round=state.round)
                    if on_evaluation is not None:
                        on_evaluation(state.evaluations[-1])
            left = config.budget - len(state.evaluations)
            stalled = 0 < config.patience <= state.rounds_without_improvement()
            if left <= 0 or stalled or state.best_score() >= 1.0:
                break
            x = torch.tensor([e.z for e in state.evaluations])  # 4. fit the GP on all data, maximize qLogEI
            y = torch.tensor([e.score for e in state.evaluations])
            state.round += 1
            state.pending = propose(x, y, q=min(config.batch_size, left), num_restarts=config.num_restarts,
                                    raw_samples=config.raw_samples, maxiter=config.acqf_maxiter,
                                    seed=config.seed + state.round).tolist()
            state.save(work)
    return save_result(config, objective, start, projection, state)  # 5. the winner, its guard, trace, plot


def measure_baselines(state: BpoState, objective: DevObjective, start: SoftPrompt | None, work: Path) -> None:
    """Score the model with no soft prompt and with the start, once per run (kept in the state)."""
    wanted = {"baseline-none": None} | ({"baseline-start": start} if start is not None else {})
    todo = {label: prompt for label, prompt in wanted.items() if label not in {e.label for e in state.baselines}}
    with closing(objective.evaluate_prompts(todo.values())) as outcomes:
        for label, outcome in zip(todo, outcomes):
            state.baselines.append(record(state, work, label, None, -1, outcome))
            state.save(work)


def record(state: BpoState, work: Path, label: str, z: Sequence[float] | None, round_: int,
           outcome: Outcome) -> Evaluation:
    """Count the calls, keep the full answers on disk, and make the state's record of one evaluation."""
    state.llm_calls += len(outcome.correct)
    write_answers(work, label, [a.model_dump() for a in outcome.answers])
    return Evaluation(label=label, round=round_, z=None if z is None else list(z), score=outcome.score,
                      correct=outcome.correct, failed=outcome.failed, llm_calls=state.llm_calls)


def load_dev(config: BpoConfig) -> list[MCQuestion]:
    questions = load_mcq(config.dev)
    return questions[: config.dev_limit] if config.dev_limit else questions


def check_cost(config: BpoConfig, questions: Sequence[MCQuestion]) -> int:
    """Print the LLM calls and (rough, 4 characters a token) tokens the run needs; refuse if too many."""
    model_config = BladeConfig.load(config.model) if Path(config.model).is_dir() else None
    knowledge_tokens = config.max_new_tokens or (model_config or BladeConfig()).generation.max_new_tokens
    prompt = answer_prompt()
    prompt_chars = sum(len(prompt.format(knowledge="", question=format_mcq(q))) for q in questions)
    guard = EXTRA_DEV_PASSES if config.guard else 0
    runs = config.budget + 2 + guard  # candidates, the two baselines, the guard's thresholds
    calls = len(questions) * runs
    tokens = runs * (prompt_chars // 4 + len(questions) * (knowledge_tokens + 5))
    console.print(f"BPO estimate: up to {calls} LLM calls ({len(questions)} dev questions x ({config.budget} "
                  f"evaluations + 2 baselines + {guard} guard thresholds)), about {tokens:,} tokens; "
                  "cached calls are not repeated")
    if config.max_llm_calls is not None and calls > config.max_llm_calls:
        raise BpoBudgetError(f"the run needs up to {calls} LLM calls, more than --max-llm-calls "
                             f"{config.max_llm_calls}; lower --budget or use --dev-limit")
    return calls


def with_cache(config: BpoConfig, model: BaseChatModel) -> BaseChatModel:
    """The LLM with, unless disabled, a persistent cache of its answers (`llm.accounting`: keyed by
    prompt and model, not retry settings, so a resume with a new --max-retries still finds them)."""
    return accounted(model, config.cache_path if config.use_cache else None).model


def run_identity(config: BpoConfig, llm: BaseChatModel | None, questions: Sequence[MCQuestion],
                 projection: RandomProjection) -> dict[str, Any]:
    """What a resumed run must share with the saved one (the budget may grow; these may not change)."""
    llm_id = config.llm if llm is None else f"{type(llm).__name__}:{getattr(llm, 'model_name', '')}"
    return {
        "model": str(config.model), "llm": llm_id, "dev_sha256": file_hash(config.dev),
        "questions": [q.id for q in questions], "projection": projection.config.model_dump(),
        "start": None if projection.center is None else projection.center.sum().item(),
        "max_new_tokens": config.max_new_tokens, "seed": config.seed,
    }


def save_result(config: BpoConfig, objective: DevObjective, start: SoftPrompt | None,
                projection: RandomProjection, state: BpoState) -> BpoResult:
    """Write the best candidate if it strictly beats both baselines, else the better baseline,
    with the confidence threshold calibrated for it on dev (`guard`) unless `config.guard` is off."""
    best, baseline = state.best(), state.best_baseline()
    improved = best is not None and best.score > baseline.score
    winner = best if improved and best is not None else baseline
    prompt: SoftPrompt | None
    if improved:
        prompt = projection(torch.tensor(winner.z, dtype=torch.float32))
        message = f"BPO improved dev accuracy from {baseline.score:.3f} to {winner.score:.3f} ({winner.label})"
    else:
        prompt = start if winner.label == "baseline-start" else None
        message = f"BPO found no improvement over {winner.label} ({winner.score:.3f}); saved that model"
    model = objective.lm.with_soft_prompt(prompt)
    guard = calibrate_guard(objective, prompt) if config.guard else None
    if guard is not None:
        console.print(guard.line(), markup=False)
        model.config.generation.min_confidence = guard.min_confidence
    model.config.provenance.stages.append("bpo")
    model.config.provenance.dev_score = winner.score
    model.config.provenance.data_hashes["bpo_dev"] = file_hash(config.dev)
    report = config.work_dir / "report"
    shutil.rmtree(report, ignore_errors=True)
    report.mkdir(parents=True)
    shutil.copy(config.work_dir / ANSWERS_DIR / f"{winner.label}.jsonl", report / "knowledge.jsonl")
    trace = {"message": message, "improved": improved, "winner": winner.label, "dev_score": winner.score,
             "projection": projection.config.model_dump(), "config": config.model_dump(mode="json"),
             "guard": None if guard is None else guard.model_dump(mode="json"),
             "llm_calls": state.llm_calls, "baselines": [e.model_dump() for e in state.baselines],
             "evaluations": [e.model_dump() for e in state.evaluations]}
    write_text_atomic(report / "trace.json", json.dumps(trace, indent=1) + "\n")
    plot_trace(state, report / "trace.png")
    model.save_pretrained(config.out, extra_dirs={REPORT_DIR: report})
    console.print(message)
    return BpoResult(out=config.out, improved=improved, dev_score=winner.score, best_label=winner.label,
                     baseline_scores={e.label: e.score for e in state.baselines},
                     evaluations=len(state.evaluations), llm_calls=state.llm_calls, message=message,
                     min_confidence=None if guard is None else guard.min_confidence)


def plot_trace(state: BpoState, path: Path) -> None:
    """Best-so-far dev accuracy against LLM calls spent, with each evaluation and the baselines."""
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend is left as it is

    calls = [e.llm_calls for e in state.evaluations]
    scores = [e.score for e in state.evaluations]
    best = [max(scores[: i + 1]) for i in range(len(scores))]
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.scatter(calls, scores, s=12, alpha=0.5, label="evaluation")
    ax.step(calls, best, where="post", label="best so far")
    for baseline, style in zip(state.baselines, (":", "--")):
        ax.axhline(baseline.score, linestyle=style, color="grey", label=baseline.label)
    ax.set(xlabel="LLM calls", ylabel="dev accuracy", title="BPO")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
