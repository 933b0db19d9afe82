"""Text handling every layer shares: sentences, passages and option lines, one implementation each.

It is the bottom layer (standard library only), so the domain LM, data loaders, the offline judge
and the data generators all split text the same way and none of them imports another to do it.

* Sentences end at `.`, `!` or `?` followed by white space, but not after an abbreviation ("Dr.",
  "No.", "e.g.", "U.S.": `_ABBREVIATIONS`) or an initial ("Anna K. Berg", "J. P. Okafor"), at `。！？` (Chinese writes no space after them), and
  at line breaks (table rows and list items are lines); list bullets are dropped. A decimal ("2.5")
  has no space after its point and never ended one.
  Knowledge a model writes is also split at semicolons (`;` `；`), so a vote or a judge compares
  clauses; a corpus is not (`corpus_sentences`): its clauses share one subject, and a rewrite that
  shuffles sentences must not separate them.
* A reply ends at the earliest of the caller's stop sequences (`cut_at_stop`; streamed: `StopCutter`).
* Passages count Latin words and Chinese characters (`text_units`): Chinese writes no spaces, so a
  4,500-character document is not one "word".
* Names in text without capitals (Chinese) are the recurring character strings a corpus uses as
  units (`recurring_terms`): no dictionary, so invented names are found as well as real ones.
* An option line is a capital letter, a separator (`.` `)` `:` or their full-width forms, `、`),
  then the text: `A. text`, `(B) text`, `C、文本`, `（D）文本`; options printed on one line
  (`A．甲 B．乙`) are put one per line first (`expand_inline_options`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_ABBREVIATIONS = ("Dr", "Mr", "Mrs", "Ms", "Prof", "St", "No", "Nos", "Nr", "Fig", "Figs", "Eq", "vs", "etc", "cf",
                  "approx", "Inc", "Ltd", "Co", "Corp", "Dept", "Univ", "Jr", "Sr", "Art", "Sec", "Vol", "Ch", "pp",
                  "ca", "al", "Gen", "Rev", "Mt", "Ft", "Capt", "Col", "Lt", "Sgt", "Hon", "Ave")
"""Words that end in a period without ending the sentence ("Dr. Venn", "No. 5", "Art. 12")."""
_OPENERS = ("It", "Its", "The", "This", "That", "These", "Those", "A", "An", "In", "On", "At", "By", "He", "She",
            "They", "We", "I", "His", "Her", "Their", "There", "But", "And", "Or", "So", "If", "When", "As", "For",
            "To", "From", "With", "After", "Before", "Since", "Some", "All", "Each", "No", "Yes", "What", "Which")
"""Words a sentence opens with, never a surname: after one, "Vitamin A." ended its sentence."""
_NOT_AN_END = "".join(rf"(?<!\b{word}\.)" for word in _ABBREVIATIONS) + \
    r"(?<!\b[A-Za-z]\.[A-Za-z]\.)" + \
    rf"(?!(?<=(?<![\w'-])[A-Z]\.)\s+(?!(?:{'|'.join(_OPENERS)})\b)[A-Z])"
"""No end after an abbreviation, a dotted initialism ("e.g.", "i.e.", "U.S."), or a name's
initial before the rest of the name ("Anna K. Berg", "J. P. Okafor"; "Vitamin A. It ..." ends)."""
_LATIN_END = rf"(?<=[.!?]){_NOT_AN_END}\s+"
_CJK_END = r"(?<=[。！？])"
_CLAUSE_END = r"(?<=;)\s+|(?<=；)"
_SENTENCE_BREAK = re.compile(rf"{_LATIN_END}|{_CJK_END}|\n+")
_CLAUSE_BREAK = re.compile(rf"{_LATIN_END}|{_CJK_END}|{_CLAUSE_END}|\n+")
_PASSAGE_UNIT = re.compile(rf"{_LATIN_END}|{_CJK_END}|{_CLAUSE_END}")
_BULLET = re.compile(r"^\s*(?:[-*•·]+|\d+[.)])\s+")
_NO_SPACE_AFTER = "。！？；"
CJK_CHARACTER = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
"""A Chinese character (CJK unified ideographs, extension A, compatibility ideographs)."""
_CJK = re.compile(CJK_CHARACTER)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

OPTION_LINE = re.compile(r"^\s*[(（]?([A-Z])\s*[.)．、:：）]\s*(\S.*?)\s*$")
"""An option line in running text: a separator after the letter is required, so a sentence that
opens with "A" or "I" is not read as an option."""
_OPTION_FIELD_LINE = re.compile(r"^\s*[(（]?([A-Za-z])(?:[\s.:)\uff0e\u3001\uff1a\uff09]+|$)(.*)$")


def _split(text: str, breaks: re.Pattern[str]) -> list[str]:
    pieces = (_BULLET.sub("", piece).strip() for piece in breaks.split(text))
    return [piece for piece in pieces if len(piece) > 1]


def split_sentences(text: str) -> list[str]:
    """The sentences, clauses and lines of written knowledge, bullets stripped, pieces of one
    character dropped."""
    return _split(text, _CLAUSE_BREAK)


def corpus_sentences(text: str) -> list[str]:
    """The sentences and lines of a corpus document (or a KIT answer), not cut at semicolons."""
    return _split(text, _SENTENCE_BREAK)


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences back into text: a space after Latin end punctuation, nothing after Chinese, and a
    line break after a line without either (a table row), so `corpus_sentences` gives the same
    pieces back."""
    return "".join(
        s + (" " if s[-1] in ".!?" else "" if s[-1] in _NO_SPACE_AFTER else "\n") for s in sentences
    ).rstrip()


def sentence_key(sentence: str) -> str:
    """A sentence compared case-, whitespace- and end-punctuation-insensitively."""
    return re.sub(r"\s+", " ", sentence).strip(" .;!?").casefold()


def is_cjk(text: str, share: float = 0.2) -> bool:
    """Whether at least `share` of the text's non-space characters are Chinese (or Japanese kanji)."""
    letters = len(text) - sum(c.isspace() for c in text)
    return letters > 0 and len(_CJK.findall(text)) >= share * letters


def text_units(text: str) -> int:
    """Length in words, each Chinese character counting as one (a Chinese word is 1-2 characters)."""
    return len(_CJK.findall(text)) + len(_CJK.sub(" ", text).split())


def join_pieces(pieces: Sequence[str]) -> str:
    """Sentences or clauses joined as the script writes them: a space after each, none after
    Chinese end punctuation."""
    return "".join(p + ("" if p[-1] in _NO_SPACE_AFTER else " ") for p in pieces).rstrip()


def split_passages(text: str, words: int) -> list[str]:
    """Whole sentences packed into passages of about `words` words (`text_units`: a Chinese
    character counts as a word); a longer sentence is a passage of its own. Line breaks do not
    cut, so a table stays in one passage with its header row."""
    passages: list[str] = []
    current: list[str] = []
    size = 0
    for sentence in filter(None, (piece.strip() for piece in _PASSAGE_UNIT.split(text))):
        length = text_units(sentence)
        if current and size + length > words:
            passages.append(join_pieces(current))
            current, size = [], 0
        current.append(sentence)
        size += length
    if current:
        passages.append(join_pieces(current))
    return passages


def mentions(text: str, phrase: str) -> bool:
    """Whether `text` holds `phrase`: as whole words, ignoring case ("Vell" is not in "Vellum"); a
    Chinese phrase, which no space delimits, anywhere."""
    if is_cjk(phrase):
        return phrase in text
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text, re.IGNORECASE) is not None


FUNCTION_CHARACTERS = frozenset("的将由为和与或在是了把被对及于从向")
"""Chinese particles, prepositions and conjunctions: they join words into phrases and are rarely
part of a name."""

_LATIN_TOKEN = re.compile(r"[^\W_]+")


def lexical_tokens(text: str) -> list[str]:
    """Tokens for lexical matching (BM25, the offline judge's Chinese reading): Latin words in lower
    case, and each run of Chinese characters as its character bigrams (a lone character as itself),
    as Lucene's CJK analyzer does: no dictionary, so invented names match as well as real words."""
    tokens: list[str] = []
    for piece in re.split(f"({_CJK_RUN.pattern})", text):
        if _CJK.match(piece):
            tokens += [piece] if len(piece) == 1 else [piece[i:i + 2] for i in range(len(piece) - 1)]
        else:
            tokens += [word.casefold() for word in _LATIN_TOKEN.findall(piece)]
    return tokens


def recurring_terms(sentences: Sequence[str], min_sentences: int = 2, max_share: float = 0.1,
                    longest: int = 8) -> list[str]:
    """The terms of Chinese text, found without a dictionary (so invented names are found too):
    strings of 2 to `longest` Chinese characters that

    * are in at least `min_sentences` sentences and at most `max_share` of them;
    * are closed: no one-character-longer string holding them is in as many sentences ("渎职" is
      dropped when it only ever appears inside "渎职罪");
    * stand in varied company (accessor variety, Feng et al. 2004): at least two different
      characters (or text edges) before them and two after, so a name plus the words it always
      comes with ("违反潮港渔税条例的" -> "违反潮港渔税条例") is not a term, the name is;
    * hold none of the function characters that join words into phrases (的 将 由 为 和 ...), so
      "条例将夜间捕鱼" is not a term while "夜间捕鱼" is;
    * are not a kept term plus one character ("犯渎职罪")."""
    runs_by_sentence = [_CJK_RUN.findall(sentence) for sentence in sentences]
    runs = [run for sentence_runs in runs_by_sentence for run in sentence_runs]
    counts: Counter[str] = Counter()
    for sentence_runs in runs_by_sentence:
        counts.update({run[i:i + n] for run in sentence_runs for n in range(2, longest + 2)
                       for i in range(len(run) - n + 1)})
    limit = max(max_share * len(sentences), min_sentences)
    extended: Counter[str] = Counter()  # the most sentences a one-longer string holding it is in
    for gram, count in counts.items():
        if len(gram) > 2:
            for part in (gram[1:], gram[:-1]):
                extended[part] = max(extended[part], count)
    candidates = {gram for gram, count in counts.items()
                  if len(gram) <= longest and min_sentences <= count <= limit and extended[gram] < count}
    before: dict[str, set[str]] = {gram: set() for gram in candidates}
    after: dict[str, set[str]] = {gram: set() for gram in candidates}
    for run in runs:
        for n in range(2, longest + 1):
            for i in range(len(run) - n + 1):
                gram = run[i:i + n]
                if gram in candidates:
                    before[gram].add(run[i - 1] if i else "")
                    after[gram].add(run[i + n] if i + n < len(run) else "")
    kept = {gram for gram in candidates
            if len(before[gram]) >= 2 and len(after[gram]) >= 2 and not FUNCTION_CHARACTERS.intersection(gram)}
    return sorted(gram for gram in kept if len(gram) < 3 or (gram[1:] not in kept and gram[:-1] not in kept))


_INLINE_MARKER = re.compile(r"(?:^|(?<=[\s\u3400-\u9fff，。；]))[(（]?([A-H])\s*[.)．、:：）]")


def expand_inline_options(text: str) -> str:
    """Options written on one line, as Chinese exams often print them ("A．甲 B．乙 C．丙"), put one
    per line. Only a line that starts with option A and holds B, C, ... after it, in order, is
    split, so running text that mentions "plan A. Then B." is left alone."""
    lines = []
    for line in text.split("\n"):
        markers = list(_INLINE_MARKER.finditer(line))
        letters = [m.group(1) for m in markers]
        if len(markers) >= 2 and not line[: markers[0].start()].strip() and \
                letters == [chr(ord("A") + i) for i in range(len(markers))]:
            ends = [m.start() for m in markers[1:]] + [len(line)]
            lines += [line[m.start():end].strip() for m, end in zip(markers, ends)]
        else:
            lines.append(line)
    return "\n".join(lines)


def option_line(line: str) -> tuple[str, str] | None:
    """(letter, text) of an option line in running text, or None."""
    match = OPTION_LINE.match(line)
    return (match.group(1), match.group(2)) if match else None


def parse_option_field(text: str) -> dict[str, str]:
    """A field that holds only options, one per line (CMExam's "A 文本"), as letter -> text. Here a
    space is separator enough and lower-case letters count, since every line must be an option."""
    options: dict[str, str] = {}
    for raw_line in text.splitlines():
        if not raw_line.strip():
            continue
        match = _OPTION_FIELD_LINE.match(raw_line)
        if match is None:
            raise ValueError(
                f"each options line must start with a letter, as in 'A 文本'; got {raw_line!r}"
            )
        letter = match.group(1).upper()
        if letter in options:
            raise ValueError(f"option {letter} appears twice")
        options[letter] = match.group(2).strip()
    return options


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """`text` up to the earliest stop sequence in it (LangChain's `stop`, the OpenAI API's: the
    stop sequence itself is left out)."""
    ends = [text.find(s) for s in stop or [] if s and s in text]
    return text[: min(ends)] if ends else text


class StopCutter:
    """A text streamed piece by piece, cut at its earliest stop sequence: `feed` returns what may be
    sent, holding back the end that could still be the start of one; `rest` what is left at the end."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in stop or [] if s]
        self.hold = max((len(s) for s in self.stop), default=1) - 1
        self.text, self.sent, self.stopped = "", 0, False

    def feed(self, piece: str) -> str:
        if self.stopped:
            return ""
        self.text += piece
        cut = cut_at_stop(self.text, self.stop)
        self.stopped = len(cut) < len(self.text)
        ready = len(cut) if self.stopped else max(self.sent, len(self.text) - self.hold)
        out, self.sent = cut[self.sent:ready], max(self.sent, ready)
        return out

    def rest(self) -> str:
        out = "" if self.stopped else self.text[self.sent:]
        self.sent = len(self.text)
        return out
