"""`blade quickstart --fast` end to end in a temporary directory; a re-run reuses finished stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blade_core.cli import app
from blade_core.pipeline.run import FAST, train_all
from blade_core.writers.domain_lm import DomainLM


@pytest.mark.timeout(600)  # the whole pipeline, twice
def test_quickstart_fast_runs_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    first = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast"])
    assert first.exit_code == 0, first.output
    report = (out / "report.md").read_text()
    for mode in ("none", "blade", "without BPO", "without KIT", "without DP", "rag", "hybrid", "gold"):
        assert f"| {mode} |" in report
    results = json.loads((out / "report.json").read_text())["results"]
    assert results["gold"]["accuracy"] > results["none"]["accuracy"]
    for stage in ("init", "dp", "kit", "bpo", "kit-without-dp"):
        assert (out / stage / "blade.json").is_file()
    provenance = json.loads((out / "bpo" / "blade.json").read_text())["provenance"]
    assert provenance["stages"][-4:] == ["init", "dp", "kit", "bpo"] and provenance["dev_score"] is not None
    weights = out / "kit" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    second = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast"])
    assert second.exit_code == 0, second.output
    assert weights.stat().st_mtime_ns == stamp, "a re-run must reuse the finished stages"


def test_quickstart_can_start_from_a_pretrained_base(tiny_lm_dir: Path, tmp_path: Path) -> None:
    """`--base`: no from-scratch init; DP and KIT start from the given model at the gentler rate."""
    recipe = FAST.model_copy(update={"base": str(tiny_lm_dir), "bpo_budget": 1})
    models, timings = train_all(tmp_path, recipe, llm_spec=None, ablations=False)
    assert "init" not in timings and not (tmp_path / "init").exists()
    dp_log = json.loads((models["kit"] / "training" / "dp_log.json").read_text())
    assert max(h["learning_rate"] for h in dp_log if "learning_rate" in h) <= recipe.pretrained_learning_rate
    lm = DomainLM.from_pretrained(models["kit"])
    assert lm.config.provenance.stages[-2:] == ["dp", "kit"]
    assert lm.tokenizer.get_vocab() == DomainLM.from_pretrained(tiny_lm_dir).tokenizer.get_vocab()


@pytest.mark.timeout(600)
def test_quickstart_runs_the_chinese_domain(tmp_path: Path) -> None:
    """`--domain zh`: the JEC-QA-layout domain end to end. Retrieval reads Chinese (BM25 over
    character bigrams: rag beats no knowledge), DP stores the regulations' names for the gate,
    and the folder then refuses to be reused for the English domain."""
    out = tmp_path / "qs-zh"
    run = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast", "--domain", "zh"])
    assert run.exit_code == 0, run.output
    results = json.loads((out / "report.json").read_text())["results"]
    assert results["gold"]["accuracy"] > results["none"]["accuracy"] + 0.3
    assert results["rag"]["accuracy"] > results["none"]["accuracy"] + 0.2
    assert "sample domain (zh) test split" in (out / "report.md").read_text()
    names = json.loads((out / "dp" / "blade.json").read_text())["names"]
    assert "潮港渔税条例" in names or sum(name.endswith("条例") for name in names) >= 40
    other = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast"])
    assert other.exit_code == 2 and "holds a quickstart of the 'zh' domain" in other.stderr
