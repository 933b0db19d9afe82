"""`blade quickstart`: the first thing a new user runs, on the packaged sample domain, offline.

It builds a domain LM from scratch and takes it through the three BLADE stages (DP, KIT, BPO), then
scores the general LLM on the sample test split with no knowledge, with the knowledge the model
writes after KIT and after BPO, and with the reference (gold) knowledge as an upper bound. Each
stage writes its own model directory under `out`; a re-run reuses every finished stage.
The RAG baseline and the ablations arrive with `blade eval`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from blade_core.blade_config import BladeConfig
from blade_core.data import load_corpus, load_mcq
from blade_core.domain_lm import DomainLM
from blade_core.llm import resolve_llm
from blade_core.model_builder import ModelSize, init_model
from blade_core.sample_domain import load_sample_domain
from blade_core.scoring import accuracy, ask_with_knowledge


class Recipe(BaseModel):
    """How much training each stage gets; `FULL` is the default, `FAST` a smoke test."""

    name: str
    size: ModelSize
    dp_epochs: float
    kit_epochs: float
    bpo_budget: int
    bpo_dev_questions: int | None
    test_questions: int | None


FULL = Recipe(name="full", size="small", dp_epochs=8, kit_epochs=4, bpo_budget=16, bpo_dev_questions=None,
              test_questions=None)
FAST = Recipe(name="fast (smoke test: few steps, numbers are not meaningful)", size="tiny", dp_epochs=1,
              kit_epochs=1, bpo_budget=3, bpo_dev_questions=8, test_questions=20)


class ModeResult(BaseModel):
    mode: str
    accuracy: float
    correct: int
    n: int
    seconds: float


class QuickstartReport(BaseModel):
    llm: str
    recipe: str
    n: int
    results: list[ModeResult]
    stage_seconds: dict[str, float]
    seconds: float


def _stage(out: Path, timings: dict[str, float], name: str, build: Callable[[Path], object]) -> Path:
    """Run a stage unless its model directory is already complete (directories appear atomically)."""
    target = out / name
    started = time.perf_counter()
    if BladeConfig.load(target) is None:
        build(target)
    timings[name] = round(time.perf_counter() - started, 1)
    return target


def train_all(out: Path, recipe: Recipe, llm_spec: str) -> tuple[dict[str, Path], dict[str, float]]:
    """init -> DP (KIT pairs mixed in) -> KIT -> BPO; returns each stage's model directory."""
    from blade_core.bpo import BpoConfig, run_bpo
    from blade_core.training import KitConfig, PretrainConfig, run_kit, run_pretrain

    domain = load_sample_domain()
    timings: dict[str, float] = {}
    common = {"batch_size": 8, "save_steps": 200, "resume": True, "logging_steps": 10}
    init = _stage(out, timings, "init", lambda d: init_model(load_corpus(domain.corpus), d, size=recipe.size))
    dp = _stage(out, timings, "dp", lambda d: run_pretrain(PretrainConfig(
        model=str(init), out=d, corpus=[domain.corpus], mix_instructions=domain.kit, block_size=256,
        epochs=recipe.dp_epochs, learning_rate=1e-3, **common)))
    kit = _stage(out, timings, "kit", lambda d: run_kit(KitConfig(
        model=str(dp), out=d, data=domain.kit, epochs=recipe.kit_epochs, learning_rate=5e-4, **common)))
    bpo = _stage(out, timings, "bpo", lambda d: run_bpo(BpoConfig(
        model=str(kit), dev=domain.dev, out=d, llm=llm_spec, budget=recipe.bpo_budget,
        n_init=min(8, recipe.bpo_budget), dev_limit=recipe.bpo_dev_questions, resume=True)))
    return {"dp": dp, "kit": kit, "bpo": bpo}, timings


def run_quickstart(out: Path, *, llm_spec: str = "offline", fast: bool = False) -> QuickstartReport:
    """Train through every stage under `out`, score the LLM on the test split, write `report.md`."""
    started = time.perf_counter()
    recipe = FAST if fast else FULL
    models, timings = train_all(out, recipe, llm_spec)
    questions = load_mcq(load_sample_domain().test)[: recipe.test_questions]
    llm = resolve_llm(llm_spec)
    texts = [q.with_options_text() for q in questions]

    def knowledge_of(model_dir: Path) -> list[str | None]:
        return list(DomainLM.from_pretrained(model_dir).generate_knowledge(texts, progress=True))

    modes: dict[str, Callable[[], list[str | None]]] = {
        "none (LLM alone)": lambda: [None] * len(questions),
        "blade: DP + KIT": lambda: knowledge_of(models["kit"]),
        "blade: DP + KIT + BPO": lambda: knowledge_of(models["bpo"]),
        "gold knowledge (upper bound)": lambda: [q.knowledge for q in questions],
    }
    results = []
    for mode, knowledge in modes.items():
        t0 = time.perf_counter()
        scored = ask_with_knowledge(llm, questions, knowledge())
        results.append(ModeResult(mode=mode, accuracy=accuracy(scored), correct=sum(s.correct for s in scored),
                                  n=len(scored), seconds=round(time.perf_counter() - t0, 2)))
    report = QuickstartReport(llm=llm_spec, recipe=recipe.name, n=len(questions), results=results,
                              stage_seconds=timings, seconds=round(time.perf_counter() - started, 1))
    write_report_md(report, out)
    return report


def write_report_md(report: QuickstartReport, out: Path) -> None:
    lines = [
        "# BLADE quickstart report",
        "",
        f"Sample domain (a fictional pharmacopoeia) test split, {report.n} questions; general LLM: "
        f"`{report.llm}`; recipe: {report.recipe}.",
        "",
        "| mode | accuracy | correct | n | seconds |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.mode} | {r.accuracy:.1%} | {r.correct} | {r.n} | {r.seconds} |" for r in report.results]
    lines += ["", "Stage times (s, 0 when reused): "
              + ", ".join(f"{k} {v}" for k, v in report.stage_seconds.items()), ""]
    plots = sorted((out / "bpo" / "training").glob("*.png")) + sorted((out / "bpo" / "bpo").glob("*.png"))
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in plots]
    lines += ["", f"Total time: {report.seconds} s.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
