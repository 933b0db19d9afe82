"""The trainer scripts as users run them: killed and resumed, and as two DDP processes (gloo)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blade_core.sample_domain import load_sample_domain
from blade_core.training import KitConfig, run_kit
from blade_core.training.runner import last_complete_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def pretrain_args(model: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(ROOT / "trainers" / "pretrain.py"), "--model", str(model), "--out", str(out),
        "--corpus", str(load_sample_domain().corpus), "--block-size", "64", "--batch-size", "2",
        "--logging-steps", "1", "--no-progress", "--seed", "0", *extra,
    ]


def logged_steps(model_dir: Path) -> list[int]:
    history = json.loads((model_dir / "training" / "dp_log.json").read_text())
    return [entry["step"] for entry in history if "loss" in entry]


def env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def kill_at_first_checkpoint(args: list[str], work: Path) -> None:
    """Start a trainer script and SIGKILL it as soon as its work directory holds a complete
    checkpoint, so the kill lands mid-run."""
    process = subprocess.Popen(args, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while last_complete_checkpoint(work) is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be killed mid-way"
    process.send_signal(signal.SIGKILL)
    process.wait()

def test_killed_run_resumes_from_its_last_checkpoint(tiny_lm_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "dp"
    work = out.with_name("dp.work")
    args = [sys.executable, *pretrain_args(tiny_lm_dir, out, "--max-steps", "60", "--save-steps", "4")]
    kill_at_first_checkpoint(args, work)
    assert not out.exists(), "a killed run must not leave a model directory that looks complete"
    checkpoint = last_complete_checkpoint(work)
    assert checkpoint is not None, "the run should have checkpointed before it was killed"
    done = int(checkpoint.rsplit("-", 1)[-1])

    resumed = subprocess.run([*args, "--resume"], env=env(), capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert logged_steps(out) == list(range(1, 61)), "the step count must continue with nothing lost"
    ran = len(re.findall(r"DP step \d+/60 \(\d+%\): loss", resumed.stderr))  # the training log's lines
    assert ran == 60 - done, f"resumed at step {done}, so only {60 - done} steps should run again, not {ran}"


def test_killed_kit_run_resumes_in_process_from_its_last_checkpoint(
    tiny_lm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, data = tmp_path / "kit", load_sample_domain().kit
    work = out.with_name("kit.work")
    options = {"max_steps": 40, "save_steps": 4, "batch_size": 2, "max_length": 96, "logging_steps": 1, "seed": 0}
    args = [sys.executable, str(ROOT / "trainers" / "kit.py"), "--model", str(tiny_lm_dir), "--out", str(out),
            "--data", str(data), "--no-progress", *(f"--{k.replace('_', '-')}={v}" for k, v in options.items())]
    kill_at_first_checkpoint(args, work)
    assert not out.exists(), "a killed run must not leave a model directory that looks complete"
    checkpoint = last_complete_checkpoint(work)
    assert checkpoint is not None
    done = int(checkpoint.rsplit("-", 1)[-1])

    capsys.readouterr()
    run_kit(KitConfig(model=str(tiny_lm_dir), out=out, data=data, progress=False, resume=True, **options))
    ran = len(re.findall(r"KIT step \d+/40 \(\d+%\): loss", capsys.readouterr().err))  # the training log's lines
    history = json.loads((out / "training" / "kit_log.json").read_text())
    assert [entry["step"] for entry in history if "loss" in entry] == list(range(1, 41))
    assert ran == 40 - done, f"resumed at step {done}, so only {40 - done} steps should run again, not {ran}"
    assert not [p for p in out.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl")]  # no pickles


@pytest.mark.slow
def test_pretrain_runs_as_two_ddp_processes(tiny_lm_dir: Path, tmp_path: Path) -> None:
    def epochs_after_4_steps(out: Path, launcher: list[str]) -> float:
        run = subprocess.run([*launcher, *pretrain_args(tiny_lm_dir, out, "--max-steps", "4", "--save-steps", "100")],
                             env=env(), capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        history = json.loads((out / "training" / "dp_log.json").read_text())
        return history[-1]["epoch"]

    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    single = epochs_after_4_steps(tmp_path / "single", [sys.executable])
    ddp = epochs_after_4_steps(tmp_path / "ddp", torchrun)
    # two processes see twice the data per optimizer step: the data-parallel world size is 2
    assert ddp == pytest.approx(2 * single, rel=0.05)


def test_the_program_closes_the_process_group_its_training_opened(tmp_path: Path) -> None:
    """A trainer script under torchrun leaves no process group to the interpreter's exit, where
    gloo's threads can abort a rank whose training had finished (a whole launch failed so)."""
    program = f"""
import atexit, torch.distributed as dist
from blade_core.cli.config_command import run_command

def opens_a_group() -> None:  # as Trainer does when torchrun starts the script
    dist.init_process_group("gloo", init_method="file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)

atexit.register(lambda: print("group open at exit:", dist.is_initialized()))
run_command(opens_a_group)
"""
    run = subprocess.run([sys.executable, "-c", program], env=env(), capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "group open at exit: False" in run.stdout
