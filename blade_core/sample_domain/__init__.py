"""The packaged sample domains: invented knowledge no general LLM has.

* "en": a pharmacopoeia (Orrenland), made by `generate.py` (see `data/README.md`);
* "zh": a code of regulations in Chinese with questions in the JEC-QA layout, the paper's own
  setting, made by `shapes.py` (shape `zh_statutes`, see `data_zh/README.md`).

They let tests and the quickstart train a small LM from scratch in minutes and measure honestly
how much its knowledge helps a general LLM: since every fact is invented, accuracy above chance
can only come from injected knowledge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["SAMPLE_LANGUAGES", "SampleDomain", "SampleLanguage", "load_sample_domain", "sample_domain_dir"]

_FILES = ("corpus", "kit", "train", "dev", "test")
SampleLanguage = Literal["en", "zh"]
SAMPLE_LANGUAGES: tuple[SampleLanguage, ...] = ("en", "zh")
_FOLDERS: dict[SampleLanguage, str] = {"en": "data", "zh": "data_zh"}


def sample_domain_dir(language: SampleLanguage = "en") -> Path:
    """The folder holding a packaged domain's data files."""
    return Path(__file__).resolve().parent / _FOLDERS[language]


class SampleDomain(BaseModel):
    """Paths to the sample domain's files.

    corpus: `{"text"}` documents; kit: alpaca pairs for the train questions only;
    train/dev/test: multiple-choice questions, split by fact; general (English only): plain
    everyday text for DP to mix in.
    """

    model_config = ConfigDict(frozen=True)

    root: Path
    corpus: Path
    kit: Path
    train: Path
    dev: Path
    test: Path
    general: Path | None
    readme: Path


def load_sample_domain(root: Path | str | None = None, language: SampleLanguage = "en") -> SampleDomain:
    """The sample domain in `root` (default: the packaged one in `language`); fails if a file is
    missing."""
    folder = Path(root) if root is not None else sample_domain_dir(language)
    paths: dict[str, Path] = {name: folder / f"{name}.jsonl" for name in _FILES}
    paths["readme"] = folder / "README.md"
    missing = sorted(str(p) for p in paths.values() if not p.is_file())
    if missing:
        raise FileNotFoundError(
            "sample domain files missing (run `python -m scripts.sample_domain`): "
            + ", ".join(missing)
        )
    general = folder / "general.jsonl"
    return SampleDomain(root=folder, general=general if general.is_file() else None, **paths)
