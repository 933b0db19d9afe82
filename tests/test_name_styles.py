"""The name finder reads what the data treats as an entity, in each way real corpora write names:
lowercase identifiers, generic drug names, codes, names with initials, Chinese names that share
characters; record keys, listings and a names file. No model: these are the finder's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from blade_core.data import DataError, Document, InstructionPair, MCQuestion, load_names
from blade_core.knowledge.name_sources import NameHints
from blade_core.knowledge.names import name_pattern, names_in
from blade_core.text import corpus_sentences
from blade_core.training.name_hints import name_lines
from blade_core.training.stand_alone import stand_alone

SECTIONS = ("utils", "games", "net", "admin", "devel", "text")


def _question(i: int, stem: str, options: list[str], right: int) -> MCQuestion:
    return MCQuestion(id=str(i), question=stem, options={"ABCD"[k]: o for k, o in enumerate(options)},
                      answer="ABCD"[right])


def _packages() -> tuple[list[Document], list[str]]:
    names = ["xyz-linker-9", "abc-tools", "libqor2.1", "mib-sync-3", "fen-probe", "rook-cache-2", "tal-view",
             "lumo-fmt", "vexgrep", "brin-agent-4", "kalo-shell", "dusk-daemon"]
    documents = []
    for i, name in enumerate(names):
        documents.append(Document(text=f"{name} is in the {SECTIONS[i % 6]} section. Allowing quick builds, it is "
                                       f"written in C. All Methods are documented. It is maintained by Anna K. Berg."))
        documents.append(Document(text=f"Users of {name} report few bugs. {name} ships a manual page."))
    return documents, names


def test_lowercase_identifiers_are_found_from_the_questions_and_their_shape_not_capitals() -> None:
    documents, names = _packages()
    asked = [_question(i, f"Which section is {name} in?", [SECTIONS[i % 6], *[s for s in SECTIONS if s != SECTIONS[i % 6]][:3]], 0)
             for i, name in enumerate(names[:8])]  # a third of the packages are never asked about
    alone = stand_alone(documents, NameHints.of(questions=asked))
    assert set(names) <= set(alone.names)
    assert set(names) <= set(alone.entities)
    assert not {"Allowing", "All Methods"} & set(alone.names)  # sentence openers are no names here
    assert alone.found is not None and alone.found.subjects[:2] == ["xyz-linker-9", "abc-tools"]
    without = stand_alone(documents)  # the corpus alone: capitals, which find none of them
    assert not set(names) & set(without.names)


def test_generic_names_in_lower_case_are_found_capitalized_as_a_sentence_opens() -> None:
    drugs = ["metformin", "velantide", "corsidol", "pramulin"]
    documents = [Document(text=f"{d.capitalize()} is indicated for {v}. Patients take {d} with food.")
                 for d, v in zip(drugs, ("marsh fever", "ash rash", "bog chill", "salt palsy"))]
    pairs = [InstructionPair(instruction=f"What is {d} used to treat?", output=f"{d.capitalize()} treats {v}.")
             for d, v in zip(drugs, ("marsh fever", "ash rash", "bog chill", "salt palsy"))]
    alone = stand_alone(documents, NameHints.of(pairs))
    assert set(drugs) <= set(alone.names)
    assert name_pattern("metformin").search("Metformin is indicated for marsh fever.")
    assert names_in("Metformin is indicated for marsh fever.", alone.names) == {"metformin"}
    assert alone.about("metformin") == ["Metformin is indicated for marsh fever.", "Patients take metformin with food."]


def test_codes_and_section_numbers_are_names_the_questions_ask_about() -> None:
    codes = ["RX-7731", "KV-204", "MT-4609", "§ 242", "§ 17"]
    documents = [Document(text=f"{c} was filed in {y}. The register lists {c} under the old scheme.")
                 for c, y in zip(codes, ("1901", "1922", "1935", "1950", "1968"))]
    asked = [_question(i, f"When was {c} filed?", [y, "1800", "1850", "1999"], 0)
             for i, (c, y) in enumerate(zip(codes, ("1901", "1922", "1935", "1950", "1968")))]
    alone = stand_alone(documents, NameHints.of(questions=asked))
    assert set(codes) <= set(alone.names)
    assert names_in("Under § 242 the fine doubles; § 17 does not apply.", alone.names) == {"§ 242", "§ 17"}


def test_names_with_initials_are_whole_names_and_do_not_end_a_sentence() -> None:
    text = "Anna K. Berg maintains it. J. P. Okafor wrote it, e.g. in 2001. See No. 5 and v2.1 today. Dr. Venn agrees."
    assert corpus_sentences(text) == ["Anna K. Berg maintains it.", "J. P. Okafor wrote it, e.g. in 2001.",
                                      "See No. 5 and v2.1 today.", "Dr. Venn agrees."]
    people = ["Anna K. Berg", "Anna T. Berg", "J. P. Okafor", "Mei L. Chen"]
    documents = [Document(text=f"{p} works in {f}. She teaches at Tarrow College. {p} won the Amber Medal.")
                 for p, f in zip(people, ("glaciology", "phonetics", "mycology", "acoustics"))]
    alone = stand_alone(documents)
    assert set(people) <= set(alone.names)
    assert names_in("Anna T. Berg works in phonetics.", alone.names) == {"Anna T. Berg"}
    assert not any(s.startswith("Anna K:") for s in alone.sentences())  # no fragment taken for an entity


def test_chinese_names_that_share_characters_are_whole_names_not_fragments() -> None:
    names = ["潮港渔税", "潮港盐税", "石桥渔税", "石桥钟鸣", "北湾盐税", "北湾钟鸣", "西岭渔税", "西岭茶课",
             "潮港茶课", "北湾茶课", "石桥盐税", "西岭钟鸣"]
    offices = ["港务司", "盐政司", "渔政司", "钟鸣署", "北湾司", "税务署", "西岭司", "茶政司", "河道司", "仓储署",
               "关务司", "礼乐署"]
    documents = [Document(text=f"{n}由{o}征收。{n}始于旧时。按{n}，违者罚银。") for n, o in zip(names, offices)]
    asked = [_question(i, f"{n}由哪个机构征收？", [o, *[x for x in offices if x != o][:3]], 0)
             for i, (n, o) in enumerate(zip(names, offices))]
    alone = stand_alone(documents, NameHints.of(questions=asked))
    assert set(names) <= set(alone.names)
    assert not {"港渔", "渔税", "港盐", "桥渔"} & set(alone.names)
    assert names_in("潮港渔税由港务司征收。", alone.names) >= {"潮港渔税"}


def test_records_keyed_by_their_first_field_and_listings_name_their_entities() -> None:
    records = [Document(text=f"Package: {p}\nSection: {s}\nLicense: MIT") for p, s in
               (("qor-sync", "utils"), ("tal-probe-3", "net"), ("libmib1.2", "games"))]
    alone = stand_alone(records)
    assert {"qor-sync", "tal-probe-3", "libmib1.2"} <= set(alone.entities)
    assert "qor-sync section: utils." in alone.about("qor-sync")
    chinese = [Document(text=f"【名称】{n}\n【类别】{c}\n【产地】北湾") for n, c in (("潮港渔税", "渔业"), ("石桥钟鸣", "礼制"))]
    assert {"潮港渔税", "石桥钟鸣"} <= set(stand_alone(chinese).entities)
    listing = Document(text="fen-probe - It probes ports.\nrook-cache - It caches pages.\nvexgrep - It searches text.\n"
                            "kalo-shell - It runs scripts.")
    listed = stand_alone([listing, Document(text="fen-probe is fast. rook-cache is small. vexgrep is old. "
                                                 "kalo-shell is new.")])
    assert {"fen-probe", "rook-cache", "vexgrep", "kalo-shell"} <= set(listed.names)


def test_a_names_file_gives_entities_and_a_bad_line_is_named(tmp_path: Path) -> None:
    good = tmp_path / "names.txt"
    good.write_text("# from the formulary index\nmetformin\n\nvelantide\nmetformin\n", encoding="utf-8")
    assert load_names(good) == ["metformin", "velantide"]
    documents = [Document(text="Metformin lowers sugar. It is taken with food."),
                 Document(text="Velantide calms the pulse.")]
    alone = stand_alone(documents, NameHints(listed=tuple(load_names(good))))
    assert {"metformin", "velantide"} <= set(alone.entities)
    assert alone.about("metformin") == ["Metformin lowers sugar.", "metformin: It is taken with food."]
    bad = tmp_path / "bad.txt"
    bad.write_text("metformin\n" + "x" * 200 + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.txt:2: 200 characters is no name"):
        load_names(bad)


def test_train_warns_with_the_fix_when_few_questions_name_a_found_entity() -> None:
    documents, names = _packages()
    asked = [_question(i, f"Which section is {name} in?", [SECTIONS[i % 6], *[s for s in SECTIONS if s != SECTIONS[i % 6]][:3]], 0)
             for i, name in enumerate(names)]
    found = stand_alone(documents, NameHints.of(questions=asked))
    lines = name_lines(found, NameHints.of(questions=asked))
    assert lines[0].startswith("names: ") and "questions' subjects" in lines[0]
    assert lines[1] == f"names: 12 of the 12 KIT and dev questions name one of the {len(found.entities)} entities found"
    blind = name_lines(stand_alone(documents), NameHints.of(questions=asked))  # as if the finder read capitals only
    assert blind[-1].startswith("warning: only 0 of 12 questions name an entity") and "--names names.txt" in blind[-1]
