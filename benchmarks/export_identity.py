"""An exported model writes what DomainLM writes: greedy text from the exported prompt with plain
transformers against DomainLM's greedy knowledge, on every question of a test split.

    python benchmarks/export_identity.py --model runs/qs/bpo --test blade_core/sample_domain/data/test.jsonl

`blade export` turns the soft prompt into special tokens (`blade_core.model.export`); this runs the
export into a temporary folder, then generates each question's knowledge both ways (one question
at a time for transformers, as an engine's single request would; knowledge per option and the
gate off on DomainLM's side, since an engine writes the raw text) and prints how many are
identical, with the time each side took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

from blade_core.data import load_mcq
from blade_core.model.export import export_model, read_prompt
from blade_core.writers.domain_lm import DomainLM


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()

    questions = [q.with_options_text() for q in load_mcq(args.test)]
    lm = DomainLM.from_pretrained(args.model, device="cpu")
    started = time.perf_counter()
    expected = lm.generate_knowledge(questions, option_knowledge=False, entity_gate=False, min_confidence=0.0,
                                     max_new_tokens=args.max_new_tokens)
    domain_lm_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        export = export_model(args.model, Path(folder) / "export")
        prompt = str(read_prompt(export.directory)["prompt"])
        tokenizer = AutoTokenizer.from_pretrained(export.directory)
        model = AutoModelForCausalLM.from_pretrained(export.directory)
        started = time.perf_counter()
        written = []
        for question in questions:
            ids = tokenizer(prompt.format(question=question), add_special_tokens=False, return_tensors="pt")["input_ids"]
            out = model.generate(ids, max_new_tokens=args.max_new_tokens, do_sample=False)
            written.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip())
        plain_s = time.perf_counter() - started
    differing = [i for i, (a, b) in enumerate(zip(expected, written)) if a != b]
    print(json.dumps({"questions": len(questions), "identical": len(questions) - len(differing),
                      "soft_tokens": len(export.soft_token_ids), "domain_lm_batched_s": round(domain_lm_s, 1),
                      "transformers_one_by_one_s": round(plain_s, 1),
                      "first_differences": [(questions[i][:60], expected[i][:80], written[i][:80]) for i in differing[:3]]},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
