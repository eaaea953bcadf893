"""Request dependencies: the database engine the app was built with."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy import Connection, Engine


def engine(request: Request) -> Engine:
    return request.app.state.engine


def connection(request: Request) -> Iterator[Connection]:
    with engine(request).connect() as conn:
        yield conn
