"""DP throughput: packed blocks against one padded sequence per document, side by side in one run.

Both runs train the same from-scratch model on the same corpus for one epoch; the corpus's real
(non-padding) tokens divided by the training time gives tokens per second.

    python benchmarks/dp_packing.py [--size small] [--corpus PATH] [--block-size 256]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from blade_core.data import load_corpus
from blade_core.model_builder import init_model
from blade_core.sample_domain import load_sample_domain
from blade_core.training import PretrainConfig, run_pretrain
from blade_core.training.pretrain import build_blocks
from blade_core.domain_lm import DomainLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--corpus", type=Path, default=load_sample_domain().corpus)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = init_model(load_corpus(args.corpus), Path(tmp) / "init", size=args.size)
        lm = DomainLM.from_pretrained(base)
        texts = [d.text for d in load_corpus(args.corpus)]
        real_tokens = sum(len(ids) + 1 for ids in lm.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"])
        lengths = sorted(len(ids) for ids in lm.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"])
        results = {}
        for packing in (True, False):
            config = PretrainConfig(model=str(base), out=Path(tmp) / f"dp-{packing}", corpus=[args.corpus],
                                    block_size=args.block_size, packing=packing, epochs=1,
                                    batch_size=args.batch_size, save_steps=10_000, progress=False,
                                    plot_loss=False, logging_steps=10_000)
            sequences = build_blocks(config, lm.tokenizer, lm.template, lm.context_length)
            started = time.perf_counter()
            run_pretrain(config)
            seconds = time.perf_counter() - started
            results["packed" if packing else "padded"] = {
                "sequences": len(sequences), "seconds": round(seconds, 2),
                "tokens_per_second": round(real_tokens / seconds, 1),
            }
    ratio = results["packed"]["tokens_per_second"] / results["padded"]["tokens_per_second"]
    print(json.dumps({
        "model": args.size, "corpus": str(args.corpus), "documents": len(texts), "real_tokens": real_tokens,
        "doc_tokens_min_median_max": [lengths[0], lengths[len(lengths) // 2], lengths[-1]],
        "block_size": args.block_size, "batch_size": args.batch_size, **results,
        "packed_over_padded": round(ratio, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
