"""Where a corpus's names come from besides capital letters: what the user's data treats as one.

Real corpora write their entities in every way: lowercase identifiers ("xyz-linker-9", "libfoo2.1"),
generic drug names ("metformin"), codes ("RX-7731", "§ 242"), names with initials ("Anna K. Berg"),
Chinese terms that share characters. Capitalization finds few of them. The data itself says which
spans are entities:

* **the questions' subjects** (`question_subjects`): the span a KIT pair's question names and its
  answer repeats, or a dev question's span that a corpus sentence states beside its right option;
  of the stem's spans (and its right option) that the answer states or that a corpus paragraph
  holds beside the answer, the rarest in the corpus (an entity is rarer than the words its
  relation is asked in, and than a value many entities share: that is also how a reverse
  question's right option, an entity, wins over the value its stem names);
* **the slots those subjects fill** (`same_slots`): the corpus sentences put an entity where they
  put the others ("{x} is in the utils category."), so a span in a slot the asked subjects mostly
  fill is one too (bootstrapped patterns, as DIPRE and Snowball do, on the corpus's own contexts);
* **their shape** (`same_shape`): when most asked subjects are identifiers (a digit, or a hyphen,
  dot or underscore inside), every recurring token of that shape;
* **record keys and listings** (`listed_heads`): "X - description" lines; field records keyed by
  their first field ("Package: x") are read by `training.stand_alone`, as tables and headings are.

Each source gives spans as the corpus writes them; `names.domain_names` joins them with the
capitalized spans, and drops the capitalized ones no other source confirms when the asked subjects
are mostly not capitalized (sentence openers such as "Allowing" are then noise, not names).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from blade_core.data.records import InstructionPair, MCQuestion
from blade_core.text import CJK_CHARACTER, FUNCTION_CHARACTERS, is_cjk

STOPWORDS = frozenset("""
a an the this that these those there here it its it's they them their he him his she her hers we us our you your
i me my of in on at by for to from with without within into onto about above below under over after before
during since until between among through against via per than then and or nor but so if as not no yes
is are was were be been being am do does did done has have had having can could should would will shall may
might must what which who whom whose when where why how whats any all each every both either neither some
most more less least many much few several such same other another only also very just even still yet
one two three first second last new old own used use uses called known given made make makes
""".split())
"""English function words and question words: never a span's first or last word."""

_TOKEN = re.compile(r"[^\s,;:!?()\[\]{}\"“”‘’«»<>|]+")
"""A word as written, with its hyphens, dots, digits and apostrophes ("xyz-linker-9", "K.", "v2.1")."""
_END = ".'’"
_PIECE = re.compile(r"[^\W_]+")
_CJK_RUN = re.compile(f"{CJK_CHARACTER}+")
_IDENTIFIER = re.compile(r"^(?=.*[^\W\d_])(?:\S*\d\S*|\S*[^\W_][-._/+][^\W_]\S*)$")
"""A token with a letter and a digit, or a hyphen, dot, underscore, slash or plus between two
letters or digits: how identifiers, codes and model numbers are written."""
MAX_WORDS = 5
"""The longest span a subject may be, in words."""
SLOT_PRECISION = 0.6
"""A slot's fillers are names when at least this share of them are asked subjects."""
SHAPE_SHARE = 0.5
"""Identifiers' shape counts when at least this share of the asked subjects have it."""


@dataclass(frozen=True)
class Asked:
    """A question and what answers it: a KIT pair's answer, or a dev question's right options (and
    its reference knowledge, when it has one)."""

    question: str
    answers: tuple[str, ...]
    stated: bool = False
    """True when an answer is a text that names the subject (a KIT answer, reference knowledge)."""


def words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of `text`, a sentence's end punctuation left out ("K." keeps its
    dot only inside a span: the span's text is taken from its first word's start to its last's end)."""
    found = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _END:
            end -= 1
        if end > start:
            found.append((start, end))
    return found


def _spans(text: str) -> list[str]:
    """Every span of 1 to `MAX_WORDS` words of `text` that neither opens nor ends with a stopword;
    in Chinese, every string of 2 to 12 characters that neither opens nor ends with a function character."""
    if is_cjk(text):  # no function character at either end ("潮港渔税由" is "潮港渔税" and 由)
        return [run[i:j] for run in _CJK_RUN.findall(text) for i in range(len(run))
                for j in range(i + 2, min(len(run), i + 12) + 1)
                if run[i] not in FUNCTION_CHARACTERS and run[j - 1] not in FUNCTION_CHARACTERS]
    bounds = words(text)
    out = []
    for i, (start, _) in enumerate(bounds):
        if text[bounds[i][0]:bounds[i][1]].casefold() in STOPWORDS:
            continue
        for j in range(i, min(len(bounds), i + MAX_WORDS)):
            last = text[bounds[j][0]:bounds[j][1]]
            initial = len(last) == 1 and last.isupper() and text[bounds[j][1]:bounds[j][1] + 1] == "."
            if ((last.casefold() not in STOPWORDS and not last.isdigit()) or (j > i and last.isdigit())) and not initial:
                out.append(text[start:bounds[j][1]])
    return out


def _inner_stopwords(span: str) -> int:
    """How many function words a span holds inside ("maximum daily dose of X" holds one); in
    Chinese, function characters ("潮港渔税由" holds 由)."""
    if is_cjk(span):
        return sum(c in FUNCTION_CHARACTERS for c in span)
    return sum(span[a:b].casefold() in STOPWORDS for a, b in words(span)[1:-1])


class CorpusIndex:
    """The corpus's sentences with an index from each word (case-folded) or Chinese character to
    the sentences holding it, so a span's sentences are counted without scanning them all, and
    the paragraph each is in (`groups`): a fact stated with a pronoun ("It is in the utils
    section.") is in its subject's paragraph, not its sentence."""

    def __init__(self, sentences: Sequence[str], groups: Sequence[int] | None = None) -> None:
        from blade_core.knowledge.names import name_pattern

        self.sentences = list(sentences)
        self.groups = list(groups) if groups is not None else list(range(len(self.sentences)))
        self._pattern = name_pattern
        self._index: dict[str, set[int]] = defaultdict(set)
        for i, sentence in enumerate(self.sentences):
            for key in self._keys(sentence):
                self._index[key].add(i)
        self._counts: dict[str, frozenset[int]] = {}

    @staticmethod
    def _keys(text: str) -> set[str]:
        latin = _CJK_RUN.sub(" ", text)
        return {p.casefold() for p in _PIECE.findall(latin)} | set(re.findall(CJK_CHARACTER, text))

    def holding(self, span: str) -> frozenset[int]:
        """The sentences that name `span` (`names.name_pattern`: whole words; a lowercase name also
        capitalized, as a sentence's first word)."""
        if span not in self._counts:
            keys = self._keys(span)
            candidates = set.intersection(*(self._index.get(k, set()) for k in keys)) if keys else set()
            pattern = self._pattern(span)
            self._counts[span] = frozenset(i for i in candidates if pattern.search(self.sentences[i]))
        return self._counts[span]

    def count(self, span: str) -> int:
        return len(self.holding(span))

    def paragraphs(self, span: str) -> frozenset[int]:
        return frozenset(self.groups[i] for i in self.holding(span))


def question_subjects(asked: Iterable[Asked], corpus: CorpusIndex, limit: float,
                      terms: frozenset[str] = frozenset()) -> list[str]:
    """Each question's subject, in the order first found (module docstring): of the stem's spans
    (and its right option, which a reverse question asks about) that the answer states or that a
    corpus paragraph holds beside it, the rarest in the corpus, unless it is a value (a right
    option of more questions than it is named in the stems of); of equally rare ones, the one
    with the fewest function words inside, then the longest; none when that is a value. In Chinese,
    which marks no word's end, a subject is one of the corpus's `terms` (`text.recurring_terms`:
    closed, in varied company), so "执行集市渔" across a name's edge is none. A subject that is
    another's first or last words with a word of its question beside it is that other's (`_within`)."""
    asked = list(asked)
    in_stems = Counter(span for item in asked for span in set(_spans(item.question)))
    as_answer = Counter(a for item in asked if not item.stated for a in set(item.answers))
    values = {a for a, n in as_answer.items() if n > in_stems[a]}
    found: dict[str, None] = {}
    for item in asked:
        subject = _subject(item, corpus, limit, values, terms)
        if subject is not None:
            found.setdefault(subject)
    return [s for s in found if not any(other != s and _within(other, s) for other in found)]


def _valued(span: str, values: set[str]) -> bool:
    """Whether a span is a value, or a value and the stem's words beside it ("港务司负责执行")."""
    return span in values or any(len(v) >= 2 and _within(v, span) for v in values)


def _within(part: str, span: str) -> bool:
    """Whether `part` is `span`'s first or last words: a subject found beside a word of its question
    ("Article 154 allows", "Amber Gull launched") is the subject other questions found alone."""
    if is_cjk(span):  # "矿井渔业条例禁止" is "矿井渔业条例" and the stem's next word
        return len(part) >= 2 and len(span) > len(part) and (span.startswith(part) or span.endswith(part))
    return span.startswith(part + " ") or span.endswith(" " + part)


def _subject(item: Asked, corpus: CorpusIndex, limit: float, values: set[str], terms: frozenset[str]) -> str | None:
    from blade_core.knowledge.names import name_pattern

    answers = [a for a in item.answers if a.strip()]
    answer_paragraphs = [corpus.paragraphs(a) for a in answers] if not item.stated else []
    candidates: list[tuple[bool, int, int, int, str]] = []
    for span in dict.fromkeys(_spans(item.question)):
        if is_cjk(span) and span not in terms:
            continue
        count = corpus.count(span)
        if not count or count > limit:
            continue
        if item.stated:
            evidence = any(name_pattern(span).search(a) for a in answers)
        else:
            evidence = any(corpus.paragraphs(span) & held for held in answer_paragraphs)
        if evidence:
            candidates.append((_valued(span, values), count, _inner_stopwords(span), -len(span), span))
    if candidates and not item.stated:  # a reverse question asks about its right option
        stem_paragraphs = frozenset().union(*(corpus.paragraphs(c[-1]) for c in candidates))
        for answer, held in zip(answers, answer_paragraphs):
            count = corpus.count(answer)
            if len(_TOKEN.findall(answer)) <= MAX_WORDS and 0 < count <= limit and held & stem_paragraphs \
                    and not answer[:1].isdigit() and answer.split()[0].casefold() not in STOPWORDS:
                candidates.append((_valued(answer, values), count, _inner_stopwords(answer), -len(answer), answer))
    best = min(candidates, default=None)
    return best[-1] if best is not None and not best[0] else None


def identifier_shaped(span: str) -> bool:
    """Written as identifiers are: "xyz-linker-9", "RX-7731", "libfoo2.1" (`_IDENTIFIER`); an
    address ("anna@example.org", "https://...") is not one."""
    return " " not in span and "@" not in span and "://" not in span and bool(_IDENTIFIER.match(span))


def same_shape(subjects: Sequence[str], corpus: CorpusIndex, min_sentences: int, limit: float) -> list[str]:
    """When most subjects are identifiers (`SHAPE_SHARE`), the corpus's recurring identifiers."""
    latin = [s for s in subjects if not is_cjk(s)]
    if not latin or sum(map(identifier_shaped, latin)) < SHAPE_SHARE * len(latin):
        return []
    tokens = Counter(t for sentence in corpus.sentences
                     for t in {sentence[a:b] for a, b in words(sentence)} if identifier_shaped(t))
    return sorted(t for t, n in tokens.items() if min_sentences <= n <= limit and not _number_like(t))


def _number_like(token: str) -> bool:
    """Dates, versions, measures and prices ("1.5", "2024-01", "5mg", "v2"): values, not names."""
    return bool(re.fullmatch(r"[v#№]?\d[\d.,:/-]*(?:[a-zA-Z%]{0,3})", token))


def same_slots(subjects: Sequence[str], corpus: CorpusIndex, min_sentences: int, limit: float) -> list[str]:
    """Spans in the corpus's slots that the asked subjects mostly fill (`SLOT_PRECISION`): a slot
    is the word before and the word after (or a sentence's edge), for spans as long as the subjects
    (in Chinese, the character before and after, for strings as long as the subjects)."""
    known = set(subjects)
    lengths = {len(_TOKEN.findall(s)) for s in subjects if not is_cjk(s)}
    cjk_lengths = {len(s) for s in subjects if is_cjk(s)}
    fillers: dict[tuple[str, str, int], Counter[str]] = defaultdict(Counter)
    for sentence in corpus.sentences:
        if is_cjk(sentence):  # a Chinese slot: the character before and the one after
            for n in cjk_lengths:
                for i in range(len(sentence) - n + 1):
                    span = sentence[i:i + n]
                    if _CJK_RUN.fullmatch(span) and span[0] not in FUNCTION_CHARACTERS \
                            and span[-1] not in FUNCTION_CHARACTERS:
                        right = sentence[i + n] if i + n < len(sentence) else "$"
                        fillers[(sentence[i - 1] if i else "^", right, n)][span] += 1
            continue
        bounds = words(sentence)
        keys = [sentence[a:b].casefold() for a, b in bounds]
        for n in lengths:
            for i in range(len(bounds) - n + 1):
                span = _as_named(sentence[bounds[i][0]:bounds[i + n - 1][1]], i == 0, known)
                if keys[i] in STOPWORDS or keys[i + n - 1] in STOPWORDS:
                    continue
                left = keys[i - 1] if i else "^"
                right = keys[i + n] if i + n < len(keys) else "$"
                fillers[(left, right, n)][span] += 1
    kept: Counter[str] = Counter()
    for counts in fillers.values():
        asked = [s for s in counts if s in known]
        if len(asked) >= 3 and sum(counts[s] for s in asked) >= SLOT_PRECISION * sum(counts.values()):
            kept.update(set(counts) - known)
    return sorted(span for span, slots in kept.items() if slots >= 2 and min_sentences <= corpus.count(span) <= limit)


def _as_named(span: str, first: bool, known: set[str]) -> str:
    """A sentence's first word as the names are written: "Metformin" is "metformin" when the asked
    subjects are lowercase ("Metformin is ..." opens a sentence about "metformin")."""
    lowered = span[:1].lower() + span[1:]
    return lowered if first and span not in known and (lowered in known or _lowercase(known)) else span


def _lowercase(known: set[str]) -> bool:
    return bool(known) and sum(s[:1].islower() for s in known) >= 0.5 * len(known)


_LISTING = re.compile(r"^\s*(?:[-*•]\s+)?(\S(?:.{0,60}?\S)?)\s+[-–—]\s+\S")


def listed_heads(lines: Iterable[str], min_lines: int = 3) -> list[str]:
    """The heads of "X - description" lines (a listing, a glossary, an index), when at least
    `min_lines` lines are written so and each head is no longer than `MAX_WORDS` words."""
    heads = [m.group(1) for line in lines if (m := _LISTING.match(line))]
    heads = [h for h in heads if len(_TOKEN.findall(h)) <= MAX_WORDS and h.casefold() not in STOPWORDS]
    return sorted(set(heads)) if len(set(heads)) >= min_lines else []


@dataclass(frozen=True)
class NameHints:
    """What the user's data says its entities are, beside the corpus's text: a names file
    (`listed`, every line a name and an entity) and the questions it asks (`asked`)."""

    listed: tuple[str, ...] = ()
    asked: tuple[Asked, ...] = field(default=())

    @classmethod
    def of(cls, pairs: Sequence[InstructionPair] = (), questions: Sequence[MCQuestion] = (),
           listed: Sequence[str] = ()) -> NameHints:
        """Hints from KIT pairs (the question and its answer), questions (the stem and its right
        options, which the corpus states beside the subject) and a names file's lines."""
        asked = [Asked(p.question, (p.output,), stated=True) for p in pairs]
        asked += [Asked(q.question, tuple(q.options[letter] for letter in q.answer)) for q in questions]
        return cls(tuple(listed), tuple(asked))
