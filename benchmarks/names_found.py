"""How many of a domain's entities the name finder finds, with the hints `blade train` gives it (the
KIT pairs and the dev questions) and without (the corpus alone, as before issue 39), side by side.
No training: seconds a shape, so the finder is measured on every family shape and the sample domain.

    python benchmarks/names_found.py                       # every family shape and the sample domain
    python benchmarks/names_found.py --shapes packages-a,scholars-a

For each: the entities found (of the generator's), the names found, the names that are neither an
entity nor a value of the world's relations (noise), and the test questions whose stem or options
name an entity the finder found (what the gate and the recitations can anchor on).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from domain_family import SHAPES, generate, make_names  # noqa: E402 - after the path that finds it
from family_worlds import WORLDS  # noqa: E402

from blade_core.data import load_corpus, load_instructions, load_mcq  # noqa: E402
from blade_core.knowledge.name_sources import NameHints  # noqa: E402
from blade_core.knowledge.names import names_in  # noqa: E402
from blade_core.training.stand_alone import stand_alone  # noqa: E402


def measure(domain: Path, entities: Sequence[str] | None, values: set[str]) -> dict[str, object]:
    documents = load_corpus(domain / "corpus.jsonl")
    kit = load_instructions(domain / "kit.jsonl") if (domain / "kit.jsonl").read_text().strip() else []
    hints = NameHints.of(kit, load_mcq(domain / "dev.jsonl"))
    test = load_mcq(domain / "test.jsonl")
    row: dict[str, object] = {}
    before, now = stand_alone(documents), stand_alone(documents, hints)
    added, removed = sorted(set(now.names) - set(before.names)), sorted(set(before.names) - set(now.names))
    row["added"], row["removed"] = f"{len(added)}: {added[:4]}", f"{len(removed)}: {removed[:4]}"
    for label, alone in (("before", before), ("now", now)):
        names = set(alone.names)
        anchored = sum(bool(names_in(q.with_options_text(), alone.entities)) for q in test)
        row[label] = {"names": len(names), "anchored": f"{anchored}/{len(test)}"}
        if entities is not None:
            found = names & set(entities)
            row[label] |= {"entities": f"{len(found)}/{len(entities)}",
                           "noise": sorted(n for n in names - set(entities) - values)[:8],
                           "noise_count": len(names - set(entities) - values)}
        if label == "now" and alone.found is not None:
            row["summary"] = alone.found.summary()
    return row


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="", help="comma-separated family shapes; default: all and the sample")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        for name in args.shapes.split(",") if args.shapes else SHAPES:
            shape = SHAPES[name]
            world = WORLDS[shape.world]
            entities = make_names(random.Random(args.seed), world, shape.entities)
            values = {v for relation in world.relations for v in relation.values}
            print(name, measure(generate(shape, Path(work) / name, args.seed), entities, values), flush=True)
        if not args.shapes:
            from blade_core.sample_domain import SAMPLE_LANGUAGES, sample_domain_dir

            for language in SAMPLE_LANGUAGES:
                print(f"sample-{language}", measure(sample_domain_dir(language), None, set()), flush=True)


if __name__ == "__main__":
    main()
