"""`blade quickstart --fast` end to end in a temporary directory; a re-run reuses finished stages."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from blade_core.cli import app


def test_quickstart_fast_runs_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "qs"
    first = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast"])
    assert first.exit_code == 0, first.output
    report = (out / "report.md").read_text()
    for mode in ("| none |", "| gold |", "| blade"):
        assert mode in report
    weights = out / "model-init" / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    second = CliRunner().invoke(app, ["quickstart", "--out", str(out), "--fast"])
    assert second.exit_code == 0, second.output
    assert weights.stat().st_mtime_ns == stamp, "a re-run must reuse the finished model"
