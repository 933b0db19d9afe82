"""Score one LLM on one question set under several knowledge modes, side by side.

Every mode only decides the knowledge text each question gets; the asking, the answer parsing and
the scoring are `ask_with_knowledge` for all of them, so the modes differ in nothing else. The LLM
is a copy carrying a call counter and (optionally) a persistent SQLite cache, so a re-run repeats
no call and `llm_calls` counts only calls that reached the LLM (started minus cache hits, as in
`make-kit-data`). Knowledge generated for one mode is reused, not regenerated, by `hybrid`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from rich.console import Console

from blade_core.data import MCQuestion
from blade_core.errors import BladeError, LLMError
from blade_core.evaluation.config import MODES, EvalSettings
from blade_core.evaluation.rag import HYBRID_POOL, with_passages
from blade_core.llm import resolve_llm
from blade_core.llm.accounting import accounted
from blade_core.llm.scoring import (
    ScoredAnswer,
    accuracy,
    ask_with_knowledge,
    require_answers,
    unreadable_replies,
)
from blade_core.retrieval import PassageIndex

if TYPE_CHECKING:
    from blade_core.writers.domain_lm import DomainLM

T = TypeVar("T")
Knowledge = list[str | None]


class EvalInputError(BladeError, ValueError):
    """A mode was asked for but its input (model, corpus, reference knowledge) is missing or bad."""


class Split(BaseModel):
    """Accuracy over the questions the LLM answered: a failed call is neither right nor wrong."""

    accuracy: float
    correct: int
    n: int
    answered: int


class ModeResult(BaseModel):
    """One mode's score. `seconds` covers everything the mode needs (model loading and generation,
    index building, retrieval, LLM calls); pieces shared with another mode are made once but
    counted in each, so the figure is what the mode would cost on its own."""

    accuracy: float
    correct: int
    n: int
    llm_calls: int = Field(description="calls that reached the LLM (cache hits excluded)")
    cache_hits: int
    seconds: float
    answered: int = Field(description="questions the LLM answered; accuracy is over these")
    failed: int = Field(description="questions whose LLM call failed after retries (not scored)")
    single: Split
    multi: Split


class AnswerRecord(BaseModel):
    """One question under one mode, for auditing a score line by line."""

    id: str
    mode: str
    question: str
    options: dict[str, str]
    knowledge: str | None
    reply: str | None
    predicted: list[str]
    gold: list[str]
    correct: bool
    error: str | None


class EvalReport(BaseModel):
    dataset: str
    llm: str
    model: str | None = Field(description="the primary model (the CLI's --model), whose knowledge `hybrid` uses")
    models: dict[str, str] = Field(description="mode name -> model directory, for every BLADE mode")
    n: int
    results: dict[str, ModeResult]
    skipped: dict[str, str] = Field(description="mode -> why it did not run")
    warnings: list[str] = Field(default=[], description="what makes a score doubtful, per mode")
    settings: EvalSettings
    answers: list[AnswerRecord] = Field(default=[], exclude=True)

    def raise_if_incomplete(self, rerun: str) -> None:
        """`LLMError` when calls failed after their retries: those questions have no score.
        `rerun` says how to run again so that only the failed calls are retried."""
        failed = {mode: r.failed for mode, r in self.results.items() if r.failed}
        if failed:
            counts = ", ".join(f"{mode} {n}" for mode, n in failed.items())
            raise LLMError(
                f"LLM calls failed after their retries ({counts} of {self.n} questions); the report "
                f"scores the answered questions only: {rerun} to retry only the failed calls "
                "(answered ones are cached)"
            )


@dataclass
class _Mode:
    name: str
    make: Callable[[], Knowledge]


def _copy_of(make: Callable[[str], Sequence[str | None]], name: str) -> Knowledge:
    """A mode's own list of `make(name)`'s shared, computed-once texts."""
    return list(make(name))


class _Sources:
    """Makes each mode's knowledge. Expensive pieces (a model's generated texts, the passage index)
    are computed once; `spent` adds their full cost for every mode that uses them."""

    def __init__(
        self,
        questions: Sequence[MCQuestion],
        settings: EvalSettings,
        models: Mapping[str, str | Path | DomainLM],
        rag_corpus: Sequence[str | Path] | PassageIndex | None,
    ) -> None:
        self.questions = questions
        self.settings = settings
        self.models = models
        self.rag_corpus = rag_corpus
        self.spent = 0.0
        self._made: dict[str, tuple[Any, float]] = {}
        self._models: dict[str, DomainLM] = {}

    def _once(self, key: str, make: Callable[[], T]) -> T:
        if key not in self._made:
            started = time.perf_counter()
            self._made[key] = (make(), time.perf_counter() - started)
        value, seconds = self._made[key]
        self.spent += seconds
        return value

    def model(self, name: str) -> DomainLM:
        """Model `name`, loaded on first use (its load time counts in the first mode that writes)."""
        from blade_core.writers.domain_lm import DomainLM

        if name not in self._models:
            source = self.models[name]
            self._models[name] = source if isinstance(source, DomainLM) else DomainLM.from_pretrained(source)
        return self._models[name]

    def generated(self, name: str) -> list[str]:
        """Model `name`'s knowledge for every question, written from the question with its options."""

        def make() -> list[str]:
            return self.model(name).generate_knowledge(
                [q.with_options_text() for q in self.questions],
                batch_size=self.settings.batch_size,
                progress=self.settings.progress,
                **self.settings.given(),
            )

        return self._once(f"model:{name}", make)

    def index(self) -> PassageIndex:
        """The passage index, built on first use (and its build time counted in each mode)."""

        def build() -> PassageIndex:
            if isinstance(self.rag_corpus, PassageIndex):
                return self.rag_corpus
            assert self.rag_corpus is not None, "planned only with a corpus"
            return PassageIndex.from_corpus(self.rag_corpus, self.settings.passage_words, self.settings.retriever)

        return self._once("index", build)

    def retrieved(self, queries: Sequence[str], k: int) -> list[list[str]]:
        retriever = self.index()
        started = time.perf_counter()
        found = retriever.search(queries, k)
        self.spent += time.perf_counter() - started
        return found

    def rag(self) -> Knowledge:
        found = self.retrieved([q.with_options_text() for q in self.questions], self.settings.top_k)
        return [with_passages(None, passages) for passages in found]

    def hybrid(self, name: str) -> Knowledge:
        """Passages found by the `hybrid_query` the settings name, then model `name`'s knowledge.

        The passages pass the model's entity gate (`KnowledgeWriter.passages_about`): of the
        `HYBRID_POOL` x `top_k` best, the first `top_k` about the question's entities."""
        generated = self.generated(name)
        questions = [q.with_options_text() for q in self.questions]
        queries = {
            "question": questions,
            "knowledge": [k or q for q, k in zip(questions, generated)],
            "both": [f"{q}\n{k}" for q, k in zip(questions, generated)],
        }[self.settings.hybrid_query]
        found = self.retrieved(queries, HYBRID_POOL * self.settings.top_k)
        lm, given = self.model(name), self.settings.given()
        kept = [[passages[i] for i in lm.passages_about(question, passages, self.settings.top_k, **given)]
                for question, passages in zip(questions, found)]
        return [with_passages(k, passages) for k, passages in zip(generated, kept)]


def _plan(
    questions: Sequence[MCQuestion],
    sources: _Sources,
    modes: Sequence[str] | None,
    hybrid_model: str | None,
    knowledge_sources: Mapping[str, Sequence[str | None]],
) -> tuple[list[_Mode], dict[str, str]]:
    """The modes to run, in report order, and why the others were skipped.

    A mode whose input is missing is skipped with a note when it was left to the default, and is an
    `EvalInputError` when it was asked for by name.
    """
    wanted = list(MODES) if modes is None else list(modes)
    unknown = sorted(set(wanted) - set(MODES))
    if unknown:
        raise EvalInputError(f"unknown modes {unknown}; choose from {', '.join(MODES)}")
    with_gold = sum(q.knowledge is not None for q in questions)
    no_model = None if sources.models else "needs a BLADE model directory (--model)"
    no_corpus = None if sources.rag_corpus is not None else "needs a corpus to retrieve from (--rag-corpus)"
    missing = {
        "blade": no_model,
        "rag": no_corpus,
        "hybrid": " and ".join(filter(None, (no_model, no_corpus))) or None,
        "gold": None if with_gold == len(questions) else (
            f"needs reference knowledge on every question; {with_gold} of {len(questions)} have it"
        ),
    }
    plan: list[_Mode] = []
    skipped: dict[str, str] = {}
    for mode in (m for m in MODES if m in wanted):
        reason = missing.get(mode)
        if reason is not None:
            if modes is not None:
                raise EvalInputError(f"mode {mode!r} {reason}")
            skipped[mode] = reason
        elif mode == "none":
            plan.append(_Mode("none", lambda: [None] * len(questions)))
        elif mode == "blade":
            plan += [_Mode(name, partial(_copy_of, sources.generated, name)) for name in sources.models]
        elif mode == "rag":
            plan.append(_Mode("rag", sources.rag))
        elif mode == "hybrid":
            name = hybrid_model if hybrid_model is not None else next(iter(sources.models))
            if name not in sources.models:
                raise EvalInputError(f"hybrid_model {name!r} is not one of the models {list(sources.models)}")
            plan.append(_Mode("hybrid", partial(sources.hybrid, name)))
        else:
            plan.append(_Mode("gold", lambda: [q.knowledge for q in questions]))
    for name, texts in knowledge_sources.items():
        if len(texts) != len(questions):
            raise EvalInputError(
                f"knowledge source {name!r} has {len(texts)} texts for {len(questions)} questions"
            )
        plan.append(_Mode(name, partial(list, texts)))
    names = [m.name for m in plan]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise EvalInputError(
            f"several modes are named {clashes}; give models and knowledge sources distinct names"
        )
    return plan, skipped


def _split(scored: Sequence[ScoredAnswer]) -> Split:
    return Split(accuracy=accuracy(scored), correct=sum(s.correct for s in scored), n=len(scored),
                 answered=sum(s.error is None for s in scored))


def _llm_name(llm: str | BaseChatModel) -> str:
    if isinstance(llm, str):
        return llm
    model_name = getattr(llm, "model_name", None) or getattr(llm, "model", None)
    return f"{type(llm).__name__}:{model_name}" if isinstance(model_name, str) else type(llm).__name__


def evaluate(
    questions: Sequence[MCQuestion],
    llm: str | BaseChatModel,
    *,
    models: Mapping[str, str | Path | DomainLM] | None = None,
    rag_corpus: str | Path | Sequence[str | Path] | PassageIndex | None = None,
    knowledge_sources: Mapping[str, Sequence[str | None]] | None = None,
    modes: Sequence[str] | None = None,
    hybrid_model: str | None = None,
    settings: EvalSettings | None = None,
    cache_path: Path | None = None,
    dataset: str = "questions",
) -> EvalReport:
    """Score `llm` on `questions` under each mode; see the module docstring.

    models: mode name -> model directory (or a loaded `DomainLM`); each is a BLADE mode, so
        ablations ("blade: without BPO", ...) score side by side. The CLI passes {"blade": --model}.
    rag_corpus: corpus path(s), or a ready `PassageIndex`, for `rag` and `hybrid`.
    knowledge_sources: extra modes whose knowledge is given as is, one text (or None) per question.
    modes: built-in modes to run (`blade` = every model); None runs every one the inputs allow and
        notes the others in `skipped`; a named mode whose input is missing raises `EvalInputError`.
    hybrid_model: which model's knowledge `hybrid` adds passages to (default: the first).
    cache_path: SQLite file caching the LLM's replies across runs (None: no caching).
    """
    if not questions:
        raise EvalInputError("no questions to evaluate")
    if isinstance(rag_corpus, (str, Path)):
        rag_corpus = [rag_corpus]
    if rag_corpus is not None and not isinstance(rag_corpus, PassageIndex):
        absent = [str(p) for p in rag_corpus if not Path(p).exists()]
        if absent:  # found now, not after the modes before `rag` have spent their LLM calls
            raise EvalInputError(f"RAG corpus not found: {', '.join(absent)}")
    settings = settings or EvalSettings()
    chat = resolve_llm(llm, max_retries=settings.max_retries, timeout=settings.timeout)
    sources = _Sources(questions, settings, dict(models or {}), rag_corpus)
    plan, skipped = _plan(questions, sources, modes, hybrid_model, dict(knowledge_sources or {}))
    if any(mode.name in ("rag", "hybrid") for mode in plan):
        sources.index()  # a bad corpus line fails now, before any LLM call or cache file
    paid = accounted(chat, cache_path)
    console = Console(stderr=True, quiet=not settings.progress)
    results: dict[str, ModeResult] = {}
    answers: list[AnswerRecord] = []
    warnings: list[str] = []
    for mode in plan:
        started = time.perf_counter()
        sources.spent = 0.0
        knowledge = mode.make()
        knowledge_seconds = max(time.perf_counter() - started, sources.spent)  # shared pieces in full
        asked = time.perf_counter()
        calls_before, hits_before = paid.llm_calls, paid.cache_hits
        scored = ask_with_knowledge(paid.model, questions, knowledge, max_concurrency=settings.max_concurrency)
        require_answers(scored, then=f"mode {mode.name} got no answer, so no score is reported: fix the "
                        "endpoint and run the same command again (answered calls are cached)")
        unreadable = unreadable_replies(scored)
        if unreadable is not None:
            warnings.append(f"mode {mode.name}: {unreadable}")
        total = _split(scored)
        results[mode.name] = ModeResult(
            accuracy=total.accuracy, correct=total.correct, n=total.n, answered=total.answered,
            llm_calls=paid.llm_calls - calls_before, cache_hits=paid.cache_hits - hits_before,
            seconds=round(knowledge_seconds + time.perf_counter() - asked, 2),
            failed=total.n - total.answered,
            single=_split([s for s, q in zip(scored, questions) if not q.multi]),
            multi=_split([s for s, q in zip(scored, questions) if q.multi]),
        )
        answers += [
            AnswerRecord(id=q.id, mode=mode.name, question=q.question, options=q.options, knowledge=s.knowledge,
                         reply=s.reply, predicted=s.predicted, gold=s.gold, correct=s.correct, error=s.error)
            for q, s in zip(questions, scored)
        ]
        failed = f", {total.n - total.answered} calls failed" if total.answered < total.n else ""
        console.print(f"{mode.name}: {total.correct}/{total.answered} correct ({total.accuracy:.1%}){failed}")
    for skipped_mode, reason in skipped.items():
        console.print(f"skipped {skipped_mode}: {reason}")
    for warning in warnings:
        console.print(f"warning: {warning}", markup=False)
    named = {name: str(getattr(source, "name_or_path", source)) for name, source in sources.models.items()}
    hybrid_source = hybrid_model if hybrid_model is not None else next(iter(named), None)
    return EvalReport(
        dataset=dataset, llm=_llm_name(llm), model=named.get(hybrid_source) if hybrid_source else None,
        models=named, n=len(questions), results=results, skipped=skipped, warnings=warnings,
        settings=settings, answers=answers,
    )
