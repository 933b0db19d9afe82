"""Settings checked by pydantic, with a failure told as one `OptionError` line naming each setting.

Configs declare every range (a batch size of at least 1, a temperature of at least 0), and
building one through `build_config` turns pydantic's multi-line report into one line such as
"--max-steps: must be -1 or at least 1, got 0", which the CLI prints as it is. Library callers
get the same error with plain setting names ("temperature: ...").
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from blade_core.errors import BladeError, OptionError

Model = TypeVar("Model", bound=BaseModel)


def setting_name(location: tuple[int | str, ...], prefix: str) -> str:
    """The name a pydantic error location refers to: `max_steps` -> `--max-steps` on the CLI."""
    if not location:
        return ""
    if not prefix:  # a Python caller's names, nested ones too: "generation.temperature"
        return ".".join(str(part) for part in location)
    return prefix + str(location[0]).replace("_", "-")


def settings_error(error: ValidationError, prefix: str = "--") -> OptionError:
    """Every problem pydantic found, on one line, each with the setting and the value given."""
    problems = []
    for problem in error.errors():
        name = setting_name(problem["loc"], prefix)
        problems.append(f"{name}: {problem_text(problem)}" if name else problem_text(problem))
    return OptionError("; ".join(problems))


def problem_text(problem: Any) -> str:
    """One pydantic problem as a phrase: "input should be greater than 0, got -1"."""
    message = str(problem["msg"]).removeprefix("Value error, ")
    given = problem.get("input")
    got = "" if problem["type"] == "missing" or isinstance(given, dict) else f", got {given!r}"
    return f"{message[:1].lower()}{message[1:]}{got}"


def build_config(config_cls: type[Model], *, prefix: str = "--", **values: Any) -> Model:
    """`config_cls(**values)`, with a validation failure as one `OptionError` (see the module)."""
    try:
        return config_cls(**values)
    except ValidationError as error:
        raise settings_error(error, prefix) from None


def one_line(error: ValidationError) -> Exception:
    """What a component raises when its fields fail: blade's own error where a validator raised one
    (a model directory that is not there), else the problems in one `OptionError` line, with the
    field names a Python caller used ("temperature: ...")."""
    for problem in error.errors():
        cause = (problem.get("ctx") or {}).get("error")
        if isinstance(cause, BladeError):
            return cause
    return settings_error(error, prefix="")
