"""Loading alpaca-style instruction pairs for KIT."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from blade_core.data import DataError, InstructionPair, load_instructions


def test_jsonl_pairs_with_and_without_input(tmp_path: Path) -> None:
    path = tmp_path / "kit.jsonl"
    path.write_text(
        '{"instruction": "Define theft.", "output": " Taking property. "}\n'
        "\n"
        '{"instruction": "Classify", "input": "case 7", "output": "civil"}\n',
        encoding="utf-8",
    )

    pairs = load_instructions(path)

    assert pairs == [
        InstructionPair(instruction="Define theft.", output="Taking property."),
        InstructionPair(instruction="Classify", input="case 7", output="civil"),
    ]
    assert pairs[1].question == "Classify\ncase 7"


def test_alpaca_data_json_array(tmp_path: Path) -> None:
    path = tmp_path / "alpaca_data.json"
    records = [
        {"instruction": "甲", "input": "", "output": "乙"},
        {"instruction": "丙", "input": None, "output": "丁"},
    ]
    path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")

    assert [(p.instruction, p.input, p.output) for p in load_instructions(path)] == [
        ("甲", "", "乙"),
        ("丙", "", "丁"),
    ]


def test_missing_output_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "kit.jsonl"
    path.write_text(
        '{"instruction": "a", "output": "b"}\n{"instruction": "no answer"}\n', encoding="utf-8"
    )

    with pytest.raises(DataError, match="is missing; alpaca records need") as caught:
        load_instructions(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 2, "output")


def test_whitespace_only_instruction_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "kit.json"
    path.write_text('[\n {"instruction": "  ", "output": "b"}\n]', encoding="utf-8")

    with pytest.raises(DataError, match="is empty") as caught:
        load_instructions(path)
    assert (caught.value.line, caught.value.field) == (2, "instruction")


def test_non_string_field_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "kit.jsonl"
    path.write_text('{"instruction": "a", "output": 42}\n', encoding="utf-8")

    with pytest.raises(DataError, match="string") as caught:
        load_instructions(path)
    assert (caught.value.line, caught.value.field) == (1, "output")


def test_array_element_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "kit.json"
    path.write_text('[{"instruction": "a", "output": "b"},\n "stray"]', encoding="utf-8")

    with pytest.raises(DataError, match="got a str") as caught:
        load_instructions(path)
    assert caught.value.line == 2


def test_skip_invalid_keeps_good_pairs_and_warns_with_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "kit.jsonl"
    path.write_text(
        '{"instruction": "", "output": "b"}\n'
        '{"instruction": "a", "output": "b"}\n'
        '{"instruction": "a", "output": \n',
        encoding="utf-8",
    )

    with caplog.at_level(logging.WARNING, logger="blade_core.data"):
        pairs = load_instructions(path, skip_invalid=True)

    assert pairs == [InstructionPair(instruction="a", output="b")]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped 2 invalid records in {path} (first: {path}:1: field 'instruction': is empty)"
    ]


def test_file_without_valid_pairs_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "kit.jsonl"
    path.write_text('{"instruction": "", "output": ""}\n', encoding="utf-8")

    with pytest.raises(DataError, match="no valid instruction pairs") as caught:
        load_instructions(path, skip_invalid=True)
    assert caught.value.path == str(path)
