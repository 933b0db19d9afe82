"""BPO's LLM calls run concurrently: one dev evaluation's wall time against (questions / concurrency) x delay.

    python benchmarks/bpo_concurrency.py [--delay 0.2] [--concurrency 1,4,16] [--candidates 3]

A local OpenAI-compatible server (`blade_core.serve`) serves the offline LLM and sleeps
--delay seconds before each answer, like a remote model; `ChatOpenAI` talks to it over HTTP. One dev
evaluation is what `blade bpo` runs per candidate (`DevObjective`): the domain LM (the tiny scratch
shape) writes knowledge for every dev question, then the LLM answers them all, up to `c` calls in
flight. For each concurrency `c` it prints the LLM part's wall time next to ceil(n / c) x delay (the
best any client can do) and the serial n x delay, and the whole evaluation's time; and what the n
calls cost one at a time with no delay (HTTP, LangChain and the offline model's own work). Last, --candidates
evaluations in a row show the pipeline: candidate i+1's knowledge is written while the LLM answers
candidate i, so the run takes less than the sum of its parts.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import torch
from langchain_openai import ChatOpenAI

from blade_core.bpo.objective import DevObjective
from blade_core.data import load_corpus, load_mcq
from blade_core.llm import OfflineChatModel
from blade_core.model.soft_prompt import RandomProjection
from blade_core.sample_domain import load_sample_domain
from blade_core.serve import OpenAICompatibleServer
from blade_core.training.model_builder import build_scratch_model
from blade_core.writers.domain_lm import DomainLM


def http_llm(server: OpenAICompatibleServer) -> ChatOpenAI:
    return ChatOpenAI(base_url=server.base_url, api_key="benchmark", model="offline", max_retries=0, temperature=0.0)


def seconds(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the server waits per answer")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated LLM calls in flight")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="knowledge length")
    parser.add_argument("--candidates", type=int, default=3, help="evaluations in a row for the pipeline figure")
    args = parser.parse_args()

    domain = load_sample_domain()
    questions = load_mcq(domain.dev)
    torch.manual_seed(0)
    lm = DomainLM.of(build_scratch_model(load_corpus(domain.corpus), "tiny"))
    projection = RandomProjection.for_embeddings(lm.model.get_input_embeddings().weight, seed=0)
    prompts = [projection(torch.rand(projection.config.intrinsic_dim) * 2 - 1) for _ in range(args.candidates)]
    n = len(questions)
    rows: dict[str, Any] = {}
    offline = OfflineChatModel()  # one model behind both servers: one embedding cache
    with OpenAICompatibleServer(offline, delay=args.delay) as server:
        llm = http_llm(server)
        warm = DevObjective(lm, projection, questions, llm, max_new_tokens=args.max_new_tokens, max_concurrency=16)
        knowledge = warm.knowledge(prompts[0])
        warm.ask(knowledge)  # MiniLM loaded and its embedding cache filled, so every run below costs alike
        with OpenAICompatibleServer(offline) as instant:  # what each call costs besides the delay
            direct = DevObjective(lm, projection, questions, http_llm(instant), max_concurrency=1)
            rows["no_delay_concurrency_1_llm_s"] = round(seconds(lambda: direct.ask(knowledge))[0], 2)
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            objective = DevObjective(lm, projection, questions, llm, max_new_tokens=args.max_new_tokens,
                                     max_concurrency=concurrency)
            served = server.requests_served
            llm_s, outcome = seconds(lambda objective=objective: objective.ask(knowledge))
            requests = server.requests_served - served
            evaluation_s, _ = seconds(lambda objective=objective: next(objective.evaluate_prompts(prompts[:1])))
            ideal = math.ceil(n / concurrency) * args.delay
            rows[f"concurrency_{concurrency}"] = {
                "llm_s": round(llm_s, 2), "ideal_s": round(ideal, 2), "serial_s": round(n * args.delay, 2),
                "llm_over_ideal": round(llm_s / ideal, 2), "evaluation_s": round(evaluation_s, 2),
                "requests": requests, "failed": len(outcome.failed),
            }
            print(f"c={concurrency}: {json.dumps(rows[f'concurrency_{concurrency}'])}", flush=True)
        generation_s, _ = seconds(lambda: [objective.knowledge(p) for p in prompts])
        llm_only_s, _ = seconds(lambda: [objective.ask(knowledge) for _ in prompts])
        pipelined_s, _ = seconds(lambda: list(objective.evaluate_prompts(prompts)))
    print(json.dumps({
        "dev_questions": n, "delay_s": args.delay, "max_new_tokens": args.max_new_tokens, **rows,
        f"pipeline_{args.candidates}_candidates_at_concurrency_{concurrency}": {
            "generation_s": round(generation_s, 2), "llm_s": round(llm_only_s, 2),
            "sum_s": round(generation_s + llm_only_s, 2), "pipelined_s": round(pipelined_s, 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
