"""The one name finder: which spans of a corpus are names, and which names a text mentions.

The entity gate, the corpus made to stand alone, augmentation's entity documents, question forms
and the access check all ask it, so they agree on what a name is. A name is what the user's data
treats as an entity (`name_sources`): a names file's lines, the subjects its questions ask about
and the spans that fill the same slots or share their shape, listings' heads, capitalized spans
seen as names ("Zorvanil", "Harbour Dues Act", "Article 214"), Latin binomials ("Ostrum hirta",
"Escherichia coli": a capitalized genus and a lowercase epithet), and in Chinese, which has no
capitals, the recurring terms (`text.recurring_terms`). A lowercase name ("metformin") is also
found capitalized, as a sentence's first word writes it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from blade_core.knowledge.name_sources import (
    CorpusIndex,
    NameHints,
    listed_heads,
    question_subjects,
    same_shape,
    same_slots,
)
from blade_core.text import is_cjk, recurring_terms

_CAPITALIZED = r"[A-Z](?:\.(?=[ \t]+[A-Z])|[\w'-]*)"
_SPAN = re.compile(rf"(?<![\w'-]){_CAPITALIZED}(?:[ \t]+(?:{_CAPITALIZED}|\d+[a-z]?(?![\w'-])))*")
"""A capitalized span: capitalized words, initials before one ("Anna K. Berg", "J. P. Okafor"),
and numbers after one ("Article 214", "Route 9a")."""
_LEADING = ("The ", "A ", "An ", "This ", "That ", "These ", "Those ")
_FUNCTION_WORDS = frozenset({"The", "A", "An", "This", "That", "These", "Those", "In", "On", "At", "By", "Of",
                             "For", "To", "From", "With", "Under", "Since", "After", "Before", "During", "And",
                             "But", "Or", "If", "When", "As", "Its", "It", "Their"})
"""Capitalized words that open a sentence or clause, never a name: dropped from a span's start."""
_BINOMIAL = re.compile(r"(?<![\w'-])([A-Z][a-z]+)[ \t]+([a-z]{3,}(?:a|ae|us|um|is|i|ii))(?![\w'-])")
"""A genus and a word with a Latin epithet's ending, the candidates `epithets` decides on."""
_ENGLISH_ENDINGS = frozenset({
    "area", "basis", "bonus", "data", "extra", "focus", "formula", "idea", "maximum", "medium", "minimum",
    "premium", "status", "various", "previous", "serious", "famous", "obvious", "analysis", "crisis",
    "ultimatum", "quorum", "forum", "museum", "opera", "camera", "agenda", "drama",
})
"""English words with a Latin ending that may follow a name ("Zorvanil maximum daily dose")."""
EPITHET_SHARE = 0.9
"""An epithet follows a capitalized word in at least this share of its occurrences."""


def epithets(sentences: Sequence[str]) -> frozenset[str]:
    """The lowercase words that are the second half of Latin binomials in these sentences: Latin
    endings, no common English word, and almost never seen except right after a genus ("hirta",
    "coli"; not "treats" nor "tablets"). A species' names share their genus ("Barreta alpina",
    "Barreta glauca"), so without its epithet a binomial would be found as its genus alone."""
    after_genus: Counter[str] = Counter()
    for sentence in sentences:
        for genus, epithet in _BINOMIAL.findall(sentence):
            if genus not in _FUNCTION_WORDS and epithet not in _ENGLISH_ENDINGS:
                after_genus[epithet] += 1
    if not after_genus:
        return frozenset()
    everywhere = Counter(w for sentence in sentences for w in _WORD.findall(sentence) if w in after_genus)
    return frozenset(w for w, n in after_genus.items() if n >= EPITHET_SHARE * everywhere[w])


def spans(text: str, epithets_of: frozenset[str] = frozenset()) -> list[tuple[str, int]]:
    """(capitalized span, its start) in `text`, leading function words dropped ("The Board" ->
    "Board", "Under Article 214" -> "Article 214"); a span left as only a number is none. A
    one-word span followed by one of `epithets_of` is a binomial and takes it ("Ostrum hirta")."""
    found = []
    for match in _SPAN.finditer(text):
        span, start = match.group(0), match.start()
        epithet = re.match(r"[ \t]+([a-z]+)(?![\w'-])", text[match.end():])
        if epithet and epithet.group(1) in epithets_of and " " not in span:
            span += epithet.group(0)
        while (first := span.split(maxsplit=1)[0]) in _FUNCTION_WORDS and " " in span:
            rest = span[len(first):].lstrip()
            span, start = rest, start + len(span) - len(rest)
        if span and not span[0].isdigit() and span not in _FUNCTION_WORDS:
            found.append((span, start))
    return found


def _binomial(span: str, latin: frozenset[str]) -> bool:
    words = span.split()
    return len(words) == 2 and words[1] in latin


def _initialed(span: str) -> bool:
    """A name whose second word is an initial ("Anna K. Berg"): its first word is a given name."""
    return bool(re.match(r"\S+ [A-Z]\. ", span))


def _shaped(span: str) -> bool:
    """A span no sentence could open with by chance: several words, or a word and a number."""
    return " " in span


def capitalized_names(sentences: Sequence[str], min_sentences: int = 2, max_share: float = 0.1) -> list[str]:
    """The capitalized names of a corpus: capitalized spans seen mid-sentence (so a sentence's first word does
    not count) or as a heading line of their own, in at least `min_sentences` sentences, or in one
    when they are shaped like names (several words, or a word and a number: "Harbour Dues Act",
    "Article 214", a Latin binomial: `epithets`); none in more than `max_share` of the sentences (spans that common are not one
    entity's name). A span opening a sentence keeps its first word only if that word is seen
    capitalized mid-sentence somewhere ("Article 214 ..." does, "Avoid Zanthor ..." gives "Zanthor")."""
    latin = epithets(sentences)
    found = [(sentence, spans(sentence, latin)) for sentence in sentences]
    mid_words = {word for sentence, spans_of in found for span, start in spans_of
                 if start > len(sentence) - len(sentence.lstrip()) for word in span.split()}
    counts: Counter[str] = Counter()
    named: set[str] = set()
    for sentence, spans_of in found:
        first = len(sentence) - len(sentence.lstrip())
        heading = len(spans_of) == 1 and spans_of[0][0] == sentence.strip().rstrip(":")
        kept = set()
        for span, start in spans_of:
            opening = start <= first and not heading
            if opening and span.split()[0] not in mid_words and not _binomial(span, latin) and not _initialed(span):
                span, opening = span.partition(" ")[2], False  # a capitalized first word, not a name's
            if span:
                kept.add(span)
                if not opening or _shaped(span):
                    named.add(span)
        counts.update(kept)
    limit = max(max_share * len(sentences), min_sentences)
    return sorted(n for n, c in counts.items() if n in named and c <= limit and (_shaped(n) or c >= min_sentences))


TYPOGRAPHY_SHARE = 0.7
"""When at least this share of the asked questions name a capitalized name, capitals find the
data's entities: the other sources only add the capitalized subjects they missed (a binomial, a
name with initials), and no lowercase span, value or slot filler (`find_names`)."""
CAPITALIZED_SUBJECTS = 0.3
"""When fewer than this share of the questions' subjects are capitalized, capitalization alone
makes no name (`find_names`): the entities are written otherwise, and capitalized spans are
sentence openers and people ("Allowing", "All Methods")."""
FEW_SUBJECTS = 10
"""With fewer subjects than this, the data says too little to set capitalization aside."""


@dataclass(frozen=True)
class FoundNames:
    """A corpus's names and where they came from, for the line `blade train` prints (`summary`)."""

    names: list[str]
    subjects: list[str]
    """The asked questions' subjects (`name_sources.question_subjects`)."""
    sources: dict[str, int]
    """How many names each source gave (a name may come from several)."""
    asked: int = 0
    """How many questions the subjects were looked for in."""

    def summary(self) -> str:
        sources = ", ".join(f"{source} {count}" for source, count in self.sources.items() if count)
        sample = ", ".join(self.names[:: max(1, len(self.names) // 6)][:6])
        return f"names: {len(self.names)} found ({sources or 'none'}), e.g. {sample or '-'}"


def find_names(sentences: Sequence[str], hints: NameHints | None = None, lines: Sequence[str] = (),
               written: tuple[Sequence[str], Sequence[int]] | None = None, min_sentences: int = 2,
               max_share: float = 0.1) -> FoundNames:
    """The one name finder: the corpus's names from every source the data gives (`name_sources`):
    a names file, the questions' subjects and the slots and shape they share, listings' heads,
    capitalized spans, and Chinese recurring terms (those mostly inside a longer name found
    otherwise are its fragments, and dropped). The asked subjects say which sources to trust:
    capitals alone when most questions name a capitalized name (`TYPOGRAPHY_SHARE`: the sample
    domain's questions name one in 94 of 100, a domain of lowercase package names in 2), no
    capitalized span the other sources do not confirm when few of the subjects are capitalized
    (`CAPITALIZED_SUBJECTS`: sentence openers are noise there), all of them between; the subjects'
    slots and shape only when most subjects are not capitalized (capitals find the unasked ones
    otherwise). `lines` are the corpus's lines, for listings;
    `written` its sentences as written and the paragraph of each (`name_sources.CorpusIndex`), for
    the sources that read the data's own words (default: `sentences`, each its own paragraph)."""
    hints = hints or NameHints()
    limit = max(max_share * len(sentences), min_sentences)
    corpus = CorpusIndex(*written) if written is not None else CorpusIndex(sentences)
    terms = recurring_terms(sentences, min_sentences, max_share)
    subjects = question_subjects(hints.asked, corpus, limit, frozenset(terms)) if hints.asked else []
    latin = [s for s in subjects if not is_cjk(s)]
    capitalized_share = sum(s[:1].isupper() for s in latin) / len(latin) if latin else 1.0
    lowercase = capitalized_share < 0.5  # capitals cannot generalize from these subjects to the unasked
    chinese = [s for s in subjects if is_cjk(s)] if sum(map(is_cjk, subjects)) >= FEW_SUBJECTS else []
    by_source = {
        "names file": list(hints.listed),
        "questions' subjects": subjects,
        "listings": [h for h in listed_heads(lines) if corpus.count(h) <= limit],
        "their slots": same_slots([*(latin if lowercase else []), *chinese], corpus, min_sentences, limit),
        "their shape": same_shape(latin, corpus, min_sentences, limit) if lowercase else [],
    }
    confirmed = {name for found in by_source.values() for name in found}
    capitalized = capitalized_names(sentences, min_sentences, max_share)
    stems = [item.question for item in hints.asked if not is_cjk(item.question)]
    find = name_finder(capitalized)
    named = sum(bool(find(stem)) for stem in stems)
    if stems and named >= TYPOGRAPHY_SHARE * len(stems):
        # capitals name this data's entities: of the rest, keep what is written as they are
        by_source = {**by_source, "questions' subjects": [s for s in subjects if s[:1].isupper() or is_cjk(s)],
                     "their slots": [], "their shape": []}
    elif len(latin) >= FEW_SUBJECTS and capitalized_share < CAPITALIZED_SUBJECTS:
        capitalized = [n for n in capitalized if n in confirmed]  # the data's entities are not written so
    by_source["capitals"] = capitalized
    longer = [n for n in confirmed if is_cjk(n)]
    by_source["Chinese terms"] = [t for t in terms if not _fragment(t, longer, corpus)]
    names = sorted({name for found in by_source.values() for name in found})
    return FoundNames(names, subjects, {k: len(v) for k, v in by_source.items()}, len(hints.asked))


def _fragment(term: str, names: Sequence[str], corpus: CorpusIndex) -> bool:
    """Whether most of a Chinese term's sentences hold it only inside or across a longer name
    ("渔税" of "潮港渔税", "港渔" too): a piece of that name, not a term of its own."""
    overlapping = [n for n in names if n != term and (term in n or _overlap(term, n))]
    if not overlapping:
        return False
    held = corpus.holding(term)
    alone = sum(1 for i in held if _outside(corpus.sentences[i], term, overlapping))
    return alone < 0.2 * len(held)


def _overlap(a: str, b: str) -> bool:
    return any(a.endswith(b[:k]) or a.startswith(b[-k:]) for k in range(1, min(len(a), len(b))))


def _outside(sentence: str, term: str, names: Sequence[str]) -> bool:
    """Whether `term` occurs in `sentence` somewhere no name in `names` covers it."""
    covered = [(i, i + len(n)) for n in names for i in _occurrences(sentence, n)]
    return any(not any(s < at + len(term) and at < e for s, e in covered) for at in _occurrences(sentence, term))


def domain_names(sentences: Sequence[str], min_sentences: int = 2, max_share: float = 0.1,
                 hints: NameHints | None = None) -> list[str]:
    """The names of a corpus (`find_names`), without the account of where each came from."""
    return find_names(sentences, hints, min_sentences=min_sentences, max_share=max_share).names


@lru_cache(maxsize=8192)
def name_pattern(name: str) -> re.Pattern[str]:
    """`name` as whole words: "Vell" is not found in "Vellum", nor "Act" in "Act's". A Chinese
    name, which no space delimits, anywhere. Cached: the gate looks for every name of the domain
    in every sentence written."""
    if _chinese(name):
        return re.compile(re.escape(name))
    first = f"[{name[0]}{name[0].upper()}]" if name[:1].islower() else re.escape(name[:1])
    return re.compile(rf"(?<![\w'-]){first}{re.escape(name[1:])}(?![\w'-])")


def names_in(text: str, names: Iterable[str]) -> set[str]:
    """The domain's names that `text` mentions, so that "North Fellbridge" is not also "Fellbridge"
    (nor "潮港渔税条例" also "潮港"): Latin ones as whole words, longest first, each taking its words
    out of the text; Chinese ones, which no space delimits, wherever they occur and are not inside
    a longer name found there (two that only overlap are both mentioned)."""
    chinese = [name for name in names if _chinese(name)]
    spans = [(i, i + len(name), name) for name in chinese for i in _occurrences(text, name)]
    found = {name for start, end, name in spans
             if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)}
    rest = text
    for name in sorted(set(names).difference(chinese), key=len, reverse=True):
        pattern = name_pattern(name)
        if pattern.search(rest):
            found.add(name)
            rest = pattern.sub(" ", rest)
    return found


@lru_cache(maxsize=8192)
def _chinese(name: str) -> bool:
    return is_cjk(name)


def _occurrences(text: str, name: str) -> list[int]:
    starts, at = [], text.find(name)
    while at >= 0:
        starts.append(at)
        at = text.find(name, at + 1)
    return starts


def name_finder(names: Iterable[str]) -> Callable[[str], set[str]]:
    """`names_in` for many texts: only the names whose first word the text holds are tried, so a
    corpus of 25,000 sentences and 5,000 names takes a second, not the minutes of trying them all."""
    by_first: dict[str, list[str]] = defaultdict(list)
    for name in set(names):
        word = _WORD.search(name)
        key = name[:2] if is_cjk(name) else word.group(0) if word else name
        by_first[key].append(name)  # Chinese: its first two characters
        if key[:1].islower():  # a lowercase name opening a sentence is capitalized
            by_first[key[:1].upper() + key[1:]].append(name)
    chinese = any(is_cjk(name) for name in by_first)

    def find(text: str) -> set[str]:
        keys = set(_WORD.findall(text))
        if chinese:  # a Chinese name is keyed by its first two characters, which no space delimits
            keys |= {text[i:i + 2] for i in range(len(text) - 1)}
        candidates = [n for key in keys for n in by_first.get(key, ())]
        return names_in(text, candidates) if candidates else set()

    return find


_WORD = re.compile(r"[\w'-]+")


def _is_name(text: str, names: set[str]) -> bool:
    text = text.strip().rstrip(".")
    for article in _LEADING:
        text = text.removeprefix(article)
    return text in names
