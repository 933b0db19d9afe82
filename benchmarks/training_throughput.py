"""DP training throughput: packed vs padded, torch threads, bf16 autocast, torch.compile, share of matmul peak.

    python benchmarks/training_throughput.py [--size small] [--threads 1,2] [--epochs 4]
    python benchmarks/training_throughput.py --size 0.5b --max-steps 4 --batch-size 2 --block-size 128

Every run is `run_pretrain` on the sample corpus as it is (augmentation off: it multiplies the run
time, not the speed; the Hugging Face Trainer, as `blade dp` runs it), each in its own process, so thread settings, compiled graphs and autocast never leak between runs.
The default, packed (documents packed into full blocks, fp32), runs at each --threads count; the
other variants (--variants) at the largest:

* padded: one right-padded sequence per document (`packing=False`);
* bf16: bf16 autocast (`precision="bf16"`);
* compile: `torch.compile` (the Trainer's `torch_compile`).

tokens/s = real (non-padding) tokens trained / the Trainer's `train_runtime` (loading and the final
save are not counted; the first, slower steps are). Model FLOP/s = 6 x parameters x tokens/s, given
as a share of the machine's matmul rate at the same thread count (a 2048^3 matmul, best of 5). Each
run's losses are compared step by step with packed fp32's at the fewest threads ("padded" trains on
other batches, so its curve is not comparable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine
from shapes import SIZES, build_lm, parameters

from blade_core.sample_domain import load_sample_domain

VARIANTS = ("padded", "bf16", "compile")
BF16_PROBE = "import torch; a = torch.ones(64, 64, dtype=torch.bfloat16); a @ a"
AVOID_AMX = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}


def child(spec: dict[str, Any]) -> None:
    """Runs in its own process: one matmul timing or one training run; prints one JSON line."""
    import torch

    torch.set_num_threads(spec["threads"])
    if spec["kind"] == "matmul":
        dtype = getattr(torch, spec["dtype"])
        a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
        best = float("inf")
        for _ in range(6):
            started = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - started)
        print(json.dumps({"gflops": round(2 * 2048**3 / best / 1e9, 1)}))
        return
    from blade_core.training import PretrainConfig, pretrain, run_pretrain, runner

    batch_tokens: list[int] = []  # per collated batch; the Trainer may collate one more than it trains
    collate_for = pretrain.pad_batch

    def counting_pad_batch(tokenizer: Any) -> Any:
        collate = collate_for(tokenizer)

        def counted(examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
            batch = collate(examples)
            batch_tokens.append(int(batch["attention_mask"].sum()))
            return batch

        return counted

    pretrain.pad_batch = counting_pad_batch
    if spec["compile"]:
        arguments = runner.training_arguments
        runner.training_arguments = lambda options: dataclasses.replace(arguments(options), torch_compile=True)
    config = PretrainConfig(**spec["config"])
    run_pretrain(config)
    log = json.loads((config.out / "training" / "dp_log.json").read_text())
    runtime = next(entry["train_runtime"] for entry in log if "train_runtime" in entry)
    losses = [entry["loss"] for entry in log if "loss" in entry]  # one per step (logging_steps=1)
    print(json.dumps({"tokens": sum(batch_tokens[: len(losses)]), "seconds": runtime, "losses": losses}))


def run_child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": str(spec["threads"]), **env}, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{spec['kind']} run failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bf16_environment() -> tuple[dict[str, str] | None, str]:
    """Extra environment under which bf16 matmuls run here, or None; and what was found.

    Some virtual machines advertise AMX but do not let processes use it: oneDNN's bf16 kernels then
    die with SIGILL. Limiting oneDNN to AVX512-BF16 avoids the AMX kernels.
    """
    avoided = "bf16 matmuls die (SIGILL: AMX advertised but unusable); ran with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16"
    for env, note in (({}, "bf16 matmuls run"), (AVOID_AMX, avoided)):
        probe = subprocess.run([sys.executable, "-c", BF16_PROBE], env={**os.environ, **env}, capture_output=True,
                               check=False)
        if probe.returncode == 0:
            return env, note
    return None, "bf16 matmuls fail on this machine; bf16 skipped"


def max_loss_difference(losses: list[float], reference: list[float]) -> float:
    return round(max(abs(a - b) for a, b in zip(losses, reference)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}", help="comma-separated torch thread counts")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"besides packed: subset of {','.join(VARIANTS)}")
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (-1: by epochs)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    threads = sorted({int(t) for t in args.threads.split(",")})
    variants = [v for v in args.variants.split(",") if v]
    if set(variants) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(set(variants) - set(VARIANTS))}; choose from {','.join(VARIANTS)}")
    bf16_env, bf16_note = bf16_environment()
    report: dict[str, Any] = {"machine": machine(), "model": args.size, "bf16": bf16_note}
    with tempfile.TemporaryDirectory() as tmp:
        lm = build_lm(args.size)
        lm.save_pretrained(Path(tmp) / "init")
        params = parameters(lm)
        del lm
        report["parameters"] = params
        peak = {t: run_child({"kind": "matmul", "threads": t, "dtype": "float32"}, {})["gflops"] for t in threads}
        report["matmul_gflops"] = {f"fp32_{t}_threads": peak[t] for t in threads}
        if bf16_env is not None and "bf16" in variants:
            report["matmul_gflops"][f"bf16_{threads[-1]}_threads"] = run_child(
                {"kind": "matmul", "threads": threads[-1], "dtype": "bfloat16"}, bf16_env)["gflops"]
        runs = [("packed", t) for t in threads] + [(v, threads[-1]) for v in variants]
        reference: list[float] = []
        rows: dict[str, Any] = {}
        for variant, count in runs:
            if variant == "bf16" and bf16_env is None:
                continue
            config = {"model": str(Path(tmp) / "init"), "out": str(Path(tmp) / f"{variant}-{count}"),
                      "corpus": [str(load_sample_domain().corpus)], "block_size": args.block_size,
                      "packing": variant != "padded", "epochs": args.epochs, "max_steps": args.max_steps,
                      "batch_size": args.batch_size, "precision": "bf16" if variant == "bf16" else "fp32",
                      "save_steps": 100_000, "logging_steps": 1, "progress": False, "plot_loss": False,
                      "sentence_permutations": 0, "entity_documents": 0}  # the corpus as is, not ~19x it
            result = run_child({"kind": "train", "threads": count, "compile": variant == "compile",
                                "config": config}, bf16_env if variant == "bf16" and bf16_env else {})
            tokens_per_s = result["tokens"] / result["seconds"]
            row = {"threads": count, "steps": len(result["losses"]), "tokens": result["tokens"],
                   "seconds": round(result["seconds"], 2), "tokens_per_s": round(tokens_per_s, 1),
                   "model_gflops": round(6 * params * tokens_per_s / 1e9, 1),
                   "share_of_fp32_matmul": round(6 * params * tokens_per_s / 1e9 / peak[count], 3)}
            if not reference:
                reference = result["losses"]
            elif variant != "padded":
                row["max_loss_difference"] = max_loss_difference(result["losses"], reference)
            rows[f"{variant}_{count}_threads"] = row
            print(f"{variant} ({count} threads): {json.dumps(row)}", file=sys.stderr, flush=True)
    report["runs"] = rows
    base = rows[f"packed_{threads[-1]}_threads"]["tokens_per_s"]
    report["over_packed_fp32"] = {name: round(row["tokens_per_s"] / base, 2) for name, row in rows.items()}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
