"""Corpus loading, and the JSONL reading and writing that every loader shares."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from blade_core.data import DataError, Document, MCQuestion, load_corpus, read_jsonl, write_jsonl


def test_folder_is_read_recursively_in_sorted_order_and_only_text_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "a.md").write_text("# first\n", encoding="utf-8")
    (tmp_path / "sub" / "c.TXT").write_text("third", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("ignored", encoding="utf-8")

    documents = load_corpus(tmp_path)

    assert [d.text for d in documents] == ["# first", "second", "third"]
    assert documents[0].source == str(tmp_path / "a.md")


def test_text_file_with_bom_and_crlf_becomes_one_clean_document(tmp_path: Path) -> None:
    path = tmp_path / "law.txt"
    path.write_bytes(b"\xef\xbb\xbfline one\r\nline two\r\n")

    assert load_corpus(str(path)) == [Document(text="line one\nline two", source=str(path))]


def test_jsonl_lines_become_documents_sourced_by_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"text": "\xe5\x88\x91\xe6\xb3\x95"}\r\n\r\n{"text": "two", "x": 1}\r\n'
    )

    documents = load_corpus(path)

    assert [(d.text, d.source) for d in documents] == [("刑法", f"{path}:1"), ("two", f"{path}:3")]


def test_gzip_jsonl_corpus_and_several_paths(tmp_path: Path) -> None:
    packed = tmp_path / "part.jsonl.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as stream:
        stream.write('{"text": "zipped"}\n')
    plain = tmp_path / "extra.txt"
    plain.write_text("plain", encoding="utf-8")

    assert [d.text for d in load_corpus([packed, plain])] == ["zipped", "plain"]


def test_gz_that_is_not_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.jsonl.gz"
    path.write_text('{"text": "not compressed"}\n', encoding="utf-8")

    with pytest.raises(DataError, match="not a valid gzip file") as caught:
        load_corpus(path)
    assert caught.value.path == str(path)
    assert caught.value.line is None


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok"}\n{"text": oops}\n{"text": "ok"}\n', encoding="utf-8")

    with pytest.raises(DataError, match="malformed JSON") as caught:
        load_corpus(path)
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    assert str(caught.value).startswith(f"{path}:2:")


def test_truncated_last_line_is_reported_as_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok"}\n{"text": "half', encoding="utf-8")

    with pytest.raises(DataError, match="cut off") as caught:
        load_corpus(path)
    assert caught.value.line == 2


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "ok"}\n' + '{"text": "刑法"}\n'.encode("gbk"))

    with pytest.raises(DataError, match="not valid UTF-8") as caught:
        load_corpus(path)
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_non_utf8_text_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"fine\n" + "刑法".encode("gbk"))

    with pytest.raises(DataError, match="UTF-8") as caught:
        load_corpus(path)
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"title": "no text"}', "is missing"),
        ('{"text": "  "}', "is empty"),
        ('{"text": 3}', "string"),
    ],
)
def test_missing_or_empty_text_field(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(f'{{"text": "ok"}}\n{line}\n', encoding="utf-8")

    with pytest.raises(DataError, match=problem) as caught:
        load_corpus(path)
    assert (caught.value.line, caught.value.field) == (2, "text")


def test_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('["text", "in a list"]\n', encoding="utf-8")

    with pytest.raises(DataError, match="got a list") as caught:
        load_corpus(path)
    assert caught.value.line == 1


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "readme.csv").write_text("no text files here", encoding="utf-8")

    with pytest.raises(DataError, match="corpus is empty") as caught:
        load_corpus(tmp_path)
    assert caught.value.path == str(tmp_path)


def test_empty_file_among_good_ones_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("good", encoding="utf-8")
    (tmp_path / "b.txt").write_text(" \n\t\n", encoding="utf-8")

    with pytest.raises(DataError, match="empty") as caught:
        load_corpus(tmp_path)
    assert caught.value.path == str(tmp_path / "b.txt")


def test_skip_invalid_drops_bad_documents_with_one_counted_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.txt").write_text("good", encoding="utf-8")
    (tmp_path / "b.txt").write_text("", encoding="utf-8")
    (tmp_path / "c.md").write_text("\n", encoding="utf-8")
    lines = tmp_path.parent / f"{tmp_path.name}-more.jsonl"
    lines.write_text('{"text": ""}\n{"text": "fine"}\n{"text": broken\n', encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger="blade_core.data"):
        documents = load_corpus([tmp_path, lines], skip_invalid=True)

    assert [d.text for d in documents] == ["good", "fine"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith(f"skipped 2 invalid records in {tmp_path} (first: ")
    assert messages[1].startswith(f"skipped 2 invalid records in {lines} (first: {lines}:1:")


def test_unknown_extension_lists_the_accepted_ones(tmp_path: Path) -> None:
    path = tmp_path / "corpus.pdf"
    path.write_bytes(b"%PDF")

    with pytest.raises(DataError, match=r"\.txt, \.md, \.jsonl") as caught:
        load_corpus(path)
    assert caught.value.path == str(path)


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_corpus(tmp_path / "nowhere.jsonl")


def test_json_array_records_keep_the_line_they_start_on(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text(
        '[\n  {"text": "a"},\n\n  {"text": "b",\n   "n": 2}, {"text": "c"}\n]\n', encoding="utf-8"
    )

    assert [(line, r["text"]) for line, r in read_jsonl(path)] == [(2, "a"), (4, "b"), (5, "c")]


def test_broken_json_array_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "array.json"
    path.write_text('[\n  {"text": "a"},\n  {"text": }\n]\n', encoding="utf-8")

    with pytest.raises(DataError, match="malformed JSON array") as caught:
        list(read_jsonl(path))
    assert caught.value.line == 3


def test_write_jsonl_round_trips_models_and_dicts_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "out" / "q.jsonl"
    question = MCQuestion(id="1", question="刑法?", options={"A": "是", "B": "否"}, answer=("A",))

    write_jsonl(path, [question, {"id": "raw", "n": 1}])

    text = path.read_text(encoding="utf-8")
    assert "刑法" in text and "knowledge" not in text
    assert [record for _, record in read_jsonl(path)] == [
        {"id": "1", "question": "刑法?", "options": {"A": "是", "B": "否"}, "answer": ["A"]},
        {"id": "raw", "n": 1},
    ]


def test_write_jsonl_gz_is_gzip(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"

    write_jsonl(path, [Document(text="t", source="s")])

    assert json.loads(gzip.decompress(path.read_bytes())) == {"text": "t", "source": "s"}


def test_write_jsonl_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "old"}\n', encoding="utf-8")

    def failing() -> Iterator[dict[str, str]]:
        yield {"text": "new"}
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError):
        write_jsonl(path, failing())

    assert path.read_text(encoding="utf-8") == '{"text": "old"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["d.jsonl"]


def test_a_folder_reads_its_jsonl_files_and_says_which_files_it_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "notes.txt").write_text("Zorvanil treats marsh fever.", encoding="utf-8")
    (tmp_path / "more.jsonl").write_text('{"text": "Quelmora treats copper lung."}\n', encoding="utf-8")
    (tmp_path / "packed.JSONL.GZ").write_bytes(gzip.compress(b'{"text": "Brantovex calms."}\n'))
    (tmp_path / "paper.pdf").write_bytes(b"%PDF")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("not a document")
    with caplog.at_level(logging.WARNING, logger="blade_core.data"):
        documents = load_corpus(tmp_path)
    assert sorted(d.text for d in documents) == ["Brantovex calms.", "Quelmora treats copper lung.",
                                                 "Zorvanil treats marsh fever."]
    assert caplog.messages == [f"{tmp_path}: ignored 1 of its files, which are not .txt/.md/.jsonl/.jsonl.gz (.pdf)"]


def test_utf16_text_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Zorvanil treats marsh fever.", encoding="utf-16")
    with pytest.raises(DataError, match="is UTF-16 text .*iconv -f UTF-16 -t UTF-8") as caught:
        load_corpus(path)
    assert (caught.value.path, caught.value.line) == (str(path), 1)
