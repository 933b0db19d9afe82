"""Memory over 10 000 calls of one shared `BladeKnowledgeRunnable`: the process's RSS should level off.

A leak keeps something per call; over 10 000 calls even a few kilobytes each show as a steady
climb. The calls generate one token each (the leak, if any, is in the per-call path, not in the
length of the text) and come from 16 threads at once, as in a server. Prints RSS after every
1 000 calls and the growth over the second half, which should be about zero.

    python benchmarks/runnable_memory.py [--model DIR] [--calls 10000] [--threads 16]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blade_core.data import load_corpus
from blade_core.sample_domain import load_sample_domain
from blade_core.training.model_builder import init_model
from langchain_blade import BladeKnowledgeRunnable

QUESTIONS = ["What is Zorvanil indicated for?", "Who must not take Brantovex?", "What colour is Quelmora?"]


def rss_mb() -> float:
    """Resident set size now, from /proc (Linux); ru_maxrss (the peak) elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory (default: a tiny one, built now)")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or init_model(load_corpus(load_sample_domain().corpus), Path(tmp) / "m", size="tiny")
        runnable = BladeKnowledgeRunnable.from_pretrained(model, output="str", max_new_tokens=1)
        step = max(1, args.calls // 10)
        curve = [(0, round(rss_mb(), 1))]
        with ThreadPoolExecutor(args.threads) as pool:
            for done in range(step, args.calls + 1, step):
                list(pool.map(runnable.invoke, (QUESTIONS[i % 3] for i in range(step))))
                curve.append((done, round(rss_mb(), 1)))
                print(f"{done:>6} calls: RSS {curve[-1][1]} MB", flush=True)
    half = curve[len(curve) // 2][1]
    print(json.dumps({"calls": args.calls, "threads": args.threads, "rss_mb": dict(curve),
                      "growth_over_second_half_mb": round(curve[-1][1] - half, 1)}, indent=2))


if __name__ == "__main__":
    main()
