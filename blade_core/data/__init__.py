"""Loaders that turn corpora, instruction pairs and question files into typed records.

Every loader reports bad input as a `DataError` naming file, line and field, so one broken record in
a large file is found, never silently lost.
"""

from __future__ import annotations

from blade_core.data.corpus import load_corpus
from blade_core.data.errors import DataError
from blade_core.data.instructions import load_instructions
from blade_core.data.jsonl import read_jsonl, write_jsonl
from blade_core.data.mcq import load_mcq
from blade_core.data.names_file import load_names
from blade_core.data.records import Document, InstructionPair, MCQuestion, normalize_answer

__all__ = [
    "DataError",
    "Document",
    "InstructionPair",
    "MCQuestion",
    "load_corpus",
    "load_instructions",
    "load_mcq",
    "load_names",
    "normalize_answer",
    "read_jsonl",
    "write_jsonl",
]
