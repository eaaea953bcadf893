"""The API's writes: a small pool of synchronous connections as the writing login, each write
one transaction run in a worker thread.

Reads stay on the event loop (``api.database``); writes are few, and a transaction with
several statements (the change, its change-log entry, the data version) reads best as plain
code over one SQLAlchemy connection, the same functions the ``allimi`` command and imports run.
A portal given no write URL is read-only: its write routes answer 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Request
from sqlalchemy import Connection, Engine, create_engine

from api.problems import Problem

T = TypeVar("T")
SIZE = 4  # connections, and writes at once, per API process


class Writer:
    def __init__(self, url: str, statement_timeout_ms: int) -> None:
        self.engine: Engine = create_engine(
            url,
            pool_size=SIZE,
            max_overflow=0,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": 5,
                "options": f"-c statement_timeout={statement_timeout_ms}",
            },
        )
        self.limiter = CapacityLimiter(SIZE)

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in one transaction: committed when it returns, rolled back when it
        raises (the exception then goes on to the caller)."""

        def run() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return await to_thread.run_sync(run, limiter=self.limiter)

    def close(self) -> None:
        self.engine.dispose()


async def writer(request: Request) -> Writer:
    """The app's writer (a dependency; ``async`` to stay off the worker threads)."""
    found: Writer | None = request.app.state.writer
    if found is None:
        raise Problem(503, "This portal is read-only: it was started without a writing login.")
    return found
