"""`blade.json`: what a model directory needs beyond the Hugging Face files.

It holds the knowledge template the model was tuned with (so inference never drifts from training),
generation defaults, and provenance (base model, stages run, data hashes, dev score), so a directory
found on disk months later still says what it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from blade_core.errors import BladeError
from blade_core.prompts import KnowledgeTemplate

BLADE_CONFIG_FILE = "blade.json"
FORMAT_VERSION = 1


class BladeConfigError(BladeError, ValueError):
    """An unreadable, invalid or too-new `blade.json`."""


class GenerationDefaults(BaseModel):
    """Knowledge-generation settings; temperature 0 means greedy decoding."""

    max_new_tokens: int = Field(default=128, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(default=1.0, gt=0.0)
    option_knowledge: bool = True
    """For a multiple-choice question, also write knowledge for each option alone and add it
    (`blade_core.option_knowledge`); questions without options are unaffected."""
    entity_gate: bool = True
    """Withhold knowledge sentences that name none of the question's entities (or, when the options
    are names, none of the options): `blade_core.knowledge_gate`. Needs the domain's names, which DP
    stores in `BladeConfig.names`; without them nothing is withheld."""
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    """Withhold knowledge sentences whose least probable token had at most this probability
    (`blade_core.confidence`): 0 keeps every sentence, 1 withholds all. BPO sets it from dev."""


class GenerationSettings(BaseModel):
    """Overrides of a model directory's `GenerationDefaults`, as the adapters and callers set them:
    None leaves the directory's value. The one declaration every component embeds, so the
    LangChain and LlamaIndex components take the same names and check them the same way."""

    max_new_tokens: int | None = Field(default=None, ge=1, description="tokens of knowledge to write at most")
    temperature: float | None = Field(default=None, ge=0.0, description="0 is greedy decoding")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="nucleus sampling")
    repetition_penalty: float | None = Field(default=None, gt=0.0)
    option_knowledge: bool | None = Field(
        default=None, description="also write knowledge for each option of a multiple-choice question"
    )
    entity_gate: bool | None = Field(
        default=None, description="withhold sentences that name none of the question's entities"
    )
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="withhold sentences written with less confidence"
    )

    def given(self, **overrides: Any) -> dict[str, Any]:
        """The settings set here, then `overrides` (a call's own), None ones left out."""
        settings = {**{name: getattr(self, name) for name in GenerationSettings.model_fields}, **overrides}
        return {key: value for key, value in settings.items() if value is not None}


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
