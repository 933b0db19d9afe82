"""`blade quickstart`: the first thing a new user runs, on the packaged sample domain, offline.

Today it builds the from-scratch domain LM and measures the general LLM on the sample test split
with no knowledge, with the reference (gold) knowledge, and with the knowledge the domain LM writes.
The training stages (DP, KIT, BPO) join this pipeline as they land; until then the report says so,
and the untrained model's row shows the floor they start from.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from blade_core.blade_config import BladeConfig
from blade_core.data import load_corpus, load_mcq
from blade_core.domain_lm import DomainLM
from blade_core.llm import resolve_llm
from blade_core.model_builder import ModelSize, init_model
from blade_core.sample_domain import load_sample_domain
from blade_core.scoring import accuracy, ask_with_knowledge

PENDING_STAGES = "DP, KIT and BPO are not implemented yet: the domain LM below is untrained."


class ModeResult(BaseModel):
    mode: str
    accuracy: float
    correct: int
    n: int
    seconds: float


class QuickstartReport(BaseModel):
    llm: str
    model: str
    n: int
    results: list[ModeResult]
    note: str
    seconds: float


def run_quickstart(out: Path, *, llm_spec: str = "offline", size: ModelSize = "tiny",
                   fast: bool = False) -> QuickstartReport:
    """Build (or reuse) the domain LM under `out` and score the LLM on the sample test split."""
    started = time.perf_counter()
    domain = load_sample_domain()
    questions = load_mcq(domain.test)
    if fast:
        questions = questions[:40]
    model_dir = out / "model-init"
    if BladeConfig.load(model_dir) is None:  # finished stages are reused on a re-run
        init_model(load_corpus(domain.corpus), model_dir, size=size)
    lm = DomainLM.from_pretrained(model_dir)
    llm = resolve_llm(llm_spec)

    knowledge_by_mode: dict[str, list[str | None]] = {
        "none": [None] * len(questions),
        "gold": [q.knowledge for q in questions],
    }
    generated_at = time.perf_counter()
    knowledge_by_mode["blade (untrained)"] = list(
        lm.generate_knowledge([q.with_options_text() for q in questions], max_new_tokens=48, progress=True)
    )
    generation_seconds = time.perf_counter() - generated_at

    results = []
    for mode, knowledge in knowledge_by_mode.items():
        t0 = time.perf_counter()
        scored = ask_with_knowledge(llm, questions, knowledge)
        seconds = time.perf_counter() - t0 + (generation_seconds if mode.startswith("blade") else 0.0)
        results.append(ModeResult(mode=mode, accuracy=accuracy(scored), correct=sum(s.correct for s in scored),
                                  n=len(scored), seconds=round(seconds, 2)))
    report = QuickstartReport(llm=llm_spec, model=str(model_dir), n=len(questions), results=results,
                              note=PENDING_STAGES, seconds=round(time.perf_counter() - started, 1))
    write_report_md(report, out / "report.md")
    return report


def write_report_md(report: QuickstartReport, path: Path) -> None:
    lines = [
        "# BLADE quickstart report",
        "",
        f"Sample domain test split, {report.n} questions; general LLM: `{report.llm}`; "
        f"domain LM: `{report.model}`.",
        "",
        f"**{report.note}**",
        "",
        "| mode | accuracy | correct | n | seconds |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r.mode} | {r.accuracy:.1%} | {r.correct} | {r.n} | {r.seconds} |" for r in report.results]
    lines += ["", f"Total time: {report.seconds} s.", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
