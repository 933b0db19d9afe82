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

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
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


MANIFEST = ".blade-manifest.json"
"""The files blade wrote into a model directory (`atomic.atomic_directory`): `--overwrite` replaces
those and keeps anything a user added."""
BLADE_FILES = ("config.json", "generation_config.json", "model.safetensors", "model-*.safetensors",
               "model.safetensors.index.json", "tokenizer*", "special_tokens_map.json", "vocab*", "merges.txt",
               "chat_template*", "added_tokens.json", MODEL_MARKER, "blade_prompt.json", "soft_prompt", "training")
"""What blade writes into a model directory, for directories written before the manifest."""


def _json_object(path: Path) -> dict[str, object] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def is_blade_directory(path: str | Path) -> bool:
    """True when `path` is a folder blade wrote: a model directory (its `blade.json` is a BLADE
    config, not just any file of that name) or a working folder (its marker says so)."""
    folder = Path(path)
    config = _json_object(folder / MODEL_MARKER)
    work = _json_object(folder / WORK_MARKER)
    return bool(config and {"format_version", "knowledge_template"} <= set(config)) or \
        bool(work and work.get("written_by") == "blade")


def written_by_blade(folder: Path) -> set[str]:
    """The top-level entries of a model directory that blade wrote: its manifest's, or, in a
    directory written before the manifest, the names blade gives its files (`BLADE_FILES`)."""
    manifest = _json_object(folder / MANIFEST)
    files = manifest.get("files") if manifest is not None else None
    if isinstance(files, list):
        return {str(name) for name in files} | {MANIFEST}
    return {entry.name for entry in folder.iterdir() if any(entry.match(p) for p in BLADE_FILES)}


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


def cache_dir() -> Path:
    """blade's cache folder: `$BLADE_CACHE_DIR`, else `$XDG_CACHE_HOME/blade`, else `~/.cache/blade`
    (converted packaged models, output locks)."""
    if os.environ.get("BLADE_CACHE_DIR"):
        return Path(os.environ["BLADE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "blade"


RUN_FILES = ("report.md", "report.json", "report.png", "report.questions.jsonl", "pipeline.json",
             "eval.cache.sqlite", "quickstart-domain.txt", "kit.jsonl", "kit.jsonl.progress.jsonl",
             "kit.jsonl.cache.sqlite", "augmented.jsonl", "augmented.jsonl.progress.jsonl",
             "augmented.jsonl.cache.sqlite", WORK_MARKER)
"""The files `blade train` and `blade quickstart` write into their working folder, besides the
stages' directories (each a folder blade wrote)."""


def clear_run_folder(folder: Path) -> list[str]:
    """Remove what blade wrote in a run's working folder (its stage directories and `RUN_FILES`)
    and return the names of what it kept: a user's notes and plots are never removed."""
    kept = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and is_blade_directory(entry):
            shutil.rmtree(entry)
        elif entry.is_file() and entry.name in RUN_FILES:
            entry.unlink()
        else:
            kept.append(entry.name)
    return kept


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


@contextmanager
def output_lock(out: str | Path, option: str = "--out") -> Iterator[None]:
    """Hold a lock on `out` while a command writes it: a second run on the same output is refused
    at once, naming the one that holds it, instead of both paying for the same LLM calls and
    interleaving what they write. The lock is a file named by the output's absolute path in blade's
    cache folder (`cache_dir`: nothing is made beside the output), taken with
    `flock`, so a run that dies releases it; only the main process of a distributed run takes it."""
    if os.environ.get("RANK", "0") != "0":
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    key = hashlib.sha256(str(_resolved(out)).encode()).hexdigest()[:24]
    lock = cache_dir() / "locks" / f"{key}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise OutputPathError(
                f"{option} {_shown(out)} is being written by another blade run ({holder}); wait for it "
                f"to finish, or choose another {option}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()}: {' '.join(['blade', *sys.argv[1:2]])}".encode(), 0)
        yield
    finally:
        os.close(fd)
