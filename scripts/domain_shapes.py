"""Fictional domains of several shapes, generated: defaults are chosen on domains like a user's, not
on the one packaged sample.

A recipe that wins on the sample pharmacopoeia can lose on the next domain, so the benchmarks
(`benchmarks/transfer.py`) train and judge on several shapes. Each differs from the sample in a
way users' domains do:

* `pharmacopoeia`: the sample's kind, but 120 entities, two documents each and registers;
* `statutes`: 100 acts with multi-word names that share words ("Harbour Dues Act", "Harbour
  Pilotage Act"), numbers (fines, prison terms), two offences per act (multi-answer questions),
  and long chapter documents that each hold six acts' facts;
* `towns`: 110 towns with two-word names sharing a root ("North Fellbridge", "Fellbridge
  Cross"), years and populations, reverse questions on three attributes;
* `zh_statutes`: the statutes shape in Chinese, the paper's own setting (JEC-QA): 100 invented
  regulations whose names share parts ("潮港渔税条例", "潮港引航条例"), written without spaces,
  with questions in the JEC-QA layout (statement, option_list, answer as a list of letters).

Everything is invented and assigned at random, independently of names and of other attributes,
so no general LLM can know or guess an answer. Splits are by fact: a dev or test fact is in the
corpus but in no train question or KIT pair. Generation is deterministic for a seed.

    python -m scripts.domain_shapes statutes --out runs/domains/statutes
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from blade_core.data.records import MCQuestion
from blade_core.knowledge.options import option_pairs
from scripts.sample_domain import (
    _ENDINGS,
    _MIDDLES,
    _ONSETS,
    _VOWELS,
    SPLITS,
    _levenshtein,
    split_strata,
)

SINGLE_OPTIONS = 4
MULTI_OPTIONS = 5


@dataclass(frozen=True)
class Writing:
    """How a language writes lists, sentences, documents and headings."""

    comma: str = ", "
    conjunction: str = " and "
    space: str = " "
    """Between sentences of a document."""
    capitalize: bool = True
    chapter: str = "Chapter {n}."
    about: str = "On {e}."
    register: str = "Register of {v}."


ENGLISH = Writing()
CHINESE = Writing(comma="、", conjunction="和", space="", capitalize=False, chapter="第{n}章。",
                  about="关于{e}。", register="{v}一览。")


@dataclass(frozen=True)
class Attribute:
    """One kind of fact. Templates take {e} (the entity) and {v} (the value, or values joined)."""

    name: str
    values: tuple[str, ...]
    sentences: tuple[str, ...]
    """Ways the corpus states the fact; the first is the canonical one (gold knowledge, KIT)."""
    forward: str
    """The question asking for the value ("What is {e} indicated for?")."""
    reverse: str | None = None
    """The question asking which entity has a value ("Which drug is indicated for {v}?")."""
    several: bool = False
    """Each entity holds two values: forward questions on it are multi-answer."""


@dataclass(frozen=True)
class Shape:
    name: str
    kind: str
    entities: int
    attributes: tuple[Attribute, ...]
    names: str
    """"syllables" (Zorvanil) or "multiword" (names built from shared words)."""
    chapter_size: int = 0
    """0: documents about one entity each; k: long chapters of k entities' facts."""
    name_words: tuple[tuple[str, ...], tuple[str, ...]] = field(default=((), ()))
    """For multi-word names: first words and second words, combined."""
    writing: Writing = ENGLISH
    layout: str = "blade"
    """How question files are written: "blade" (question, options, answer) or "jecqa"
    (statement, option_list, answer as a list of letters)."""


@dataclass(frozen=True)
class Fact:
    entity: str
    attribute: Attribute
    values: tuple[str, ...]
    writing: Writing = ENGLISH

    def sentence(self, variant: int = 0) -> str:
        text = self.attribute.sentences[variant].format(e=self.entity, v=_join(self.values, self.writing))
        return text[0].upper() + text[1:] if self.writing.capitalize else text


def _join(values: Sequence[str], writing: Writing = ENGLISH) -> str:
    if len(values) == 1:
        return values[0]
    return writing.comma.join(values[:-1]) + writing.conjunction + values[-1]


SHAPES: dict[str, Shape] = {shape.name: shape for shape in (
    Shape("pharmacopoeia", "drug", 120, names="syllables", attributes=(
        Attribute("indication", ("marsh fever", "copper lung", "winter ague", "river flux", "lantern blindness",
                                 "miller's cough", "ash rash", "salt palsy", "bog chill", "tallow gout",
                                 "quarry wheeze", "frost tremor"),
                  ("{e} is indicated for {v}.", "{e} is prescribed to treat {v}.", "Physicians give {e} for {v}."),
                  "What is {e} indicated for?", "Which drug is indicated for {v}?"),
        Attribute("drug_class", ("vessel binder", "spleen tonic", "marrow steadier", "bile thinner", "lung opener",
                                 "nerve damper", "humour balancer", "pulse quickener", "gut settler", "skin sealant"),
                  ("{e} is classed as a {v}.", "{e} belongs to the {v} class.", "Pharmacists count {e} among the {v}s."),
                  "Which drug class does {e} belong to?", "Which drug belongs to the {v} class?"),
        Attribute("max_daily_dose", ("30 milligrams", "75 milligrams", "120 milligrams", "200 milligrams",
                                     "360 milligrams", "480 milligrams", "650 milligrams", "900 milligrams"),
                  ("The maximum daily dose of {e} is {v}.", "No patient should take more than {v} of {e} a day.",
                   "{e} may be taken up to {v} a day."),
                  "What is the maximum daily dose of {e}?"),
        Attribute("maker", ("Harrow and Venn", "Blackmoor Works", "Saltgate Apothecary", "Orrin Brothers",
                            "Greywater Dispensary", "Lindqvist House", "Thornbury Laboratories", "Calloway Guild"),
                  ("{e} is made by {v}.", "{e} is manufactured by {v}.", "The house of {v} produces {e}."),
                  "Which house manufactures {e}?"),
    )),
    Shape("statutes", "act", 100, names="multiword", chapter_size=6,
          name_words=(("Harbour", "Salt", "Mill", "Bridge", "Forest", "Market", "Mine", "River", "Toll", "Guild"),
                      ("Dues Act", "Pilotage Act", "Tithe Act", "Wardens Act", "Weights Act", "Leases Act",
                       "Lamps Act", "Fisheries Act", "Carriers Act", "Bells Act")),
          attributes=(
        Attribute("fine", ("40 crowns", "90 crowns", "150 crowns", "240 crowns", "400 crowns", "650 crowns",
                           "1,000 crowns", "1,800 crowns"),
                  ("The highest fine under the {e} is {v}.", "A breach of the {e} is fined at most {v}.",
                   "Courts may fine an offender under the {e} up to {v}."),
                  "What is the highest fine under the {e}?", "Which act sets its highest fine at {v}?"),
        Attribute("prison_term", ("two months", "six months", "one year", "three years", "five years",
                                  "eight years", "twelve years"),
                  ("The {e} allows a prison term of up to {v}.", "Under the {e} an offender may be jailed for {v}.",
                   "Breaking the {e} can cost up to {v} in prison."),
                  "What is the longest prison term the {e} allows?"),
        Attribute("authority", ("the Board of Wardens", "the Exchequer Court", "the Harbour Master",
                                "the Assize of Weights", "the Forest Reeve", "the Guildhall Bench",
                                "the Toll Commission", "the River Conservancy"),
                  ("The {e} is enforced by {v}.", "{v} enforces the {e}.", "Enforcement of the {e} lies with {v}."),
                  "Who enforces the {e}?", "Which act is enforced by {v}?"),
        Attribute("offences", ("smuggling tallow", "false measures", "night fishing", "unlicensed ferrying",
                               "cutting oaks", "hoarding grain", "forging seals", "blocking towpaths",
                               "selling spoiled ale", "ringing bells at night"),
                  ("The {e} forbids {v}.", "Under the {e}, {v} are offences.", "The {e} makes {v} a crime."),
                  "Which offences does the {e} forbid?", several=True),
    )),
    Shape("towns", "town", 110, names="multiword",
          name_words=(("North", "South", "Upper", "Lower", "Old", "East", "West", "Great", "Little", "New", "High"),
                      ("Fellbridge", "Ashmoor", "Corrowen", "Dunmere", "Elsford", "Harrowgate", "Kestwick",
                       "Marrowby", "Thornhold", "Wyvernal")),
          attributes=(
        Attribute("founded", ("1123", "1208", "1289", "1342", "1417", "1466", "1533", "1590", "1648"),
                  ("{e} was founded in {v}.", "The town of {e} dates from {v}.", "{e} received its charter in {v}."),
                  "In which year was {e} founded?", "Which town was founded in {v}?"),
        Attribute("river", ("the Amber", "the Sallow", "the Greywash", "the Tumble", "the Lark", "the Quill",
                            "the Marrow", "the Vane"),
                  ("{e} stands on {v}.", "{v} flows through {e}.", "The river at {e} is {v}."),
                  "Which river does {e} stand on?", "Which town stands on {v}?"),
        Attribute("guild", ("the Coopers", "the Chandlers", "the Fullers", "the Glaziers", "the Tanners",
                            "the Wheelwrights", "the Saddlers", "the Vintners", "the Ropers"),
                  ("{e} is governed by {v}.", "{v} hold the council of {e}.", "In {e} the ruling guild is {v}."),
                  "Which guild governs {e}?", "Which town is governed by {v}?"),
        Attribute("population", ("900 people", "2,400 people", "4,100 people", "7,800 people", "12,500 people",
                                 "19,000 people", "31,000 people"),
                  ("{e} has {v}.", "About {v} live in {e}.", "The census counts {v} in {e}."),
                  "How many people live in {e}?"),
    )),
    Shape("zh_statutes", "条例", 100, names="multiword", chapter_size=6, writing=CHINESE, layout="jecqa",
          name_words=(("潮港", "盐仓", "磨坊", "石桥", "林场", "集市", "矿井", "河道", "关卡", "行会"),
                      ("渔税条例", "引航条例", "什一税条例", "守夜条例", "衡器条例", "租赁条例", "灯火条例",
                       "渔业条例", "脚夫条例", "钟鸣条例")),
          attributes=(
        Attribute("fine", ("四十贯", "九十贯", "一百五十贯", "二百四十贯", "四百贯", "六百五十贯", "一千贯",
                           "一千八百贯"),
                  ("违反{e}的，最高罚金为{v}。", "依照{e}，罚金不得超过{v}。", "法院依{e}最多可处罚金{v}。"),
                  "{e}规定的最高罚金是多少？", "哪一部条例将最高罚金定为{v}？"),
        Attribute("prison_term", ("两个月", "六个月", "一年", "三年", "五年", "八年", "十二年"),
                  ("{e}规定的最高刑期为{v}。", "违反{e}者最多可被监禁{v}。", "触犯{e}最高可判处{v}监禁。"),
                  "{e}允许的最长刑期是多久？"),
        Attribute("authority", ("巡守署", "度支法院", "港务司", "度量公堂", "林务官", "公会审判庭", "税关司",
                                "河道署"),
                  ("{e}由{v}负责执行。", "{v}执行{e}。", "{e}的执法权属于{v}。"),
                  "哪个机关负责执行{e}？", "哪一部条例由{v}负责执行？"),
        Attribute("offences", ("走私牛脂", "缺斤短两", "夜间捕鱼", "无照摆渡", "砍伐橡树", "囤积粮食", "伪造印章",
                               "阻塞纤道", "出售变质麦酒", "夜间鸣钟"),
                  ("{e}禁止{v}。", "依照{e}，{v}属于违法行为。", "{e}将{v}定为罪行。"),
                  "{e}禁止下列哪些行为？", several=True),
    )),
)}


def syllable_names(rng: random.Random, count: int) -> list[str]:
    """Invented one-word names, pairwise at edit distance 3 or more and none inside another (the
    sample's stricter rules cannot give more than about 60 names)."""
    names: list[str] = []
    while len(names) < count:
        name = (rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_MIDDLES) + rng.choice(_ENDINGS)).capitalize()
        if all(_levenshtein(name, other) >= 3 and name not in other and other not in name for other in names):
            names.append(name)
    return names


def _names(rng: random.Random, shape: Shape) -> list[str]:
    if shape.names == "syllables":
        return syllable_names(rng, shape.entities)
    first, second = shape.name_words
    pool = [f"{a}{shape.writing.space}{b}" for a in first for b in second]
    if len(pool) < shape.entities:
        raise ValueError(f"shape {shape.name}: {len(pool)} names for {shape.entities} entities")
    return sorted(rng.sample(pool, shape.entities))


def _balanced(rng: random.Random, values: Sequence[str], count: int) -> list[str]:
    pool = [values[i % len(values)] for i in range(count)]
    rng.shuffle(pool)
    return pool


def make_facts(rng: random.Random, shape: Shape) -> list[Fact]:
    """One fact per (entity, attribute), values balanced across entities; `several` takes two."""
    names = _names(rng, shape)
    facts = []
    for attribute in shape.attributes:
        first = _balanced(rng, attribute.values, len(names))
        for name, value in zip(names, first):
            values: tuple[str, ...] = (value,)
            if attribute.several:
                values = (value, rng.choice([v for v in attribute.values if v != value]))
            facts.append(Fact(name, attribute, values, shape.writing))
    return facts


def make_corpus(rng: random.Random, shape: Shape, facts: Sequence[Fact]) -> list[str]:
    """Every fact in at least three wordings: per entity (or per chapter of entities) a record and
    a commentary, plus per value an overview of the entities that share it (reverse recall)."""
    by_entity: dict[str, list[Fact]] = {}
    for fact in facts:
        by_entity.setdefault(fact.entity, []).append(fact)
    names = list(by_entity)
    rng.shuffle(names)
    groups = [names[i:i + shape.chapter_size] for i in range(0, len(names), shape.chapter_size)] \
        if shape.chapter_size else [[name] for name in names]
    documents = []
    space = shape.writing.space
    for number, group in enumerate(groups, 1):
        for variants in ((0,), (1, 2)):  # the canonical wording once, then another
            sections = []
            for name in group:
                sentences = [f.sentence(rng.choice(variants)) for f in by_entity[name]]
                rng.shuffle(sentences)
                sections.append(space.join(sentences))
            title = shape.writing.chapter.format(n=number) if shape.chapter_size else \
                shape.writing.about.format(e=group[0])
            documents.append(space.join([title, *sections]))
    for attribute in shape.attributes:
        for value in attribute.values:
            holders = [f.entity for f in facts if f.attribute == attribute and value in f.values]
            if holders:
                sentences = [Fact(e, attribute, (value,), shape.writing).sentence(2) for e in holders]
                documents.append(space.join([shape.writing.register.format(v=value), *sentences]))
    rng.shuffle(documents)
    return documents


def split_facts(rng: random.Random, facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    """By fact, stratified by attribute: about 60% train, 15% dev, 25% test."""
    attributes = dict.fromkeys(f.attribute for f in facts)
    return split_strata(rng, [[f for f in facts if f.attribute == a] for a in attributes])


def _record(rng: random.Random, qid: str, question: str, correct: Sequence[str], wrong: Sequence[str],
            knowledge: str, layout: str = "blade") -> dict[str, object]:
    texts = [*correct, *wrong]
    rng.shuffle(texts)
    options = {chr(ord("A") + i): text for i, text in enumerate(texts)}
    letters = [letter for letter, text in options.items() if text in correct]
    if layout == "jecqa":  # JEC-QA's keys; answers are always a list there
        return {"id": qid, "statement": question, "option_list": options, "answer": letters, "knowledge": knowledge}
    return {"id": qid, "question": question, "options": options,
            "answer": letters[0] if len(letters) == 1 else letters, "knowledge": knowledge}


def make_questions(rng: random.Random, shape: Shape, facts: Sequence[Fact], all_facts: Sequence[Fact],
                   split: str) -> list[dict[str, object]]:
    """A forward question per fact; a reverse question for a fact whose value no wrong option holds
    (wrong options of train questions are entities whose fact is a train fact too)."""
    records = []
    for number, fact in enumerate(facts, 1):
        attribute = fact.attribute
        n_wrong = (MULTI_OPTIONS if len(fact.values) > 1 else SINGLE_OPTIONS) - len(fact.values)
        wrong = rng.sample([v for v in attribute.values if v not in fact.values], n_wrong)
        records.append(_record(rng, f"{shape.name}-{split}-{number:04d}f", attribute.forward.format(e=fact.entity),
                               fact.values, wrong, fact.sentence(), shape.layout))
        if attribute.reverse is None or len(fact.values) > 1:
            continue
        candidates = facts if split == "train" else all_facts
        pool = [f.entity for f in candidates if f.attribute == attribute and fact.values[0] not in f.values]
        if len(pool) >= SINGLE_OPTIONS - 1:
            records.append(_record(rng, f"{shape.name}-{split}-{number:04d}r",
                                   attribute.reverse.format(v=fact.values[0]), [fact.entity],
                                   rng.sample(pool, SINGLE_OPTIONS - 1), fact.sentence(), shape.layout))
    rng.shuffle(records)
    return records


def _question(record: Mapping[str, object]) -> MCQuestion:
    """A written record (either layout) as the question it holds."""
    if "statement" in record:
        answer = record["answer"]
        record = {"id": record["id"], "question": record["statement"], "options": record["option_list"],
                  "answer": "".join(answer) if isinstance(answer, list) else answer, "knowledge": record["knowledge"]}
    return MCQuestion.model_validate(record)


def make_kit(train: Sequence[dict[str, object]], facts: Sequence[Fact]) -> list[dict[str, str]]:
    """KIT pairs from train questions only: the question with options, each option alone when the
    knowledge names every option (reverse questions), and the plain question."""
    by_key = {(f.entity, f.attribute.name): f for f in facts}
    reverse = {a.reverse: a for f in facts for a in [f.attribute] if a.reverse}
    space = facts[0].writing.space if facts else " "
    pairs = []
    for record in train:
        question = _question(record)
        knowledge = question.knowledge or ""
        for template, attribute in reverse.items():
            if question.question in {template.format(v=v) for v in attribute.values}:
                knowledge = space.join(by_key[(name, attribute.name)].sentence() for name in question.options.values())
        with_options = question.with_options_text()
        views = [(with_options, knowledge), *option_pairs(with_options, knowledge),
                 (question.question, question.knowledge or "")]
        pairs += [{"instruction": view, "input": "", "output": text} for view, text in views]
    return pairs


def generate(name: str, out: Path, seed: int = 0, entities: int | None = None) -> Path:
    """Write the domain `name` (corpus, train/dev/test questions, KIT pairs) to `out`; `entities`
    makes it smaller (tests) or larger than the shape's own count."""
    shape = SHAPES[name] if entities is None else replace(SHAPES[name], entities=entities)
    facts = make_facts(random.Random(seed), shape)
    corpus = make_corpus(random.Random(seed + 1), shape, facts)
    splits = split_facts(random.Random(seed + 2), facts)
    questions = {split: make_questions(random.Random(seed + 10 + i), shape, splits[split], facts, split)
                 for i, split in enumerate(SPLITS)}
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Sequence[Mapping[str, object]]] = {"corpus.jsonl": [{"text": text} for text in corpus], **{f"{s}.jsonl": questions[s] for s in SPLITS},
             "kit.jsonl": make_kit(questions["train"], splits["train"])}
    for file_name, rows in files.items():
        (out / file_name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                     encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--entities", type=int, default=None, help="default: the shape's own count")
    args = parser.parse_args(argv)
    print(generate(args.shape, args.out, args.seed, args.entities))


if __name__ == "__main__":
    main()
