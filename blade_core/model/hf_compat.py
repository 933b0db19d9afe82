"""Names that changed across the transformers versions pyproject.toml allows, said once.

CI runs the tests on the lowest allowed versions and on the newest; the newest renamed two things
whose old names warn on every use there.
"""

from __future__ import annotations

import transformers
from packaging.version import Version

_VERSION = Version(transformers.__version__)

CACHE = "cache" if _VERSION >= Version("5.24") else "past_key_values"
"""What transformers calls a model's KV cache, in `generate`'s and `forward`'s arguments and in a
forward pass's output: `cache` from 5.24, which deprecates `past_key_values` (the name before it)."""

CHECKPOINTING = "activation_checkpointing" if _VERSION >= Version("5.23") else "gradient_checkpointing"
"""The `TrainingArguments` field that turns on activation (gradient) checkpointing: renamed in 5.23,
which deprecates the old name."""
