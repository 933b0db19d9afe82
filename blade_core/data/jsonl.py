"""Reading and writing record files, and the one way all loaders turn bad records into DataErrors.

All loaders read through `read_jsonl`, so BOMs, CRLF line ends, gzip, truncated lines and stray
encodings are handled (and reported with file and line) in one place rather than once per layout.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from blade_core.atomic import atomic_file
from blade_core.data.errors import DataError

logger = logging.getLogger("blade_core.data")

UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
ARRAY_OPENING = re.compile(r"\s*\[\s*(\])?\s*")
ARRAY_SEPARATOR = re.compile(r"\s*([,\]])\s*")
CUT_OFF = " (the last line has no line end: the file looks cut off)"

OnBadLine = Callable[[DataError], None]
Model = TypeVar("Model", bound=BaseModel)


def read_jsonl(
    path: str | Path, *, on_bad_line: OnBadLine | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each record of a JSON-lines or JSON-array file.

    Unless the name says `.jsonl`, the format is sniffed from the content, because data sets ship
    JSON lines under a `.json` name (JEC-QA) as often as JSON arrays (alpaca_data.json, MLEC-QA).
    gzip is read whatever the name says (`.gz`, `.GZ` or none); a `.gz` name that is not gzip, and
    UTF-16, are refused with the fix. A UTF-8 BOM is dropped from any line (files joined with `cat`
    carry one mid-file). Blank lines are not records. A line that cannot be a record (bad JSON,
    bad UTF-8, not an object) goes to `on_bad_line`, which lets skip-invalid loaders carry on;
    without it, it raises. Errors that leave nothing to carry on with (not gzip, a broken JSON
    array) always raise.
    """
    path = Path(path)
    report = on_bad_line or _raise
    may_be_array = not path.name.lower().removesuffix(".gz").endswith(".jsonl")
    lines = _raw_lines(path)
    for number, raw in lines:
        raw = raw.removeprefix(UTF8_BOM)
        content = raw.strip()
        if not content:
            continue
        if may_be_array and content.startswith(b"["):
            rest = b"".join(line for _, line in lines)
            yield from _array_records(path, raw + rest, first_line=number, report=report)
            return
        may_be_array = False
        record = _parse_line(path, number, raw)
        if isinstance(record, DataError):
            report(record)
        else:
            yield number, record


def write_jsonl(path: str | Path, records: Iterable[BaseModel | Mapping[str, Any]]) -> None:
    """Write one JSON object per line, atomically, gzip-compressed when the name ends in `.gz`.

    A crash mid-write leaves the old file intact, never a truncated one that a later load chokes on.
    Unicode is written as is (ensure_ascii=False) so Chinese data stays readable and half the size.
    """
    with atomic_file(path, "wb") as raw_file:
        if str(path).endswith(".gz"):
            with gzip.GzipFile(fileobj=raw_file, mode="wb") as packed:
                packed.writelines(_json_lines(records))
        else:
            raw_file.writelines(_json_lines(records))


def _json_lines(records: Iterable[BaseModel | Mapping[str, Any]]) -> Iterator[bytes]:
    for record in records:
        obj = (
            record.model_dump(mode="json", exclude_none=True)
            if isinstance(record, BaseModel)
            else record
        )
        yield json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


class InvalidRecords:
    """What a loader does with a bad record: raise it, or (skip_invalid) count it and warn once.

    Funnelling every bad record through here is what guarantees nothing is ever skipped silently.
    """

    def __init__(self, path: str | Path, *, skip: bool) -> None:
        self.path = str(path)
        self.skip = skip
        self.errors: list[DataError] = []

    def handle(self, error: DataError) -> None:
        if not self.skip:
            raise error
        self.errors.append(error)

    def warn(self) -> None:
        """Log the one warning that tells the user how much of their file was dropped, and why."""
        if self.errors:
            logger.warning(
                "skipped %d invalid records in %s (first: %s)",
                len(self.errors),
                self.path,
                self.errors[0],
            )


def build_record(
    model: type[Model],
    values: Mapping[str, Any],
    *,
    path: str | Path,
    line: int,
    key_of: Mapping[str, str],
    missing_hint: str = "",
) -> Model:
    """Validate `values` as `model`; a failure becomes one DataError in the user's own terms.

    `key_of` maps a model field to the key the user's file uses for it ('question' -> 'statement'),
    so the error names a field the user can find; the key "" names the field that model-level
    validators (with an empty error location) are about. `missing_hint` says which fields a record
    needs, and is added when one is missing.
    """
    try:
        return model(**values)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        model_field = str(first["loc"][0]) if first["loc"] else ""
        message = _describe(first)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problems in this record)"
        if first["type"] == "missing" and missing_hint:
            message += f"; {missing_hint}"
        field = key_of.get(model_field, model_field) or None
        raise DataError(path, message, line=line, field=field) from None


def _describe(error: Mapping[str, Any]) -> str:
    """Plain words for the pydantic errors users meet most; the rest keep pydantic's message."""
    kind = error["type"]
    if kind == "missing":
        return "is missing"
    if kind == "string_too_short":
        return "is empty"
    return str(error["msg"]).removeprefix("Value error, ")


def _raise(error: DataError) -> None:
    raise error


def check_readable(path: Path) -> bytes:
    """The first bytes of `path`, after refusing a missing file, a folder and UTF-16 text."""
    if path.is_dir():
        raise DataError(path, "is a folder; give the data file itself")
    if not path.is_file():
        raise DataError(path, "file not found; check the path")
    with path.open("rb") as stream:
        head = stream.read(4)
    if not head.startswith(GZIP_MAGIC) and (head.startswith(UTF16_BOMS) or b"\x00" in head):
        raise DataError(
            path, "is UTF-16 text (as Windows saves 'Unicode'); re-save it as UTF-8, e.g. "
            f"`iconv -f UTF-16 -t UTF-8 {path.name} > utf8-{path.name}`", line=1,
        )
    return head


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines, with gzip and missing-file failures turned into DataErrors."""
    is_gzip = check_readable(path).startswith(GZIP_MAGIC)
    if path.name.lower().endswith(".gz") and not is_gzip:
        raise DataError(
            path,
            "is not a valid gzip file; the name ends in .gz, so it must be gzip: re-download it, "
            "or drop the .gz from the name if it is plain text",
        )
    with gzip.open(path, "rb") if is_gzip else path.open("rb") as stream:
        try:
            yield from enumerate(stream, start=1)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            if not is_gzip:
                raise
            raise DataError(path, f"is a damaged gzip file ({exc}), perhaps cut off; re-download "
                            "or re-compress it") from None


class _DuplicateKey(ValueError):
    """A key given twice in one JSON object: `json` would keep the later value without a word."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, value in pairs:
        if key in record:
            raise _DuplicateKey(key)
        record[key] = value
    return record


def _duplicate(path: Path, line: int, error: _DuplicateKey) -> DataError:
    return DataError(path, f"key '{error.key}' is given twice in one object, and only one value can count; "
                     "keep the right one", line=line, field=error.key)


def _parse_line(path: Path, number: int, raw: bytes) -> dict[str, Any] | DataError:
    """One line as an object, or the DataError saying why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8(path, number, raw, exc.start)
    try:
        record = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as error:
        return _duplicate(path, number, error)
    except json.JSONDecodeError as exc:
        cut_off = "" if raw.endswith(b"\n") else CUT_OFF
        return DataError(
            path, f"malformed JSON: {exc.msg} (column {exc.colno}){cut_off}", line=number
        )
    if not isinstance(record, dict):
        return DataError(
            path, f"expected one JSON object per line, got a {type(record).__name__}", line=number
        )
    return record


NOT_UTF8_FIX = ("re-save the file as UTF-8, e.g. `iconv -f GBK -t UTF-8` for Chinese data or "
               "`iconv -f LATIN1 -t UTF-8` for Western European text")


def _not_utf8(path: Path, line: int, raw: bytes, offset: int) -> DataError:
    return DataError(path, f"not valid UTF-8 (byte 0x{raw[offset]:02x}); {NOT_UTF8_FIX}", line=line)


def _array_records(
    path: Path, data: bytes, *, first_line: int, report: OnBadLine
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Walk a JSON array element by element so each record keeps the line it starts on."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = data.rfind(b"\n", 0, exc.start) + 1
        raise _not_utf8(
            path,
            first_line + data.count(b"\n", 0, exc.start),
            data[bad_line:],
            exc.start - bad_line,
        ) from None
    opening = ARRAY_OPENING.match(text)
    assert opening is not None, "read_jsonl only hands over content that starts with '['"
    decoder = json.JSONDecoder(object_pairs_hook=_unique_keys)
    position = opening.end()
    line = first_line + text.count("\n", 0, position)
    closed = opening.group(1) is not None
    while not closed:
        try:
            element, end = decoder.raw_decode(text, position)
        except _DuplicateKey as error:
            raise _duplicate(path, line, error) from None
        except json.JSONDecodeError as exc:
            raise _array_error(path, first_line, exc) from None
        if isinstance(element, dict):
            yield line, element
        else:
            kind = type(element).__name__
            report(
                DataError(path, f"expected the array to hold JSON objects, got a {kind}", line=line)
            )
        separator = ARRAY_SEPARATOR.match(text, end)
        if separator is None:
            where = first_line + text.count("\n", 0, end)
            cut_off = "" if text[end:].strip() else " (the file looks cut off)"
            message = f"malformed JSON array: expected ',' or ']' after an element{cut_off}"
            raise DataError(path, message, line=where)
        line += text.count("\n", position, separator.end())
        position = separator.end()
        closed = separator.group(1) == "]"
    if text[position:].strip():
        where = first_line + text.count("\n", 0, position)
        raise DataError(path, "malformed JSON: text after the closing ']'", line=where)


def _array_error(path: Path, first_line: int, exc: json.JSONDecodeError) -> DataError:
    cut_off = " (the file looks cut off)" if exc.pos >= len(exc.doc.rstrip()) else ""
    return DataError(
        path,
        f"malformed JSON array: {exc.msg} (column {exc.colno}){cut_off}",
        line=first_line + exc.lineno - 1,
    )
