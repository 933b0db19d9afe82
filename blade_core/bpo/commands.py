"""The `blade bpo` command, also run directly by `trainers/bpo.py`."""

from __future__ import annotations

from pathlib import Path

from blade_core.bpo.config import BpoConfig
from blade_core.config_command import command_from_config


def _bpo(config: BpoConfig) -> Path:
    import typer

    from blade_core.bpo.loop import BpoBudgetError, run_bpo
    from blade_core.bpo.objective import LLMUnavailableError
    from blade_core.bpo.state import ResumeError
    from blade_core.data import DataError

    try:
        return run_bpo(config).out
    except (DataError, BpoBudgetError, LLMUnavailableError, ResumeError) as error:
        typer.echo(f"Error: {error}", err=True)  # the input or the endpoint, not a bug: no traceback
        raise typer.Exit(1) from None


bpo_command = command_from_config(
    BpoConfig, _bpo,
    "BPO: tune the soft prompt by Bayesian optimization on the black-box LLM's dev accuracy "
    "(resumable; LLM answers cached).",
)
