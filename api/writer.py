"""The API's writes, as the writing login: each write one transaction.

A write made of statements only (``geo.transaction`` steps: the officials' project writes) runs
on the event loop over asynchronous connections (``api.database``), like the reads: no worker
thread, and as few round trips as its answers allow. A write that also hashes a password or
stores files (signing in, accounts, progress reports) is plain code over a SQLAlchemy
connection, run in a worker thread so that the hashing and the disk keep off the event loop.
A portal given no write URL is read-only: its write routes answer 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Request
from sqlalchemy import Connection, Engine, create_engine

from api.database import Database, libpq_dsn
from api.problems import Problem
from geo.transaction import Steps

T = TypeVar("T")
SIZE = 4  # connections, and writes at once, per API process and kind of write


class Writer:
    def __init__(self, url: str, statement_timeout_ms: int, pool_wait_s: float) -> None:
        self.steps = Database(
            libpq_dsn(url),
            SIZE,
            statement_timeout_ms=statement_timeout_ms,
            pool_wait_s=pool_wait_s,
            search_path=None,
            name="allimi-writer",
        )
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

    async def run(self, work: Steps[T]) -> T:
        """The steps of ``work`` as one transaction, on the event loop."""
        return await self.steps.transaction(work)

    async def transaction(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in one transaction in a worker thread: committed when it returns,
        rolled back when it raises (the exception then goes on to the caller)."""

        def run() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return await to_thread.run_sync(run, limiter=self.limiter)

    def close(self) -> None:
        self.steps.close()
        self.engine.dispose()


async def writer(request: Request) -> Writer:
    """The app's writer (a dependency; ``async`` to stay off the worker threads)."""
    found: Writer | None = request.app.state.writer
    if found is None:
        raise Problem(503, "This portal is read-only: it was started without a writing login.")
    return found
