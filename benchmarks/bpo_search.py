"""How well does BPO's search work? BO vs random search vs the authors' setting, at one budget.

    python benchmarks/bpo_search.py [--work DIR] [--budget 21] [--llm offline]

On the sample domain: trains a tiny domain LM (DP then KIT; reused on a re-run), then runs BPO three
ways with the same budget of dev evaluations, each from the same text-initialized start:

* BO: our defaults, 8 Sobol points, then qLogEI batches of 4;
* random search: every evaluation a Sobol point (no model);
* the authors' setting: 5 initial points and 2 rounds of BO, batches sized to spend the budget.

It prints the dev accuracy with no soft prompt, with the start and after each search, the test
accuracy of each result (dev accuracy of the best of many candidates is optimistic; test is not), and
evaluations-to-best. All runs share one LLM cache, so repeated prompts are never re-asked.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from blade_core.blade_config import BladeConfig
from blade_core.bpo import BpoConfig, run_bpo
from blade_core.data import load_corpus, load_mcq
from blade_core.domain_lm import DomainLM
from blade_core.llm import resolve_llm
from blade_core.model_builder import init_model
from blade_core.sample_domain import load_sample_domain
from blade_core.scoring import accuracy, ask_with_knowledge
from blade_core.training import KitConfig, PretrainConfig, run_kit, run_pretrain

INIT_TEXT = "State the facts about the drug or disease in the question."


def domain_model(work: Path, steps: int) -> Path:
    """A tiny model after DP (with KIT pairs mixed in) and KIT; built once, reused after."""
    domain = load_sample_domain()
    init, dp, kit = work / "model-init", work / "model-dp", work / "model-kit"
    if BladeConfig.load(kit) is None:
        init_model(load_corpus(domain.corpus), init, size="tiny")
        run_pretrain(PretrainConfig(model=str(init), out=dp, corpus=[domain.corpus], mix_instructions=domain.kit,
                                    max_steps=steps, batch_size=16, learning_rate=2e-3, block_size=128,
                                    plot_loss=False, progress=False))
        run_kit(KitConfig(model=str(dp), out=kit, data=domain.kit, max_steps=steps // 3, batch_size=16,
                          learning_rate=1e-3, plot_loss=False, progress=False))
    return kit


def test_accuracy(model_dir: Path, llm_spec: str, max_new_tokens: int) -> float:
    lm = DomainLM.from_pretrained(model_dir)
    questions = load_mcq(load_sample_domain().test)
    knowledge = lm.generate_knowledge([q.with_options_text() for q in questions], max_new_tokens=max_new_tokens)
    return accuracy(ask_with_knowledge(resolve_llm(llm_spec), questions, knowledge))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/blade-bpo-bench"))
    parser.add_argument("--budget", type=int, default=21)
    parser.add_argument("--llm", default="offline")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--train-steps", type=int, default=1200, help="DP steps (KIT gets a third)")
    args = parser.parse_args()
    model = domain_model(args.work, args.train_steps)
    settings = {
        "BO (8 Sobol + qLogEI, q=4)": {"n_init": 8, "batch_size": 4},
        "random search (Sobol)": {"n_init": args.budget, "batch_size": 1},
        "authors (5 init + 2 rounds)": {"n_init": 5, "batch_size": -(-(args.budget - 5) // 2)},
    }
    rows = []
    for name, setting in settings.items():
        out = args.work / ("bpo-" + name.split()[0].lower())
        config = BpoConfig(model=str(model), dev=load_sample_domain().dev, out=out, llm=args.llm,
                           init_text=INIT_TEXT, budget=args.budget, patience=0, resume=True, progress=False,
                           max_new_tokens=args.max_new_tokens, llm_cache=args.work / "llm_cache.sqlite",
                           **setting)
        result = run_bpo(config)
        trace = json.loads((out / "bpo" / "trace.json").read_text())
        scores = [e["score"] for e in trace["evaluations"]]
        rows.append((name, result, max(scores), scores.index(max(scores)) + 1,
                     test_accuracy(out, args.llm, args.max_new_tokens)))
    baselines = rows[0][1].baseline_scores
    print(f"\nSample domain, LLM {args.llm}, budget {args.budget} evaluations of "
          f"{len(load_mcq(load_sample_domain().dev))} dev questions")
    print(f"dev accuracy, no soft prompt: {baselines['baseline-none']:.3f}; "
          f"start (--init-text): {baselines['baseline-start']:.3f}")
    print(f"{'search':32} {'best dev':>8} {'evals to best':>13} {'saved':>14} {'test acc':>8}")
    for name, result, best, to_best, test in rows:
        print(f"{name:32} {best:8.3f} {to_best:13d} {result.best_label:>14} {test:8.3f}")


if __name__ == "__main__":
    main()
