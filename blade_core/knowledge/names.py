"""The one name finder: which spans of a corpus are names, and which names a text mentions.

The entity gate, the corpus made to stand alone, augmentation's entity documents, question forms
and the access check all ask it, so they agree on what a name is: capitalized spans ("Zorvanil",
"Harbour Dues Act", "Article 214") seen as names in the corpus, Latin binomials ("Ostrum hirta",
"Escherichia coli": a capitalized genus and a lowercase epithet), and in Chinese, which has no
capitals, the recurring terms (`text.recurring_terms`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

from blade_core.text import is_cjk, recurring_terms

_SPAN = re.compile(r"(?<![\w'-])[A-Z][\w'-]*(?:[ \t]+(?:[A-Z][\w'-]*|\d+[a-z]?(?![\w'-])))*")
"""A capitalized span: capitalized words, and numbers after one ("Article 214", "Route 9a")."""
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


def _shaped(span: str) -> bool:
    """A span no sentence could open with by chance: several words, or a word and a number."""
    return " " in span


def domain_names(sentences: Sequence[str], min_sentences: int = 2, max_share: float = 0.1) -> list[str]:
    """The names of a corpus: capitalized spans seen mid-sentence (so a sentence's first word does
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
            if opening and span.split()[0] not in mid_words and not _binomial(span, latin):
                span, opening = span.partition(" ")[2], False  # a capitalized first word, not a name's
            if span:
                kept.add(span)
                if not opening or _shaped(span):
                    named.add(span)
        counts.update(kept)
    limit = max(max_share * len(sentences), min_sentences)
    capitalized = [n for n, c in counts.items() if n in named and c <= limit and (_shaped(n) or c >= min_sentences)]
    return sorted({*capitalized, *recurring_terms(sentences, min_sentences, max_share)})


@lru_cache(maxsize=8192)
def name_pattern(name: str) -> re.Pattern[str]:
    """`name` as whole words: "Vell" is not found in "Vellum", nor "Act" in "Act's". A Chinese
    name, which no space delimits, anywhere. Cached: the gate looks for every name of the domain
    in every sentence written."""
    if _chinese(name):
        return re.compile(re.escape(name))
    return re.compile(rf"(?<![\w'-]){re.escape(name)}(?![\w'-])")


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
        by_first[name[:2] if is_cjk(name) else name.split()[0]].append(name)  # Chinese: its first two characters
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
