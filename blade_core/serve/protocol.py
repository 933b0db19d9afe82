"""Protocol pieces both servers share (`chat.py`, `completions.py`): one definition each of the
stream options, the usage object, the SSE framing, and the bounds on what one request may ask, so
one client cannot hold a server.

Why bounds: 10,000 `stop` strings (88 kB) held a server 6.5 s and grew it by 218 MB, and 20,000
prompts in one request made a 2-token request behind it wait 75 s. The OpenAI API allows 4 stop
strings; these servers allow `MAX_STOP_STRINGS` of `MAX_STOP_LENGTH` characters, and
`MAX_PROMPTS` prompts per completion request. Beyond them a request is answered 400, naming the field.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

MAX_STOP_STRINGS = 16
MAX_STOP_LENGTH = 256
MAX_PROMPTS = 256
"""Prompts in one completion request: eight full batches of `blade serve`."""


class StreamOptions(BaseModel):
    include_usage: bool = False


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """The OpenAI API's usage object."""
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def sse(payload: dict[str, Any]) -> str:
    """One server-sent event of a streamed response."""
    return f"data: {json.dumps(payload)}\n\n"


SSE_DONE = "data: [DONE]\n\n"
"""The event that ends an OpenAI-style stream."""


def _bounded_stop(stop: str | list[str] | None) -> str | list[str] | None:
    stops = [stop] if isinstance(stop, str) else stop or []
    if len(stops) > MAX_STOP_STRINGS:
        raise ValueError(f"at most {MAX_STOP_STRINGS} stop strings, got {len(stops)}")
    if any(len(s) > MAX_STOP_LENGTH for s in stops):
        raise ValueError(f"a stop string is at most {MAX_STOP_LENGTH} characters")
    return stop


Stop = Annotated[str | list[str] | None, AfterValidator(_bounded_stop)]
"""`stop`: a string or a list of them, bounded (module docstring)."""


def _finite_bias(bias: dict[int, float] | None) -> dict[int, float] | None:
    if bias and not all(math.isfinite(value) for value in bias.values()):
        raise ValueError("every bias must be a finite number (the OpenAI API takes -100 to 100)")
    return bias


LogitBias = Annotated[dict[int, float] | None, AfterValidator(_finite_bias)]
