"""The packaged sample domain: an invented pharmacopoeia (Orrenland) that no general LLM knows.

It lets tests and the quickstart train a small LM from scratch in minutes and measure honestly
how much its knowledge helps a general LLM: since every fact is invented, accuracy above chance
can only come from injected knowledge. The files are made by `generate.py` (see `data/README.md`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["SampleDomain", "load_sample_domain", "sample_domain_dir"]

_FILES = ("corpus", "kit", "train", "dev", "test", "general")


def sample_domain_dir() -> Path:
    """The folder holding the packaged data files."""
    return Path(__file__).resolve().parent / "data"


class SampleDomain(BaseModel):
    """Paths to the sample domain's files.

    corpus: `{"text"}` documents; kit: alpaca pairs for the train questions only;
    train/dev/test: `MCQuestion` JSONL, split by fact; general: plain everyday English text.
    """

    model_config = ConfigDict(frozen=True)

    root: Path
    corpus: Path
    kit: Path
    train: Path
    dev: Path
    test: Path
    general: Path
    readme: Path


def load_sample_domain(root: Path | str | None = None) -> SampleDomain:
    """The sample domain in `root` (default: the packaged one); fails if a file is missing."""
    folder = Path(root) if root is not None else sample_domain_dir()
    paths = {name: folder / f"{name}.jsonl" for name in _FILES}
    paths["readme"] = folder / "README.md"
    missing = sorted(str(p) for p in paths.values() if not p.is_file())
    if missing:
        raise FileNotFoundError(
            "sample domain files missing (run `python -m blade_core.sample_domain.generate`): "
            + ", ".join(missing)
        )
    return SampleDomain(root=folder, **paths)
