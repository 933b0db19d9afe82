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
  the heading as its entity;
* a prose sentence that names no entity is prefixed with the entity the document was last about:
  "Zorvanil: It is indicated for marsh fever." (pronouns are kept: whether "it" refers or is an
  expletive, as in "It is said that ...", needs no deciding).

Which names are entities: names are the corpus's recurring names (`knowledge_gate.domain_names`);
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
from blade_core.knowledge.names import domain_names, name_finder
from blade_core.text import corpus_sentences, is_cjk, join_sentences

VALUE_SHARE = 3.0
"""A name in more than this many times the median name's sentences is a value, not an entity."""

_FIELD = re.compile(r"^\s*([^:：|]{1,40}?)\s*[:：]\s*(\S.*?)\s*$")
_HEADING = re.compile(r"^\s*#*\s*([^.!?。！？:：|]{1,60}?)\s*[:：]?\s*$")


@dataclass(frozen=True)
class EntityFact:
    """A stand-alone sentence and the entities it is about."""

    text: str
    entities: frozenset[str]


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


def _table(lines: Sequence[str]) -> _Block:
    """A pipe table's rows as "entity label: value." sentences; its header gives the labels."""
    header, rows = _cells(lines[0]), [_cells(line) for line in lines[1:] if not _is_separator(line)]
    rows = [row for row in rows if row and row[0]]
    return _Block([_stated(row[0], label, value) for row in rows for label, value in zip(header[1:], row[1:]) if value],
                  tuple(row[0] for row in rows))


def _fields(lines: Sequence[str]) -> _Block | None:
    """A heading line then "Label: value" lines, as sentences about the heading; None otherwise."""
    heading = _HEADING.match(lines[0])
    fields = [_FIELD.match(line) for line in lines[1:]]
    if heading is None or len(lines) < 2 or sum(f is not None for f in fields) < max(1, (len(lines) - 1) // 2):
        return None
    entity = heading.group(1).strip()
    return _Block([_stated(entity, f.group(1), f.group(2)) if f else line for f, line in zip(fields, lines[1:])],
                  (entity,))


def _structured(text: str) -> list[_Block]:
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
                blocks += _prose(prose) + [_table(table)]
                prose = []
            else:
                prose += table
            if line:
                prose.append(line)
            start = i + 1
        blocks += _prose(prose)
    return blocks


def _prose(lines: Sequence[str]) -> list[_Block]:
    if not lines:
        return []
    return [_fields(lines) or _Block(corpus_sentences("\n".join(lines)))]


def entity_names(sentences: Sequence[str], names: Sequence[str]) -> list[str]:
    """The `names` that are entities rather than values shared by many entities (module docstring)."""
    find = name_finder(names)
    counts = Counter(name for sentence in sentences for name in find(sentence))
    if not counts:
        return []
    limit = VALUE_SHARE * statistics.median(counts.values())
    return sorted(name for name, count in counts.items() if count <= limit)


@dataclass(frozen=True)
class StandAlone:
    """A corpus made to stand alone: its documents rewritten, each sentence's entities, the names."""

    documents: list[Document]
    facts: list[EntityFact]
    """The stand-alone sentences that name an entity, in corpus order."""
    names: list[str]
    entities: list[str]

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


def stand_alone(documents: Sequence[Document]) -> StandAlone:
    """Every document with its tables, fields and entity-less sentences made to stand alone."""
    blocks = [_structured(d.text) for d in documents]
    sentences = [s for document in blocks for block in document for s in block.sentences]
    structural = {e for document in blocks for block in document for e in block.entities}
    names = sorted(set(domain_names(sentences)) | structural)
    entities = entity_names(sentences, names)
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
    return StandAlone(rewritten, facts, names, entities)
