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
answer is the corpus's own sentence and the question is the user's own wording.

KIT knowledge an LLM wrote is in its own words ("Zorvanil is used to treat marsh fever."), so each
answer is also aligned with the entity's corpus sentences that state the same (they share its
words, "marsh fever"), made to stand alone (`stand_alone`: "Zorvanil indication: marsh fever.",
"Zorvanil: It is indicated for marsh fever."); the openings those share give the forms. An opening
that another template's opening extends ("{}: It is", beside "{}: It is classed as") says nothing
of which question it answers and gives no form.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from blade_core.data.records import Document, InstructionPair
from blade_core.knowledge.names import name_finder, name_pattern
from blade_core.text import corpus_sentences, is_cjk
from blade_core.training.stand_alone import StandAlone

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


def _units(text: str) -> list[str]:
    """Words, or, in Chinese, characters (the slot one unit): what an opening is counted in."""
    return re.findall(r"\{\}|.", text) if is_cjk(text) else text.split(" ")


def _joined(units: Sequence[str], cjk: bool) -> str:
    return "".join(units) if cjk else " ".join(units)


def _openings(answers: Sequence[tuple[int, str]]) -> list[str]:
    """The openings a question template's answers share: answers are grouped by the slot and the
    word after it ("{} indication:", "{}: It"), and a group from `MIN_PAIRS` or more KIT pairs
    gives the words all its answers open with ("{}: It is indicated for")."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for pair, answer in answers:
        units = _units(answer)
        slot = next((i for i, unit in enumerate(units) if SLOT in unit), None)
        if slot is not None:
            groups[_joined(units[:slot + 2], is_cjk(answer))].append((pair, answer))
    openings = []
    for group in groups.values():
        opening = _common_words([answer for _, answer in group])
        # the slot and at least one word after it: "{} is indicated for", never a bare "{}"
        if len({pair for pair, _ in group}) >= MIN_PAIRS and SLOT in opening and not opening.endswith(SLOT):
            openings.append(opening)
    return openings


def learn_forms(pairs: Sequence[InstructionPair], names: Sequence[str],
                corpus: StandAlone | None = None) -> list[QuestionForm]:
    """Question forms from plain KIT pairs (one line, so no options) whose question names one
    entity: the answer's first sentence, and, given the `corpus`, the entity's corpus sentences that
    state what the answer states (`StandAlone.stating`), grouped by how they open (`_openings`)."""
    answers: dict[str, list[tuple[int, str]]] = defaultdict(list)
    find = name_finder(names)
    for index, pair in enumerate(pairs):
        question = pair.question.strip()
        asked = find(question)
        sentences = corpus_sentences(pair.output)
        if "\n" in question or len(asked) != 1 or not sentences:
            continue
        name = asked.pop()
        stated = [sentences[0]] if name_pattern(name).search(sentences[0]) else []
        if corpus is not None:
            stated += corpus.stating(name, pair.output)
        template = _with_slot(question, name)
        answers[template] += [(index, _with_slot(sentence, name)) for sentence in dict.fromkeys(stated)]
    forms = [QuestionForm(template, opening) for template, stated in answers.items() for opening in _openings(stated)]
    # "{}: It is" answers a class question as well as an indication one: an opening that another
    # template's opening extends says nothing of which question it answers
    return [form for form in forms
            if not any(o.question != form.question and o.opening != form.opening and o.opening.startswith(form.opening)
                       for o in forms)]


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


def with_question_forms(corpus: StandAlone, kit: Sequence[InstructionPair]) -> tuple[list[InstructionPair], str]:
    """The KIT pairs plus the corpus's answers to their question forms, and the line that says so."""
    forms = learn_forms(kit, corpus.names, corpus)
    answers = question_pairs(corpus.documents, forms, corpus.names, asked={p.question for p in kit})
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
