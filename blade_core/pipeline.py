"""`blade train` and `blade quickstart`: every stage of BLADE for a domain, in one command.

    init (or --base) -> DP (augmented, KIT pairs mixed in) -> KIT -> BPO -> evaluation

`run_train` takes a user's files (corpus, KIT pairs or training questions to make them from, dev
and test questions); `run_quickstart` is the same on the packaged sample domain, plus the
ablations (without BPO, without KIT, without DP). Each stage writes its own model directory under
`out`, marked as blade's working folder; a re-run reuses every finished stage and every cached LLM
answer. Before training starts, every input is read and checked, and the run says how long it
expects to take; as it goes, it prints a line per stage; at the end it writes `report.md` and
`report.json` and, with a test set, scores none / blade / rag / hybrid / gold.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from blade_core.blade_config import BladeConfig
from blade_core.data import load_corpus, load_instructions, load_mcq
from blade_core.errors import OptionError, require
from blade_core.estimate import estimate
from blade_core.evaluation import EvalReport
from blade_core.llm import resolve_llm
from blade_core.model_checks import check_model_source
from blade_core.outputs import Inputs, check_work_directory, make_work_directory
from blade_core.recipe import FAST, FULL, DomainData, Recipe, TrainConfig
from blade_core.sample_domain import SampleLanguage
from blade_core.training.configs import KitConfig, PretrainConfig
from blade_core.training.model_builder import init_model
from blade_core.training.model_size import resolve_size

console = Console(stderr=True)


class PipelineReport(BaseModel):
    recipe: str
    evaluation: EvalReport | None
    fact_recall: str | None = None
    """The DP model's storage check (`training.fact_recall`), as one line."""
    stage_seconds: dict[str, float]
    seconds: float


def _stage(out: Path, timings: dict[str, float], name: str, build: Callable[[Path], object]) -> Path:
    """Run a stage unless its model directory is already complete (directories appear atomically)."""
    target = out / name
    started = time.perf_counter()
    if BladeConfig.load(target) is None:
        console.print(f"stage {name}: running", markup=False)
        build(target)
        console.print(f"stage {name}: done in {time.perf_counter() - started:.0f} s", markup=False)
    else:
        console.print(f"stage {name}: reused {target}", markup=False)
    timings[name] = round(time.perf_counter() - started, 1)
    return target


def _dp_config(recipe: Recipe, data: DomainData, model: Path | str, out: Path,
               common: dict[str, Any]) -> PretrainConfig:
    return PretrainConfig(
        model=str(model), out=out, corpus=data.corpus, block_size=256,
        sentence_permutations=recipe.sentence_permutations, entity_documents=recipe.entity_documents,
        mix_instructions=data.kit if recipe.instruction_repeats else None,
        instruction_repeats=max(recipe.instruction_repeats, 1), question_forms=recipe.question_forms,
        epochs=recipe.dp_epochs,
        stop_when_stored=recipe.dp_stop_when_stored,
        learning_rate=recipe.pretrained_learning_rate if recipe.base else recipe.dp_learning_rate, **common)


def _kit_config(recipe: Recipe, data: DomainData, model: Path | str, out: Path,
                common: dict[str, Any]) -> KitConfig:
    return KitConfig(model=str(model), out=out, data=data.kit, epochs=recipe.kit_epochs,
                     question_forms=data.corpus if recipe.question_forms else None,
                     learning_rate=recipe.pretrained_learning_rate if recipe.base else recipe.kit_learning_rate,
                     **common)


def _init(recipe: Recipe, data: DomainData, out: Path) -> Path:
    """A from-scratch model of the recipe's size, or of the size the corpus calls for ("auto")."""
    documents = load_corpus(data.corpus)
    size, reason = resolve_size(recipe.size, documents)
    if reason:
        console.print(reason, markup=False)
    return init_model(documents, out, size=size, seed=recipe.seed)


def train_all(out: Path, recipe: Recipe, llm_spec: str | None, data: DomainData | None = None,
              ablations: bool = True) -> tuple[dict[str, Path], dict[str, float]]:
    """init -> DP (augmented, KIT pairs mixed in) -> KIT -> BPO (skipped when `llm_spec` is None),
    and, with `ablations`, KIT straight from init for the without-DP ablation. `data` defaults to
    the packaged sample domain."""
    from blade_core.bpo import BpoConfig, run_bpo
    from blade_core.training import run_kit, run_pretrain

    data = data or DomainData.sample()
    timings: dict[str, float] = {}
    common: dict[str, object] = {"batch_size": 8, "save_steps": 200, "resume": True, "logging_steps": 10,
                                 "seed": recipe.seed}
    init: Path | str = recipe.base or _stage(out, timings, "init", lambda d: _init(recipe, data, d))
    if BladeConfig.load(out / "dp") is None:  # the long stages are ahead: say how long
        console.print(estimate(init, data, recipe, bpo=llm_spec is not None).line(), markup=False)
    dp = _stage(out, timings, "dp", lambda d: run_pretrain(_dp_config(recipe, data, init, d, common)))
    models = {"dp": dp}
    # KIT pairs mixed into DP already teach the question -> knowledge format; kit_epochs=0 skips KIT.
    kit = _stage(out, timings, "kit", lambda d: run_kit(_kit_config(recipe, data, dp, d, common))) \
        if recipe.kit_epochs else dp
    models["kit"] = kit
    if llm_spec is not None:
        models["bpo"] = _stage(out, timings, "bpo", lambda d: run_bpo(BpoConfig(
            model=str(kit), dev=data.dev, out=d, llm=llm_spec, budget=recipe.bpo_budget,
            n_init=min(8, recipe.bpo_budget), dev_limit=recipe.bpo_dev_questions, seed=recipe.seed,
            resume=True)))
    if ablations:
        models["kit-without-dp"] = _stage(out, timings, "kit-without-dp",
                                          lambda d: run_kit(_kit_config(recipe, data, init, d, common)))
    return models, timings


def check_storage(dp: Path, data: DomainData, epochs: float) -> str:
    """The DP model's fact recall, printed as a stage line: says whether DP stored the facts, and
    how many epochs DP took to store them (its per-epoch check, `training.storage_stop`)."""
    from blade_core.training.fact_recall import fact_recall, facts_to_check

    facts, source = facts_to_check(data.corpus, data.test)
    line = fact_recall(dp, facts, source).line()
    log = dp / "training" / "dp_log.json"
    checks = [e for e in json.loads(log.read_text()) if "facts_completed" in e] if log.is_file() else []
    if checks:
        counts = ", ".join(str(e["facts_completed"]) for e in checks)
        line += (f"; DP trained {round(checks[-1]['epoch'], 1):g} of at most {epochs:g} epochs "
                 f"(corpus facts completed after each: {counts} of {checks[-1]['facts_checked']})")
    console.print(line, markup=False)
    return line


def prepare_out(out: Path, llm_spec: str, base: str | None, overwrite: bool,
                inputs: Inputs | None = None) -> None:
    """Everything that can be wrong with the options, found before minutes of training: a bad
    LLM spec, a mistyped --base, an --out that is not blade's. With `overwrite`, an earlier run in
    `out` (a folder blade marked as its own) is removed."""
    require("botorch", "matplotlib", "sentence_transformers")  # the train extra, before any folder is made
    resolve_llm(llm_spec)
    if base is not None:
        check_model_source(base)
    check_work_directory(out, inputs={"--base": base, **(inputs or {})})  # type: ignore[dict-item]
    if overwrite and out.is_dir():
        shutil.rmtree(out)  # blade's own: check_work_directory refuses any other non-empty folder
    make_work_directory(out)


def _make_kit_pairs(config: TrainConfig) -> Path:
    """KIT pairs made from the training questions by the LLM (resumable, cached), once."""
    from blade_core.datagen.kit_data import make_kit_data
    from blade_core.datagen.kit_data_config import KitDataConfig

    assert config.questions is not None
    out = config.out / "kit.jsonl"
    report = make_kit_data(KitDataConfig(questions=config.questions, llm=config.llm, out=out,
                                         corpus=config.corpus, progress=False))
    console.print(f"stage kit-data: {report.summary()}", markup=False)
    report.raise_if_incomplete()
    return out


def run_train(config: TrainConfig) -> PipelineReport:
    """Every stage for the user's domain under `config.out`; see the module docstring."""
    started = time.perf_counter()
    inputs = {"--corpus": config.corpus, "--kit": config.kit, "--questions": config.questions,
              "--dev": config.dev, "--test": config.test}
    load_corpus(config.corpus)  # every input read before anything is written or trained
    for path in (config.dev, config.test, config.questions):
        if path is not None:
            load_mcq(path)
    if config.kit is not None:
        load_instructions(config.kit)
    prepare_out(config.out, config.llm, config.base, config.overwrite, inputs)
    kit = config.kit if config.kit is not None else _make_kit_pairs(config)
    data = DomainData(corpus=config.corpus, kit=kit, dev=config.dev, test=config.test)
    recipe = config.recipe()
    models, timings = train_all(config.out, recipe, config.llm, data, ablations=False)
    recall = check_storage(models["dp"], data, recipe.dp_epochs)
    evaluation = None
    if config.test is not None:
        evaluation = _evaluate(config.out, config.llm, data, {"blade": models["bpo"]}, recipe,
                               dataset=str(config.test))
    report = PipelineReport(recipe=recipe.name, evaluation=evaluation, fact_recall=recall, stage_seconds=timings,
                            seconds=round(time.perf_counter() - started, 1))
    write_report_md(report, config.out, "BLADE training report")
    return report


def _evaluate(out: Path, llm_spec: str, data: DomainData, models: dict[str, Path], recipe: Recipe,
              dataset: str) -> EvalReport:
    from blade_core.evaluation import evaluate
    from blade_core.evaluation.report import write_report

    assert data.test is not None
    evaluation = evaluate(load_mcq(data.test)[: recipe.test_questions], resolve_llm(llm_spec), models=models,
                          rag_corpus=data.corpus, hybrid_model="blade", cache_path=out / "eval.cache.sqlite",
                          dataset=dataset)
    write_report(evaluation, out / "report.json", out / "report.questions.jsonl", out / "report.png")
    return evaluation


def run_quickstart(out: Path, *, llm_spec: str = "offline", fast: bool = False,
                   base: str | None = None, overwrite: bool = False, domain: SampleLanguage = "en") -> PipelineReport:
    """The pipeline on a packaged sample domain ("en" or "zh"), with the ablations scored beside
    BLADE. `base`: start from this pretrained model (directory or hub id) instead of a from-scratch
    one; `overwrite`: discard an earlier quickstart in `out` instead of reusing its finished stages."""
    prepare_out(out, llm_spec, base, overwrite)
    check_same_domain(out, domain)
    started = time.perf_counter()
    recipe = FAST if fast else FULL
    if base is not None:
        recipe = recipe.model_copy(update={"base": base, "name": f"{recipe.name}, from {base}"})
    data = DomainData.sample(domain)
    models, timings = train_all(out, recipe, llm_spec, data)
    recall = check_storage(models["dp"], data, recipe.dp_epochs)
    evaluation = _evaluate(out, llm_spec, data, {
        "blade": models["bpo"],
        "without BPO": models["kit"],
        "without KIT": models["dp"],
        "without DP": models["kit-without-dp"],
    }, recipe, dataset=f"sample domain ({domain}) test split")
    report = PipelineReport(recipe=recipe.name, evaluation=evaluation, fact_recall=recall, stage_seconds=timings,
                            seconds=round(time.perf_counter() - started, 1))
    write_report_md(report, out, "BLADE quickstart report")
    return report


def check_same_domain(out: Path, domain: SampleLanguage) -> None:
    """A quickstart folder holds one domain's stages: refuse to reuse them for another."""
    marker = out / "quickstart-domain.txt"
    earlier = marker.read_text(encoding="utf-8").strip() if marker.is_file() else \
        "en" if (out / "init").is_dir() else domain  # quickstarts before the marker were all "en"
    if earlier != domain:
        raise OptionError(f"--out {out} holds a quickstart of the {earlier!r} domain, not {domain!r}; "
                          "choose another --out, or add --overwrite to discard it")
    marker.write_text(domain + "\n", encoding="utf-8")


def write_report_md(report: PipelineReport, out: Path, title: str) -> None:
    lines = [f"# {title}", ""]
    evaluation = report.evaluation
    if evaluation is not None:
        lines += [
            f"{evaluation.dataset} ({evaluation.n} questions); general LLM: `{evaluation.llm}`; "
            f"recipe: {report.recipe}.",
            "",
            "| mode | accuracy | correct | answered | seconds |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {mode} | {r.accuracy:.1%} | {r.correct} | {r.answered} | {r.seconds} |"
                  for mode, r in evaluation.results.items()]
        lines += [f"- {mode}: skipped ({why})" for mode, why in evaluation.skipped.items()]
        lines += ["", "Modes: `blade` is DP + KIT + BPO; `without ...` drop one stage (no BPO on those); "
                  "`rag` is the top-3 corpus passages (MiniLM; BM25 for a Chinese corpus); `hybrid` is BLADE's knowledge plus those passages. "
                  "Every answer is in `report.questions.jsonl`.", "", "![accuracy by mode](report.png)"]
    else:
        lines += [f"Recipe: {report.recipe}. No test set was given, so nothing was scored (pass --test)."]
    if report.fact_recall:
        lines += ["", f"Storage: {report.fact_recall}. Low recall means DP did not store the facts "
                  "(more DP epochs or a larger model); high recall with low blade accuracy means KIT "
                  "and BPO do not bring them out."]
    lines += ["", "Stage times (s, 0 when reused): "
              + ", ".join(f"{k} {v}" for k, v in report.stage_seconds.items())]
    plots = sorted((out / "bpo" / "training").glob("*.png")) + sorted((out / "bpo" / "bpo").glob("*.png"))
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in plots]
    lines += ["", f"Total time: {report.seconds} s.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
