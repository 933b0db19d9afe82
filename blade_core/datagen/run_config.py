"""What both LLM data generators let a user set about the run itself (pydantic only, so `blade
--help` stays fast): calls in flight, retries, the answer cache, resuming, and where the progress
and cache files go, beside OUT."""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, Field

from blade_core.client_options import ClientOptions


class GeneratorRunConfig(ClientOptions):
    """Settings `make-kit-data` and `augment-corpus` share; each adds its inputs and `out`."""

    model_config = ConfigDict(allow_inf_nan=False)  # inf and nan are no settings ("--learning-rate inf")

    out: Path
    cache: bool = Field(default=True, description="cache LLM replies in SQLite so re-runs are free")
    cache_path: Path | None = Field(default=None, description="default: OUT.cache.sqlite")
    resume: bool = Field(default=True, description="skip what the progress file marks done")
    overwrite: bool = Field(default=False, description="discard an existing output and its progress")
    progress: bool = Field(default=True, description="show a progress bar")

    @property
    def progress_file(self) -> Path:
        """Every finished item with its outcome; what `--resume` reads."""
        return self.out.with_name(self.out.name + ".progress.jsonl")

    @property
    def cache_file(self) -> Path:
        """Beside the output by default, so one run's calls are found again by its re-runs."""
        return self.cache_path or self.out.with_name(self.out.name + ".cache.sqlite")
