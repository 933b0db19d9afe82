"""How blade talks to an OpenAI-compatible endpoint, declared once: the general LLM's clients
(`blade eval`, `blade bpo`, the data generators) and the knowledge endpoint's (`EndpointWriter`)
retry, time out and run calls concurrently by these settings and defaults.

Pydantic only, so the CLI declares its options from these fields without importing a client.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_RETRIES = 6
"""Retries of a failed call, with the SDK's backoff: a 429 or 5xx burst outlasts a few."""
TIMEOUT = 120.0
MAX_CONCURRENCY = 8


class ClientOptions(BaseModel):
    """The client settings every command that calls an endpoint shares."""

    model_config = ConfigDict(allow_inf_nan=False)

    max_concurrency: int = Field(default=MAX_CONCURRENCY, ge=1, description="LLM calls in flight at once")
    max_retries: int = Field(default=MAX_RETRIES, ge=0, description="retries of a failed call (API clients)")
    timeout: float = Field(default=TIMEOUT, gt=0, description="seconds per LLM call (API clients)")
