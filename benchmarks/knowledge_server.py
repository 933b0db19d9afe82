"""`blade serve` under concurrent clients: questions per second against an unbatched server and
against in-process batched generation, side by side in one run.

    python benchmarks/knowledge_server.py --model runs/qs/bpo --test blade_core/sample_domain/data/test.jsonl

Each client is a thread that asks for one question's knowledge at a time (`EndpointWriter`, one
request per question); the clients of a run share one client process. A run asks `--per-client`
questions per client (12), cycling through the test split. Two `blade serve` processes run at once:

* batched: the defaults (`--max-batch 32`, `--batch-wait-ms 5`), requests that arrive together
  share one generate call;
* unbatched: `--max-batch 1`, one generate call per request, as a plain server would run (its runs
  ask at most `--unbatched-count` questions: its rate does not depend on the number of clients).

In-process is `DomainLM.generate_knowledge` of the same questions in one call (`batch_size` 32):
the same work with no HTTP, the ceiling a server can approach. Every cell is measured `--rounds`
times, the three side by side in each round, and the medians are printed (the machine's speed
drifts between minutes). Knowledge per option is off by default, so a question is one prompt
(`--option-knowledge` turns it on). Every text is checked against the in-process one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from blade_core.data import load_mcq
from blade_core.writers.domain_lm import DomainLM
from blade_core.writers.endpoint import EndpointWriter


@contextmanager
def serving(model: Path, *options: str) -> Iterator[str]:
    """`blade serve` on a free port, as a child process; yields its base URL."""
    command = [sys.executable, "-m", "blade_core.cli", "serve", "--model", str(model), "--port", "0", *options]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as server:
        assert server.stdout is not None
        line = server.stdout.readline()
        try:
            yield line.split(" at ")[1].split()[0]
        finally:
            server.terminate()
            server.wait(timeout=60)


def client(url: str, questions: list[str], threads: int, settings: dict[str, Any]) -> None:
    """One client process (run by `clients`): `threads` threads, one request per question; prints
    its texts and seconds as JSON once the parent says go (so its start-up is not timed)."""
    writer = EndpointWriter.connect(url, max_concurrency=1)
    writer.generate_knowledge(questions[:1], **settings)  # warm: connection, first generate call
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        written = list(pool.map(lambda q: writer.generate_knowledge([q], **settings)[0], questions))
    print(json.dumps({"seconds": time.perf_counter() - started, "written": written}), flush=True)


def clients(url: str, args: argparse.Namespace, n: int, count: int) -> tuple[float, list[str]]:
    """Seconds for `n` clients (threads of one client process) to get the first `count`
    questions' knowledge, one request each; and the texts, in question order."""
    command = [sys.executable, __file__, "--client", url, "--test", str(args.test), "--count", str(count),
               "--threads", str(n), *(["--option-knowledge"] if args.option_knowledge else [])]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        result = json.loads(process.communicate("go\n")[0])
    return time.perf_counter() - started, result["written"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--per-client", type=int, default=12, help="questions a run asks per client")
    parser.add_argument("--unbatched-count", type=int, default=64,
                        help="questions an unbatched run asks (its rate is one generate call each, whatever N)")
    parser.add_argument("--rounds", type=int, default=3, help="measure every cell this many times; medians")
    parser.add_argument("--option-knowledge", action="store_true")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # a client process: the server's URL
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    split = [q.with_options_text() for q in load_mcq(args.test)]
    settings = {"option_knowledge": args.option_knowledge}

    def questions(count: int) -> list[str]:
        return (split * (count // len(split) + 1))[:count]

    if args.client:
        client(args.client, questions(args.count), args.threads, settings)
        return
    if args.model is None:
        parser.error("--model is required")
    lm = DomainLM.from_pretrained(args.model, device="cpu")
    lm.generate_knowledge(split[:2], **settings)  # warm
    rates: dict[tuple[int, str], list[float]] = {}
    identical: dict[tuple[int, str], int] = {}
    with serving(args.model) as batched, serving(args.model, "--max-batch", "1") as unbatched:
        for _ in range(args.rounds):
            for n in args.clients:
                count = n * args.per_client
                started = time.perf_counter()
                expected = lm.generate_knowledge(questions(count), batch_size=32, **settings)
                rates.setdefault((n, "in_process"), []).append(count / (time.perf_counter() - started))
                for name, url, asked in (("batched", batched, count),
                                         ("unbatched", unbatched, min(count, args.unbatched_count))):
                    seconds, written = clients(url, args, n, asked)
                    rates.setdefault((n, name), []).append(asked / seconds)
                    identical[n, name] = sum(a == b for a, b in zip(written, expected))
    rows = []
    for n in args.clients:
        median = {name: statistics.median(rates[n, name]) for name in ("in_process", "batched", "unbatched")}
        rows.append({"clients": n, "questions": n * args.per_client,
                     **{f"{name}_q_per_s": round(rate, 2) for name, rate in median.items()},
                     "batched_vs_unbatched": round(median["batched"] / median["unbatched"], 2),
                     "batched_vs_in_process": round(median["batched"] / median["in_process"], 2),
                     "identical": f"{identical[n, 'batched']}/{n * args.per_client} batched, "
                                  f"{identical[n, 'unbatched']}/{min(n * args.per_client, args.unbatched_count)} unbatched"})
    print(json.dumps({"model": str(args.model), "rounds": args.rounds, **settings, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
