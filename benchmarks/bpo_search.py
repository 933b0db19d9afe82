"""How well does BPO's search work? BO vs random search vs the authors' setting, at one budget.

    python benchmarks/bpo_search.py [--work DIR] [--budget 45] [--llm offline]
    python benchmarks/bpo_search.py --objective synthetic [--seeds 5]

On the sample domain: trains a tiny domain LM (DP then KIT; reused on a re-run), then runs BPO three
ways with the same budget of dev evaluations, each from the same text-initialized start:

* BO: our defaults, 8 Sobol points, then qLogEI batches of 4;
* random search: every evaluation a Sobol point (no model);
* the authors' setting: 5 initial points and 2 rounds of BO, batches sized to spend the budget
  (the default budget of 45 is exactly their 5 + 2 x 20).

It prints the dev accuracy with no soft prompt, with the start and after each search, the test
accuracy of each result (dev accuracy of the best of many candidates is optimistic; test is not),
evaluations-to-best, and the evaluations each search needed to reach the best score all three
reached (a common target, so the searches are compared at one level). All runs share one LLM cache,
so repeated prompts are never re-asked.

When the dev score is flat (a model whose knowledge is near chance), every search ties and says
nothing about search efficiency; `--objective synthetic` runs the same three schedules, through the
same `sobol_points` / `propose` BPO uses, on a smooth function over [-1, 1]^10 with a known maximum
of 1.0 (a Gaussian bump at a random point per seed) and prints, over --seeds, the median best score
after 10, 20 and all evaluations and the evaluations each needs to reach random search's final level.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path

import torch

from blade_core.bpo import BpoConfig, run_bpo
from blade_core.bpo.optimizer import propose, sobol_points
from blade_core.data import load_corpus, load_mcq
from blade_core.llm import resolve_llm
from blade_core.llm.scoring import accuracy, ask_with_knowledge
from blade_core.model.config import BladeConfig
from blade_core.sample_domain import load_sample_domain
from blade_core.training import KitConfig, PretrainConfig, run_kit, run_pretrain
from blade_core.training.model_builder import init_model
from blade_core.writers.domain_lm import DomainLM

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


def schedules(budget: int) -> dict[str, dict[str, int]]:
    """n_init and q of each search: ours, random (all Sobol), and the authors' 5 + 2 rounds."""
    return {
        "BO (8 Sobol + qLogEI, q=4)": {"n_init": 8, "batch_size": 4},
        "random search (Sobol)": {"n_init": budget, "batch_size": 1},
        "authors (5 init + 2 rounds)": {"n_init": 5, "batch_size": -(-(budget - 5) // 2)},
    }


def bump(seed: int, dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """exp(-|x - x*|^2 / 2): maximum 1.0 at a random x* in [-0.5, 0.5]^dim."""
    optimum = torch.rand(dim, generator=torch.Generator().manual_seed(1000 + seed), dtype=torch.float64) - 0.5
    return lambda x: torch.exp(-0.5 * ((x - optimum) ** 2).sum(-1))


def synthetic_scores(objective: Callable[[torch.Tensor], torch.Tensor], n_init: int, batch_size: int, budget: int,
                     seed: int, dim: int) -> list[float]:
    """The scores in evaluation order of one search, as `run_bpo` schedules it (defaults of BpoConfig)."""
    defaults = {name: field.default for name, field in BpoConfig.model_fields.items()}
    x = sobol_points(n_init, dim, seed)
    y = objective(x)
    round_ = 0
    while len(y) < budget:
        round_ += 1
        new = propose(x, y, q=min(batch_size, budget - len(y)), num_restarts=defaults["num_restarts"],
                      raw_samples=defaults["raw_samples"], maxiter=defaults["acqf_maxiter"], seed=seed + round_)
        x, y = torch.cat([x, new]), torch.cat([y, objective(new)])
    return y.tolist()


def synthetic(budget: int, seeds: int, dim: int = 10) -> None:
    traces: dict[str, list[list[float]]] = {name: [] for name in schedules(budget)}
    for seed in range(seeds):
        for name, setting in schedules(budget).items():
            scores = synthetic_scores(bump(seed, dim), setting["n_init"], setting["batch_size"], budget, seed, dim)
            traces[name].append([max(scores[: i + 1]) for i in range(len(scores))])
    random_final = [best[-1] for best in traces["random search (Sobol)"]]
    print(f"\nSynthetic objective over [-1, 1]^{dim} (maximum 1.0), budget {budget}, {seeds} seeds; medians")
    print(f"{'search':32} {'best@10':>8} {'best@20':>8} {f'best@{budget}':>8} {'evals to random@' + str(budget):>20}")
    for name, bests in traces.items():
        reach = [next((i for i, b in enumerate(best, 1) if b >= target), budget + 1)
                 for best, target in zip(bests, random_final)]
        at = [statistics.median(best[n - 1] for best in bests) for n in (10, 20, budget)]
        needed = statistics.median(reach)
        shown = f"{needed:g}" if needed <= budget else f">{budget}"
        print(f"{name:32} {at[0]:8.3f} {at[1]:8.3f} {at[2]:8.3f} {shown:>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/blade-bpo-bench"))
    parser.add_argument("--budget", type=int, default=45)
    parser.add_argument("--llm", default="offline")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--train-steps", type=int, default=1200, help="DP steps (KIT gets a third)")
    parser.add_argument("--objective", choices=["dev", "synthetic"], default="dev")
    parser.add_argument("--seeds", type=int, default=5, help="synthetic objective: searches per schedule")
    args = parser.parse_args()
    if args.objective == "synthetic":
        return synthetic(args.budget, args.seeds)
    model = domain_model(args.work, args.train_steps)
    rows = []
    for name, setting in schedules(args.budget).items():
        out = args.work / ("bpo-" + name.split()[0].lower())
        config = BpoConfig(model=str(model), dev=load_sample_domain().dev, out=out, llm=args.llm,
                           init_text=INIT_TEXT, budget=args.budget, patience=0, resume=True, progress=False,
                           max_new_tokens=args.max_new_tokens, llm_cache=args.work / "llm_cache.sqlite",
                           **setting)
        result = run_bpo(config)
        trace = json.loads((out / "bpo" / "trace.json").read_text())
        scores = [e["score"] for e in trace["evaluations"]]
        rows.append((name, result, max(scores), scores.index(max(scores)) + 1, scores,
                     test_accuracy(out, args.llm, args.max_new_tokens)))
    baselines = rows[0][1].baseline_scores
    print(f"\nSample domain, LLM {args.llm}, budget {args.budget} evaluations of "
          f"{len(load_mcq(load_sample_domain().dev))} dev questions")
    print(f"dev accuracy, no soft prompt: {baselines['baseline-none']:.3f}; "
          f"start (--init-text): {baselines['baseline-start']:.3f}")
    target = min(best for _, _, best, _, _, _ in rows)
    print(f"{'search':32} {'best dev':>8} {'evals to best':>13} {f'evals to {target:.3f}':>15} {'saved':>14} "
          f"{'test acc':>8}")
    for name, result, best, to_best, scores, test in rows:
        to_target = next(i for i, score in enumerate(scores, 1) if score >= target)
        print(f"{name:32} {best:8.3f} {to_best:13d} {to_target:15d} {result.best_label:>14} {test:8.3f}")


if __name__ == "__main__":
    main()
