"""`python -m blade_core.cli`: the `blade` command."""

from blade_core.cli.app import app

app()
