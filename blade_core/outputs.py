"""Where commands write, checked before any work starts: blade never replaces what it did not write.

A model directory is written by replacing the whole folder at once (`atomic.atomic_directory`),
so pointing `--out` at a user's own folder, at `.`, or at the corpus would delete it. Every
command checks its outputs here first, before it loads a model or spends an LLM call:

* an output that is one of the command's inputs, lies inside one, or holds one is refused;
* an existing folder is replaced only if blade wrote it (it holds `blade.json`, which every model
  directory has, or the `.blade-work` marker of blade's working folders) and `--overwrite` is
  given; a folder blade did not write is never replaced, with or without `--overwrite`; an empty
  folder holds nothing to lose and is used;
* an existing file is replaced only with `--overwrite`;
* a folder where a file is needed, or a file where a folder is needed, and a place that cannot be
  written, are refused before the work starts, not at its end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from blade_core.errors import InputPathError, OutputPathError

MODEL_MARKER = "blade.json"
"""Written into every model directory (`BladeConfig.save`); no other tool writes a file so named."""
WORK_MARKER = ".blade-work"
"""Written into every working folder blade makes (`OUT.work`, the quickstart folder)."""

Inputs = Mapping[str, Iterable[str | Path | None] | str | Path | None]
"""Option name -> the path(s) it gave, e.g. {"--corpus": [...], "--model": "runs/init"}."""


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _shown(path: str | Path) -> str:
    return str(path) or "."


def is_blade_directory(path: str | Path) -> bool:
    """True when `path` is a folder blade wrote: a model directory or a working folder."""
    folder = Path(path)
    return (folder / MODEL_MARKER).is_file() or (folder / WORK_MARKER).is_file()


def _paths(value: Iterable[str | Path | None] | str | Path | None) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(item) for item in value if item is not None]


def check_inputs_exist(inputs: Inputs, *, hub_ids: Iterable[str] = ("--model",)) -> None:
    """Refuse, naming its option, an input path that is not there, before anything is read or
    loaded. Options in `hub_ids` may name a model hub id instead of a path, so they are not checked."""
    skipped = set(hub_ids)
    for option, value in inputs.items():
        if option in skipped:
            continue
        for given in _paths(value):
            if not given.exists():
                raise InputPathError(f"{option} {_shown(given)}: file or folder not found; check the path")


def check_not_an_input(out: str | Path, option: str, inputs: Inputs) -> None:
    """Refuse an output that is an input, lies inside an input folder, or is a folder holding one.

    Inputs that do not exist here (a hub id such as `Qwen/Qwen2.5-0.5B`) cannot be harmed.
    """
    target = _resolved(out)
    for input_option, value in inputs.items():
        for given in _paths(value):
            if not given.exists():
                continue
            source = _resolved(given)
            if target == source:
                relation = "is the input"
            elif source in target.parents:
                relation = "is inside the input"
            elif target in source.parents:
                relation = "holds the input"
            else:
                continue
            raise OutputPathError(
                f"{option} {_shown(out)} {relation} {input_option} {_shown(given)}; write the output "
                "somewhere else (a command never writes over or into its own inputs)"
            )


def check_writable(out: str | Path, option: str) -> None:
    """Refuse an output whose folder cannot be made or written, before hours of work are spent."""
    target = _resolved(out)
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(
            f"{option} {_shown(out)}: {ancestor} is a file, not a folder; choose another path"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"{option} {_shown(out)}: cannot write in {ancestor} (permission denied); choose a "
            "folder you can write to"
        )


def _describe_contents(folder: Path) -> str:
    entries = sorted(entry.name for entry in folder.iterdir())
    shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
    return f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}: {shown}"


def prepare_model_directory(out: str | Path, *, inputs: Inputs, overwrite: bool,
                            option: str = "--out") -> None:
    """Check that a model directory may be written at `out` (see the module docstring)."""
    check_not_an_input(out, option, inputs)
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise OutputPathError(
            f"{option} {_shown(out)} is a file, and a model directory is a folder: choose a new "
            "folder name"
        )
    if target.is_dir() and any(target.iterdir()):
        if not is_blade_directory(target):
            raise OutputPathError(
                f"{option} {_shown(out)} is a folder blade did not write ({_describe_contents(target)}); "
                "blade never replaces what it did not write: choose a new or empty folder"
            )
        if not overwrite:
            raise OutputPathError(
                f"{option} {_shown(out)} already holds a model blade wrote; pass --overwrite to "
                "replace it, or choose another folder"
            )
    check_writable(out, option)


def check_work_directory(work: str | Path, *, inputs: Inputs, option: str = "--out") -> None:
    """Check that blade's working folder `work` may be made or reused: refuse anyone else's."""
    folder = Path(work)
    check_not_an_input(folder, option, inputs)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(
            f"{_shown(folder)} (the working folder of {option}) is a file; move it away or choose "
            f"another {option}"
        )
    if folder.is_dir() and any(folder.iterdir()) and not is_blade_directory(folder):
        raise OutputPathError(
            f"{_shown(folder)} (the working folder of {option}) exists and blade did not write it "
            f"({_describe_contents(folder)}); move it away or choose another {option}"
        )
    check_writable(folder, option)


def make_work_directory(work: str | Path) -> Path:
    """Make (or reuse) the working folder `work`, checked by `check_work_directory`, and mark it as
    blade's. Called once the inputs have been read, so a bad input leaves nothing behind."""
    folder = Path(work)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / WORK_MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"written_by": "blade", "purpose": "working folder"}) + "\n",
                          encoding="utf-8")
    return folder


def prepare_file(out: str | Path, *, inputs: Inputs, overwrite: bool, option: str = "--out",
                 beside: Iterable[Path] = ()) -> None:
    """Check that the file `out` (and the files written `beside` it) may be written."""
    for path in (Path(out), *beside):
        check_not_an_input(path, option, inputs)
        if path.is_dir():
            raise OutputPathError(
                f"{option} {_shown(out)}: {_shown(path)} is a folder, and a file is written there; "
                "give a file name"
            )
        if path.exists() and not overwrite:
            what = "" if path == Path(out) else f" ({_shown(path)}, written beside it)"
            raise OutputPathError(
                f"{option} {_shown(out)}{what} already exists; pass --overwrite to replace it, or "
                "choose another name"
            )
        check_writable(path, option)
