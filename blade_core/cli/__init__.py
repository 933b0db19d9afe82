"""The `blade` command: typer over one pydantic config per command (`config_command`), the
commands' configs (`configs`), and the one error printer (`errors`)."""

from blade_core.cli.app import app

__all__ = ["app"]
