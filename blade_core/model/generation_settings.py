"""Knowledge-generation settings, declared once: `GenerationDefaults` is what a model directory's
`blade.json` stores; `GenerationSettings` is a caller's overrides of them (None: the directory's
value), which the LangChain and LlamaIndex components, `blade generate` and `blade eval` embed.

Plain pydantic, so the CLI declares its options from these fields without importing LangChain or
torch (`blade --help` stays fast).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from blade_core.errors import OptionError
from blade_core.validation import build_config


class GenerationDefaults(BaseModel):
    """Knowledge-generation settings; temperature 0 means greedy decoding."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    max_new_tokens: int = Field(default=128, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(default=1.0, gt=0.0)
    option_knowledge: bool = True
    """For a multiple-choice question, also write knowledge for each option alone and add it
    (`blade_core.knowledge.options`); questions without options are unaffected."""
    entity_gate: bool = True
    """Withhold knowledge sentences that name none of the question's entities (or, when the options
    are names, none of the options): `blade_core.knowledge_gate`. Needs the domain's names, which DP
    stores in `BladeConfig.names`; without them nothing is withheld."""
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    """Withhold knowledge sentences whose least probable token had at most this probability
    (`blade_core.knowledge.confidence`): 0 keeps every sentence, 1 withholds all. BPO sets it from dev."""
    recite: bool = False
    """Also ask the model what it knows about each entity the question asks about, and add the
    recited sentences that bear on the question (`blade_core.knowledge.entity_views`). KIT turns it on in
    the directories it trains with recitation pairs (`training.recitation`)."""


class GenerationSettings(BaseModel):
    """Overrides of a model directory's `GenerationDefaults`, as the adapters and callers set them:
    None leaves the directory's value. The one declaration every component embeds, so the
    LangChain and LlamaIndex components take the same names and check them the same way."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    max_new_tokens: int | None = Field(default=None, ge=1, description="knowledge length in tokens; default: the model's")
    temperature: float | None = Field(default=None, ge=0.0, description="0 is greedy; default: the model's")
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, description="nucleus sampling; default: the model's")
    repetition_penalty: float | None = Field(
        default=None, gt=0.0, description="penalty on repeated tokens; default: the model's")
    option_knowledge: bool | None = Field(
        default=None, description="also write knowledge for each option alone; default: the model's"
    )
    entity_gate: bool | None = Field(
        default=None, description="withhold knowledge about other entities than the question's; default: the model's"
    )
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="withhold knowledge sentences the model wrote with at most this confidence "
        "(0 keeps all); default: the model's, calibrated by BPO",
    )
    recite: bool | None = Field(
        default=None, description="also recite what the model knows about the question's entities; default: the model's"
    )

    def given(self, **overrides: Any) -> dict[str, Any]:
        """The settings set here, then `overrides` (a call's own), None ones left out."""
        settings = {**{name: getattr(self, name) for name in GenerationSettings.model_fields}, **overrides}
        return {key: value for key, value in settings.items() if value is not None}


class UnknownSettingError(OptionError, TypeError):
    """A generation setting that does not exist: a TypeError, as for any unexpected keyword, and an
    option error (a ValueError), as LlamaIndex components report a bad setting."""


def apply_settings(defaults: GenerationDefaults, overrides: Mapping[str, Any]) -> GenerationDefaults:
    """`defaults` with the caller's non-None `overrides` applied and checked: the one check every
    writer and adapter makes. A typo or a nonsense value (a negative temperature) is refused in one
    line, never replaced."""
    unknown = set(overrides) - set(GenerationDefaults.model_fields)
    if unknown:
        raise UnknownSettingError(f"unknown generation settings {sorted(unknown)}; "
                                  f"known: {sorted(GenerationDefaults.model_fields)}")
    given = {key: value for key, value in overrides.items() if value is not None}
    return build_config(GenerationDefaults, prefix="", **{**defaults.model_dump(), **given})
