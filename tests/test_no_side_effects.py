"""A library call changes no process-wide state: the environment, the warning filters and the
plotting backend of the caller (a notebook, an app) are the same after blade's paths ran as before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys, json, warnings
from pathlib import Path
import torch, transformers, sentence_transformers, matplotlib  # what the libraries set on import is theirs
import langchain_core.load, langchain_openai, botorch, peft
before = dict(os.environ)
filters_before = list(warnings.filters)
out = Path(sys.argv[1])
from blade_core.retrieval import load_minilm
from blade_core.retrieval.minilm import encode_array
encode_array(["Zorvanil treats marsh fever."])
from blade_core.training.runner import write_loss_plot
write_loss_plot([{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}], out / "loss.png", "DP loss")
from blade_core.evaluation import evaluate
from blade_core.evaluation.report import write_plot
from blade_core.data.records import MCQuestion
q = MCQuestion(id="q", question="Which?", options={"A": "x", "B": "y"}, answer="A")
for _ in range(2):  # the second run reads its answer back from the cache
    report = evaluate([q], "offline", modes=["none"], cache_path=out / "c.sqlite", dataset="d")
write_plot(report, out / "report.png")
print(json.dumps({"environ_changed": sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)),
                  "pyplot_imported": "matplotlib.pyplot" in sys.modules,
                  "warning_filters_added": [str(f) for f in warnings.filters if f not in filters_before],
                  "plots": sorted(p.name for p in out.glob("*.png"))}))
"""


def test_blades_paths_leave_the_environment_and_the_plot_backend_alone(tmp_path: Path) -> None:
    import json

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], check=False, capture_output=True, text=True,
                          env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"environ_changed": [], "pyplot_imported": False, "warning_filters_added": [],
                      "plots": ["loss.png", "report.png"]}
    assert "is in beta" not in done.stderr, done.stderr[-2000:]  # nor warns the caller about its own choice of `loads`
