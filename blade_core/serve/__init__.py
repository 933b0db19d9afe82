"""The project's HTTP servers, on FastAPI and uvicorn (the `serve` extra).

* `OpenAICompatibleServer` (`chat`) serves any LangChain chat model over the OpenAI chat protocol:
  the offline stand-in judge behind real HTTP, for tests, benchmarks and `blade serve-llm`;
* `http` runs an ASGI app on uvicorn with the limits a server reachable by others needs (connection
  cap answered 503 with Retry-After, a body cap answered 413 unread); `limits` holds those limits
  and the bind checks in plain Python, so `blade --help` reads them without importing FastAPI.

The server classes load lazily, so `blade_core.serve.limits` needs no extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blade_core.serve.chat import OpenAICompatibleServer


def __getattr__(name: str) -> Any:
    if name == "OpenAICompatibleServer":
        from blade_core.serve.chat import OpenAICompatibleServer

        return OpenAICompatibleServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OpenAICompatibleServer"]
