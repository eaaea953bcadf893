"""The API's reads, run on the event loop: psycopg2 connections in asynchronous mode.

A request waits for PostGIS without a worker thread, so serving one costs no hand-off between
threads; the process keeps at most ``size`` connections, each running one statement at a time
in autocommit (no transaction, no snapshot held between requests). A connection that fails or
is interrupted mid-statement is closed, and the next request opens a fresh one.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
from fastapi import Request
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import parse_dsn
from sqlalchemy.engine import make_url

from api.limits import statement
from geo.sql import Query

CONNECT_TIMEOUT_S = 5.0
STATEMENT_TIMEOUT_MS = 30_000  # a public read that takes longer is cut off (answered 503)
DROPPED = (psycopg2.OperationalError, psycopg2.InterfaceError)
SEARCH_PATH = "disclosed,public"  # unqualified names are the published views (migration 0003)


def libpq_dsn(url: str) -> str:
    """A libpq connection URI for a SQLAlchemy URL (``postgresql+psycopg2://...``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _until_ready(fd: int, *, reading: bool) -> None:
    """Wait until the socket ``fd`` can be read (or written)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if reading:
        loop.add_reader(fd, wake)
    else:
        loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        if reading:
            loop.remove_reader(fd)
        else:
            loop.remove_writer(fd)


async def _ready(conn: Connection) -> None:
    """Wait until ``conn`` has finished what it was doing (connecting or a statement)."""
    while (state := conn.poll()) != psycopg2.extensions.POLL_OK:
        await _until_ready(conn.fileno(), reading=state == psycopg2.extensions.POLL_READ)


def _discard(conn: Connection) -> None:
    if not conn.closed and conn.isexecuting():
        with suppress(psycopg2.Error):
            conn.cancel()
    conn.close()


class Database:
    """At most ``size`` connections to ``dsn``, opened on demand and reused while healthy."""

    def __init__(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> Connection:
        conn = psycopg2.connect(
            self._dsn,
            async_=True,
            options=f"{parse_dsn(self._dsn).get('options', '')} -c search_path={SEARCH_PATH} "
            f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            application_name="allimi-api",
        )
        try:
            await asyncio.wait_for(_ready(conn), CONNECT_TIMEOUT_S)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _use(self, conn: Connection, query: Query) -> list[tuple[Any, ...]]:
        """Run ``query`` on ``conn``; back to the pool afterwards, or closed if anything failed."""
        try:
            cursor = conn.cursor()
            cursor.execute(query.sql, query.params)
            await _ready(conn)
            found = cursor.fetchall()
        except BaseException:
            _discard(conn)
            raise
        self._idle.append(conn)
        return found

    async def rows(self, query: Query) -> list[tuple[Any, ...]]:
        """Every row of ``query``, in a slot of the pool within the client's share of it."""
        async with statement(self._slots):
            if self._idle:
                try:
                    return await self._use(self._idle.pop(), query)
                except psycopg2.errors.QueryCanceled:
                    raise
                except DROPPED:
                    pass  # dropped while idle (a restart, a failover): read again on a new one
            return await self._use(await self._connect(), query)

    async def first(self, query: Query) -> tuple[Any, ...] | None:
        rows = await self.rows(query)
        return rows[0] if rows else None

    async def scalar(self, query: Query) -> Any:
        row = await self.first(query)
        return row[0] if row is not None else None

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def database(request: Request) -> Database:
    """The pool of the app serving ``request`` (made in its lifespan)."""
    db: Database = request.app.state.database
    return db
