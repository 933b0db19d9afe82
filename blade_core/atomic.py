"""Write files and directories so that they are either complete or absent: temp, then rename.

A model directory or state file that looks complete but is not (a crash mid-save, a full disk) is
worse than none: it loads later and fails, or silently misbehaves. Everything that writes a model
directory goes through `atomic_directory`; every state, report or data file through `atomic_file`.
A write that fails (a full disk, a file-size limit) raises `AtomicWriteError`, naming the target and
saying that what was there before is untouched. A folder blade did not write is never replaced
(`outputs.is_blade_directory`), whoever calls. What appears has the permissions the user's umask
gives, as a plain `mkdir` or `open` would make it, not the private ones of a temporary file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from safetensors import SafetensorError

from blade_core.errors import BladeError, OutputPathError
from blade_core.outputs import MANIFEST, is_blade_directory, written_by_blade

logger = logging.getLogger(__name__)

WRITE_FAILURES = (OSError, SafetensorError)
"""What a failed write raises: OSError, or safetensors' own error around one."""


class AtomicWriteError(BladeError, OSError):
    """Writing a file or directory failed part-way; the previous version, if any, is untouched."""


_umask_lock = threading.Lock()


def _umask() -> int:
    """The process's umask; reading it means setting it, so readers take turns."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _as_if_made_plainly(path: Path, *, folder: bool) -> None:
    """Give a temporary file (0600) or folder (0700) the mode a plain open or mkdir would."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())


def _write_failed(target: Path, error: BaseException) -> AtomicWriteError:
    kept = "the previous one is untouched" if target.exists() else "nothing was written there"
    return AtomicWriteError(
        f"could not write {target} ({type(error).__name__}: {error}); {kept}. "
        "If the disk is full or a file-size limit was hit, make room and run again"
    )


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` in one rename.

    On error the temporary folder is removed and any previous `target` is left untouched.
    """
    target = Path(target).resolve()
    if target.is_dir() and any(target.iterdir()) and not is_blade_directory(target):
        raise OutputPathError(f"{target} is a folder blade did not write; it is never replaced: "
                              "save to a new or empty folder")
    if target.exists() and not target.is_dir():
        raise OutputPathError(f"{target} is a file; a model directory is saved as a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    _as_if_made_plainly(staging, folder=True)
    try:
        yield staging
    except WRITE_FAILURES as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise _write_failed(target, error) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for path in staging.rglob("*"):  # libraries save through private temporary files (0600) too
        _as_if_made_plainly(path, folder=path.is_dir())
    written = sorted(entry.name for entry in staging.iterdir())
    (staging / MANIFEST).write_text(json.dumps({"written_by": "blade", "files": written}, indent=1) + "\n",
                                    encoding="utf-8")
    _as_if_made_plainly(staging / MANIFEST, folder=False)
    previous = None
    if target.exists():
        _keep_users_files(target, staging)
        previous = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _keep_users_files(target: Path, staging: Path) -> None:
    """Move into the new directory what a user added to the old one (notes, an evaluation), so
    `--overwrite` replaces only what blade wrote; say which, in one line."""
    ours = written_by_blade(target)
    kept = [entry for entry in sorted(target.iterdir()) if entry.name not in ours
            and not (staging / entry.name).exists()]
    for entry in kept:
        os.replace(entry, staging / entry.name)
    if kept:
        logger.warning("kept in %s what blade did not write there: %s", target,
                       ", ".join(entry.name for entry in kept))


@contextmanager
def atomic_file(target: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Yield a handle on a temporary file beside `target`; on success it replaces `target`.

    The temporary file sits in the target's folder, so the final `os.replace` is a rename on one
    file system; it is flushed to disk first, so a crash right after leaves the new file whole.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    _as_if_made_plainly(Path(temp), folder=False)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise _write_failed(target, error) from error
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_text_atomic(target: str | Path, text: str) -> None:
    with atomic_file(target) as handle:
        handle.write(text)
