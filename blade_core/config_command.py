"""Turn a pydantic config into a typer command: one `--kebab-name` option per field.

The trainers' configs are the single place their settings are declared (type, default, help), so
`blade pretrain`, `trainers/pretrain.py` under `torchrun`, and Python callers cannot drift apart.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from blade_core.command_errors import BladeCommand
from blade_core.validation import build_config


def _cli_type(annotation: Any) -> Any:
    """The type typer should parse: Optional unwrapped, Literal kept (typer shows its choices)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else str
    if typing.get_origin(annotation) is Literal:
        return annotation  # typer offers its values as choices and shows them in --help
    if typing.get_origin(annotation) is list:
        return list[_cli_type(typing.get_args(annotation)[0])]
    return annotation if annotation in (bool, int, float, str, Path) or typing.get_origin(annotation) else str


def _parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    kind = _cli_type(field.annotation)
    if field.is_required():
        default: Any = ...
    else:
        default = field.get_default(call_default_factory=True)
        kind = kind if default is not None else Optional[kind]
    if typing.get_origin(kind) is list and default == []:
        default = None
    option = typer.Option(help=field.description or "", show_default=default is not None and default is not ...)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, option])


def _expanded(value: Any) -> Any:
    """Paths with `~` expanded, as a shell would have done had the user not quoted them."""
    if isinstance(value, Path):
        return value.expanduser()
    if isinstance(value, list):
        return [_expanded(item) for item in value]
    return value


def command_from_config(config_cls: type[BaseModel], run: Callable[[Any], Any],
                        help_text: str) -> Callable[..., None]:
    """A function typer can register: it validates its options into `config_cls` and calls `run`."""

    def command(**values: Any) -> None:
        given = {name: _expanded(value) for name, value in values.items() if value is not None}
        config = build_config(config_cls, **given)
        result = run(config)
        if result is not None:
            typer.echo(f"wrote {result}")

    command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [_parameter(name, field) for name, field in config_cls.model_fields.items()]
    )
    command.__doc__ = help_text
    return command


def run_command(command: Callable[..., None]) -> None:
    """Run one config command as a standalone program (the `trainers/*.py` scripts), reporting
    errors as the `blade` command does (`command_errors`)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(cls=BladeCommand)(command)
    app()
