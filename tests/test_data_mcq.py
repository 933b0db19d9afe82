"""Loading multiple-choice questions in every supported layout, and every way they can be bad."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from blade_core.data import DataError, MCQuestion, load_mcq

OPTIONS = {"A": "盗窃罪", "B": "抢夺罪", "C": "诈骗罪", "D": "无罪"}
JECQA_RECORD = {
    "id": "1_4269",
    "statement": "甲趁乙不备拿走其手机，甲的行为构成：",
    "option_list": OPTIONS,
    "answer": ["B"],
    "type": "1",
    "subject": "刑法",
}
MLECQA_RECORD = {
    "qid": "A1-0007",
    "qtype": "A1型题",
    "qtext": "成人正常血钾浓度是",
    "qimage": "",
    "options": {"A": "1", "B": "2", "C": "3.5-5.5", "D": "7", "E": "9"},
    "answer": "C",
}
CMEXAM_HEADER = [
    "Question",
    "Options",
    "Answer",
    "Explanation",
    "Disease Group",
    "Difficulty level",
]


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    """JSON lines, as most layouts ship."""
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def write_cmexam_csv(path: Path, rows: list[list[str]]) -> Path:
    """A CMExam CSV, with the BOM and CRLF line ends of the files as distributed."""
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)  # csv's default line end is CRLF
        writer.writerow(CMEXAM_HEADER)
        writer.writerows(rows)
    return path


def blade(qid: str, answer: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": qid,
        "question": "Which?",
        "options": {"A": "x", "B": "y", "C": "z"},
        "answer": answer,
        **extra,
    }


# --- layouts and auto-detection -------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["auto", "blade"])
def test_blade_layout_single_and_multi_answers(tmp_path: Path, layout: str) -> None:
    path = write_lines(
        tmp_path / "dev.jsonl",
        [
            blade("q1", "B", knowledge=" Art. 264 "),
            blade("q2", "AC"),
            blade("q3", ["A", "C"]),
            blade("q4", "CA"),
        ],
    )

    questions = load_mcq(path, layout=layout)  # type: ignore[arg-type]

    assert [q.answer for q in questions] == [("B",), ("A", "C"), ("A", "C"), ("A", "C")]
    assert questions[0] == MCQuestion(
        id="q1",
        question="Which?",
        options={"A": "x", "B": "y", "C": "z"},
        answer=("B",),
        knowledge="Art. 264",
    )
    assert questions[1].knowledge is None


def test_options_beyond_e_are_accepted(tmp_path: Path) -> None:
    options = {letter: f"option {letter}" for letter in "ABCDEFG"}
    path = write_lines(tmp_path / "q.jsonl", [{"question": "q", "options": options, "answer": "G"}])

    question = load_mcq(path)[0]

    assert question.letters == tuple("ABCDEFG") and question.answer == ("G",)


@pytest.mark.parametrize("layout", ["auto", "jecqa"])
def test_jecqa_json_lines_under_a_json_name(tmp_path: Path, layout: str) -> None:
    second = {**JECQA_RECORD, "id": "1_4270", "answer": ["D", "A"]}
    path = write_lines(tmp_path / "0_train.json", [JECQA_RECORD, second])

    questions = load_mcq(path, layout=layout)  # type: ignore[arg-type]

    assert [(q.id, q.answer) for q in questions] == [("1_4269", ("B",)), ("1_4270", ("A", "D"))]
    assert questions[0].question == JECQA_RECORD["statement"]
    assert questions[0].options == OPTIONS


@pytest.mark.parametrize("layout", ["auto", "mlecqa"])
def test_mlecqa_json_array(tmp_path: Path, layout: str) -> None:
    path = tmp_path / "Clinic_dev.json"
    path.write_text(json.dumps([MLECQA_RECORD], ensure_ascii=False, indent=1), encoding="utf-8")

    [question] = load_mcq(path, layout=layout)  # type: ignore[arg-type]

    assert (question.id, question.question, question.answer) == (
        "A1-0007",
        "成人正常血钾浓度是",
        ("C",),
    )
    assert question.letters == ("A", "B", "C", "D", "E")


def test_mlecqa_jsonl_variant(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "dev.jsonl", [MLECQA_RECORD])

    assert load_mcq(path)[0].id == "A1-0007"


@pytest.mark.parametrize("layout", ["auto", "cmexam"])
def test_cmexam_csv_with_multiline_options(tmp_path: Path, layout: str) -> None:
    path = write_cmexam_csv(
        tmp_path / "test.csv",
        [
            ["血钾正常值是", "A 1\nB 3.5-5.5\nC 9", "B", "正常血钾为3.5-5.5", "内科", "易"],
            ["属于利尿剂的是", "A 呋塞米\nB 阿司匹林\nC 氢氯噻嗪\nD 吗啡", "CA", "", "内科", "中"],
        ],
    )

    questions = load_mcq(path, layout=layout)  # type: ignore[arg-type]

    assert [q.id for q in questions] == ["test-2", "test-5"]  # rows start on lines 2 and 5
    assert questions[0].options == {"A": "1", "B": "3.5-5.5", "C": "9"}
    assert questions[0].knowledge == "正常血钾为3.5-5.5"
    assert questions[1].answer == ("A", "C") and questions[1].knowledge is None


def test_cmexam_jsonl_with_options_string_and_dict(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "cmexam.jsonl",
        [
            {"question": "q1", "options": "A 甲\nB 乙", "answer": "A", "explanation": "因为"},
            {"question": "q2", "options": {"A": "甲", "B": "乙"}, "answer": "B"},
        ],
    )

    questions = load_mcq(path)

    assert [(q.id, q.answer, q.knowledge) for q in questions] == [
        ("cmexam-1", ("A",), "因为"),
        ("cmexam-2", ("B",), None),
    ]


def test_a_1_mb_question_loads_whole_and_the_domain_lm_keeps_its_end(
    tmp_path: Path, tiny_lm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    text = "Which drug treats marsh fever? " * 33_000
    path = write_lines(tmp_path / "q.jsonl", [{**blade("big", "A"), "question": text}])

    [question] = load_mcq(path)

    assert len(question.question.encode()) > 1_000_000 and question.question == text.strip()
    with caplog.at_level(logging.WARNING, logger="blade_core.writers.domain_lm"):
        [knowledge] = tiny_lm.generate_knowledge([question.with_options_text()], max_new_tokens=4)
    assert isinstance(knowledge, str) and "truncated from the left" in caplog.text


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs at least 2 options, got 0"),
        ({"A": "only"}, "got 1"),
        ({"A": "x", "B": " "}, "B is empty"),
    ],
)
def test_bad_options_name_the_users_field(
    tmp_path: Path, options: dict[str, str], message: str
) -> None:
    path = write_lines(
        tmp_path / "jec.json", [JECQA_RECORD, {**JECQA_RECORD, "id": "2", "option_list": options}]
    )

    with pytest.raises(DataError, match=message) as caught:
        load_mcq(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (
        str(path),
        2,
        "option_list",
    )


def test_answer_not_among_options(tmp_path: Path) -> None:
    path = write_cmexam_csv(tmp_path / "exam.csv", [["q", "A 甲\nB 乙", "AC", "", "", ""]])

    with pytest.raises(DataError, match="answer C is not among the options AB") as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (2, "Answer")


@pytest.mark.parametrize(
    ("answer", "message"),
    [("", "holds no option letter"), (3, "must be letters like"), ([1], "must be letters"),
     ("bad", "answer 'bad' is not option letters"), ("ab", "answer 'ab' is not option letters"),
     ("A1", "is not option letters"), ("AA", "gives A more than once"), (["A", "a"], "gives A more than once"),
     ("true", "is not option letters")],
)
def test_unusable_answer(tmp_path: Path, answer: Any, message: str) -> None:
    path = write_lines(tmp_path / "q.jsonl", [blade("q1", answer)])

    with pytest.raises(DataError, match=message) as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (1, "answer")


@pytest.mark.parametrize(("answer", "read"), [
    ("b", ("B",)), ("AC", ("A", "C")), ("CA", ("A", "C")), ("a, c", ("A", "C")), ("A、C", ("A", "C")),
    ("A and C", ("A", "C")), (["C", "a"], ("A", "C")), ("A;B", ("A", "B")),
])
def test_answers_in_the_forms_data_sets_use_are_read(tmp_path: Path, answer: Any, read: tuple[str, ...]) -> None:
    path = write_lines(tmp_path / "q.jsonl", [blade("q1", answer)])
    assert load_mcq(path)[0].answer == read


def test_option_keys_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    record = {**blade("q1", "A"), "options": {"A": "x", "B": "y", "b": "z"}}
    path = write_lines(tmp_path / "q.jsonl", [record])
    with pytest.raises(DataError, match="option keys 'B' and 'b' are the same letter") as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (1, "options")


def test_empty_question_names_the_layouts_field(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "jec.json", [{**JECQA_RECORD, "statement": "  "}])

    with pytest.raises(DataError, match="is empty") as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (1, "statement")


def test_missing_field_says_what_the_layout_expects(tmp_path: Path) -> None:
    record = {key: value for key, value in MLECQA_RECORD.items() if key != "answer"}
    path = write_lines(tmp_path / "m.jsonl", [record])

    with pytest.raises(DataError, match="is missing; expected MLEC-QA") as caught:
        load_mcq(path, layout="mlecqa")
    assert (caught.value.line, caught.value.field) == (1, "answer")


def test_bad_cmexam_options_line(tmp_path: Path) -> None:
    path = write_cmexam_csv(tmp_path / "exam.csv", [["q", "甲\nB 乙", "B", "", "", ""]])

    with pytest.raises(DataError, match="must start with a letter") as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (2, "Options")


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", [blade("q1", "A"), blade("q2", "A"), blade("q1", "B")])

    with pytest.raises(DataError, match="duplicate id 'q1', first used on line 1") as caught:
        load_mcq(path)
    assert (caught.value.line, caught.value.field) == (3, "id")


def test_unknown_keys_list_the_layouts_and_keys_found(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", [{"prompt": "?", "choices": ["a", "b"], "label": 0}])

    with pytest.raises(DataError) as caught:
        load_mcq(path)
    message = str(caught.value)
    assert "['choices', 'label', 'prompt']" in message
    assert all(name in message for name in ("blade", "jecqa", "mlecqa", "cmexam", "layout="))
    assert caught.value.line == 1


def test_malformed_json_and_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps(blade("q1", "A")) + '\n{"id": "q2", "question": "Wh', encoding="utf-8"
    )

    with pytest.raises(DataError, match=r"malformed JSON.*cut off") as caught:
        load_mcq(path)
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_bom_and_crlf_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [json.dumps(blade(f"q{n}", "A")) for n in (1, 2)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")

    assert [q.id for q in load_mcq(path)] == ["q1", "q2"]


def test_non_utf8_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "exam.csv"
    path.write_bytes(("Question,Options,Answer\n" + 'q,"A 甲\nB 乙",A\n').encode("gbk"))

    with pytest.raises(DataError, match="not valid UTF-8") as caught:
        load_mcq(path)
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text("\n\n", encoding="utf-8")

    with pytest.raises(DataError, match="holds no questions") as caught:
        load_mcq(path)
    assert caught.value.path == str(path)


def test_skip_invalid_drops_bad_records_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(blade("q1", "A")),
                json.dumps(blade("q2", "Z")),
                "{oops",
                json.dumps(blade("q1", "B")),
                json.dumps(blade("q3", "C")),
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    with caplog.at_level(logging.WARNING, logger="blade_core.data"):
        questions = load_mcq(path, skip_invalid=True)

    assert [q.id for q in questions] == ["q1", "q3"]
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith(
        f"skipped 3 invalid records in {path} (first: {path}:2: field 'answer':"
    )


def test_unknown_layout_name_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "q.jsonl", [blade("q1", "A")])

    with pytest.raises(ValueError, match="unknown layout 'medqa'"):
        load_mcq(path, layout="medqa")  # type: ignore[arg-type]
