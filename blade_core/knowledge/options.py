"""Knowledge per option: for a multiple-choice question, the domain LM also writes knowledge for
the question with each option shown alone, and the first sentence of each is added to the
knowledge it wrote for the whole question.

Why: a question such as "Which drug belongs to the lung opener class?" asks the small LM to name
an entity from its attribute, which is the reverse of how facts are stated in its corpus ("X is a
lung opener"): LMs recall badly in that direction (the reversal curse), and listing the facts of
four options in one go, a small LM loses its place. Shown one option, it only needs forward recall
of one name ("Flunovane is a bile thinner"), which it does well. On the sample domain's dev split
it lifted the previous quickstart model from 0.778 to 0.889 without retraining; with KIT pairs for
the views (`option_pairs`) the quickstart now reaches 0.981, 0.907 with the views turned off
(`benchmarks/knowledge_quality.md`). A question without options is generated as it is.

Options are read from the question text in `MCQuestion.with_options_text()` form: the question,
then one option line per option (letters in order from A; `text.OPTION_LINE`). Each view shows
its option as "A.", so a view looks like a one-option question, the form KIT pairs train.
"""

from __future__ import annotations

from collections.abc import Sequence

from blade_core.text import expand_inline_options, join_pieces, mentions, option_line, sentence_key, split_sentences


def split_options(question: str) -> tuple[str, list[str]]:
    """(stem, option texts) of a question whose last lines are options A, B, C, ...; a question
    with fewer than two such lines, or letters out of order, is all stem."""
    lines = expand_inline_options(question.strip()).split("\n")
    found: list[tuple[str, str]] = []
    while len(lines) > 1 and (line := option_line(lines[-1])):
        found.insert(0, line)
        lines.pop()
    letters = [letter for letter, _ in found]
    stem = "\n".join(lines).strip()
    if len(found) < 2 or not stem or letters != [chr(ord("A") + i) for i in range(len(found))]:
        return question.strip(), []
    return stem, [text for _, text in found]


def _one_option(stem: str, option: str) -> str:
    return f"{stem}\nA. {option}"


def option_views(question: str) -> list[str]:
    """The texts the domain LM writes knowledge for: the question itself first, then, when it has
    options, the question with each option alone."""
    stem, options = split_options(question)
    return [question] + [_one_option(stem, option) for option in options]


def merge_option_knowledge(whole: str, per_option: Sequence[str]) -> str:
    """`whole` as written, then the first sentence of each option's knowledge that `whole` (or an
    earlier option) does not already state. Only the first: a one-option view's knowledge is one
    sentence, and what a small LM runs on to after it is mostly repetition."""
    seen = {sentence_key(s) for s in split_sentences(whole)}
    extra: list[str] = []
    for text in per_option:
        sentences = split_sentences(text)
        if sentences and sentence_key(sentences[0]) not in seen:
            seen.add(sentence_key(sentences[0]))
            extra.append(sentences[0])
    return join_pieces([piece for piece in [whole.strip(), *extra] if piece])


def option_pairs(question: str, knowledge: str) -> list[tuple[str, str]]:
    """KIT pairs for the one-option views of a question whose knowledge names every option: each
    view mapped to the sentences naming its option. Knowledge that leaves an option unnamed (the
    usual answer to "What is X indicated for?", which names the right option only) gives none:
    a view of an unnamed option has nothing to learn from, and training such views on the whole
    knowledge cost dev accuracy on the sample domain (benchmarks/knowledge_quality.md)."""
    stem, options = split_options(question)
    sentences = split_sentences(knowledge)
    naming = [[s for s in sentences if mentions(s, o)] for o in options]
    if not options or not all(naming):
        return []
    return [(_one_option(stem, option), join_pieces(found)) for option, found in zip(options, naming)]
