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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from blade_core.data import load_corpus, load_instructions, load_mcq, load_names
from blade_core.errors import OptionError, require
from blade_core.evaluation import EvalReport, EvalSettings
from blade_core.evaluation.rag import HYBRID_POOL
from blade_core.llm import resolve_llm
from blade_core.llm.answers import check_llm_answers
from blade_core.llm.resolve import runs_here
from blade_core.model.checks import check_model_source
from blade_core.model.config import BladeConfig
from blade_core.outputs import Inputs, check_work_directory, clear_run_folder, make_work_directory
from blade_core.pipeline.estimate import estimate
from blade_core.pipeline.recipe import FAST, FULL, DomainData, Recipe, TrainConfig
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
    access: list[str] = []
    """Whether the KIT and BPO models' knowledge reaches the asked entity's facts on dev
    (`training.access`), a line each."""
    names: list[str] = []
    """How many of the KIT and dev questions name one of the DP model's entities (`check_names`)."""
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
        recitations=recipe.recitations,
        epochs=recipe.dp_epochs, token_budget=recipe.dp_token_budget,
        stop_when_stored=recipe.dp_stop_when_stored, dev=data.dev, names=data.names,
        learning_rate=recipe.pretrained_learning_rate if recipe.base else recipe.dp_learning_rate, **common)


def _kit_config(recipe: Recipe, data: DomainData, model: Path | str, out: Path,
                common: dict[str, Any]) -> KitConfig:
    return KitConfig(model=str(model), out=out, data=data.kit, epochs=recipe.kit_epochs,
                     corpus=data.corpus, question_forms=recipe.question_forms, recitations=recipe.recitations,
                     dev=data.dev, names=data.names,
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
    from blade_core.training.storage_stop import EPOCHS_KEY, RECALL_KEY

    config = BladeConfig.load(dp)
    facts, source = facts_to_check(data.corpus, data.test, known=(config.names, config.entities) if config else None)
    line = fact_recall(dp, facts, source).line()
    log = dp / "training" / "dp_log.json"
    checks = [e for e in json.loads(log.read_text()) if RECALL_KEY in e] if log.is_file() else []
    if checks:
        counts = ", ".join(str(e[RECALL_KEY]) for e in checks)
        at_most = checks[-1].get(EPOCHS_KEY, epochs)  # logs of DP runs before the token budget lack it
        line += (f"; DP trained {round(checks[-1]['epoch'], 1):g} of at most {at_most:g} epochs "
                 f"(corpus facts completed after each: {counts} of {checks[-1]['facts_checked']})")
    console.print(line, markup=False)
    return line


def check_names(dp: Path, data: DomainData) -> list[str]:
    """How many of the KIT and dev questions name one of the entities DP found, with the names
    file's fix when few do (`training.name_hints`), as stage lines."""
    from blade_core.training.name_hints import load_hints, name_lines
    from blade_core.training.stand_alone import stand_alone

    config = BladeConfig.load(dp)
    if config is None or not config.names:
        return []
    corpus = stand_alone(load_corpus(data.corpus), known=(config.names, config.entities))
    lines = name_lines(corpus, load_hints(data.kit, data.dev))
    for line in lines:
        console.print(line, markup=False, soft_wrap=True)
    return lines


def check_access(models: dict[str, Path], data: DomainData) -> list[str]:
    """The access check of each trained model on dev, printed as stage lines: does the knowledge
    state a corpus fact about the asked entity, and the answer (`training.access`)."""
    from blade_core.training.access import CorpusFacts, knowledge_access
    from blade_core.training.stand_alone import stand_alone
    from blade_core.writers.domain_lm import DomainLM

    questions = load_mcq(data.dev)
    lines = []
    for stage in ("kit", "bpo"):
        if stage in models:
            lm = DomainLM.from_pretrained(models[stage])
            facts = CorpusFacts(stand_alone(load_corpus(data.corpus), known=(lm.config.names, lm.config.entities)))
            knowledge = lm.generate_knowledge([q.with_options_text() for q in questions])
            lines.append(knowledge_access(questions, knowledge, facts).line(f"the {stage.upper()} model"))
            console.print(lines[-1], markup=False)
    return lines


def prepare_out(out: Path, llm_spec: str, base: str | None, overwrite: bool,
                inputs: Inputs | None = None) -> None:
    """Everything that can be wrong with the options, found before minutes of training: a bad
    LLM spec, a mistyped --base, an --out that is not blade's. With `overwrite`, what an earlier run
    wrote in `out` (a folder blade marked as its own) is removed, once a remote LLM has answered a
    test call; anything else there is kept and named."""
    require("botorch", "matplotlib", "sentence_transformers")  # the train extra, before any folder is made
    llm = resolve_llm(llm_spec)
    if base is not None:
        check_model_source(base)
    check_work_directory(out, inputs={"--base": base, **(inputs or {})})  # type: ignore[dict-item]
    if overwrite and out.is_dir() and any(out.iterdir()):
        if not runs_here(llm):  # the endpoint answers before the earlier run is removed
            check_llm_answers(llm, before=f"--out {out}")
        kept = clear_run_folder(out)  # blade's own stages and reports; check_work_directory refused anyone else's
        if kept:
            console.print(f"--overwrite: kept in {out} what blade did not write there: {', '.join(kept)}",
                          markup=False)
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


def _pairs_from_the_corpus(config: TrainConfig) -> tuple[list[Path], Path]:
    """No KIT pairs and an LLM that writes: it rewrites the corpus (`augment-corpus`: paraphrases
    and question-answer pairs of each passage; resumable, cached); DP reads the rewrites too, and
    the question-answer pairs are KIT pairs. Without an LLM, the corpus's own pairs do instead
    (`training.corpus_pairs`)."""
    from blade_core.data import read_jsonl
    from blade_core.datagen.augment_corpus import augment_corpus, qa_pairs
    from blade_core.datagen.augment_corpus_config import AugmentCorpusConfig

    rewrites, kit = config.out / "augmented.jsonl", config.out / "kit.jsonl"
    report = augment_corpus(AugmentCorpusConfig(corpus=config.corpus, llm=config.llm, out=rewrites, progress=False))
    console.print(f"stage augment: {report.summary()}", markup=False)
    report.raise_if_incomplete()
    pairs = [{"instruction": question, "input": "", "output": answer}
             for _, record in read_jsonl(rewrites) if str(record.get("source", "")).endswith("#qa")
             for question, answer in qa_pairs(str(record["text"]))]
    kit.write_text("".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in pairs), encoding="utf-8")
    console.print(f"stage kit-data: {len(pairs)} KIT pairs from the LLM's question-answer rewrites", markup=False)
    return [*config.corpus, rewrites], kit


def run_train(config: TrainConfig) -> PipelineReport:
    """Every stage for the user's domain under `config.out`; see the module docstring."""
    started = time.perf_counter()
    inputs = {"--corpus": config.corpus, "--kit": config.kit, "--questions": config.questions,
              "--dev": config.dev, "--test": config.test, "--names": config.names}
    load_corpus(config.corpus)  # every input read before anything is written or trained
    for path in (config.dev, config.test, config.questions):
        if path is not None:
            load_mcq(path)
    if config.kit is not None:
        load_instructions(config.kit)
    if config.names is not None:
        load_names(config.names)
    prepare_out(config.out, config.llm, config.base, config.overwrite, inputs)
    corpus, kit = config.corpus, config.kit
    if config.questions is not None:
        kit = _make_kit_pairs(config)
    elif kit is None and not runs_here(resolve_llm(config.llm)):
        corpus, kit = _pairs_from_the_corpus(config)
    data = DomainData(corpus=corpus, kit=kit, dev=config.dev, test=config.test, names=config.names)
    recipe = config.recipe()
    models, timings = train_all(config.out, recipe, config.llm, data, ablations=False)
    recall = check_storage(models["dp"], data, recipe.dp_epochs)
    names = check_names(models["dp"], data)
    access = check_access(models, data)
    evaluation = None
    if config.test is not None:
        evaluation = _evaluate(config.out, config.llm, data, {"blade": models["bpo"]}, recipe,
                               dataset=str(config.test))
    report = PipelineReport(recipe=recipe.name, evaluation=evaluation, fact_recall=recall, access=access, names=names,
                            stage_seconds=timings, seconds=round(time.perf_counter() - started, 1))
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
    names = check_names(models["dp"], data)
    access = check_access(models, data)
    evaluation = _evaluate(out, llm_spec, data, {
        "blade": models["bpo"],
        "without BPO": models["kit"],
        "without KIT": models["dp"],
        "without DP": models["kit-without-dp"],
    }, recipe, dataset=f"sample domain ({domain}) test split")
    report = PipelineReport(recipe=recipe.name, evaluation=evaluation, fact_recall=recall, access=access, names=names,
                            stage_seconds=timings, seconds=round(time.perf_counter() - started, 1))
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
    """`report.md` for people, and the same as `pipeline.json` (stage times, storage, access)."""
    (out / "pipeline.json").write_text(report.model_dump_json(indent=1, exclude={"evaluation"}) + "\n", encoding="utf-8")
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
        top_k = EvalSettings().top_k  # `_evaluate` scores with the default settings
        lines += ["", "Modes: `blade` is DP + KIT + BPO; `without ...` drop one stage (no BPO on those); "
                  f"`rag` is the top-{top_k} corpus passages (MiniLM; BM25 for a Chinese corpus); `hybrid` is "
                  f"the passages about the question's entities (at most {top_k} of the top {HYBRID_POOL * top_k}), "
                  "then BLADE's knowledge. "
                  "Every answer is in `report.questions.jsonl`.", "", "![accuracy by mode](report.png)"]
    else:
        lines += [f"Recipe: {report.recipe}. No test set was given, so nothing was scored (pass --test)."]
    if report.fact_recall:
        lines += ["", f"Storage: {report.fact_recall}. Low recall means DP did not store the facts "
                  "(more DP epochs or a larger model); high recall with low blade accuracy means KIT "
                  "and BPO do not bring them out."]
    if report.access:
        lines += ["", "Access (dev): " + "; ".join(report.access) + ". Low access with high storage means the "
                  "model does not write the asked entity's facts; high access with low accuracy means the LLM "
                  "does not read them."]
    lines += ["", "Stage times (s, 0 when reused): "
              + ", ".join(f"{k} {v}" for k, v in report.stage_seconds.items())]
    plots = sorted((out / "bpo" / "training").glob("*.png")) + sorted((out / "bpo" / "bpo").glob("*.png"))
    lines += [f"![{p.stem}]({p.relative_to(out)})" for p in plots]
    lines += ["", f"Total time: {report.seconds} s.", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
