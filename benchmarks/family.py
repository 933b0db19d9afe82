"""`blade train` with its defaults on the domain family (`domain_family.py`), shape by shape: test
accuracy of none / blade / rag / hybrid / gold by judge, access and storage beside each row, and
accuracy by question kind (forward wordings, reverse, multi-answer, numeric).

    python benchmarks/family.py --work runs/family --shapes tuning          # the shapes defaults are chosen on
    python benchmarks/family.py --work runs/family --shapes held-out        # the shapes set aside
    python benchmarks/family.py --work runs/family --shapes drugs-a --judges offline,gemma-270m --test-limit 60

Two runs side by side on a 2-core machine each need `OMP_NUM_THREADS=1`: two runs of 2 threads
each slowed one KIT from 1,200 to 164 tokens/s.

A lever is measured with `blade train`'s own option for it, in a work folder of its own
(`--train-options "--no-recitations"`). Each run's folder keeps `blade train`'s report; the rows
are printed as JSON lines and gathered in `family.json`, the table in `family.md`.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from domain_family import HELD_OUT, SHAPES, TUNING, generate

from blade_core.data import load_mcq
from blade_core.evaluation import EvalSettings, evaluate
from blade_core.model.config import BladeConfig
from blade_core.training.fact_recall import fact_recall, facts_to_check

MODES = ("none", "blade", "rag", "hybrid", "gold")


def shapes_of(spec: str) -> list[str]:
    return {"tuning": TUNING, "held-out": HELD_OUT, "all": list(SHAPES)}.get(spec) or spec.split(",")


def by_kind(domain: Path, answers: Path) -> dict[str, str]:
    """blade's accuracy by question kind, "right/asked"."""
    kinds = {json.loads(line)["id"]: json.loads(line)["kind"] for line in (domain / "test.jsonl").open()}
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in answers.open():
        answer = json.loads(line)
        if answer["mode"] == "blade" and answer.get("error") is None:
            counts[kinds[answer["id"]]][0] += bool(answer["correct"])
            counts[kinds[answer["id"]]][1] += 1
    return {kind: f"{right}/{asked}" for kind, (right, asked) in sorted(counts.items())}


def run_shape(shape: str, work: Path, train_options: str, judges: list[str], test_limit: int | None) -> list[dict]:
    domain = generate(SHAPES[shape], work / "domains" / shape)
    run = work / shape
    kit = ["--kit", str(domain / "kit.jsonl")] if (domain / "kit.jsonl").read_text().strip() else []
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "blade_core.cli", "train", "--corpus", str(domain / "corpus.jsonl"), *kit,
                    "--dev", str(domain / "dev.jsonl"), "--test", str(domain / "test.jsonl"), "--llm", "offline",
                    "--out", str(run), *shlex.split(train_options)], check=True)
    minutes = round((time.perf_counter() - started) / 60, 1)
    pipeline = json.loads((run / "report.json").read_text())
    dp = BladeConfig.load(run / "dp")
    known = (dp.names, dp.entities) if dp else None
    storage = fact_recall(run / "dp", *facts_to_check([domain / "corpus.jsonl"], None, known=known)).share
    pipeline_json = json.loads((run / "pipeline.json").read_text())
    access, names = pipeline_json["access"], pipeline_json.get("names", [])
    rows = []
    for judge in judges:
        if judge == "offline":
            scores = {mode: r["accuracy"] for mode, r in pipeline["results"].items()}
            kinds = by_kind(domain, run / "report.questions.jsonl")
        else:
            questions = load_mcq(domain / "test.jsonl")[:test_limit]
            report = evaluate(questions, judge, models={"blade": run / "bpo"}, rag_corpus=domain / "corpus.jsonl",
                              hybrid_model="blade", cache_path=run / f"{judge}.cache.sqlite", dataset=shape,
                              settings=EvalSettings(progress=False))
            scores, kinds = {mode: r.accuracy for mode, r in report.results.items()}, {}
        rows.append({"shape": shape, "held_out": SHAPES[shape].held_out, "judge": judge, "minutes": minutes,
                     **{mode: round(100 * scores[mode], 1) for mode in MODES if mode in scores},
                     "storage": round(100 * storage), "access": access, "names": names, "kinds": kinds})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| shape | judge | none | blade | rag | hybrid | gold | storage % | access: reached/answered (KIT; BPO) "
             "| blade by kind | min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        found = [re.search(r"for (\d+) of (\d+) dev questions .*the answer for (\d+)", a) for a in r["access"]]
        access = "; ".join(f"{m[1]}/{m[3]} of {m[2]}" for m in found if m)
        kinds = ", ".join(f"{k} {v}" for k, v in r["kinds"].items())
        lines.append(f"| {r['shape']}{' (set aside)' if r['held_out'] else ''} | {r['judge']} | "
                     + " | ".join(str(r.get(m, "")) for m in MODES)
                     + f" | {r['storage']} | {access} | {kinds} | {r['minutes']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--shapes", default="tuning", help="tuning, held-out, all, or comma-separated names")
    parser.add_argument("--judges", default="offline", help="offline and/or gemma-270m (scored on --test-limit)")
    parser.add_argument("--test-limit", type=int, default=60, help="test questions the Gemma judge scores")
    parser.add_argument("--train-options", default="", help="more `blade train` options: the lever measured")
    args = parser.parse_args()
    rows = []
    for shape in shapes_of(args.shapes):
        rows += run_shape(shape, args.work, args.train_options, args.judges.split(","), args.test_limit)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "family.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.work / "family.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
