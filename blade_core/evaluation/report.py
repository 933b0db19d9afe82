"""Where an evaluation goes: report.json, every answer as JSON lines beside it, a table, a chart.

Each file is written to a temporary name in its folder and renamed, so an interrupted run leaves
the previous report or none, never a torn one that a later comparison would misread.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich import box
from rich.table import Table

from blade_core.atomic import atomic_file, write_text_atomic
from blade_core.data import write_jsonl
from blade_core.evaluation.runner import EvalReport, Split


def write_report(report: EvalReport, out: Path, answers_path: Path, plot_path: Path | None = None) -> None:
    """report.json at `out` (naming its answers file), the per-question answers, and the chart."""
    summary = {**report.model_dump(mode="json"), "answers_file": answers_path.name}
    write_jsonl(answers_path, [a.model_dump(mode="json") for a in report.answers])
    if plot_path is not None and report.results:
        write_plot(report, plot_path)
    write_text_atomic(out, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")


def _percent(split: Split) -> str:
    return f"{split.accuracy:.1%}" if split.answered else "-"


def table(report: EvalReport) -> Table:
    """One row per mode: accuracy overall and by question type, real LLM calls, failures, time."""
    grid = Table(title=f"{report.dataset}: {report.n} questions, LLM {report.llm}", box=box.SIMPLE_HEAD,
                 pad_edge=False)
    for column in ("mode", "accuracy", "correct", "single", "multi", "calls", "cached", "failed", "seconds"):
        grid.add_column(column, justify="left" if column == "mode" else "right")
    for mode, result in report.results.items():
        grid.add_row(
            mode, f"{result.accuracy:.1%}", f"{result.correct}/{result.answered}", _percent(result.single),
            _percent(result.multi), str(result.llm_calls), str(result.cache_hits), str(result.failed),
            f"{result.seconds:.1f}",
        )
    notes = [f"skipped {mode}: {why}" for mode, why in report.skipped.items()]
    notes += [f"warning: {warning}" for warning in report.warnings]
    grid.caption = "\n".join(["calls: LLM calls made (cache hits not counted); failed calls are not "
                              "scored", *notes])
    return grid


def write_plot(report: EvalReport, path: Path) -> None:
    """A bar chart of accuracy per mode, saved atomically as PNG."""
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend is left as it is

    modes = list(report.results)
    scores = [report.results[m].accuracy for m in modes]
    figure = Figure(figsize=(max(4.0, 1.2 * len(modes) + 1), 3.5))
    axes = figure.subplots()
    bars = axes.bar(modes, scores, color="tab:blue")
    axes.bar_label(bars, labels=[f"{s:.0%}" for s in scores])
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("accuracy")
    axes.set_title(f"{report.dataset} ({report.n} questions), LLM {report.llm}", fontsize=9)
    axes.tick_params(axis="x", labelrotation=20, labelsize=8)
    figure.tight_layout()
    with atomic_file(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
