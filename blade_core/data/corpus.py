"""Loading the domain corpus that BLADE's small LM is pre-trained on.

A corpus arrives as folders of text files or as JSONL dumps; both become `Document`s whose `source`
points back at the file (and line), so a bad document can be found and fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from blade_core.data.errors import DataError
from blade_core.data.jsonl import NOT_UTF8_FIX, InvalidRecords, check_readable, read_jsonl
from blade_core.data.records import Document

TEXT_SUFFIXES = (".txt", ".md")
JSON_SUFFIXES = (".jsonl", ".jsonl.gz", ".json")
FOLDER_SUFFIXES = TEXT_SUFFIXES + (".jsonl", ".jsonl.gz")
"""What a folder's files are read as: `.json` is left out, since folders often hold a metadata
`.json` beside the text; a `.json` corpus is read when named on its own."""
ACCEPTED = ", ".join(TEXT_SUFFIXES + JSON_SUFFIXES)
logger = logging.getLogger("blade_core.data")


def load_corpus(
    paths: str | Path | Sequence[str | Path], *, skip_invalid: bool = False
) -> list[Document]:
    """Load every document under `paths` (folders, .txt/.md files, JSONL with a `text` field).

    Empty documents are errors rather than silent no-ops because they usually mean a failed export;
    with `skip_invalid` they are dropped and counted in one warning per path instead.
    """
    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    documents: list[Document] = []
    for path in map(Path, path_list):
        invalid = InvalidRecords(path, skip=skip_invalid)
        documents.extend(_documents_under(path, invalid))
        invalid.warn()
    if not documents:
        where = ", ".join(map(str, path_list)) or "(no paths given)"
        raise DataError(
            where, f"the corpus is empty: no non-empty documents found (accepted files: {ACCEPTED})"
        )
    return documents


def _documents_under(path: Path, invalid: InvalidRecords) -> Iterator[Document]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        read = [p for p in files if p.name.lower().endswith(FOLDER_SUFFIXES)]
        ignored = sorted({p.suffix.lower() or p.name for p in files} - {p.suffix.lower() for p in read})
        if len(read) < len(files):
            logger.warning("%s: ignored %d of its files, which are not %s (%s)", path, len(files) - len(read),
                           "/".join(FOLDER_SUFFIXES), ", ".join(ignored[:5]))
        for file in read:
            yield from _documents_under(file, invalid)
        return
    if not path.exists():
        raise DataError(path, "file or folder not found; check the path")
    name = path.name.lower()
    if name.endswith(TEXT_SUFFIXES):
        yield from _text_document(path, invalid)
    elif name.endswith(JSON_SUFFIXES):
        yield from _jsonl_documents(path, invalid)
    else:
        raise DataError(
            path, f"unknown corpus file type; accepted: a folder, or files ending in {ACCEPTED}"
        )


def _text_document(path: Path, invalid: InvalidRecords) -> Iterator[Document]:
    """A whole text file as one document (zero or one yielded, so skipped files just vanish)."""
    check_readable(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        invalid.handle(DataError(path, f"not valid UTF-8; {NOT_UTF8_FIX}", line=line))
        return
    text = text.replace("\ufeff", "").replace("\r\n", "\n").strip()
    if not text:
        invalid.handle(DataError(path, "the file is empty; remove it from the corpus (a failed export?)"))
        return
    yield Document(text=text, source=str(path))


def _jsonl_documents(path: Path, invalid: InvalidRecords) -> Iterator[Document]:
    for line, record in read_jsonl(path, on_bad_line=invalid.handle):
        text = record.get("text")
        problem = _text_problem(text)
        if problem:
            invalid.handle(
                DataError(
                    path,
                    f"{problem}; each line needs a non-empty 'text': fix or remove the line",
                    line=line,
                    field="text",
                )
            )
            continue
        yield Document(text=str(text).strip(), source=f"{path}:{line}")


def _text_problem(text: object) -> str | None:
    if text is None:
        return "is missing"
    if not isinstance(text, str):
        return f"must be a string, got {type(text).__name__}"
    if not text.strip():
        return "is empty"
    return None
