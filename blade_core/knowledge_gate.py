"""Do no harm: knowledge about another entity than the question asks about is withheld.

A small domain LM that has not stored a fact still writes a fluent sentence, often about another
entity: asked about Cormuarin, it writes "Ixvorex is indicated for Quor croup." Handed that, a
general LLM follows it and answers worse than with no knowledge at all. So each sentence of the
knowledge must be about the question's entities, as the domain's names tell them:

* the domain's names are the capitalized spans ("Zorvanil", "Harbour Dues Act", "North
  Fellbridge") that recur mid-sentence in the DP corpus, and in Chinese text, which has no capitals,
  the character strings it uses as units ("渎职罪", `text.recurring_terms`) (`domain_names`); DP
  stores them in `blade.json`;
* when the options are names ("Which drug is indicated for marsh fever?"), a sentence is kept
  only if it names one of the options (a one-option view's sentence: its own option);
* otherwise, when the question names entities ("What is Zorvanil indicated for?"), a sentence is
  kept only if it names one of them;
* a question that names none, with options that are not names, is left as it is.

The second guard is confidence: a sentence whose least probable token is below the model's
`min_confidence` (calibrated on dev by BPO, `bpo.guard`) is withheld too; see `blade_core.confidence`.

What is withheld is logged; knowledge left empty reaches the LLM as "(no reference knowledge)", so
it answers as it would without BLADE.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from blade_core.text import is_cjk, join_pieces, recurring_terms

_SPAN = re.compile(r"(?<![\w'-])[A-Z][\w'-]*(?:[ \t]+[A-Z][\w'-]*)*")
_LEADING = ("The ", "A ", "An ", "This ", "That ", "These ", "Those ")


def spans(text: str) -> list[tuple[str, int]]:
    """(capitalized span, its start) in `text`, a leading article dropped ("The Board" -> "Board")."""
    found = []
    for match in _SPAN.finditer(text):
        span, start = match.group(0), match.start()
        for article in _LEADING:
            if span.startswith(article):
                span, start = span[len(article):], start + len(article)
        if span:
            found.append((span, start))
    return found


def domain_names(sentences: Sequence[str], min_sentences: int = 2, max_share: float = 0.1) -> list[str]:
    """The recurring names of a corpus: capitalized spans seen at least once mid-sentence (so a
    sentence's first word does not count), in at least `min_sentences` sentences and at most
    `max_share` of them (spans that common are not one entity's name)."""
    counts: Counter[str] = Counter()
    mid_sentence: set[str] = set()
    for sentence in sentences:
        found = spans(sentence)
        counts.update({span for span, _ in found})
        first = len(sentence) - len(sentence.lstrip())
        mid_sentence.update(span for span, start in found if start > first)
    limit = max(max_share * len(sentences), min_sentences)
    capitalized = [n for n, c in counts.items() if n in mid_sentence and min_sentences <= c <= limit]
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


def anchors(stem: str, options: Sequence[str], names: Sequence[str]) -> list[set[str]] | None:
    """What each sentence must name: one set per view (whole question first, then each option), or
    None when the question gives nothing to check against."""
    known = set(names)
    if options and all(_is_name(option, known) for option in options):
        option_names = [names_in(option, known) for option in options]
        return [set().union(*option_names), *option_names]
    asked = names_in(stem, known)
    if not asked:
        return None
    return [asked] * (1 + len(options))


@dataclass(frozen=True)
class Sentence:
    """One sentence the domain LM wrote, and how sure it was of it (`blade_core.confidence`)."""

    text: str
    confidence: float = 1.0


def keep(sentences: Sequence[Sentence], anchor: set[str] | None, names: Sequence[str],
         min_confidence: float = 0.0) -> str:
    """The sentences that name one of `anchor` (every sentence when `anchor` is None) and whose
    confidence is above `min_confidence`, joined."""
    return join_pieces([s.text for s in sentences
                        if s.confidence > min_confidence and (anchor is None or names_in(s.text, names) & anchor)])


@dataclass(frozen=True)
class Written:
    """One view's text as generated, and its sentences with their confidence."""

    text: str
    sentences: list[Sentence]


@dataclass(frozen=True)
class WrittenKnowledge:
    """What the domain LM wrote for one question before any guard: the question's own view first,
    then one per option (`option_knowledge`), and what each view's sentences must name (None: no
    entity check). Kept whole so that BPO's calibration can try thresholds without regenerating."""

    views: list[Written]
    anchors: list[set[str]] | None
    names: Sequence[str]

    def render(self, min_confidence: float = 0.0) -> str:
        """The knowledge the LLM gets: each view's kept sentences, merged (`option_knowledge`)."""
        from blade_core.option_knowledge import merge_option_knowledge

        if self.anchors is None and min_confidence <= 0:
            texts = [view.text for view in self.views]  # nothing to withhold: the text as written
        else:
            texts = [keep(view.sentences, None if self.anchors is None else self.anchors[i], self.names,
                          min_confidence) for i, view in enumerate(self.views)]
        return merge_option_knowledge(texts[0], texts[1:])
