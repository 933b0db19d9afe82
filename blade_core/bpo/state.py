"""The BPO run's state on disk, so a killed run resumes exactly, repeating no evaluation.

`OUT.work/state.json` holds every evaluation so far (z, score, per-question correctness, failures),
the candidates already proposed but not yet evaluated (the Sobol start points are proposed all at
once, so no RNG state needs saving), the round number and the LLM calls spent. It is JSON, written
to a temp file and renamed after every evaluation: a kill at any moment leaves either the old or the
new state, never a torn one. Each evaluation's full answers go to `OUT.work/answers/LABEL.jsonl`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from blade_core.atomic import write_text_atomic
from blade_core.errors import BladeError

STATE_FILE = "state.json"
ANSWERS_DIR = "answers"
SOBOL_ROUND = 0


class ResumeError(BladeError, RuntimeError):
    """A work dir that does not match the requested run (or a run that cannot resume)."""


class Evaluation(BaseModel):
    """One dev-set evaluation of a soft prompt: a candidate z, or a baseline (z is None)."""

    label: str = Field(description="'baseline-none', 'baseline-start' or 'eval-NNNN'")
    round: int = Field(description="0: Sobol start points; k: the k-th BO round; -1: a baseline")
    z: list[float] | None
    score: float = Field(description="accuracy over the questions the LLM answered")
    correct: list[bool | None] = Field(description="per dev question; None where the LLM call failed")
    failed: list[str] = Field(description="ids of questions whose LLM call failed after retries")
    llm_calls: int = Field(description="LLM calls spent by the run up to and including this one")


class BpoState(BaseModel):
    run: dict[str, Any] = Field(description="what fixes the run; a resume must match it")
    baselines: list[Evaluation] = Field(default_factory=list)
    evaluations: list[Evaluation] = Field(default_factory=list)
    pending: list[list[float]] = Field(default_factory=list, description="proposed, not yet evaluated")
    round: int = SOBOL_ROUND
    llm_calls: int = 0

    @classmethod
    def open(cls, work_dir: Path, run: dict[str, Any], *, resume: bool, overwrite: bool = False) -> BpoState:
        """The saved state when resuming (checked against `run`), else a fresh one.

        Refuses to silently overwrite an earlier run's state: that is what --resume (continue) and
        --overwrite (start afresh: the state and answers go, the LLM cache stays) are for.
        """
        path = work_dir / STATE_FILE
        if path.is_file() and overwrite and not resume:
            path.unlink()
            shutil.rmtree(work_dir / ANSWERS_DIR, ignore_errors=True)
        if not path.is_file():
            return cls(run=run)
        if not resume:
            raise ResumeError(
                f"{work_dir} holds the state of an earlier BPO run; pass --resume to continue it, "
                "or --overwrite to start afresh (its LLM cache saves re-paying for calls)"
            )
        state = cls.model_validate_json(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in run.keys() | state.run.keys() if run.get(k) != state.run.get(k))
        if changed:
            details = "; ".join(f"{k}: saved {state.run.get(k)!r}, now {run.get(k)!r}" for k in changed)
            raise ResumeError(f"cannot resume {work_dir}: the run's settings changed ({details})")
        return state

    def save(self, work_dir: Path) -> None:
        write_text_atomic(work_dir / STATE_FILE, self.model_dump_json(indent=1))

    def add(self, evaluation: Evaluation) -> None:
        """Record a finished candidate evaluation; it was the first pending candidate."""
        self.pending.pop(0)
        self.evaluations.append(evaluation)

    def best(self) -> Evaluation | None:
        """The best candidate so far; the earliest one on ties."""
        return max(self.evaluations, key=lambda e: e.score, default=None)

    def best_score(self) -> float:
        best = self.best()
        return float("-inf") if best is None else best.score

    def best_baseline(self) -> Evaluation:
        """The better baseline; 'none' wins ties (an equally good start is not worth keeping)."""
        return max(self.baselines, key=lambda e: e.score)

    def rounds_without_improvement(self) -> int:
        best = self.best()
        return 0 if best is None else self.round - best.round

    def next_label(self) -> str:
        return f"eval-{len(self.evaluations):04d}"


def write_answers(work_dir: Path, label: str, answers: list[dict[str, Any]]) -> Path:
    """Keep one evaluation's full answers (knowledge, reply, error) for inspection and the result."""
    path = work_dir / ANSWERS_DIR / f"{label}.jsonl"
    write_text_atomic(path, "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers))
    return path
