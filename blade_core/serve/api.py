"""What every OpenAI-style app of ours shares: errors in the OpenAI format, naming the request
field; the Bearer-key guard; routes under /v1 (and bare, as some clients call them)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from blade_core.serve.http import error_response


def field_path(location: tuple[Any, ...]) -> str:
    """FastAPI's error location ("body", "messages", 0, "role") as the request field messages[0].role."""
    path = ""
    for part in location[1:] if location[:1] == ("body",) else location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
    first = error.errors()[0]
    where = field_path(tuple(first.get("loc", ())))
    if first.get("type") == "json_invalid":
        return error_response(400, "the request body is not valid JSON")
    return error_response(400, f"{where or 'the request body'}: {first.get('msg')}", param=where or None)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    message = f"unknown path {request.url.path}" if error.status_code == 404 else str(error.detail)
    return error_response(error.status_code, message, headers=dict(error.headers or {}))


class OpenAIStyleApp:
    """A FastAPI app answering errors as the OpenAI API does; `route` adds a guarded endpoint."""

    def __init__(self, title: str, api_key: str | None) -> None:
        self.app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
        self.app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
        self.app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
        self._api_key = api_key

    async def _authorize(self, request: Request) -> None:
        given = request.headers.get("Authorization", "")
        if self._api_key is not None and not hmac.compare_digest(given.encode(), f"Bearer {self._api_key}".encode()):
            raise HTTPException(401, "invalid API key")

    def route(self, method: str, path: str, endpoint: Callable[..., Any]) -> None:
        """`endpoint` at /v1`path` and at `path`, behind the API key when there is one."""
        guarded = [Depends(self._authorize)]
        self.app.add_api_route(f"/v1{path}", endpoint, methods=[method], dependencies=guarded)
        self.app.add_api_route(path, endpoint, methods=[method], dependencies=guarded, include_in_schema=False)
