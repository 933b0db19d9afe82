"""Does the recipe transfer? `blade train` with its defaults on generated domains of other shapes,
judged by the offline stand-in and by a real LM (Gemma 3 270M), per domain.

For each shape (`scripts.domain_shapes`): generate the domain, `blade train` it with the
offline LLM (BPO included), then score the test split with each judge: none, blade, rag, hybrid,
gold; and blade with the entity gate off, to see what withholding knowledge about other entities
does. Also: how many test facts the DP model completes from their own opening ("storage"), a
check that needs no LLM and says whether DP stored the facts at all (`training.fact_recall`).

    python benchmarks/transfer.py --work runs/transfer [--shapes statutes,towns] [--judges offline,gemma-270m]

A lever is measured the same way, with `blade train`'s own option for it, in a work folder of its
own (`--train-options "--size medium"`, `--train-options "--no-question-forms"`); "dev" is BPO's
dev accuracy, which chose the soft prompt, and the test columns are scored once, for the report.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from blade_core.data import load_mcq
from blade_core.evaluation import EvalSettings, evaluate
from blade_core.training.fact_recall import fact_recall, facts_to_check
from scripts.domain_shapes import SHAPES, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--judges", default="offline,gemma-270m")
    parser.add_argument("--test-limit", type=int, default=None, help="score only the first N test questions")
    parser.add_argument("--train-options", default="", help="more `blade train` options: the lever measured")
    args = parser.parse_args()
    rows = []
    for shape in args.shapes.split(","):
        domain = generate(shape, args.work / "domains" / shape)
        run = args.work / shape
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "blade_core.cli", "train", "--corpus", str(domain / "corpus.jsonl"),
                        "--kit", str(domain / "kit.jsonl"), "--dev", str(domain / "dev.jsonl"), "--llm", "offline",
                        "--out", str(run), *shlex.split(args.train_options)], check=True)
        minutes = (time.perf_counter() - started) / 60
        dev = json.loads((run / "bpo" / "bpo" / "trace.json").read_text())["dev_score"]
        stored = fact_recall(run / "dp", *facts_to_check([domain / "corpus.jsonl"], domain / "test.jsonl")).share
        questions = load_mcq(domain / "test.jsonl")[: args.test_limit]
        for judge in args.judges.split(","):
            report = evaluate(questions, judge, models={"blade": run / "bpo"}, rag_corpus=domain / "corpus.jsonl",
                              hybrid_model="blade", cache_path=run / f"{judge}.cache.sqlite", dataset=shape,
                              settings=EvalSettings(progress=False))
            ungated = evaluate(questions, judge, models={"blade, no gate": run / "bpo"}, modes=["blade"],
                               cache_path=run / f"{judge}.cache.sqlite", dataset=shape,
                               settings=EvalSettings(progress=False, entity_gate=False))
            scores = {mode: round(r.accuracy, 3) for mode, r in {**report.results, **ungated.results}.items()}
            rows.append({"shape": shape, "judge": judge, "train_minutes": round(minutes, 1), "storage": stored,
                         "dev": round(dev, 3), **scores})
            print(json.dumps(rows[-1]), flush=True)
    (args.work / "transfer.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
