"""What DP and KIT buy: knowledge quality of a from-scratch model after each recipe, on the sample domain.

For every dev and test question the model writes knowledge (greedy); we report the share whose
knowledge contains the text of every correct option ("contains"), and the offline general model's
accuracy when given that knowledge ("llm"). Choices are made on dev; test is only reported.
Recipes: DP only, KIT only, DP then KIT, and DP with the KIT pairs mixed in, then KIT.

    python benchmarks/stage_quality.py [--size small] [--dp-epochs 8] [--kit-epochs 4] [--work DIR]

Finished recipes are reused when the work directory is kept (delete it to start over).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from blade_core.data import load_corpus, load_mcq
from blade_core.domain_lm import DomainLM
from blade_core.llm import resolve_llm
from blade_core.model_builder import init_model
from blade_core.sample_domain import load_sample_domain
from blade_core.scoring import accuracy, ask_with_knowledge
from blade_core.training import KitConfig, PretrainConfig, run_kit, run_pretrain


def contains_answer(knowledge: str, question) -> bool:
    text = knowledge.lower()
    return all(question.options[letter].lower() in text for letter in question.answer)


def measure(model_dir: Path, splits: dict[str, list], llm) -> dict[str, dict[str, float]]:
    lm = DomainLM.from_pretrained(model_dir)
    scores = {}
    for name, questions in splits.items():
        knowledge = lm.generate_knowledge([q.with_options_text() for q in questions], max_new_tokens=64)
        scored = ask_with_knowledge(llm, questions, knowledge)
        scores[name] = {
            "contains": round(sum(map(contains_answer, knowledge, questions)) / len(questions), 3),
            "llm": round(accuracy(scored), 3),
        }
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--dp-epochs", type=float, default=8)
    parser.add_argument("--kit-epochs", type=float, default=4)
    parser.add_argument("--dp-lr", type=float, default=1e-3)
    parser.add_argument("--kit-lr", type=float, default=5e-4)
    parser.add_argument("--work", type=Path, default=Path("runs/stage_quality"))
    args = parser.parse_args()

    domain = load_sample_domain()
    splits = {"dev": load_mcq(domain.dev), "test": load_mcq(domain.test)}
    llm = resolve_llm("offline")
    init = args.work / "init"
    if not init.is_dir():
        init_model(load_corpus(domain.corpus), init, size=args.size)

    common = {"batch_size": 8, "save_steps": 10_000, "progress": False, "logging_steps": 20, "resume": True}

    def dp(out: Path, **extra) -> Path:
        if not out.is_dir():
            run_pretrain(PretrainConfig(model=str(init), out=out, corpus=[domain.corpus], block_size=256,
                                        epochs=args.dp_epochs, learning_rate=args.dp_lr, **common, **extra))
        return out

    def kit(start: Path, out: Path) -> Path:
        if not out.is_dir():
            run_kit(KitConfig(model=str(start), out=out, data=domain.kit, epochs=args.kit_epochs,
                              learning_rate=args.kit_lr, **common))
        return out

    recipes = {
        "none (from scratch)": lambda: init,
        "DP only": lambda: dp(args.work / "dp"),
        "KIT only": lambda: kit(init, args.work / "kit"),
        "DP + KIT": lambda: kit(dp(args.work / "dp"), args.work / "dp-kit"),
        "DP(+KIT pairs) + KIT": lambda: kit(dp(args.work / "dp-mix", mix_instructions=domain.kit),
                                            args.work / "dp-mix-kit"),
    }
    results = {}
    for name, build in recipes.items():
        started = time.perf_counter()
        model_dir = build()
        train_seconds = time.perf_counter() - started
        results[name] = {**measure(model_dir, splits, llm), "train_seconds_this_run": round(train_seconds, 1)}
        print(name, json.dumps(results[name]), flush=True)
    best = max((n for n in results if n != "none (from scratch)"), key=lambda n: results[n]["dev"]["llm"])
    summary = {"size": args.size, "dp_epochs": args.dp_epochs, "kit_epochs": args.kit_epochs,
               "results": results, "best_on_dev": best}
    (args.work / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
