"""Knowledge generation speed: batched vs one question at a time, prefix caching, LangChain's batch, memory.

    python benchmarks/generation.py [--size 0.5b|tiny] [--batch 32] [--serial 8] [--max-new-tokens 64]

The models are `benchmarks/shapes.py`'s: `0.5b` is a Qwen2.5-0.5B-shaped Qwen2 with random weights
(speed does not depend on the weights' values), `tiny` the tests' scratch shape. The soft prompt is a
random projection (5 virtual tokens, as BPO searches). The questions are the sample domain's dev and
test questions with their options. Every generation is greedy and writes exactly --max-new-tokens
tokens (EOS is blocked until then), so random weights cannot stop early. Knowledge per option is
off: each question is one row, as in the naive loop (with it on, a question with 4 options is 5
rows, batched the same way).

(a) the loop a naive wrapper runs (one question per `generate`, no prefix cache) on the first
    --serial questions, against `generate_knowledge` of --batch questions in one batch, with and
    without the prefix cache, taking turns for --repeats rounds: median questions/s, the ratio of
    each round and their median, and whether the outputs are identical;
(b) time to first token (prefill + one token) with and without the prefix cache, for one question
    and for a batch;
(c) `BladeKnowledgeRunnable.batch` of --runnable-questions against `generate_knowledge` of as many
    (--repeats of each, in turn; medians, and the ratio of each round);
(d) peak RSS while generating one batch, in a fresh subprocess (`--parts rss`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from machine import CpuShare, machine
from shapes import SIZES, build_lm

from blade_core.data import load_mcq
from blade_core.model.soft_prompt import RandomProjection
from blade_core.sample_domain import load_sample_domain
from blade_core.writers.domain_lm import DomainLM

PARTS = ("loop", "ttft", "runnable", "rss")


def prompted_lm(size: str, dtype: torch.dtype) -> DomainLM:
    """The random-weight model of `size` with a random 5-token soft prompt."""
    lm = build_lm(size, dtype)
    projection = RandomProjection.for_embeddings(lm.model.get_input_embeddings().weight.float(), seed=0)
    return lm.with_soft_prompt(projection(torch.linspace(-1, 1, projection.config.intrinsic_dim)))


def questions(n: int) -> list[str]:
    domain = load_sample_domain()
    pool = [q.with_options_text() for q in load_mcq(domain.dev) + load_mcq(domain.test)]
    return [pool[i % len(pool)] for i in range(n)]


def generate(lm: DomainLM, batch: list[str], new_tokens: int, batch_size: int) -> list[str]:
    """Greedy knowledge of exactly `new_tokens` tokens per question."""
    lm.model.generation_config.min_new_tokens = new_tokens  # views share the model, so all see it
    return lm.generate_knowledge(batch, max_new_tokens=new_tokens, batch_size=batch_size,
                                 option_knowledge=False)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def in_turn(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[list[float], Any]]:
    """Each run's seconds per round and its last result; the runs take turns, round after round,
    so a change in the machine's load or memory bandwidth hits all of them alike."""
    rounds: dict[str, tuple[list[float], Any]] = {name: ([], None) for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds, result = timed(run)
            rounds[name] = ([*rounds[name][0], seconds], result)
    return rounds


def paired(first: Callable[[], Any], second: Callable[[], Any], repeats: int) -> tuple[float, float, Any, Any]:
    """Median seconds of each and their last results, run in turn."""
    rounds = in_turn({"first": first, "second": second}, repeats)
    (first_s, first_result), (second_s, second_result) = rounds["first"], rounds["second"]
    return statistics.median(first_s), statistics.median(second_s), first_result, second_result


def uncached(lm: DomainLM) -> DomainLM:
    view = lm.with_soft_prompt(lm.soft_prompt)
    view.prefix_caching = False
    return view


def prompt_lengths(lm: DomainLM, batch: list[str], new_tokens: int) -> dict[str, float]:
    parts = [lm._prompt_parts(q, new_tokens) for q in batch]
    rests = [len(rest) for _, rest in parts]
    return {"shared_prefix_tokens": lm.n_soft_tokens + len(parts[0][0]),
            "question_and_suffix_tokens_mean": round(statistics.mean(rests), 1), "max": max(rests)}


def loop_vs_batch(lm: DomainLM, args: argparse.Namespace) -> dict[str, Any]:
    """The loop and both batch layouts, in turn for --repeats rounds: median questions/s, and the
    batch-over-loop ratio of every round (the machine's memory bandwidth, which the loop depends on,
    moves by 10-20% between runs)."""
    batch = questions(args.batch)
    naive = uncached(lm)
    rounds = in_turn({
        "serial_loop": lambda: [generate(naive, [q], args.max_new_tokens, 1)[0] for q in batch[: args.serial]],
        "batch_prefix_cached": lambda: generate(lm, batch, args.max_new_tokens, args.batch),
        "batch_uncached": lambda: generate(naive, batch, args.max_new_tokens, args.batch),
    }, args.repeats)
    sizes = {"serial_loop": args.serial, "batch_prefix_cached": args.batch, "batch_uncached": args.batch}
    rates = {name: [sizes[name] / s for s in seconds] for name, (seconds, _) in rounds.items()}
    report: dict[str, Any] = {**prompt_lengths(lm, batch, args.max_new_tokens), "rounds": args.repeats}
    for name, (seconds, _) in rounds.items():
        report[name] = {"questions": sizes[name], "seconds": [round(x, 2) for x in seconds],
                        "questions_per_s": round(statistics.median(rates[name]), 3)}
    for name, label in (("batch_prefix_cached", "batch_cached"), ("batch_uncached", "batch_uncached")):
        ratios = [b / loop for b, loop in zip(rates[name], rates["serial_loop"])]
        report[f"{label}_over_serial"] = round(statistics.median(ratios), 2)
        report[f"{label}_over_serial_by_round"] = [round(r, 2) for r in ratios]
    serial, cached, plain = (rounds[name][1] for name in sizes)
    report["outputs_identical"] = serial == cached[: args.serial] and cached == plain
    return report


def first_token(lm: DomainLM, args: argparse.Namespace) -> dict[str, Any]:
    batch, naive = questions(args.batch), uncached(lm)
    rows: dict[str, Any] = {}
    for label, group, repeats in (("one_question", batch[:1], 7), (f"batch_{args.batch}", batch, 3)):
        generate(lm, group[:1], 1, 1)  # the cached run starts with its prefix cache computed once before
        cached_s, plain_s, _, _ = paired(lambda group=group: generate(lm, group, 1, len(group)),
                                         lambda group=group: generate(naive, group, 1, len(group)), repeats)
        rows[label] = {"cached_s": round(cached_s, 3), "uncached_s": round(plain_s, 3),
                       "speedup": round(plain_s / cached_s, 2)}
    return rows


def runnable_vs_direct(lm: DomainLM, args: argparse.Namespace) -> dict[str, Any]:
    from langchain_blade import BladeKnowledgeRunnable

    batch, tokens = questions(args.runnable_questions), args.runnable_new_tokens
    runnable = BladeKnowledgeRunnable(model=lm, max_new_tokens=tokens, batch_size=args.batch,
                                      option_knowledge=False)
    lm.model.generation_config.min_new_tokens = tokens  # the runnable's calls write exactly `tokens` too
    calls = {"direct": 0, "runnable": 0}
    generate_call = lm.model.generate

    def counting(name: str, run: Callable[[], Any]) -> Callable[[], Any]:
        def counted(*a: Any, **kw: Any) -> Any:
            calls[name] += 1
            return generate_call(*a, **kw)

        def wrapped() -> Any:
            lm.model.generate = counted
            try:
                return run()
            finally:
                del lm.model.generate

        return wrapped

    rounds = in_turn({"direct": counting("direct", lambda: generate(lm, batch, tokens, args.batch)),
                      "runnable": counting("runnable", lambda: runnable.batch(batch))}, args.repeats)
    (direct_s, direct), (chain_s, values) = rounds["direct"], rounds["runnable"]
    ratios = [chain / plain for chain, plain in zip(chain_s, direct_s)]
    return {"questions": len(batch), "max_new_tokens": tokens,
            "generate_knowledge_s": round(statistics.median(direct_s), 2),
            "runnable_batch_s": round(statistics.median(chain_s), 2),
            "runnable_over_direct": round(statistics.median(ratios), 3),
            "runnable_over_direct_by_round": [round(r, 3) for r in ratios],
            "model_generate_calls": {name: count // args.repeats for name, count in calls.items()},
            "same_knowledge": [v.knowledge for v in values] == direct}


def proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def rss_child(args: argparse.Namespace) -> None:
    """Runs in its own process: RSS with the model loaded, and the peak while generating one batch."""
    lm = prompted_lm(args.size, getattr(torch, args.dtype))
    batch = questions(args.batch)
    generate(lm, batch[:1], 2, 1)
    loaded = proc_status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak (VmHWM) to now, so building the model does not count
    generate(lm, batch, args.max_new_tokens, args.batch)
    peak = proc_status_kb("VmHWM")
    print(json.dumps({"rss_model_loaded_mb": round(loaded / 1024), "peak_rss_generating_mb": round(peak / 1024),
                      "batch": args.batch, "max_new_tokens": args.max_new_tokens}))


def peak_memory(args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--rss-child", "--size", args.size, "--dtype", args.dtype,
               "--batch", str(args.batch), "--max-new-tokens", str(args.max_new_tokens)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="0.5b")
    parser.add_argument("--dtype", default="float32", help="model dtype (float32, bfloat16)")
    parser.add_argument("--batch", type=int, default=32, help="questions per batch")
    parser.add_argument("--serial", type=int, default=8, help="questions the one-at-a-time loop runs")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (a) and (c), taking turns")
    parser.add_argument("--runnable-questions", type=int, default=64)
    parser.add_argument("--runnable-new-tokens", type=int, default=32, help="tokens per question in (c)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        return rss_child(args)
    parts = args.parts.split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    report: dict[str, Any] = {"model": args.size, "dtype": args.dtype, "max_new_tokens": args.max_new_tokens,
                              "machine": machine()}
    cpu_share = CpuShare()
    lm = prompted_lm(args.size, getattr(torch, args.dtype)) if set(parts) - {"rss"} else None
    if lm is not None:
        generate(lm, questions(1), 2, 1)  # first-call set-up (kernels, caches) is not what we measure
    for part, measure in (("loop", loop_vs_batch), ("ttft", first_token), ("runnable", runnable_vs_direct)):
        if part in parts:
            report[part] = measure(lm, args)
            print(f"{part}: {json.dumps(report[part])}", file=sys.stderr, flush=True)
    report["machine"]["cpu_share"] = cpu_share()
    if "rss" in parts:
        report["rss"] = peak_memory(args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
