"""Loading multiple-choice questions (BLADE JSONL, JEC-QA, MLEC-QA, CMExam) as `MCQuestion`s."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from blade_core.data.errors import DataError
from blade_core.data.jsonl import NOT_UTF8_FIX, InvalidRecords, build_record, check_readable, read_jsonl
from blade_core.data.layouts import LAYOUTS, Layout, detect_layout
from blade_core.data.records import MCQuestion
from blade_core.text import parse_option_field

LayoutName = Literal["auto", "blade", "jecqa", "mlecqa", "cmexam"]
Row = tuple[int, dict[str, Any]]


def load_mcq(
    path: str | Path, *, layout: LayoutName = "auto", skip_invalid: bool = False
) -> list[MCQuestion]:
    """Load a question file in any supported layout; `.csv` files are read as CSV, others as JSON.

    The layout is fixed by the first record (or `layout`), so a file mixing layouts fails loudly
    on the first odd record instead of being half-read. Ids must be unique because evaluation and
    BPO key their results by id; a repeated id would silently overwrite a result.
    """
    if layout != "auto" and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of: auto, {', '.join(LAYOUTS)}")
    path = Path(path)
    invalid = InvalidRecords(path, skip=skip_invalid)
    rows = _read_rows(path, on_bad_line=invalid.handle)
    first = next(rows, None)
    if first is None:
        raise DataError(path, "holds no questions")
    chosen = detect_layout(path, *first) if layout == "auto" else LAYOUTS[layout]
    questions: list[MCQuestion] = []
    line_of_id: dict[str, int] = {}
    for line, record in itertools.chain([first], rows):
        try:
            question = _to_question(path, line, record, chosen)
            if question.id in line_of_id:
                raise DataError(
                    path,
                    f"duplicate id {question.id!r}, first used on line {line_of_id[question.id]}; "
                    "ids must be unique",
                    line=line,
                    field=chosen.key_for("id", record),
                )
        except DataError as error:
            invalid.handle(error)
            continue
        line_of_id[question.id] = line
        questions.append(question)
    invalid.warn()
    if not questions:
        raise DataError(path, f"no valid questions found ({len(invalid.errors)} invalid skipped)")
    return questions


def _to_question(path: Path, line: int, record: dict[str, Any], layout: Layout) -> MCQuestion:
    """One record as an MCQuestion, with every problem reported under the user's key names."""
    values = layout.values(record)
    key_of = {field: layout.key_for(field, record) for field in layout.keys}
    key_of[""] = key_of["answer"]  # the only model-level check: answer letters among the options

    def fail(field: str, message: str) -> DataError:
        return DataError(
            path, f"{message}; expected {layout.summary}", line=line, field=key_of[field]
        )

    values["id"] = str(values["id"]) if "id" in values else f"{_stem(path)}-{line}"
    for field in ("question", "knowledge"):
        if isinstance(values.get(field), str):
            values[field] = values[field].strip()
    if not values.get("knowledge"):
        values.pop("knowledge", None)
    if isinstance(values.get("options"), str):
        try:
            values["options"] = parse_option_field(values["options"])
        except ValueError as exc:
            raise fail("options", str(exc)) from None
    answer = values.get("answer")
    if answer is not None and not _is_letters(answer):
        raise fail("answer", f"must be letters like 'B', 'AC' or ['A', 'C'], got {answer!r}")
    return build_record(
        MCQuestion,
        values,
        path=path,
        line=line,
        key_of=key_of,
        missing_hint=f"expected {layout.summary}",
    )


def _is_letters(answer: object) -> bool:
    if isinstance(answer, str):
        return True
    return isinstance(answer, list) and all(isinstance(item, str) for item in answer)


def _stem(path: Path) -> str:
    """The file name without its extensions ("dev.jsonl.gz" -> "dev"), for made-up ids."""
    return path.name.split(".", 1)[0]


def _read_rows(path: Path, *, on_bad_line: Callable[[DataError], None]) -> Iterator[Row]:
    if path.suffix.lower() == ".csv":
        return _csv_rows(path)
    return read_jsonl(path, on_bad_line=on_bad_line)


def _csv_rows(path: Path) -> Iterator[Row]:
    """CSV rows as dicts, numbered by the physical line each row starts on (the header is line 1).

    Decoding the whole file up front lets a bad byte be reported with its line, which a decoding
    file object would hide inside the csv module's buffering.
    """
    check_readable(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig").replace("\ufeff", "")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(path, f"not valid UTF-8; {NOT_UTF8_FIX}", line=line) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if reader.fieldnames is None:  # reading the header also sets line_num to its last line
            return
        next_line = reader.line_num + 1
        for row in reader:
            yield next_line, {key: value for key, value in row.items() if key is not None}
            next_line = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(path, f"malformed CSV: {exc}", line=reader.line_num) from None
