"""How every `blade` command (and `trainers/*.py` script) ends when something goes wrong: one line.

A user who mistypes a path should read one line that names it and says what to do, not a
500-line traceback. `BladeGroup` and `BladeCommand` run the command and turn what escapes it into
one line on stderr and an exit code:

* a `BladeError` (bad data, option, path, model directory, LLM endpoint): its message; its code
  (2 for the user's input, 3 for an LLM endpoint that failed);
* a usage error (unknown option, missing option, a value of the wrong type): click's message and
  where to find help; 2;
* an error the operating system raised on a file (permission denied, disk full): the file and
  the reason; 2;
* a library of an extra that is not installed (botorch for BPO, say): the `pip install` that
  brings it; 2;
* running out of memory: what to lower; 2;
* Ctrl-C: "interrupted"; 130;
* anything else: a bug in blade, said as such; 1.

`--debug` anywhere on the command line, or `BLADE_DEBUG=1`, adds the traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from blade_core.errors import EXIT_USER_ERROR, BladeError, missing_extra

DEBUG_FLAG = "--debug"
DEBUG_ENV = "BLADE_DEBUG"
EXIT_BUG = 1
EXIT_INTERRUPTED = 130
DEBUG_HINT = f"(add {DEBUG_FLAG} or set {DEBUG_ENV}=1 for the traceback)"
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def one_line(text: str) -> str:
    """`text` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(str(text).split())


def describe(error: BaseException) -> tuple[str, int]:
    """The one line and the exit code a user sees for `error`."""
    if isinstance(error, BladeError):
        return one_line(str(error)), error.exit_code
    if _is_usage_error(error):
        context = getattr(error, "ctx", None)
        where = f" (see '{context.command_path} --help')" if context is not None else ""
        message = error.format_message().replace("Value error, ", "")  # type: ignore[attr-defined]
        return one_line(message) + where, EXIT_USER_ERROR
    if isinstance(error, (KeyboardInterrupt, typer.Abort)):
        return "interrupted; commands that checkpoint continue with --resume", EXIT_INTERRUPTED
    missing = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    extra = missing_extra(missing) if missing else None
    if extra is not None:  # an import deep inside a command, of a library an extra brings
        return str(extra), EXIT_USER_ERROR
    if _is_out_of_memory(error):
        return (f"out of memory ({one_line(str(error))[:200]}); lower --batch-size (or "
                "--max-new-tokens, --block-size), or use a smaller model"), EXIT_USER_ERROR
    if isinstance(error, OSError) and error.filename is not None:
        return _file_error(error), EXIT_USER_ERROR
    return (f"unexpected {type(error).__name__}: {one_line(str(error))[:300]}. This is a bug in "
            f"blade, not in your input: please report it {DEBUG_HINT}"), EXIT_BUG


def _is_usage_error(error: BaseException) -> bool:
    """A click usage error (unknown or missing option, a value of the wrong type). Typer ships its
    own copy of click, so these are recognized by what they offer, not by their class."""
    return callable(getattr(error, "format_message", None)) and hasattr(error, "exit_code")


def _asks_for_help(error: BaseException) -> bool:
    """A command group run with no arguments (click's "no args is help" carries no message)."""
    return (_is_usage_error(error) and getattr(error, "ctx", None) is not None
            and not error.format_message())  # type: ignore[attr-defined]


def _is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, MemoryError):
        return True
    torch = sys.modules.get("torch")  # only if a command loaded it; never imported for this
    out_of_memory = getattr(torch, "OutOfMemoryError", None)
    return out_of_memory is not None and isinstance(error, out_of_memory)


def _file_error(error: OSError) -> str:
    name = error.filename if error.filename2 is None else f"{error.filename} -> {error.filename2}"
    reason = error.strerror or type(error).__name__
    if isinstance(error, PermissionError):
        fix = "check its permissions, or choose a path you can read and write"
    elif error.errno in _DISK_FULL:
        fix = "make room (or lift the file-size limit) and run again"
    else:
        fix = "check the path"
    return f"{name}: {reason.lower()}; {fix}"


def debug_requested(args: Sequence[str]) -> bool:
    return DEBUG_FLAG in args or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def configure_logging(debug: bool) -> None:
    """blade's own log lines (`logging.getLogger("blade_core...")`) on stderr, as plain lines: set
    once, by the command, never by a library call; other libraries' loggers are left as they are."""
    logger = logging.getLogger("blade_core")
    if not any(isinstance(handler, _CurrentStderr) for handler in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if debug else logging.INFO)


def configure_program() -> None:
    """What `blade` run as a program sets in its own process, never an in-process call: Hugging
    Face's own progress bars (loading weights, writing shards) off when stderr is a log, where their
    carriage returns pile up into one endless line; a HF_HUB_DISABLE_PROGRESS_BARS of the user's
    is kept. blade's own progress is written as lines there (`progress_bars`)."""
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def close_program() -> None:
    """What `blade` run as a program closes before its interpreter exits: the process group that
    Trainer opens when `torchrun` or `accelerate launch` starts it. Left to the interpreter's exit,
    gloo's threads can be torn down still joinable and abort a process whose training had finished
    (SIGABRT, "terminate called without an active exception"), which fails the whole launch."""
    distributed = sys.modules.get("torch.distributed")  # never imported: no group to close
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged (a test runner swaps it per run)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _ReportsErrors:
    """`main` for a click command: run it, and turn whatever escapes into one line and a code."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if args is not None:
            return self._reported(args, prog_name, complete_var, standalone_mode, **extra)
        configure_program()  # the program itself (the `blade` script, `python -m blade_core.cli`)
        try:
            return self._reported(sys.argv[1:], prog_name, complete_var, standalone_mode, **extra)
        finally:
            close_program()

    def _reported(self, args: Sequence[str], prog_name: str | None, complete_var: str | None,
                  standalone_mode: bool, **extra: Any) -> Any:
        given = list(args)
        debug = debug_requested(given)
        configure_logging(debug)
        given = [arg for arg in given if arg != DEBUG_FLAG]
        try:
            result = super().main(  # type: ignore[misc]
                args=given, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except BaseException as error:
            if isinstance(error, SystemExit):
                raise
            if _asks_for_help(error):  # `blade` alone: the help, as typer shows it
                typer.echo(error.ctx.get_help())  # type: ignore[attr-defined]
                if not standalone_mode:
                    return 0
                sys.exit(0)
            message, code = describe(error)
            if debug:
                traceback.print_exception(error, file=sys.stderr)
            typer.echo(f"error: {message}", err=True)
            if not standalone_mode:
                raise
            sys.exit(code)
        if result == EXIT_INTERRUPTED:  # typer turns Ctrl-C inside a command into this code
            typer.echo(f"error: {describe(KeyboardInterrupt())[0]}", err=True)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


class BladeGroup(_ReportsErrors, TyperGroup):  # type: ignore[misc]  # click's main is overloaded
    """The `blade` command group."""


class BladeCommand(_ReportsErrors, TyperCommand):  # type: ignore[misc]  # click's main is overloaded
    """One command run on its own (the `trainers/*.py` scripts)."""
