"""Loading the alpaca-style pairs used for Knowledge Instruction Tuning (KIT)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blade_core.data.errors import DataError
from blade_core.data.jsonl import InvalidRecords, build_record, read_jsonl
from blade_core.data.records import InstructionPair

ALPACA_FIELDS = ("instruction", "input", "output")
ALPACA_HINT = "alpaca records need 'instruction' and 'output' ('input' is optional)"


def load_instructions(path: str | Path, *, skip_invalid: bool = False) -> list[InstructionPair]:
    """Load alpaca records from JSONL or a JSON array file (the alpaca_data.json layout).

    Text is stripped before validation so that a whitespace-only field counts as empty: such a pair
    would otherwise teach the model to answer with nothing.
    """
    invalid = InvalidRecords(path, skip=skip_invalid)
    pairs: list[InstructionPair] = []
    for line, record in read_jsonl(path, on_bad_line=invalid.handle):
        if "instruction" not in record and {"question", "options"} <= set(record):
            raise DataError(path, "holds multiple-choice questions, not alpaca pairs; make KIT pairs "
                            "from them with `blade make-kit-data --questions FILE`", line=line)
        try:
            pairs.append(
                build_record(
                    InstructionPair,
                    _alpaca_values(record),
                    path=path,
                    line=line,
                    key_of={},
                    missing_hint=ALPACA_HINT,
                )
            )
        except DataError as error:
            invalid.handle(error)
    invalid.warn()
    if not pairs:
        raise DataError(path, f"no valid instruction pairs found; {ALPACA_HINT}")
    return pairs


def _alpaca_values(record: dict[str, Any]) -> dict[str, Any]:
    """The alpaca fields present; a null `input` means no input, as in alpaca_data.json."""
    values = {key: record[key] for key in ALPACA_FIELDS if record.get(key) is not None}
    return {
        key: value.strip() if isinstance(value, str) else value for key, value in values.items()
    }
