"""`blade quickstart --fast` end to end in a temporary directory; a re-run reuses finished stages."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from blade_core.cli import app


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
