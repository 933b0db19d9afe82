"""The name finder's hints from a stage's files, and the lines that say what it found.

A user judges the name finder by whether the entities their questions ask about are names: when
few are, the entity gate has nothing to anchor on and recitations are for the wrong things, so the
stage says so and names the fix (a names file) instead of training on silently.
"""

from __future__ import annotations

from pathlib import Path

from blade_core.data import load_instructions, load_mcq, load_names
from blade_core.knowledge.name_sources import NameHints
from blade_core.knowledge.names import name_finder
from blade_core.training.stand_alone import StandAlone

FEW_NAMED = 0.6
"""Below this share of questions that name a found entity, the stage warns."""


def load_hints(kit: Path | None = None, dev: Path | None = None, names: Path | None = None) -> NameHints:
    """Hints from a KIT pairs file, a dev questions file and a names file (each optional)."""
    return NameHints.of(load_instructions(kit) if kit else [], load_mcq(dev) if dev else [],
                        load_names(names) if names else [])


def name_lines(corpus: StandAlone, hints: NameHints) -> list[str]:
    """What the name finder found and how many of the asked questions name one of its entities
    (or, asked in reverse, have one as a right option); a warning with the fix when few do."""
    lines = [corpus.found.summary()] if corpus.found is not None else []
    if not hints.asked:
        return lines
    find = name_finder(corpus.entities)
    named = sum(bool(find(item.question)) or any(find(a) for a in item.answers if not item.stated)
                for item in hints.asked)
    total = len(hints.asked)
    lines.append(f"names: {named} of the {total} KIT and dev questions name one of the "
                 f"{len(corpus.entities)} entities found")
    if named < FEW_NAMED * total:
        lines.append(f"warning: only {named} of {total} questions name an entity the name finder found, so the "
                     "knowledge gate and the recitations have little to anchor on; give the domain's entities "
                     "in a names file, one a line (from a database, a formulary index or a catalogue): "
                     "--names names.txt")
    return lines

