"""Question forms of corpus facts, for DP and KIT: every entity's facts also seen as answers to questions.

A domain LM trained on the corpus and the KIT pairs completes a fact from its opening ("Barvandol is
indicated for" -> "lantern blindness") for nearly every entity, yet asked "What is Barvandol
indicated for?" it writes about another drug when Barvandol never appeared in a KIT question: it
learned the question -> knowledge mapping for the entities the KIT pairs ask about, not to carry
the question's name into its answer (see benchmarks/knowledge_quality.md, "Question forms").

The KIT pairs already show how each kind of question is answered. A plain KIT pair whose question
names one entity, and whose knowledge opens a sentence with that name, gives a question template
and the opening its answers share: "What is {} indicated for?" answered by "{} is indicated for
...". Every corpus sentence that opens the same way about another entity becomes a pair in that
form: "What is Barvandol indicated for?" -> the corpus sentence, verbatim. Nothing is invented: the
answer is the corpus's own sentence and the question is the user's own wording; a domain whose KIT
knowledge does not reuse the corpus's phrasing yields no forms, and the count says so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from blade_core.data.records import Document, InstructionPair
from blade_core.knowledge_gate import domain_names, name_finder, name_pattern
from blade_core.text import corpus_sentences, is_cjk

SLOT = "{}"
MIN_PAIRS = 2
"""A template needs this many KIT pairs before their common opening is trusted as its answer form."""


@dataclass(frozen=True)
class QuestionForm:
    """A question template and the opening its answers share, both with `SLOT` for the name."""

    question: str
    opening: str

    def opens(self, slotted: str) -> bool:
        """Whether a sentence, its name replaced by `SLOT`, opens as this form's answers do (at a
        word's end; in Chinese, which has no spaces, anywhere)."""
        if is_cjk(self.opening):
            return slotted.startswith(self.opening)
        return slotted.startswith(self.opening + " ") or slotted == self.opening

    def pair(self, sentence: str, name: str) -> InstructionPair:
        return InstructionPair(instruction=self.question.replace(SLOT, name), output=sentence)


def _with_slot(text: str, name: str) -> str:
    return name_pattern(name).sub(SLOT, text)


def _common_words(texts: Sequence[str]) -> str:
    """The longest run of whole words every text opens with; in Chinese, of characters."""
    if is_cjk(texts[0]):
        opening = texts[0]
        for text in texts[1:]:
            shared = next((i for i, (a, b) in enumerate(zip(opening, text)) if a != b), min(len(opening), len(text)))
            opening = opening[:shared]
        return opening
    common = texts[0].split(" ")
    for text in texts[1:]:
        words = text.split(" ")
        shared = 0
        while shared < min(len(common), len(words)) and common[shared] == words[shared]:
            shared += 1
        common = common[:shared]
    return " ".join(common)


def learn_forms(pairs: Sequence[InstructionPair], names: Sequence[str]) -> list[QuestionForm]:
    """Question forms from plain KIT pairs (one line, so no options): the question names one entity
    and the answer's first sentence opens, the name included, as every answer of that template does."""
    openings: dict[str, list[str]] = defaultdict(list)
    find = name_finder(names)
    for pair in pairs:
        question = pair.question.strip()
        asked = find(question)
        sentences = corpus_sentences(pair.output)
        if "\n" in question or len(asked) != 1 or not sentences:
            continue
        name = asked.pop()
        first = sentences[0]
        if name_pattern(name).search(first):
            openings[_with_slot(question, name)].append(_with_slot(first, name))
    forms = []
    for question, answers in openings.items():
        opening = _common_words(answers)
        # the slot and at least one word after it: "{} is indicated for", never a bare "{}"
        if len(answers) >= MIN_PAIRS and SLOT in opening and not opening.endswith(SLOT):
            forms.append(QuestionForm(question, opening))
    return forms


def question_pairs(documents: Sequence[Document], forms: Sequence[QuestionForm], names: Sequence[str],
                   asked: Collection[str] = ()) -> list[InstructionPair]:
    """One pair per corpus sentence and form it opens like, about each name the sentence holds;
    none for a question already `asked` (a KIT pair asks it, with its own answer)."""
    found: dict[str, InstructionPair] = {}
    sentences = dict.fromkeys(s for d in documents for s in corpus_sentences(d.text))
    find = name_finder(names)
    for sentence in sentences:
        for name in find(sentence):
            slotted = _with_slot(sentence, name)  # once per name, not once per form
            for form in forms:
                if form.opens(slotted):
                    pair = form.pair(sentence, name)
                    if pair.question not in asked:
                        found.setdefault(pair.question + "\n" + sentence, pair)
    return list(found.values())


def with_question_forms(documents: Sequence[Document], kit: Sequence[InstructionPair],
                        names: Sequence[str] | None = None) -> tuple[list[InstructionPair], str]:
    """The KIT pairs plus the corpus's answers to their question forms, and the line that says so;
    `names` default to the corpus's recurring names (`knowledge_gate.domain_names`)."""
    if names is None:
        names = domain_names([s for d in documents for s in corpus_sentences(d.text)])
    forms = learn_forms(kit, names)
    answers = question_pairs(documents, forms, names, asked={p.question for p in kit})
    return [*kit, *answers], describe(forms, answers)


_SPACES = re.compile(r"\s+")


def describe(forms: Sequence[QuestionForm], pairs: Sequence[InstructionPair]) -> str:
    """One line for the console: what the KIT pairs taught and what it made of the corpus."""
    if not forms:
        return ("question forms: none (no KIT question template names one entity whose answers "
                "open alike); DP trains on the corpus and the KIT pairs only")
    shown = "; ".join(f"{_SPACES.sub(' ', f.question)} -> {f.opening} ..." for f in forms[:3])
    more = f" and {len(forms) - 3} more" if len(forms) > 3 else ""
    return f"question forms: {len(forms)} from the KIT pairs ({shown}{more}): {len(pairs)} corpus sentences as answers"
