"""`blade.json`: what a model directory needs beyond the Hugging Face files.

It holds the knowledge template the model was tuned with (so inference never drifts from training),
generation defaults, and provenance (base model, stages run, data hashes, dev score), so a directory
found on disk months later still says what it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from blade_core.errors import BladeError
from blade_core.model.generation_settings import GenerationDefaults
from blade_core.model.template import KnowledgeTemplate

BLADE_CONFIG_FILE = "blade.json"
FORMAT_VERSION = 1


class BladeConfigError(BladeError, ValueError):
    """An unreadable, invalid or too-new `blade.json`."""


class Provenance(BaseModel):
    """Where the model came from; stages append to it as they run."""

    base_model: str | None = None
    stages: list[str] = Field(default_factory=list)
    data_hashes: dict[str, str] = Field(default_factory=dict)
    """`file_hash` of each stage's data, so `sha256sum FILE` tells whether a model saw it."""
    dev_score: float | None = None


def file_hash(path: str | Path) -> str:
    """sha256 of a data file, or of a folder's files read in name order."""
    digest = hashlib.sha256()
    target = Path(path)
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


class BladeConfig(BaseModel):
    format_version: int = FORMAT_VERSION
    knowledge_template: KnowledgeTemplate = Field(default_factory=KnowledgeTemplate)
    generation: GenerationDefaults = Field(default_factory=GenerationDefaults)
    provenance: Provenance = Field(default_factory=Provenance)
    names: list[str] = Field(default_factory=list)
    """The domain's recurring names (`knowledge_gate.domain_names` of the DP corpus)."""
    entities: list[str] = Field(default_factory=list)
    """The names that are entities, not values shared by many (`training.stand_alone`): those a
    question's entity views recite (`entity_views`)."""

    @classmethod
    def load(cls, directory: str | Path) -> BladeConfig | None:
        """The directory's config, or None for a plain Hugging Face model directory."""
        path = Path(directory) / BLADE_CONFIG_FILE
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise BladeConfigError(f"{path}: not valid JSON ({err})") from err
        version = raw.get("format_version", FORMAT_VERSION) if isinstance(raw, dict) else None
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise BladeConfigError(
                f"{path}: field 'format_version' is {version}, newer than this blade_core "
                f"understands ({FORMAT_VERSION}); upgrade the package to load this model"
            )
        try:
            return cls.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            raise BladeConfigError(f"{path}: field '{field}': {first['msg']}") from err

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / BLADE_CONFIG_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
