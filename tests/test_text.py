"""The shared text layer: one sentence splitter, one passage packer, one reading of option lines."""

from __future__ import annotations

import pytest

from blade_core.text import (
    corpus_sentences,
    join_sentences,
    option_line,
    parse_option_field,
    sentence_key,
    split_passages,
    split_sentences,
)


def test_corpus_sentences_split_on_sentence_ends_and_lines() -> None:
    assert corpus_sentences("A b. C d? E!\nF | g") == ["A b.", "C d?", "E!", "F | g"]


def test_knowledge_is_also_split_at_semicolons_and_bullets_go() -> None:
    text = "- Zanthor treats marsh fever; it is taken daily.\n* Quillax is made by Orrin."
    assert split_sentences(text) == ["Zanthor treats marsh fever;", "it is taken daily.",
                                     "Quillax is made by Orrin."]
    assert corpus_sentences(text) == ["Zanthor treats marsh fever; it is taken daily.",
                                      "Quillax is made by Orrin."]


def test_chinese_sentences_end_without_a_space() -> None:
    assert corpus_sentences("甲药治疗沼泽热。乙药由奥林公司生产！对吗？") == [
        "甲药治疗沼泽热。", "乙药由奥林公司生产！", "对吗？"]
    assert split_sentences("甲药治疗沼泽热；乙药不治疗。") == ["甲药治疗沼泽热；", "乙药不治疗。"]


@pytest.mark.parametrize("pieces", [
    ["A b.", "C d?", "F | g", "H i!"],
    ["甲药治疗沼泽热。", "乙药由奥林公司生产。", "Zanthor treats marsh fever."],
])
def test_join_gives_the_same_pieces_back(pieces: list[str]) -> None:
    assert corpus_sentences(join_sentences(pieces)) == pieces


def test_sentence_key_ignores_case_space_and_end_punctuation() -> None:
    assert sentence_key("Zanthor  treats Marsh fever.") == sentence_key("zanthor treats marsh fever")


def test_passages_hold_whole_sentences() -> None:
    text = "One two three. Four five six. Seven eight nine ten eleven twelve."
    assert split_passages(text, words=6) == ["One two three. Four five six.",
                                             "Seven eight nine ten eleven twelve."]


@pytest.mark.parametrize("line, expected", [
    ("A. Zorvanil", ("A", "Zorvanil")),
    ("B) blue", ("B", "blue")),
    ("(C) red", ("C", "red")),
    ("D．甲药", ("D", "甲药")),
    ("E、乙药", ("E", "乙药")),
    ("（A）丙药", ("A", "丙药")),
    ("A drug that treats fever", None),
    ("I think so", None),
])
def test_option_lines_in_running_text(line: str, expected: tuple[str, str] | None) -> None:
    assert option_line(line) == expected


def test_an_options_field_takes_a_space_as_separator() -> None:
    assert parse_option_field("A 甲药\nb. 乙药\n") == {"A": "甲药", "B": "乙药"}
    with pytest.raises(ValueError, match="appears twice"):
        parse_option_field("A x\na y")


def test_abbreviations_initialisms_and_decimals_do_not_end_a_sentence() -> None:
    from blade_core.text import corpus_sentences

    text = ("Dr. Venn makes Zorvanil. It treats e.g. marsh fever, i.e. an ague. See No. 5 of the U.S. list. "
            "Take 2.5 mg. Art. 12 punishes theft! Vitamin A. It helps.")
    assert corpus_sentences(text) == [
        "Dr. Venn makes Zorvanil.", "It treats e.g. marsh fever, i.e. an ague.", "See No. 5 of the U.S. list.",
        "Take 2.5 mg.", "Art. 12 punishes theft!", "Vitamin A.", "It helps."]
