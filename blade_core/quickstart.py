"""`blade quickstart`: the first thing a new user runs, on the packaged sample domain, offline.

It builds a domain LM from scratch and takes it through the three BLADE stages (DP, KIT, BPO), then
`blade eval` scores the general LLM on the sample test split: alone, with BLADE's knowledge, with
retrieved passages (RAG, the baseline BLADE replaces), with both (hybrid), with the reference
knowledge (an upper bound), and with the knowledge of the ablations (without BPO, without KIT,
without DP; the ablations are not BPO-tuned). Each stage writes its own model directory under
`out`; a re-run reuses every finished stage and every cached LLM answer.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from blade_core.blade_config import BladeConfig
from blade_core.data import load_corpus, load_mcq
from blade_core.evaluation import EvalReport
from blade_core.llm import resolve_llm
from blade_core.model_builder import ModelSize, init_model
from blade_core.model_checks import check_model_source
from blade_core.outputs import check_work_directory, make_work_directory
from blade_core.sample_domain import load_sample_domain
from blade_core.training.configs import KitConfig, PretrainConfig


class Recipe(BaseModel):
    """How each stage is trained. `FULL` (the default) was chosen on the dev split with
    `benchmarks/knowledge_quality.py`; `FAST` is a smoke test whose numbers mean nothing."""

    name: str
    size: ModelSize = "small"
    sentence_permutations: int = 12
    entity_documents: int = 6
    instruction_repeats: int = 1
    """Copies of the KIT pairs mixed into DP; 0 mixes none."""
    dp_epochs: float = 8
    dp_learning_rate: float = 1e-3
    kit_epochs: float = 2
    """0: no separate KIT stage (the KIT pairs mixed into DP then do its work)."""
    kit_learning_rate: float = 5e-4
    base: str | None = None
    """A pretrained model directory or hub id to start from instead of a from-scratch model."""
    pretrained_learning_rate: float = 5e-5
    """DP and KIT learning rate when starting from `base`: a trained model needs a gentler rate."""
    bpo_budget: int = 16
    bpo_dev_questions: int | None = None
    test_questions: int | None = None
    seed: int = 0
    """Seeds the from-scratch weights, data order and BPO: another seed measures run-to-run noise."""


FULL = Recipe(name="full")
FAST = Recipe(name="fast (smoke test: few steps, numbers are not meaningful)", size="tiny",
              sentence_permutations=1, entity_documents=0, dp_epochs=1, kit_epochs=1, bpo_budget=3,
              bpo_dev_questions=8, test_questions=20)


class QuickstartReport(BaseModel):
    recipe: str
    evaluation: EvalReport
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


def _dp_config(recipe: Recipe, model: Path | str, out: Path, common: dict[str, object]) -> PretrainConfig:
    domain = load_sample_domain()
    return PretrainConfig(
        model=str(model), out=out, corpus=[domain.corpus], block_size=256,
        sentence_permutations=recipe.sentence_permutations, entity_documents=recipe.entity_documents,
        mix_instructions=domain.kit if recipe.instruction_repeats else None,
        instruction_repeats=max(recipe.instruction_repeats, 1), epochs=recipe.dp_epochs,
        learning_rate=recipe.pretrained_learning_rate if recipe.base else recipe.dp_learning_rate, **common)


def _kit_config(recipe: Recipe, model: Path | str, out: Path, common: dict[str, object]) -> KitConfig:
    return KitConfig(model=str(model), out=out, data=load_sample_domain().kit, epochs=recipe.kit_epochs,
                     learning_rate=recipe.pretrained_learning_rate if recipe.base else recipe.kit_learning_rate,
                     **common)


def train_all(out: Path, recipe: Recipe, llm_spec: str | None,
              ablations: bool = True) -> tuple[dict[str, Path], dict[str, float]]:
    """init -> DP (augmented, KIT pairs mixed in) -> KIT -> BPO (skipped when `llm_spec` is None),
    and, with `ablations`, KIT straight from init for the without-DP ablation."""
    from blade_core.bpo import BpoConfig, run_bpo
    from blade_core.training import run_kit, run_pretrain

    domain = load_sample_domain()
    timings: dict[str, float] = {}
    common: dict[str, object] = {"batch_size": 8, "save_steps": 200, "resume": True, "logging_steps": 10,
                                 "seed": recipe.seed}
    init: Path | str = recipe.base or _stage(
        out, timings, "init",
        lambda d: init_model(load_corpus(domain.corpus), d, size=recipe.size, seed=recipe.seed))
    dp = _stage(out, timings, "dp", lambda d: run_pretrain(_dp_config(recipe, init, d, common)))
    models = {"dp": dp}
    # KIT pairs mixed into DP already teach the question -> knowledge format; kit_epochs=0 skips KIT.
    kit = _stage(out, timings, "kit", lambda d: run_kit(_kit_config(recipe, dp, d, common))) if recipe.kit_epochs else dp
    models["kit"] = kit
    if llm_spec is not None:
        models["bpo"] = _stage(out, timings, "bpo", lambda d: run_bpo(BpoConfig(
            model=str(kit), dev=domain.dev, out=d, llm=llm_spec, budget=recipe.bpo_budget,
            n_init=min(8, recipe.bpo_budget), dev_limit=recipe.bpo_dev_questions, seed=recipe.seed,
            resume=True)))
    if ablations:
        models["kit-without-dp"] = _stage(out, timings, "kit-without-dp",
                                          lambda d: run_kit(_kit_config(recipe, init, d, common)))
    return models, timings


def prepare_quickstart(out: Path, llm_spec: str, base: str | None, overwrite: bool) -> None:
    """Everything that can be wrong with the options, found before minutes of training: a bad
    LLM spec, a mistyped --base, an --out that is not blade's. With `overwrite`, an earlier
    quickstart in `out` (a folder blade marked as its own) is removed."""
    resolve_llm(llm_spec)
    if base is not None:
        check_model_source(base)
    inputs = {"--base": base}
    check_work_directory(out, inputs=inputs)
    if overwrite and out.is_dir():
        shutil.rmtree(out)  # blade's own: check_work_directory refuses any other non-empty folder
    make_work_directory(out)


def run_quickstart(out: Path, *, llm_spec: str = "offline", fast: bool = False,
                   base: str | None = None, overwrite: bool = False) -> QuickstartReport:
    """Train through every stage under `out`, evaluate every mode, write `report.json` and `report.md`.
    `base`: start from this pretrained model (directory or hub id) instead of a from-scratch one;
    `overwrite`: discard an earlier quickstart in `out` instead of reusing its finished stages."""
    from blade_core.evaluation import evaluate
    from blade_core.evaluation.report import write_report

    prepare_quickstart(out, llm_spec, base, overwrite)
    started = time.perf_counter()
    recipe = FAST if fast else FULL
    if base is not None:
        recipe = recipe.model_copy(update={"base": base, "name": f"{recipe.name}, from {base}"})
    models, timings = train_all(out, recipe, llm_spec)
    domain = load_sample_domain()
    evaluation = evaluate(
        load_mcq(domain.test)[: recipe.test_questions],
        resolve_llm(llm_spec),
        models={
            "blade": models["bpo"],
            "without BPO": models["kit"],
            "without KIT": models["dp"],
            "without DP": models["kit-without-dp"],
        },
        rag_corpus=domain.corpus,
        hybrid_model="blade",
        cache_path=out / "eval.cache.sqlite",
        dataset="sample domain test split",
    )
    write_report(evaluation, out / "report.json", out / "report.questions.jsonl", out / "report.png")
    report = QuickstartReport(recipe=recipe.name, evaluation=evaluation, stage_seconds=timings,
                              seconds=round(time.perf_counter() - started, 1))
    write_report_md(report, out)
    return report


def write_report_md(report: QuickstartReport, out: Path) -> None:
    evaluation = report.evaluation
    lines = [
        "# BLADE quickstart report",
        "",
        f"{evaluation.dataset} ({evaluation.n} questions, a fictional domain no LLM can know); "
        f"general LLM: `{evaluation.llm}`; recipe: {report.recipe}.",
        "",
        "| mode | accuracy | correct | n | seconds |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {mode} | {r.accuracy:.1%} | {r.correct} | {r.n} | {r.seconds} |"
              for mode, r in evaluation.results.items()]
    lines += [f"- {mode}: skipped ({why})" for mode, why in evaluation.skipped.items()]
    lines += ["", "Modes: `blade` is DP + KIT + BPO; `without ...` drop one stage (no BPO on those); "
              "`rag` is MiniLM top-3 passages; `hybrid` is BLADE's knowledge plus those passages. "
              "Every answer is in `report.questions.jsonl`.", "",
              "Stage times (s, 0 when reused): " + ", ".join(f"{k} {v}" for k, v in report.stage_seconds.items()),
              "", "![accuracy by mode](report.png)"]
    plots = sorted((out / "bpo" / "training").glob("*.png")) + sorted((out / "bpo" / "bpo").glob("*.png"))
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in plots]
    lines += ["", f"Total time: {report.seconds} s.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
