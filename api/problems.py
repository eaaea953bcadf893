"""RFC 9457 problem details: every error answers ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

import psycopg2
import psycopg2.errors
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
# The database is down, unreachable, or did not answer in time: a 503, never a 500. Reads
# meet psycopg2's errors themselves, writes (``api.writer``) SQLAlchemy's wrappers of them.
DATABASE_ERRORS = (
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    TimeoutError,
)
RETRY_AFTER = {"Retry-After": "5"}  # seconds
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["parameter", "reason"],
                "properties": {"parameter": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


def documented(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


class Problem(Exception):
    """An error with the parameter it concerns and the reason, for the client to show."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        param: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        errors: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.param = param
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers
        self.errors = errors or ([(param, detail)] if param else [])


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or "request"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    errors = [{"parameter": p, "reason": r} for p, r in exc.errors] or None
    return problem_response(
        exc.status,
        exc.detail,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        errors=errors,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"parameter": _location(e["loc"]), "reason": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['parameter']}: {e['reason']}" for e in errors)
    return problem_response(
        422, detail, title="Invalid request", instance=request.url.path, errors=errors
    )


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, those of included routers too."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _allowed(request: Request) -> str:
    """The methods some route takes at this path: one path may be served by several routes
    (GET and POST of a collection), and a 405 names them all."""
    path = request.url.path
    matching = [
        route
        for route in _routes(request.app.routes)
        if getattr(route, "methods", None) and route.path_regex.match(path)
    ]
    # a fixed path (/api/projects/at) is its own resource, not a value of a template's
    # parameter (/api/projects/{code})
    fixed = [route for route in matching if route.path == path]
    return ", ".join(sorted({method for route in fixed or matching for method in route.methods}))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return problem_response(
        exc.status_code, str(exc.detail), instance=request.url.path, headers=headers
    )


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        503,
        "The database did not answer; try again shortly.",
        instance=request.url.path,
        headers=RETRY_AFTER,
    )


async def _on_data_error(request: Request, exc: Exception) -> JSONResponse:
    """A value the statement computed or compared is out of range (SQLSTATE class 22)."""
    reason = "A value in this request is out of the range the database can handle."
    return problem_response(
        400,
        reason,
        instance=request.url.path,
        errors=[{"parameter": "request", "reason": reason}],
    )


def install(app: FastAPI) -> None:
    """Answer every error as a problem, and say so in the OpenAPI document of every operation
    (in place of FastAPI's default 422 body): call before including the routers."""
    app.router.responses = {
        "4XX": documented("A problem (RFC 9457) naming the parameter at fault"),
        **app.router.responses,
    }
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, _on_database_down)
    app.add_exception_handler(psycopg2.errors.DataError, _on_data_error)
