"""Stand-alone sentences: every fact of a corpus in a sentence that names the entity it is about.

Corpora state facts in many forms. "It is indicated for marsh fever." after a first sentence that
named the drug; a field "Indication: marsh fever" under a heading "Zorvanil"; a table row whose
first cell is the drug; prose that calls it "the drug". A small LM trained on those learns the fact
without its name, so asked about Zorvanil it cannot write it, and the entity gate rightly withholds
what it writes about no one. Sentence shuffling (augmentation) even cuts the pronoun from the
sentence that named its referent.

So, without an LLM, each sentence is made to stand alone (as "decontextualization" does for
question answering, Choi et al. 2021), keeping its words:

* a table row becomes one sentence per column: "Zorvanil indication: marsh fever." (the row's
  first cell is its entity, the header its labels);
* a block that opens with a heading line and goes on in "Label: value" lines does the same with
  the heading as its entity; so does a record of fields keyed by its first ("Package: xyz-tools",
  "【名称】…"), when that label opens several records and their values differ (`record_keys`);
* a prose sentence that names no entity is prefixed with the entity the document was last about:
  "Zorvanil: It is indicated for marsh fever." (pronouns are kept: whether "it" refers or is an
  expletive, as in "It is said that ...", needs no deciding).

Which names are entities: names are the corpus's names (`names.find_names`: from the corpus, and
from the user's names file and questions when given: `NameHints`);
values are names too ("Harrow and Venn" makes a dozen drugs), and an entity is named in fewer
sentences than a value shared by many entities, so a name counts as an entity unless it is in
more than `VALUE_SHARE` times the median name's sentences. A sentence's entity is the rarest
entity it names.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from blade_core.data.records import Document
from blade_core.knowledge.name_sources import NameHints
from blade_core.knowledge.names import FoundNames, find_names, name_finder
from blade_core.text import corpus_sentences, is_cjk, join_sentences

VALUE_SHARE = 3.0
"""A name in more than this many times the median name's sentences is a value, not an entity."""

_FIELD = re.compile(r"^\s*(?:【([^】]{1,20})】|([^:：|]{1,40}?)\s*[:：])\s*(\S.*?)\s*$")
"""A field line: "Label: value", "标签：值" or "【标签】值"."""
_HEADING = re.compile(r"^\s*#*\s*([^.!?。！？:：|]{1,60}?)\s*[:：]?\s*$")


@dataclass(frozen=True)
class EntityFact:
    """A stand-alone sentence and the entities it is about."""

    text: str
    entities: frozenset[str]


def _field(line: str) -> tuple[str, str] | None:
    """(label, value) of a field line, or None."""
    match = _FIELD.match(line)
    return (match.group(1) or match.group(2), match.group(3)) if match else None


def record_keys(texts: Sequence[str]) -> frozenset[str]:
    """The labels that key records: a label that opens at least two field blocks of the corpus,
    with a different value in each ("Package: xyz-tools", "Name: ...", "【名称】..."), so that its
    value names what the record is about."""
    opened: dict[str, list[str]] = {}
    for text in texts:
        for block in re.split(r"\n\s*\n", text):
            lines = [line for line in block.split("\n") if line.strip()]
            fields = [_field(line) for line in lines]
            if len(lines) >= 2 and fields[0] is not None and sum(f is not None for f in fields) > len(lines) // 2:
                opened.setdefault(fields[0][0].strip(), []).append(fields[0][1])
    return frozenset(label for label, values in opened.items() if len(values) >= 2 and len(set(values)) == len(values))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"\s*\|?[\s:|-]*-[\s:|-]*\|?\s*", line))


def _label(label: str) -> str:
    """A field label inside a sentence: lower case, unless it is an acronym ("ATC code")."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


def _stated(entity: str, label: str, value: str) -> str:
    separator = "：" if is_cjk(value + label) else ": "
    end = "。" if is_cjk(value) else "."
    return f"{entity} {_label(label)}{separator}{value.rstrip('.。')}{end}"


@dataclass(frozen=True)
class _Block:
    """A paragraph, table or field block as sentences, and the entities its structure names (a
    table row's first cell, a field block's heading)."""

    sentences: list[str]
    entities: tuple[str, ...] = ()
    written: tuple[str, ...] | None = None
    """A table's or field block's lines as written, for the name finder: "Amber Gull launched:
    1788." is this module's sentence, not the corpus's, and "Amber Gull launched" no name."""

    def as_written(self) -> list[str]:
        return list(self.written) if self.written is not None else self.sentences


def _table(lines: Sequence[str]) -> _Block:
    """A pipe table's rows as "entity label: value." sentences; its header gives the labels."""
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[1:] if not _is_separator(line)]
    rows = [row for row in rows if row and row[0]]
    return _Block([_stated(row[0], label, value) for row in rows for label, value in zip(header[1:], row[1:]) if value],
                  tuple(row[0] for row in rows), tuple(lines))


def _fields(lines: Sequence[str], keys: frozenset[str]) -> _Block | None:
    """A heading line (or a field whose label is a record key: `record_keys`) then "Label: value"
    lines, as sentences about the heading or the key's value; None otherwise."""
    key = _field(lines[0])
    if key is not None and key[0].strip() in keys:
        entity = key[1]
    else:
        heading = _HEADING.match(lines[0])
        if heading is None:
            return None
        entity = heading.group(1).strip()
    fields = [_field(line) for line in lines[1:]]
    if len(lines) < 2 or sum(f is not None for f in fields) < max(1, (len(lines) - 1) // 2):
        return None
    return _Block([lines[0]] * (key is not None and entity != lines[0].strip()) +
                  [_stated(entity, *f) if f else line for f, line in zip(fields, lines[1:])], (entity,), tuple(lines))


def _structured(text: str, keys: frozenset[str] = frozenset()) -> list[_Block]:
    """The document's blocks (paragraphs, tables, field blocks), tables and fields as sentences,
    prose as it is. A table is two or more lines with cells between "|" (the first its header)."""
    blocks: list[_Block] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.split("\n") if line.strip()]
        prose: list[str] = []
        start = 0
        for i, line in enumerate([*lines, ""]):
            if "|" in line:
                continue
            table = lines[start:i]
            if len(table) >= 2:
                blocks += _prose(prose, keys) + [_table(table)]
                prose = []
            else:
                prose += table
            if line:
                prose.append(line)
            start = i + 1
        blocks += _prose(prose, keys)
    return blocks


def _prose(lines: Sequence[str], keys: frozenset[str]) -> list[_Block]:
    if not lines:
        return []
    return [_fields(lines, keys) or _Block(corpus_sentences("\n".join(lines)))]


def entity_names(sentences: Sequence[str], names: Sequence[str], asked: Sequence[str] = ()) -> list[str]:
    """The `names` that are entities rather than values shared by many entities (module docstring);
    the `asked` names (a names file's) are entities whatever their count."""
    find = name_finder(names)
    counts = Counter(name for sentence in sentences for name in find(sentence))
    if not counts:
        return []
    limit = VALUE_SHARE * statistics.median(counts.values())
    return sorted(name for name, count in counts.items() if count <= limit or name in asked)


@dataclass(frozen=True)
class StandAlone:
    """A corpus made to stand alone: its documents rewritten, each sentence's entities, the names."""

    documents: list[Document]
    facts: list[EntityFact]
    """The stand-alone sentences that name an entity, in corpus order."""
    names: list[str]
    entities: list[str]
    found: FoundNames | None = None
    """Where the names came from (None when they were given: a trained model's)."""

    def sentences(self) -> list[str]:
        """Every rewritten sentence, each once, in corpus order."""
        return list(dict.fromkeys(s for d in self.documents for s in corpus_sentences(d.text)))

    def about(self, entity: str) -> list[str]:
        """The stand-alone sentences about `entity`, in corpus order, each once."""
        return list(dict.fromkeys(f.text for f in self.facts if entity in f.entities))

    def stating(self, entity: str, text: str) -> list[str]:
        """The entity's sentences that share the most content words with `text`: what a sentence in
        other words ("X is used to treat Y.") states in the corpus's ("X indication: Y.")."""
        from blade_core.knowledge.entity_views import content_words

        stated = content_words(text, [entity])
        scored = [(len(content_words(sentence, [entity]) & stated), sentence) for sentence in self.about(entity)]
        best = max((score for score, _ in scored), default=0)
        return [sentence for score, sentence in scored if best and score == best]


def _found(documents: Sequence[Document], blocks: Sequence[Sequence[_Block]], sentences: Sequence[str],
           hints: NameHints | None) -> FoundNames:
    """The name finder on this corpus: its sentences, its lines (for listings), and its blocks as
    written, a paragraph each (for the sources that read the data's own words)."""
    lines = [line for d in documents for line in d.text.split("\n")]
    flat = [block for document in blocks for block in document]
    written = [s for block in flat for s in block.as_written()]
    groups = [i for i, block in enumerate(flat) for _ in block.as_written()]
    return find_names(sentences, hints, lines, (written, groups))


def stand_alone(documents: Sequence[Document], hints: NameHints | None = None,
                known: tuple[Sequence[str], Sequence[str]] | None = None) -> StandAlone:
    """Every document with its tables, fields and entity-less sentences made to stand alone. The
    names are found (`names.find_names`, with the user's `hints`), or `known`: (names, entities) a
    trained model keeps, so every stage after DP reads the corpus with DP's names."""
    keys = record_keys([d.text for d in documents])
    blocks = [_structured(d.text, keys) for d in documents]
    sentences = [s for document in blocks for block in document for s in block.sentences]
    found = None
    if known is not None and known[0]:
        names, entities = sorted(known[0]), sorted(known[1])
    else:
        found = _found(documents, blocks, sentences, hints)
        structural = {e for document in blocks for block in document for e in block.entities}
        names = sorted(set(found.names) | structural)
        entities = entity_names(sentences, names, hints.listed if hints else ())
    find, rarity = name_finder(entities), {name: i for i, name in enumerate(entities)}
    counts = Counter(name for s in sentences for name in find(s))
    rewritten: list[Document] = []
    facts: list[EntityFact] = []
    for document, blocks_of in zip(documents, blocks):
        topic: str | None = None
        written: list[str] = []
        for block in blocks_of:
            for sentence in block.sentences:
                named = find(sentence)
                if named:
                    topic = min(named, key=lambda n: (counts[n], rarity[n]))
                elif topic is not None:
                    sentence = f"{topic}{'：' if is_cjk(sentence) else ': '}{sentence}"
                    named = {topic}
                written.append(sentence)
                if named:
                    facts.append(EntityFact(sentence, frozenset(named)))
        rewritten.append(Document(text=join_sentences(written), source=document.source))
    return StandAlone(rewritten, facts, names, entities, found)
