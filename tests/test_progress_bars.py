"""Long work in a log file: its progress as plain lines, not carriage-return bars."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from blade_core import progress_bars
from blade_core.progress_bars import progress_bar


def test_in_a_log_progress_is_a_line_per_update_without_repeats(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress_bars, "LOG_INTERVAL", 0)
    with progress_bar(total=3, desc="BPO", unit="eval") as bar:
        for _ in range(3):
            bar.update(1)
            bar.set_postfix(best="0.500")
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert "\r" not in err and len(lines) == len(set(lines)) >= 4
    assert lines[0] == "BPO: 0/3 (0%), 00:00 so far, ? left"
    assert lines[-1].startswith("BPO: 3/3 (100%), 00:00 so far") and lines[-1].endswith("best=0.500")


def test_a_fast_loop_in_a_log_says_where_it_starts_and_ends(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress_bar(range(500), desc="knowledge", unit="batch")) == list(range(500))
    assert capsys.readouterr().err.splitlines() == ["knowledge: 0/500 (0%), 00:00 so far, ? left",
                                                    "knowledge: 500/500 (100%), 00:00 so far, 00:00 left"]


def test_switched_off_it_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(total=2, desc="BPO", disable=True) as bar:
        bar.update(2)
    assert capsys.readouterr().err == ""


def test_blade_as_a_program_writes_no_carriage_returns_into_a_log(tiny_lm_dir: Path) -> None:
    """Hugging Face's own bars (loading weights) are off when `blade`'s stderr is a log."""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    done = subprocess.run([sys.executable, "-m", "blade_core.cli", "generate", "--model", str(tiny_lm_dir),
                           "--question", "What is Zorvanil indicated for?", "--max-new-tokens", "4"],
                          check=False, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "\r" not in done.stderr and "Loading weights" not in done.stderr
