"""Knowledge quality: each lever of the quickstart recipe measured alone, on dev and test.

    python benchmarks/knowledge_quality.py [--levers default,no-augmentation,...] [--work DIR] [--domain zh]

Every lever is the default recipe (`blade_core.pipeline.recipe.FULL`) with one thing changed. For each,
the script trains init -> DP -> KIT (reusing finished stages in the work directory: `blade
quickstart --out WORK/default` trains the default), and scores the
offline general LLM on a packaged sample domain's dev and test splits (`--domain`: en, the
pharmacopoeia; zh, the Chinese regulations in the JEC-QA layout) given the model's knowledge:
`acc` (its accuracy) and `contains` (the share of knowledge texts naming every correct option).
Evaluation-time levers (BPO, hybrid retrieval queries) reuse the default's model. `rag` and
`hybrid` are scored for the default, with the retriever the corpus calls for (MiniLM; BM25 for
Chinese); the `retrievers` lever scores each retriever. Choices are made on dev; test is only
reported.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blade_core.data import MCQuestion, load_mcq
from blade_core.evaluation import EvalSettings, evaluate
from blade_core.pipeline.recipe import DomainData
from blade_core.pipeline.run import FULL, train_all
from blade_core.retrieval import Retriever
from blade_core.sample_domain import SAMPLE_LANGUAGES, load_sample_domain
from blade_core.writers.domain_lm import DomainLM

TRAINING_LEVERS: dict[str, dict[str, Any]] = {
    "default": {},
    "no-augmentation": {"sentence_permutations": 0, "entity_documents": 0},
    "augmentation-x8-x4": {"sentence_permutations": 8, "entity_documents": 4},
    "permutations-only": {"entity_documents": 0},
    "entity-documents-only": {"sentence_permutations": 0},
    "no-instruction-mixing": {"instruction_repeats": 0},
    "dp-epochs-x2": {"dp_epochs": FULL.dp_epochs * 2},
    "tiny-model": {"size": "tiny"},
    "seed-1": {"seed": 1},
}
EVAL_LEVERS = ("no-kit-stage", "no-option-knowledge", "bpo", "hybrid-queries", "self-consistency", "retrievers")


def contains_answer(knowledge: str, question: MCQuestion) -> bool:
    text = knowledge.lower()
    return all(question.options[letter].lower() in text for letter in question.answer)


def self_consistent(lm: DomainLM, n_samples: int, mode: str) -> Callable[[list[MCQuestion]], list[str]]:
    """Knowledge from `n_samples` sampled texts per question, combined by the LangChain runnable."""
    from langchain_blade import BladeKnowledgeRunnable

    runnable = BladeKnowledgeRunnable(model=lm, output="str", n_samples=n_samples, sample_mode=mode)
    return lambda questions: runnable.batch([q.with_options_text() for q in questions])


def score(model: Path, splits: dict[str, list[MCQuestion]], corpus: Path | None = None,
          hybrid_query: str = "question", samples: tuple[int, str] | None = None,
          option_knowledge: bool | None = None, retriever: Retriever = "auto") -> dict[str, dict[str, float]]:
    """Per split: blade acc and contains; with a corpus, also rag and hybrid acc; with `samples`
    (n, "vote" or "join"), the knowledge is self-consistent over n samples instead of greedy;
    `option_knowledge` overrides the model's knowledge-per-option setting."""
    lm = DomainLM.from_pretrained(model)
    scores = {}
    for name, questions in splits.items():
        sampled = {"blade": self_consistent(lm, *samples)(questions)} if samples else None
        report = evaluate(questions, "offline", models=None if sampled else {"blade": lm},
                          knowledge_sources=sampled, rag_corpus=corpus,
                          modes=["blade", "rag", "hybrid"] if corpus else ([] if sampled else ["blade"]),
                          settings=EvalSettings(hybrid_query=hybrid_query, option_knowledge=option_knowledge,
                                               retriever=retriever, progress=False), dataset=name)
        scores[name] = {mode: round(r.accuracy, 3) for mode, r in report.results.items()}
        knowledge = [a.knowledge or "" for a in report.answers if a.mode == "blade"]
        scores[name]["contains"] = round(sum(map(contains_answer, knowledge, questions)) / len(questions), 3)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", default=",".join([*TRAINING_LEVERS, *EVAL_LEVERS]))
    parser.add_argument("--work", type=Path, default=Path("runs/knowledge_quality"))
    parser.add_argument("--domain", choices=SAMPLE_LANGUAGES, default="en")
    args = parser.parse_args()

    domain = load_sample_domain(language=args.domain)
    data = DomainData.sample(args.domain)
    splits = {"dev": load_mcq(domain.dev), "test": load_mcq(domain.test)}
    rows: dict[str, dict[str, Any]] = {}
    for lever in args.levers.split(","):
        started = time.perf_counter()
        if lever in TRAINING_LEVERS:
            recipe = FULL.model_copy(update={"name": lever, **TRAINING_LEVERS[lever]})
            models, _ = train_all(args.work / lever, recipe, llm_spec=None, data=data, ablations=False)
            model = models["kit"]
            corpus = domain.corpus if lever == "default" else None
            rows[lever] = score(model, splits, corpus)
        elif lever == "no-kit-stage":  # the default's DP model: KIT pairs were mixed into DP
            models, _ = train_all(args.work / "default", FULL, llm_spec=None, data=data, ablations=False)
            rows[lever] = score(models["dp"], splits)
        elif lever == "no-option-knowledge":  # the default's model, each question generated once
            models, _ = train_all(args.work / "default", FULL, llm_spec=None, data=data, ablations=False)
            rows[lever] = score(models["kit"], splits, option_knowledge=False)
        elif lever == "bpo":
            models, _ = train_all(args.work / "default", FULL, llm_spec="offline", data=data, ablations=False)
            rows[lever] = score(models["bpo"], splits)
        elif lever == "hybrid-queries":
            models, _ = train_all(args.work / "default", FULL, llm_spec=None, data=data, ablations=False)
            for query in ("knowledge", "both"):
                rows[f"hybrid-query-{query}"] = score(models["kit"], splits, domain.corpus, query)
                print(f"hybrid-query-{query}", json.dumps(rows[f"hybrid-query-{query}"]), flush=True)
            continue
        elif lever == "retrievers":
            models, _ = train_all(args.work / "default", FULL, llm_spec=None, data=data, ablations=False)
            for retriever in ("minilm", "bm25"):
                rows[f"retriever-{retriever}"] = score(models["kit"], splits, domain.corpus, retriever=retriever)
                print(f"retriever-{retriever}", json.dumps(rows[f"retriever-{retriever}"]), flush=True)
            continue
        elif lever == "self-consistency":
            models, _ = train_all(args.work / "default", FULL, llm_spec=None, data=data, ablations=False)
            for n, mode in ((5, "vote"), (5, "join")):
                rows[f"samples-{n}-{mode}"] = score(models["kit"], splits, samples=(n, mode))
                print(f"samples-{n}-{mode}", json.dumps(rows[f"samples-{n}-{mode}"]), flush=True)
            continue
        else:
            parser.error(f"unknown lever {lever!r}; choose from {[*TRAINING_LEVERS, *EVAL_LEVERS]}")
        rows[lever]["seconds"] = round(time.perf_counter() - started, 1)
        print(lever, json.dumps(rows[lever]), flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    saved = args.work / "results.json"  # levers measured by earlier runs are kept
    rows = {**(json.loads(saved.read_text()) if saved.exists() else {}), **rows}
    saved.write_text(json.dumps(rows, indent=2) + "\n")
    print("| lever | dev acc | dev contains | test acc | test contains | rag (test) | hybrid (test) |")
    print("|---|---|---|---|---|---|---|")
    for lever, row in rows.items():
        dev, test = row["dev"], row["test"]
        print(f"| {lever} | {dev['blade']:.3f} | {dev['contains']:.3f} | {test['blade']:.3f} | "
              f"{test['contains']:.3f} | {test.get('rag', '')} | {test.get('hybrid', '')} |")


if __name__ == "__main__":
    main()
