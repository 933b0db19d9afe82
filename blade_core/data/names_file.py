"""A names file: the domain's entities, one a line, as a user's database, formulary index or
catalogue lists them. BLADE's name finder reads the data for them; a list the user has is surer."""

from __future__ import annotations

from pathlib import Path

from blade_core.data.errors import DataError

MAX_NAME_CHARACTERS = 120
"""Longer than this, a line is a sentence or a pasted record, not a name."""


def load_names(path: str | Path) -> list[str]:
    """The names in `path`, in file order, each once: one a line, blank lines and lines opening
    with "#" skipped; a line longer than `MAX_NAME_CHARACTERS` is refused by its number."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "file not found; give a text file with one entity name a line") from None
    except UnicodeDecodeError as error:
        raise DataError(path, f"is not UTF-8 text ({error.reason} at byte {error.start})") from None
    names: dict[str, None] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        name = raw.strip()
        if not name or name.startswith("#"):
            continue
        if len(name) > MAX_NAME_CHARACTERS:
            raise DataError(path, f"{len(name)} characters is no name (at most {MAX_NAME_CHARACTERS}); "
                            "write one entity a line", line=number)
        names.setdefault(name)
    if not names:
        raise DataError(path, "holds no name; write one entity a line")
    return list(names)
