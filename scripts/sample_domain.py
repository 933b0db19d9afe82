"""Generate the packaged sample domain: the invented pharmacopoeia of Orrenland.

Why invented: no general LLM can already know that "Tasorin is indicated for marsh fever", so any
accuracy above chance on these questions must come from knowledge that BLADE injected. Every
attribute value is assigned to drugs at random and independently of the other attributes and of
the drug's name, so no prior, name pattern or cross-attribute correlation gives an answer away.

The script reads top to bottom:
entities -> facts -> corpus -> fact splits -> questions -> KIT pairs -> write.
It is deterministic: fixed seeds, lists (never sets) for every iteration, fixed JSON key order and
no timestamps, so running it twice gives byte-identical files (a test checks this).

    python -m scripts.sample_domain [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from blade_core.data.records import MCQuestion
from blade_core.knowledge.options import option_pairs

T = TypeVar("T")

COUNTRY = "Orrenland"
N_ENTITIES = 48
DEFAULT_SEED = 20240611
SPLIT_SHARES = (("train", 0.60), ("dev", 0.15), ("test", 0.25))
SPLITS = tuple(name for name, _ in SPLIT_SHARES)
MULTI_OPTIONS = 5
SINGLE_OPTIONS = 4
MAX_CORRECT = 3

# ---------------------------------------------------------------------------------------------
# Entities: invented drug names and invented attribute values.
# ---------------------------------------------------------------------------------------------

_ONSETS = ["b", "br", "c", "d", "dr", "f", "fl", "g", "gr", "h", "k", "l", "m", "n", "p", "pl",
           "pr", "qu", "r", "s", "st", "t", "th", "tr", "v", "z"]
_VOWELS = ["a", "e", "i", "o", "u"]
_MIDDLES = ["l", "r", "n", "v", "m", "s", "t", "d", "c", "nd", "rv", "lt", "st"]
_ENDINGS = ["orin", "avel", "ethra", "imar", "ostel", "umex", "andol", "irase", "elva", "oquin",
            "ardine", "enthe", "ulan", "ovane", "adrel", "isto"]

# Values are ordinary words in invented combinations, so a sentence-embedding model can match a
# value named in a knowledge sentence to the same words in an option. No value is a substring of
# another (checked below), so "entity and value co-occur in a text" is an unambiguous fact test.
ATTRIBUTES: dict[str, list[str]] = {
    "drug_class": ["vessel binder", "spleen tonic", "marrow steadier", "bile thinner",
                   "lung opener", "nerve damper", "humour balancer", "pulse quickener",
                   "gut settler", "skin sealant"],
    "indication": ["marsh fever", "copper lung", "winter ague", "river flux", "lantern blindness",
                   "miller's cough", "ash rash", "salt palsy", "bog chill", "tallow gout",
                   "quarry wheeze", "frost tremor"],
    "max_daily_dose": ["30 milligrams", "75 milligrams", "120 milligrams", "200 milligrams",
                       "360 milligrams", "480 milligrams", "650 milligrams", "900 milligrams"],
    "contraindication": ["kidney stones", "weak liver", "heart murmur", "low blood pressure",
                         "pregnancy", "epilepsy", "asthma", "thin blood", "brittle bones",
                         "sun allergy"],
    "maker": ["Harrow and Venn", "Blackmoor Works", "Saltgate Apothecary", "Orrin Brothers",
              "Greywater Dispensary", "Lindqvist House", "Thornbury Laboratories",
              "Calloway Guild"],
    "side_effects": ["drowsiness", "blue fingernails", "ringing ears", "metallic taste",
                     "night sweats", "dry mouth", "hiccups", "vivid dreams", "itchy scalp",
                     "pale gums", "cold feet", "hair thinning"],
}
ATTRIBUTE_ORDER = list(ATTRIBUTES)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def make_names(rng: random.Random, count: int = N_ENTITIES) -> list[str]:
    """Pronounceable invented names, pairwise far apart so neither a tokenizer, an embedding nor
    a reader confuses two drugs: edit distance >= 4, distinct first three letters, no name inside
    another, and no ending used more than three times."""
    names: list[str] = []
    while len(names) < count:
        name = (rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_MIDDLES)
                + rng.choice(_ENDINGS)).capitalize()
        if any(_levenshtein(name, other) < 4 or name[:3] == other[:3] or name in other
               or other in name for other in names):
            continue
        if sum(other[-4:] == name[-4:] for other in names) >= 3:
            continue
        names.append(name)
    return names


@dataclass(frozen=True)
class Drug:
    """One entity: its name and, per attribute, its value(s) (side effects may be two)."""

    name: str
    values: dict[str, tuple[str, ...]]


def _balanced(rng: random.Random, values: Sequence[str], count: int) -> list[str]:
    """`count` draws that use every value about equally often, in random order."""
    pool = [values[i % len(values)] for i in range(count)]
    rng.shuffle(pool)
    return pool


def make_drugs(rng: random.Random) -> list[Drug]:
    """Assign every attribute independently at random; half the drugs get two side effects."""
    names = make_names(rng)
    columns = {attr: _balanced(rng, values, len(names)) for attr, values in ATTRIBUTES.items()
               if attr != "side_effects"}
    two_effects = [i % 2 == 0 for i in range(len(names))]
    rng.shuffle(two_effects)
    first_effects = _balanced(rng, ATTRIBUTES["side_effects"], len(names))
    second_effects = _balanced(rng, ATTRIBUTES["side_effects"], sum(two_effects))
    drugs = []
    for i, name in enumerate(names):
        values = {attr: (column[i],) for attr, column in columns.items()}
        effects = [first_effects[i]]
        if two_effects[i]:
            effects.append(next(v for v in second_effects if v != effects[0]))
            second_effects.remove(effects[1])
        values["side_effects"] = tuple(effects)  # type: ignore[assignment]  # one or two effects
        drugs.append(Drug(name, {attr: values[attr] for attr in ATTRIBUTE_ORDER}))
    return drugs


def _check_vocabulary(names: Sequence[str]) -> None:
    """Fail loudly if a value or name hides inside another: the leak tests rely on it."""
    words = [v.lower() for values in ATTRIBUTES.values() for v in values]
    words += [n.lower() for n in names]
    for a in words:
        for b in words:
            if a != b and a in b:
                raise ValueError(f"{a!r} is a substring of {b!r}")


# ---------------------------------------------------------------------------------------------
# Facts: one fact per (drug, attribute); a drug's two side effects form one fact.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    entity: str
    attribute: str
    values: tuple[str, ...]


def make_facts(drugs: Sequence[Drug]) -> list[Fact]:
    return [Fact(d.name, attr, d.values[attr]) for d in drugs for attr in ATTRIBUTE_ORDER]


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


def _join(values: Sequence[str]) -> str:
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + " and " + values[-1]


def _plural(word: str) -> str:
    return word + "s"


# The first template of each attribute is the canonical sentence used for gold knowledge and KIT.
SENTENCES: dict[str, list[str]] = {
    "drug_class": ["{e} is {a} {v}.", "{e} belongs to the {v} class.",
                   "Pharmacists in Orrenland class {e} as {a} {v}."],
    "indication": ["{e} is indicated for {v}.", "{e} is prescribed to treat {v}.",
                   "Physicians give {e} to patients suffering from {v}."],
    "max_daily_dose": ["The maximum daily dose of {e} is {v}.",
                       "No patient should take more than {v} of {e} in one day.",
                       "{e} may be taken up to {v} a day."],
    "contraindication": ["{e} is contraindicated in patients with {v}.",
                         "{e} must not be given to anyone with {v}.",
                         "Patients with {v} should never take {e}."],
    "maker": ["{e} is made by {v}.", "{e} is manufactured by {v}.",
              "The house of {v} produces {e}."],
    "side_effects": ["Common side effects of {e} include {v}.",
                     "Patients taking {e} often report {v}.", "{e} commonly causes {v}."],
}


def fact_sentence(fact: Fact, variant: int = 0) -> str:
    """The fact as one sentence naming entity and value(s); variant 0 is the canonical form."""
    template = SENTENCES[fact.attribute][variant]
    text = template.format(e=fact.entity, v=_join(fact.values), a=_article(fact.values[0]))
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------------------------------------
# Corpus: every fact stated several ways, in short documents (< 256 word pieces, so a
# MiniLM retriever sees each document whole and a tiny LM trains on it in minutes).
# ---------------------------------------------------------------------------------------------


def _monograph(rng: random.Random, drug: Drug, facts: Sequence[Fact]) -> str:
    """Per drug: every fact, in a random template and order."""
    sentences = [fact_sentence(f, rng.randrange(len(SENTENCES[f.attribute]))) for f in facts]
    rng.shuffle(sentences)
    return f"Monograph: {drug.name}. " + " ".join(sentences)


def _pharmacist_notes(rng: random.Random, drug: Drug) -> str:
    """Per drug, a second, more conversational restatement of all its facts."""
    v = drug.values
    parts = [
        f"Dispensing notes on {drug.name}.",
        f"{drug.name} comes from {v['maker'][0]} and is sold as {_article(v['drug_class'][0])} "
        f"{v['drug_class'][0]}.",
        f"We dispense {drug.name} for {v['indication'][0]}, never above {v['max_daily_dose'][0]} "
        "in a day.",
        f"Ask every patient about {v['contraindication'][0]}: {drug.name} is forbidden to them.",
        f"Warn that {drug.name} may bring {_join(v['side_effects'])}.",
    ]
    middle = parts[1:4]
    rng.shuffle(middle)
    return " ".join([parts[0], *middle, parts[4]])


def _group(drugs: Sequence[Drug], attribute: str, value: str) -> list[Drug]:
    return [d for d in drugs if value in d.values[attribute]]


def _class_overview(drugs: Sequence[Drug], value: str) -> str:
    members = _group(drugs, "drug_class", value)
    lines = [f"The {_plural(value)} of the {COUNTRY} pharmacopoeia.",
             f"The {_plural(value)} are {_join([d.name for d in members])}."]
    lines += [f"{d.name}, {_article(value)} {value}, is used for {d.values['indication'][0]}."
              for d in members]
    return " ".join(lines)


def _treatment_guide(drugs: Sequence[Drug], value: str) -> str:
    members = _group(drugs, "indication", value)
    lines = [f"Treatment guide: {value}.",
             f"The drugs indicated for {value} are {_join([d.name for d in members])}."]
    lines += [f"For {value}, give {d.name} up to {d.values['max_daily_dose'][0]} a day."
              for d in members]
    return " ".join(lines)


def _maker_catalogue(drugs: Sequence[Drug], value: str) -> str:
    members = _group(drugs, "maker", value)
    lines = [f"Catalogue of {value}.",
             f"{value} manufactures {_join([d.name for d in members])}."]
    lines += [f"{d.name} from {value} is {_article(d.values['drug_class'][0])} "
              f"{d.values['drug_class'][0]}." for d in members]
    return " ".join(lines)


def _side_effect_bulletin(drugs: Sequence[Drug], value: str) -> str:
    members = _group(drugs, "side_effects", value)
    names = _join([d.name for d in members])
    return (f"Safety bulletin: {value}. {value[0].upper() + value[1:]} is a common side effect of "
            f"{names}. Patients on {names} should report {value} to their physician.")


def _contraindication_warning(drugs: Sequence[Drug], value: str) -> str:
    members = _group(drugs, "contraindication", value)
    names = _join([d.name for d in members])
    return (f"Warning for patients with {value}. Patients with {value} must not take {names}. "
            f"Each of {names} is contraindicated in {value}.")


def _formulary_tables(drugs: Sequence[Drug], rows_per_table: int = 8) -> list[str]:
    header = "drug | class | indication | maximum daily dose | contraindication | maker"
    tables = []
    for start in range(0, len(drugs), rows_per_table):
        chunk = drugs[start:start + rows_per_table]
        rows = [" | ".join([d.name, *(d.values[a][0] for a in ATTRIBUTE_ORDER[:-1])])
                for d in chunk]
        number = start // rows_per_table + 1
        tables.append(f"{COUNTRY} formulary, table {number}.\n{header}\n" + "\n".join(rows))
    return tables


def make_corpus(rng: random.Random, drugs: Sequence[Drug], facts: Sequence[Fact]) -> list[str]:
    """Monographs, notes, per-value overviews and tables, shuffled so doc types interleave."""
    by_entity = {d.name: [f for f in facts if f.entity == d.name] for d in drugs}
    docs = [_monograph(rng, d, by_entity[d.name]) for d in drugs]
    docs += [_pharmacist_notes(rng, d) for d in drugs]
    docs += [_class_overview(drugs, v) for v in ATTRIBUTES["drug_class"]]
    docs += [_treatment_guide(drugs, v) for v in ATTRIBUTES["indication"]]
    docs += [_maker_catalogue(drugs, v) for v in ATTRIBUTES["maker"]]
    docs += [_side_effect_bulletin(drugs, v) for v in ATTRIBUTES["side_effects"]]
    docs += [_contraindication_warning(drugs, v) for v in ATTRIBUTES["contraindication"]]
    docs += _formulary_tables(drugs)
    rng.shuffle(docs)
    return docs


# ---------------------------------------------------------------------------------------------
# Splits: by fact, stratified by attribute (and by one/two side effects), so a dev or test fact
# is in the corpus but never in train questions or KIT pairs.
# ---------------------------------------------------------------------------------------------


def split_facts(rng: random.Random, facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    strata: dict[tuple[str, int], list[Fact]] = {}
    for fact in facts:
        strata.setdefault((fact.attribute, len(fact.values)), []).append(fact)
    return split_strata(rng, [strata[key] for key in sorted(strata)])


def split_strata(rng: random.Random, strata: Sequence[Sequence[T]]) -> dict[str, list[T]]:
    """Each stratum shuffled and cut into train, dev and test by `SPLIT_SHARES`, in the given
    order (the order decides the random draws, so generated files stay byte-identical)."""
    splits: dict[str, list[T]] = {name: [] for name in SPLITS}
    for members in strata:
        stratum = list(members)
        rng.shuffle(stratum)
        n_train = round(len(stratum) * SPLIT_SHARES[0][1])
        n_dev = round(len(stratum) * SPLIT_SHARES[1][1])
        splits["train"] += stratum[:n_train]
        splits["dev"] += stratum[n_train:n_train + n_dev]
        splits["test"] += stratum[n_train + n_dev:]
    return splits


# ---------------------------------------------------------------------------------------------
# Questions: a forward question per fact ("What is X indicated for?"), and reverse questions
# ("Which drugs are indicated for Y?") that group same-split facts sharing a value.
# ---------------------------------------------------------------------------------------------

FORWARD: dict[str, list[str]] = {
    "drug_class": ["Which drug class does {e} belong to?", "What kind of drug is {e}?"],
    "indication": ["What is {e} indicated for?", "Which condition is {e} prescribed to treat?"],
    "max_daily_dose": ["What is the maximum daily dose of {e}?",
                       "What daily dose of {e} must never be exceeded?"],
    "contraindication": ["In patients with which condition is {e} contraindicated?",
                         "Which condition rules out the use of {e}?"],
    "maker": ["Which house manufactures {e}?", "Who makes {e}?"],
    "side_effects": ["What is a common side effect of {e}?", "What does {e} commonly cause?"],
}
FORWARD_MULTI = ["What are the common side effects of {e}?",
                 "Which side effects are common with {e}?"]
REVERSE: dict[str, tuple[str, str]] = {  # (one correct drug, several correct drugs)
    "drug_class": ("Which drug belongs to the {v} class?", "Which drugs belong to the {v} class?"),
    "indication": ("Which drug is indicated for {v}?", "Which drugs are indicated for {v}?"),
}


@dataclass(frozen=True)
class Draft:
    """A question before letters are assigned: correct and wrong option texts, gold facts."""

    question: str
    correct: tuple[str, ...]
    wrong: tuple[str, ...]
    facts: tuple[Fact, ...]


def _forward(rng: random.Random, fact: Fact) -> Draft:
    multi = len(fact.values) > 1
    templates = FORWARD_MULTI if multi else FORWARD[fact.attribute]
    n_wrong = (MULTI_OPTIONS if multi else SINGLE_OPTIONS) - len(fact.values)
    pool = [v for v in ATTRIBUTES[fact.attribute] if v not in fact.values]
    return Draft(rng.choice(templates).format(e=fact.entity), fact.values,
                 tuple(rng.sample(pool, n_wrong)), (fact,))


def _reverse(rng: random.Random, drugs: Sequence[Drug], group: Sequence[Fact],
             wrong_from: set[str] | None) -> Draft:
    """`wrong_from`: the drugs wrong options may name (None: any). Train questions draw them from
    drugs whose fact on this attribute is a train fact, so KIT knowledge can state every option's
    fact without leaking a dev or test fact."""
    attribute, value = group[0].attribute, group[0].values[0]
    single, several = REVERSE[attribute]
    multi = len(group) > 1
    n_wrong = (MULTI_OPTIONS if multi else SINGLE_OPTIONS) - len(group)
    pool = [d.name for d in drugs if value not in d.values[attribute]
            and (wrong_from is None or d.name in wrong_from)]
    return Draft((several if multi else single).format(v=value),
                 tuple(f.entity for f in group), tuple(rng.sample(pool, n_wrong)), tuple(group))


def _chunk_sizes(n: int) -> list[int]:
    """Split a group of n same-value facts into questions of 2-3 correct drugs (1 only if n=1)."""
    if n <= MAX_CORRECT:
        return [n]
    first = 2 if n == MAX_CORRECT + 1 else MAX_CORRECT
    return [first, *_chunk_sizes(n - first)]


def make_drafts(rng: random.Random, drugs: Sequence[Drug], facts: Sequence[Fact],
                own_wrong_options: bool = False) -> list[Draft]:
    """All questions for one split's facts, in a random order; with `own_wrong_options`, reverse
    questions' wrong options are drugs whose fact on that attribute is in this split too."""
    drafts = [_forward(rng, fact) for fact in facts]
    for attribute in REVERSE:
        wrong_from = {f.entity for f in facts if f.attribute == attribute} if own_wrong_options else None
        for value in ATTRIBUTES[attribute]:
            group = [f for f in facts if f.attribute == attribute and f.values[0] == value]
            rng.shuffle(group)
            start = 0
            for size in _chunk_sizes(len(group)) if group else []:
                drafts.append(_reverse(rng, drugs, group[start:start + size], wrong_from))
                start += size
    rng.shuffle(drafts)
    return drafts


def knowledge_text(facts: Sequence[Fact]) -> str:
    """Gold knowledge: the canonical sentence of each fact the question asks about."""
    return " ".join(fact_sentence(f) for f in facts)


def finalize(rng: random.Random, split: str, drafts: Sequence[Draft]) -> list[dict[str, object]]:
    """Place options so correct letters are balanced: single-answer questions take their correct
    letter from a shuffled, evenly filled cycle; multi-answer ones take a random letter set."""
    singles = [d for d in drafts if len(d.correct) == 1]
    cycle = [chr(ord("A") + i % SINGLE_OPTIONS) for i in range(len(singles))]
    rng.shuffle(cycle)
    records: list[dict[str, object]] = []
    for number, draft in enumerate(drafts, 1):
        n_options = len(draft.correct) + len(draft.wrong)
        letters = [chr(ord("A") + i) for i in range(n_options)]
        if len(draft.correct) == 1:
            correct_letters = [cycle.pop()]
        else:
            correct_letters = sorted(rng.sample(letters, len(draft.correct)))
        wrong = list(draft.wrong)
        rng.shuffle(wrong)
        correct = list(draft.correct)
        options = {}
        for letter in letters:
            options[letter] = correct.pop(0) if letter in correct_letters else wrong.pop(0)
        answer: object = correct_letters[0] if len(correct_letters) == 1 else correct_letters
        records.append({"id": f"orren-{split}-{number:03d}", "question": draft.question,
                        "options": options, "answer": answer,
                        "knowledge": knowledge_text(draft.facts)})
    return records


# ---------------------------------------------------------------------------------------------
# KIT pairs: for each train question, (question with options -> knowledge) and
# (plain question -> knowledge). Built from train questions only, so dev/test facts never leak.
# ---------------------------------------------------------------------------------------------


def option_facts(question: MCQuestion, drugs: Sequence[Drug]) -> list[str] | None:
    """For a reverse question ("Which drug is indicated for Y?"), the asked fact of every option
    drug, in option order: what an expert writes to tell the options apart, and what a small LM
    can recall, since each sentence starts from a name it was given (forward), where naming the
    right drug from Y alone needs the reverse recall LMs are poor at. None for other questions."""
    by_name = {d.name: d for d in drugs}
    for attribute, templates in REVERSE.items():
        if any(question.question == t.format(v=v) for t in templates for v in ATTRIBUTES[attribute]):
            return [fact_sentence(Fact(name, attribute, by_name[name].values[attribute]))
                    for name in question.options.values()]
    return None


def make_kit(train: Sequence[dict[str, object]], drugs: Sequence[Drug]) -> list[dict[str, str]]:
    """For each train question, the question with its options and the plain question, each mapped
    to its knowledge, and for a reverse question (whose knowledge names every option) each
    one-option view mapped to that option's fact (`option_pairs`, as inference's knowledge per
    option shows it). Uses `MCQuestion.with_options_text()` itself, so KIT sees exactly what
    inference shows."""
    pairs = []
    for record in train:
        question = MCQuestion.model_validate(record)
        knowledge = question.knowledge or ""
        with_options = question.with_options_text()
        facts = option_facts(question, drugs)
        output = " ".join(facts) if facts else knowledge
        views = [(with_options, output), *option_pairs(with_options, output), (question.question, knowledge)]
        pairs += [{"instruction": view, "input": "", "output": text} for view, text in views]
    return pairs


# ---------------------------------------------------------------------------------------------
# General English: a little plain everyday text, for mixing against forgetting.
# ---------------------------------------------------------------------------------------------

_PEOPLE = ["My neighbour", "The baker", "A young teacher", "Our grandmother", "The bus driver",
           "A tired student", "The gardener", "My cousin"]
_ACTIVITIES = ["walked to the market to buy apples", "cooked a pot of vegetable soup",
               "read a long novel by the window", "planted tomatoes in the back garden",
               "took the early train to the city", "fixed a squeaky kitchen door",
               "painted the fence a bright green", "wrote a letter to an old friend"]
_TIMES = ["on Saturday morning", "after a rainy afternoon", "before dinner",
          "late in the evening", "during the summer holidays", "on a cold winter day"]
_REMARKS = ["It was a pleasant way to spend the day.", "Everyone agreed it had been worth it.",
            "The weather stayed mild the whole time.", "Afterwards there was tea and cake.",
            "It took longer than expected, but nobody minded.",
            "The children laughed and joined in."]


def make_general(rng: random.Random, count: int = 40) -> list[str]:
    texts = []
    for _ in range(count):
        first = f"{rng.choice(_PEOPLE)} {rng.choice(_ACTIVITIES)} {rng.choice(_TIMES)}."
        texts.append(" ".join([first, *rng.sample(_REMARKS, 2)]))
    return texts


# ---------------------------------------------------------------------------------------------
# Write.
# ---------------------------------------------------------------------------------------------


def default_out_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def _write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _readme(seed: int, drugs: Sequence[Drug], corpus: Sequence[str],
            questions: dict[str, list[dict[str, object]]], kit_size: int) -> str:
    multi = {s: sum(isinstance(q["answer"], list) for q in qs) for s, qs in questions.items()}
    sizes = ", ".join(f"{s} {len(qs)} ({multi[s]} multi-answer)" for s, qs in questions.items())
    attrs = "\n".join(f"- {a} ({len(v)} values, e.g. {v[0]!r})" for a, v in ATTRIBUTES.items())
    return f"""# Sample domain: the {COUNTRY} pharmacopoeia (fictional)

Generated by `python -m scripts.sample_domain` (seed {seed}); do not edit by hand.
Everything here is invented: {len(drugs)} drugs with made-up names (e.g. {drugs[0].name}),
each with:

{attrs}

Half of the drugs have two side effects. Values are assigned at random, independently of each
other and of the names, so a general LLM cannot know or guess them: accuracy above chance must
come from injected knowledge.

Files:
- `corpus.jsonl` ({len(corpus)} documents, {sum(len(t) for t in corpus)} characters, `{{"text"}}`):
  per drug a monograph and dispensing notes, per value a class overview, treatment guide, maker
  catalogue, side-effect bulletin or contraindication warning, and formulary tables. Every fact is
  stated at least three times in different wordings.
- `train.jsonl`, `dev.jsonl`, `test.jsonl`: multiple-choice questions (`MCQuestion`):
  {sizes}.
  Single-answer questions have 4 options, multi-answer ones 5; `knowledge` holds the gold sentences.
- `kit.jsonl` ({kit_size} alpaca pairs): for each train question, the question with options and
  the plain question, each mapped to the knowledge that answers it; for a reverse question ("Which
  drug ...?") shown options, the knowledge is the fact of each option shown, and each option alone
  is a pair too.
- `general.jsonl`: short everyday English texts, for mixing in against forgetting.

Splits are by fact (drug x attribute), stratified by attribute: about 60% train, 15% dev and 25%
test. Dev and test facts appear in the corpus but never in `train.jsonl` or `kit.jsonl`.
"""


def generate(out_dir: Path | None = None, seed: int = DEFAULT_SEED) -> Path:
    """Build the whole domain from `seed` and write it to `out_dir` (default: packaged data)."""
    out = Path(out_dir) if out_dir is not None else default_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    drugs = make_drugs(random.Random(seed))
    _check_vocabulary([d.name for d in drugs])
    facts = make_facts(drugs)
    corpus = make_corpus(random.Random(seed + 1), drugs, facts)
    fact_splits = split_facts(random.Random(seed + 2), facts)
    questions: dict[str, list[dict[str, object]]] = {}
    for offset, split in enumerate(SPLITS):
        rng = random.Random(seed + 10 + offset)
        drafts = make_drafts(rng, drugs, fact_splits[split], own_wrong_options=split == "train")
        questions[split] = finalize(rng, split, drafts)
    kit = make_kit(questions["train"], drugs)
    general = make_general(random.Random(seed + 3))

    _write_jsonl(out / "corpus.jsonl", [{"text": t} for t in corpus])
    for split in SPLITS:
        _write_jsonl(out / f"{split}.jsonl", questions[split])
    _write_jsonl(out / "kit.jsonl", kit)
    _write_jsonl(out / "general.jsonl", [{"text": t} for t in general])
    (out / "README.md").write_text(_readme(seed, drugs, corpus, questions, len(kit)),
                                   encoding="utf-8", newline="\n")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: packaged)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    print(generate(args.out, args.seed))


if __name__ == "__main__":
    main()
