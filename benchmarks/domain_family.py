"""A family of invented domains as wide as users' domains, to choose defaults on and to report on.

Our first generator stated every fact in a sentence that names its entity, gave 12 KIT pairs per
entity in the corpus's own words, and asked test questions in the KIT pairs' wording. Users'
domains differ on each count, and defaults tuned there lost 60 points on domains made elsewhere.
This family spans, alone and crossed:

* how the corpus states a fact (`STYLES`): a sentence naming the entity, a pronoun after a first
  sentence ("It is indicated for ..."), fields ("Indication: ..."), table rows, narrative prose
  that calls the entity "the drug", several entities to a document, records keyed by their first
  field ("Package: qor-sync-3"), listings of "name - description" lines;
* KIT pairs per entity (0, 0.5, 1, 2, 4, 12), worded as an LLM words them or as the corpus does;
* exam wording: as the KIT questions, paraphrased, vignettes, reverse questions (options are
  entities), multi-answer and numeric questions;
* the world (`family_worlds`): drugs and numbered penal articles to tune on; ships and plant
  binomials set aside, run only with the defaults, to report; and names as real corpora write
  them: lowercase generic names and compound codes to tune on, package identifiers and scholars
  named with initials set aside.

Splits are by fact: a dev or test fact is in the corpus but in no KIT pair. Everything is invented
and assigned at random, so no general LLM can know an answer. Deterministic for a seed.

    python benchmarks/domain_family.py --out runs/family            # every shape
    python benchmarks/domain_family.py --out runs/family --shapes drugs-a,penal-a
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from family_worlds import WORLDS, Relation, World  # noqa: E402 - after the path that finds it

from scripts.domain_shapes import syllable_names  # noqa: E402

STYLES = ("named", "pronoun", "field", "table", "narrative", "multi", "record", "listing")
WORDINGS = ("same", "paraphrase", "vignette")
SPLIT_SHARES = (("train", 0.6), ("dev", 0.15), ("test", 0.25))
SINGLE_OPTIONS, MULTI_OPTIONS = 4, 5
TABLE_ROWS, MULTI_ENTITIES = 8, 4


@dataclass(frozen=True)
class Shape:
    name: str
    world: str
    entities: int
    styles: tuple[str, ...]
    """Each fact is stated once in each style's documents."""
    kit_per_entity: float
    kit_wording: str = "llm"
    """"llm": an LLM's own words; "corpus": the corpus's canonical sentence."""
    exam: Mapping[str, float] = field(default_factory=lambda: {"same": 1.0})
    """Shares of forward wordings (`WORDINGS`)."""
    reverse: float = 0.0
    """Share of facts with a reverse template asked in reverse."""

    @property
    def held_out(self) -> bool:
        return WORLDS[self.world].held_out


SHAPES = {shape.name: shape for shape in (
    # Tuning shapes: the defaults may be chosen on their dev splits.
    Shape("drugs-a", "drugs", 100, ("pronoun", "field"), 2),
    Shape("penal-a", "penal", 100, ("narrative", "pronoun"), 2, exam={"same": 0.4, "paraphrase": 0.6}, reverse=0.3),
    Shape("drugs-b", "drugs", 100, ("table", "field"), 1, exam={"paraphrase": 0.5, "vignette": 0.5}, reverse=0.25),
    Shape("drugs-zero", "drugs", 100, ("named",), 0, reverse=0.2),
    Shape("penal-multi", "penal", 100, ("multi",), 0.5, exam={"vignette": 1.0}, reverse=0.2),
    Shape("drugs-rich", "drugs", 100, ("named", "pronoun"), 12, kit_wording="corpus"),
    Shape("drugs-large", "drugs", 250, ("pronoun", "field"), 2),  # 500 documents: the time target
    # Set aside: run only with the defaults, once they are chosen.
    Shape("ships-a", "ships", 100, ("pronoun", "table"), 2, reverse=0.3),
    Shape("plants-b", "plants", 100, ("narrative",), 1, exam={"paraphrase": 0.5, "vignette": 0.5}, reverse=0.25),
    Shape("ships-zero", "ships", 100, ("field",), 0, exam={"vignette": 1.0}),
    Shape("plants-mixed", "plants", 100, ("multi", "named"), 4,
          exam={"same": 0.34, "paraphrase": 0.33, "vignette": 0.33}, reverse=0.3),
    Shape("ships-few", "ships", 100, ("named", "narrative"), 0.5, kit_wording="corpus", exam={"paraphrase": 1.0}),
    Shape("plants-rich", "plants", 100, ("table", "pronoun"), 12, kit_wording="corpus"),
    # Names written as real corpora write them (issue 39): two to tune the name finder on, two set aside.
    Shape("generics-a", "generics", 100, ("pronoun", "field"), 2, reverse=0.2),
    Shape("codes-a", "codes", 100, ("named", "table"), 1, exam={"paraphrase": 0.5, "vignette": 0.5}, reverse=0.25),
    Shape("packages-a", "packages", 100, ("record", "pronoun"), 1, exam={"same": 0.5, "paraphrase": 0.5},
          reverse=0.25),
    Shape("scholars-a", "scholars", 100, ("listing", "named"), 0.5, exam={"paraphrase": 0.5, "vignette": 0.5},
          reverse=0.3),
)}
TUNING = [name for name, shape in SHAPES.items() if not shape.held_out and name != "drugs-large"]
HELD_OUT = [name for name, shape in SHAPES.items() if shape.held_out]


@dataclass(frozen=True)
class Fact:
    entity: str
    relation: Relation
    values: tuple[str, ...]

    @property
    def value(self) -> str:
        return join(self.values)


def join(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def opening(text: str, world: World, entity: str) -> str:
    """A sentence's first letter capitalized, unless it opens with a name that keeps its case."""
    return text if world.keep_case and text.startswith(entity) else capital(text)


def fill(template: str, world: World, fact: Fact) -> str:
    slots = {"e": fact.entity, "v": fact.value, "it": world.it, "It": capital(world.it), "its": world.its,
             "Its": capital(world.its), "the": world.the, "The": capital(world.the)}
    return opening(template.format(**slots), world, fact.entity)


# -- entities and facts ------------------------------------------------------------------------

_PACKAGE_HEADS = ("qor", "tal", "mib", "fen", "rook", "lumo", "vex", "brin", "kalo", "dusk", "nim", "sarn", "plov",
                  "wend", "ixa", "grum")
_PACKAGE_TAILS = ("linker", "tools", "sync", "view", "fmt", "probe", "cache", "agent", "grep", "daemon", "shell")
_GIVEN = ("Anna", "Tomas", "Mei", "Oskar", "Ruth", "Lars", "Priya", "Jonas", "Elin", "Marek", "Sofia", "Aziz")
_FAMILY = ("Berg", "Lind", "Okafor", "Chen", "Vance", "Moreno", "Holm", "Nair", "Strand", "Kowal", "Reyes", "Dahl")


def _styled(rng: random.Random, style: str) -> str:
    """One name written as real corpora write that kind (`family_worlds`' last four worlds)."""
    if style == "codes":
        return f"{rng.choice('ABDFKLMRSTVX')}{rng.choice('ABDFKLMRSTVX')}-{rng.randrange(100, 9999)}"
    if style == "identifiers":
        head, tail = rng.choice(_PACKAGE_HEADS), rng.choice(_PACKAGE_TAILS)
        return rng.choice((f"{head}-{tail}", f"{head}-{tail}-{rng.randrange(2, 10)}", f"lib{head}{rng.randrange(1, 4)}.{rng.randrange(0, 9)}",
                           f"{head}{tail}"))
    given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
    return rng.choice((f"{given} {rng.choice('BCDEHJKLMNPRSTW')}. {family}", f"{given[0]}. {rng.choice('BDKLMRST')}. {family}"))


def make_names(rng: random.Random, world: World, count: int) -> list[str]:
    if world.names == "syllables":
        return syllable_names(rng, count)
    if world.names == "lowercase":
        return [name.lower() for name in syllable_names(rng, count)]
    if world.names in ("codes", "identifiers", "initials"):
        names: dict[str, None] = {}
        while len(names) < count:
            names.setdefault(_styled(rng, world.names))
        return list(names)
    if world.names == "numbered":
        return [f"Article {n}" for n in rng.sample(range(11, 999), count)]
    first, second = world.name_parts
    pool = [f"{a} {b}" for a in first for b in second]
    if len(pool) < count:
        raise ValueError(f"world {world.name}: {len(pool)} names for {count} entities")
    return rng.sample(pool, count)


def make_facts(rng: random.Random, world: World, names: Sequence[str]) -> list[Fact]:
    """One fact per (entity, relation), values balanced across entities; `several` takes two."""
    facts = []
    for relation in world.relations:
        pool = [relation.values[i % len(relation.values)] for i in range(len(names))]
        rng.shuffle(pool)
        for name, value in zip(names, pool):
            values = (value, rng.choice([v for v in relation.values if v != value])) if relation.several else (value,)
            facts.append(Fact(name, relation, values))
    return facts


# -- the corpus, in each style -----------------------------------------------------------------

def _named(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    e = facts[0].entity
    sentences = [fill(rng.choice(f.relation.named), world, f) for f in facts]
    sentences.append(opening(rng.choice(world.fillers).format(e=e, the=world.the), world, e))
    rng.shuffle(sentences)
    return " ".join(sentences)


def _pronoun(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    first, *rest = rng.sample(list(facts), len(facts))
    sentences = [fill(rng.choice(first.relation.named), world, first)]
    sentences += [fill(rng.choice(f.relation.pronoun), world, f) for f in rest]
    sentences.insert(rng.randrange(1, len(sentences) + 1), capital(rng.choice(world.fillers).format(e=world.the, the=world.the)))
    return " ".join(sentences)


def _field(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    lines = [facts[0].entity] + [f"{f.relation.label}: {f.value}" for f in facts]
    return "\n".join(lines)


def _keyed_record(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    """A record keyed by its first field, as package archives and catalogues write them."""
    lines = [f"{world.key_label}: {facts[0].entity}"] + [f"{f.relation.label}: {f.value}" for f in facts]
    return "\n".join(lines)


def _listing_line(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    """An entity's line of a listing: its name, a dash, then what it is, in pronoun sentences."""
    sentences = [fill(rng.choice(f.relation.pronoun), world, f) for f in rng.sample(list(facts), len(facts))]
    return f"{facts[0].entity} - " + " ".join(sentences)


def _narrative(rng: random.Random, world: World, facts: Sequence[Fact]) -> str:
    e = facts[0].entity
    openers = ("Records show that {c}.", "It is said that {c}.", "Today {c}.", "In the old registers, {c}.", "{C}.")
    sentences = [opening(rng.choice(world.fillers).format(e=e, the=e), world, e)]  # the one sentence that names it
    clauses = [fill(rng.choice(f.relation.narrative), world, f) for f in rng.sample(list(facts), len(facts))]
    clauses = [c[0].lower() + c[1:] if not c.startswith(facts[0].entity) else c for c in clauses]
    for i in range(0, len(clauses), 2):
        pair = " and ".join(clauses[i:i + 2]) if rng.random() < 0.5 else clauses[i]
        opener = rng.choice(openers)
        sentences.append(opener.format(c=pair, C=capital(pair)))
        if " and " not in pair and i + 1 < len(clauses):
            sentences.append(rng.choice(openers).format(c=clauses[i + 1], C=capital(clauses[i + 1])))
    return " ".join(sentences)


def _table(world: World, group: Sequence[Sequence[Fact]]) -> str:
    labels = [f.relation.label for f in group[0]]
    rows = [f"| {capital(world.kind)} | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    rows += [f"| {facts[0].entity} | " + " | ".join(f.value for f in facts) + " |" for facts in group]
    return "\n".join(rows)


def make_corpus(rng: random.Random, world: World, shape: Shape, facts: Sequence[Fact]) -> list[str]:
    by_entity: dict[str, list[Fact]] = {}
    for fact in facts:
        by_entity.setdefault(fact.entity, []).append(fact)
    documents = []
    for style in shape.styles:
        entities = list(by_entity)
        rng.shuffle(entities)
        if style == "table":
            for i in range(0, len(entities), TABLE_ROWS):
                documents.append(_table(world, [by_entity[e] for e in entities[i:i + TABLE_ROWS]]))
        elif style == "multi":
            for i in range(0, len(entities), MULTI_ENTITIES):
                documents.append("\n\n".join(_pronoun(rng, world, by_entity[e]) for e in entities[i:i + MULTI_ENTITIES]))
        elif style == "listing":
            for i in range(0, len(entities), MULTI_ENTITIES):
                documents.append("\n".join(_listing_line(rng, world, by_entity[e]) for e in entities[i:i + MULTI_ENTITIES]))
        else:
            write = {"named": _named, "pronoun": _pronoun, "field": _field, "narrative": _narrative,
                     "record": _keyed_record}[style]
            documents += [write(rng, world, by_entity[e]) for e in entities]
    rng.shuffle(documents)
    return documents


# -- splits, questions, KIT pairs ----------------------------------------------------------------

def split_facts(rng: random.Random, world: World, facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    splits: dict[str, list[Fact]] = {name: [] for name, _ in SPLIT_SHARES}
    for relation in world.relations:
        stratum = [f for f in facts if f.relation is relation]
        rng.shuffle(stratum)
        start = 0
        for i, (name, share) in enumerate(SPLIT_SHARES):
            end = len(stratum) if i == len(SPLIT_SHARES) - 1 else start + round(share * len(stratum))
            splits[name] += stratum[start:end]
            start = end
    return splits


def _record(rng: random.Random, qid: str, question: str, correct: Sequence[str], wrong: Sequence[str],
            knowledge: str, kind: str) -> dict[str, object]:
    texts = [*correct, *wrong]
    rng.shuffle(texts)
    options = {chr(ord("A") + i): text for i, text in enumerate(texts)}
    letters = [letter for letter, text in options.items() if text in correct]
    return {"id": qid, "question": question, "options": options,
            "answer": letters[0] if len(letters) == 1 else letters, "knowledge": knowledge, "kind": kind}


def make_questions(rng: random.Random, world: World, shape: Shape, facts: Sequence[Fact], all_facts: Sequence[Fact],
                   split: str) -> list[dict[str, object]]:
    wordings = [w for w in WORDINGS if shape.exam.get(w)]
    weights = [shape.exam[w] for w in wordings]
    records = []
    for number, fact in enumerate(facts, 1):
        relation = fact.relation
        qid = f"{shape.name}-{split}-{number:04d}"
        gold = fill(relation.named[0], world, fact)
        if relation.reverse and not relation.several and rng.random() < shape.reverse:
            pool = [f.entity for f in all_facts if f.relation is relation and fact.values[0] not in f.values]
            records.append(_record(rng, qid, relation.reverse.format(v=fact.value), [fact.entity],
                                   rng.sample(pool, SINGLE_OPTIONS - 1), gold, "reverse"))
            continue
        wording = rng.choices(wordings, weights)[0]
        template = relation.kit_question if wording == "same" else rng.choice(getattr(relation, wording))
        n_wrong = (MULTI_OPTIONS if relation.several else SINGLE_OPTIONS) - len(fact.values)
        wrong = rng.sample([v for v in relation.values if v not in fact.values], n_wrong)
        kind = "multi" if relation.several else "numeric" if relation.numeric else wording
        records.append(_record(rng, qid, template.format(e=fact.entity), fact.values, wrong, gold, kind))
    rng.shuffle(records)
    return records


def make_kit(rng: random.Random, world: World, shape: Shape, train: Sequence[Fact]) -> list[dict[str, str]]:
    """About `kit_per_entity` pairs per entity, from train facts only: the KIT question answered in
    an LLM's words (or the corpus's); past one pair per train fact, paraphrased questions too."""
    by_entity: dict[str, list[Fact]] = {}
    for fact in train:
        by_entity.setdefault(fact.entity, []).append(fact)
    entities = sorted(by_entity)
    rng.shuffle(entities)
    wanted = round(shape.kit_per_entity * len(by_entity))
    candidates: list[list[tuple[str, str]]] = []
    for entity in entities:
        pairs = []
        facts = rng.sample(by_entity[entity], len(by_entity[entity]))
        for template_round in range(4):
            for fact in facts:
                relation = fact.relation
                questions = [relation.kit_question, *relation.paraphrase]
                answers = relation.kit_answer if shape.kit_wording == "llm" else relation.named
                question = questions[template_round % len(questions)]
                answer = answers[template_round % len(answers)]
                pairs.append((question.format(e=entity), fill(answer, world, fact)))
        candidates.append(list(dict.fromkeys(pairs)))
    out: list[tuple[str, str]] = []
    depth = 0
    while len(out) < wanted and any(len(c) > depth for c in candidates):
        out += [c[depth] for c in candidates if len(c) > depth][: wanted - len(out)]
        depth += 1
    rng.shuffle(out)
    return [{"instruction": q, "input": "", "output": a} for q, a in out]


def generate(shape: Shape, out: Path, seed: int = 0) -> Path:
    world = WORLDS[shape.world]
    names = make_names(random.Random(seed), world, shape.entities)
    facts = make_facts(random.Random(seed + 1), world, names)
    corpus = make_corpus(random.Random(seed + 2), world, shape, facts)
    splits = split_facts(random.Random(seed + 3), world, facts)
    files: dict[str, list[Mapping[str, object]]] = {"corpus.jsonl": [{"text": t} for t in corpus]}
    for i, split in enumerate(("dev", "test")):
        files[f"{split}.jsonl"] = make_questions(random.Random(seed + 10 + i), world, shape, splits[split], facts, split)
    files["kit.jsonl"] = list(make_kit(random.Random(seed + 20), world, shape, splits["train"]))
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="one folder per shape is written under it")
    parser.add_argument("--shapes", default="", help="comma-separated; default: every shape")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name in args.shapes.split(",") if args.shapes else SHAPES:
        print(generate(SHAPES[name], args.out / name, args.seed))


if __name__ == "__main__":
    main()
