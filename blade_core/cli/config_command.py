"""Turn a pydantic config into a typer command: one `--kebab-name` option per field.

The trainers' configs are the single place their settings are declared (type, default, help), so
`blade pretrain`, `trainers/pretrain.py` under `torchrun`, and Python callers cannot drift apart.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from blade_core.cli.errors import BladeCommand
from blade_core.outputs import output_lock
from blade_core.validation import problem_text, settings_error


def _cli_type(annotation: Any) -> Any:
    """The type typer should parse: Optional unwrapped, Literal kept (typer shows its choices)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else str
    if typing.get_origin(annotation) is Literal:
        return annotation  # typer offers its values as choices and shows them in --help
    if typing.get_origin(annotation) is list:
        return list[_cli_type(typing.get_args(annotation)[0])]  # type: ignore[misc]  # a type made at run time
    return annotation if annotation in (bool, int, float, str, Path) or typing.get_origin(annotation) else str


def _parameter(name: str, field: FieldInfo, *, optional: bool = False) -> inspect.Parameter:
    """One `--kebab-name` option; `optional`: never required and unset by default (a settings file
    may give it), with the config's default shown in the help."""
    kind = _cli_type(field.annotation)
    if field.is_required():
        default: Any = ...
    else:
        default = field.get_default(call_default_factory=True)
        kind = kind if default is not None else Optional[kind]  # noqa: UP045 - built at run time for typer
    if typing.get_origin(kind) is list and default == []:
        default = None
    shown = default is not None and default is not ...
    help_text = field.description or ""
    if optional:
        help_text += f" (default: {default})" if shown else (" (required, here or in the file)" if default is ... else "")
        kind, default, shown = Optional[kind], None, False  # noqa: UP045 - built at run time for typer
    option = typer.Option(help=help_text, show_default=shown)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, option])


def _expanded(value: Any) -> Any:
    """Paths with `~` expanded, as a shell would have done had the user not quoted them."""
    if isinstance(value, Path):
        return value.expanduser()
    if isinstance(value, list):
        return [_expanded(item) for item in value]
    return value


def command_from_config(config_cls: type[BaseModel], run: Callable[[Any], Any], help_text: str,
                        *, config_file: bool = False) -> Callable[..., None]:
    """A function typer can register: it validates its options into `config_cls` and calls `run`.

    With `config_file`, the command also takes an optional settings file (YAML or JSON, as
    LLaMA-Factory users write them): its values come first, options given on the command line
    override them, and relative paths in it are read from the file's folder.
    """

    def command(**values: Any) -> None:
        given = {name: _expanded(value) for name, value in values.items() if value is not None}
        settings_file = given.pop("config", None)
        settings = read_settings_file(settings_file, config_cls) if settings_file is not None else None
        try:
            config = config_cls(**{**(settings.values if settings else {}), **given})
        except ValidationError as error:
            problem = error.errors()[0]
            field = str((problem.get("loc") or ("",))[0])
            if settings is not None and field in settings.values and field not in given:  # the file's value
                from blade_core.data import DataError

                raise DataError(settings.path, problem_text(problem), line=settings.lines.get(field),
                                field=settings.keys[field]) from None
            raise settings_error(error) from None
        out = getattr(config, "out", None)
        with output_lock(out) if isinstance(out, Path) else nullcontext():  # one run per output at a time
            result = run(config)
        if result is not None:
            typer.echo(f"wrote {result}")

    # Required options first, then the command's own, then inherited ones (the data generators'
    # run settings), each group in declaration order.
    own = set(vars(config_cls).get("__annotations__", {}))
    fields = sorted(config_cls.model_fields.items(), key=lambda item: (not item[1].is_required(), item[0] not in own))
    parameters = [_parameter(name, field, optional=config_file) for name, field in fields]
    if config_file:
        argument = typer.Argument(help="settings file (YAML or JSON); options given here override it",
                                  show_default=False)
        parameters.insert(0, inspect.Parameter("config", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                               annotation=Annotated[Path | None, argument]))
    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__doc__ = help_text
    return command


@dataclass(frozen=True)
class Settings:
    """A settings file's values by field name, and each one's line and key as the file wrote it, so
    a wrong value is reported at its line, not as the option it stands for."""

    path: Path
    values: dict[str, Any]
    lines: dict[str, int]
    keys: dict[str, str]


def read_settings_file(path: Path, config_cls: type[BaseModel]) -> Settings:
    """A settings file's values by field name (`dp-epochs` or `dp_epochs`), paths read from its folder."""
    import yaml

    from blade_core.data import DataError

    _UniqueKeyLoader = _unique_key_loader()
    if not path.is_file():
        raise DataError(path, "settings file not found; check the path")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except _RepeatedSetting as error:
        raise DataError(path, "given twice; only one value can count: keep the right one", line=error.line,
                        field=error.key) from None
    except UnicodeDecodeError:
        raise DataError(path, "not valid UTF-8; re-save the settings file as UTF-8") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or "malformed"
        raise DataError(path, f"not valid YAML or JSON: {problem}", line=mark.line + 1 if mark else None) from None
    if not isinstance(raw, dict):
        raise DataError(path, "must hold settings as 'name: value' lines (a mapping)")
    fields = config_cls.model_fields
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in fields:
            raise DataError(path, f"unknown setting; known: {', '.join(sorted(fields))}", field=str(key))
        values[name], keys[name] = _from_folder(value, fields[name], path.parent), str(key)
    lines = {str(key).replace("-", "_"): line for key, line in _UniqueKeyLoader.lines.items()}
    return Settings(path, values, lines, keys)


class _RepeatedSetting(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key, self.line = key, line


def _unique_key_loader() -> type[Any]:
    """A YAML SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        lines: dict[Any, int] = {}  # noqa: RUF012 - the keys' lines of the file just read (a fresh class each time)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise _RepeatedSetting(str(key), key_node.start_mark.line + 1)
                seen.add(key)
                type(self).lines.setdefault(key, key_node.start_mark.line + 1)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _from_folder(value: Any, field: FieldInfo, folder: Path) -> Any:
    """A path value (or list of them) in a settings file, relative to the file's folder."""
    kind = _cli_type(field.annotation)
    is_path = kind is Path or kind == list[Path]
    if not is_path or value is None:
        return value
    items = value if isinstance(value, list) else [value]
    paths = [folder / Path(str(item)).expanduser() for item in items]
    return paths if isinstance(value, list) or kind == list[Path] else paths[0]


def run_command(command: Callable[..., None]) -> None:
    """Run one config command as a standalone program (the `trainers/*.py` scripts), reporting
    errors as the `blade` command does (`command_errors`)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(cls=BladeCommand)(command)
    app()
