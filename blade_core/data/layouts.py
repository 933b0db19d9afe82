"""The multiple-choice layouts BLADE reads, and how to tell them apart from one record.

Each layout is just a mapping from `MCQuestion` fields to the keys its files use, so errors can name
the key the user sees ('option_list' for JEC-QA, 'Options' for CMExam) instead of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blade_core.data.errors import DataError


@dataclass(frozen=True)
class Layout:
    """Where a layout keeps each question field; several keys mean "the first one present"."""

    name: str
    keys: Mapping[str, tuple[str, ...]]
    summary: str

    def key_for(self, field: str, record: Mapping[str, Any]) -> str:
        """The key this record uses for `field` (the first candidate when none is present)."""
        candidates = self.keys[field]
        return next(
            (key for key in candidates if key in record), candidates[0] if candidates else ""
        )

    def values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record's values under MCQuestion's field names, leaving out absent and null ones."""
        found = {
            field: record.get(self.key_for(field, record))
            for field, candidates in self.keys.items()
            if candidates
        }
        return {field: value for field, value in found.items() if value is not None}


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "blade",
            {
                "id": ("id",),
                "question": ("question",),
                "options": ("options",),
                "answer": ("answer",),
                "knowledge": ("knowledge",),
            },
            'JSONL with id, question, options {"A": ...}, answer, optional knowledge',
        ),
        Layout(
            "jecqa",
            {
                "id": ("id",),
                "question": ("statement",),
                "options": ("option_list",),
                "answer": ("answer",),
                "knowledge": ("knowledge",),
            },
            "JEC-QA: JSON lines with id, statement, option_list, answer (a list of letters), optional knowledge",
        ),
        Layout(
            "mlecqa",
            {
                "id": ("qid",),
                "question": ("qtext",),
                "options": ("options",),
                "answer": ("answer",),
                "knowledge": (),
            },
            "MLEC-QA: a JSON array of objects with qid, qtype, qtext, options, answer",
        ),
        Layout(
            "cmexam",
            {
                "id": ("id",),
                "question": ("Question", "question"),
                "options": ("Options", "options"),
                "answer": ("Answer", "answer"),
                "knowledge": ("Explanation", "explanation"),
            },
            "CMExam: CSV (or JSONL) with Question, Options ('A text' lines), Answer, Explanation",
        ),
    )
}


def detect_layout(path: Path, line: int, record: Mapping[str, Any]) -> Layout:
    """Pick the layout from the first record's keys; a CSV file can only be CMExam."""
    keys = set(record)
    if path.suffix.lower() == ".csv" or "Question" in keys:
        return LAYOUTS["cmexam"]
    if {"statement", "option_list"} <= keys:
        return LAYOUTS["jecqa"]
    if "qtext" in keys:
        return LAYOUTS["mlecqa"]
    if {"question", "options"} <= keys:
        cmexam_like = isinstance(record["options"], str) or "explanation" in keys
        return LAYOUTS["cmexam" if cmexam_like else "blade"]
    known = "; ".join(f"{layout.name}: {layout.summary}" for layout in LAYOUTS.values())
    raise DataError(
        path,
        f"cannot tell the question layout from the keys {sorted(keys)}; known layouts are {known}. "
        "Convert the file to one of them, or pass layout= explicitly",
        line=line,
    )

