"""The one error type that every loader raises, so users always see where bad input is."""

from __future__ import annotations

from pathlib import Path

from blade_core.errors import BladeError


class DataError(BladeError, ValueError):
    """Bad input data, located by file, line (1-based, when the file has lines) and field.

    Loaders raise this instead of skipping a record silently: a user whose 10 000-line file has one
    bad record must learn which one, not lose it.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path if line is None else f"{self.path}:{line}"
        what = f" field '{field}':" if field else ""
        super().__init__(f"{where}:{what} {message}")
