"""The API's statements, run on the event loop: psycopg2 connections in asynchronous mode.

A request waits for PostGIS without a worker thread, so serving one costs no hand-off between
threads; a pool keeps at most ``size`` connections. Reads run one statement at a time in
autocommit (no transaction, no snapshot held between requests); a write is one transaction of
steps (``geo.transaction``), its statements sent as few messages as its answers allow: the
``BEGIN`` with the first statement, statements whose answer is not read with the next one or
with the ``COMMIT``.

Nothing waits for the database without a deadline, since a server behind a dead network path
may never answer nor close the connection:

- a free connection: ``pool_wait_s`` (then a 503 problem: ``api.limits.statement``);
- a new connection, the server's name looked up included: ``CONNECT_TIMEOUT_S``, or the
  statement deadline when that is shorter;
- a statement: the server's own ``statement_timeout`` (its ``QueryCanceled`` leaves the
  connection fine) plus ``GRACE_S``, for a server that stopped answering (``TimeoutError``).

TCP keepalives and ``tcp_user_timeout`` make the kernel notice a dead path to an idle
connection too. A connection that answered an error (a value out of range, its statement
cancelled by the server) goes back to the pool; one that failed, broke off or missed its
deadline is closed, and the next request opens a fresh one.
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import socket
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import suppress
from typing import Any, TypeVar

import psycopg2
import psycopg2._psycopg
import psycopg2.errors
import psycopg2.extensions
from fastapi import Request
from psycopg2.extensions import connection as Connection
from psycopg2.extensions import parse_dsn
from sqlalchemy.engine import make_url

from api.limits import statement
from api.prepared import Preparer, PreparingConnection
from geo.sql import Query
from geo.transaction import Later, Rows, Steps, resume, rows_of

CONNECT_TIMEOUT_S = 5.0
GRACE_S = 1.0  # past the server's statement_timeout, for its answer to arrive
KEEPALIVES = {  # an idle connection whose path died is noticed within ~20 s
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms that sent data may stay unacknowledged
}
DROPPED = (psycopg2.OperationalError, psycopg2.InterfaceError)
T = TypeVar("T")
BEGIN, COMMIT, ROLLBACK = Query("BEGIN"), Query("COMMIT"), Query("ROLLBACK")
READ_ONLY = Query("BEGIN READ ONLY")
# A reader that takes no chunk for this long (a stalled download) loses its cursor: the server
# ends the session rather than let it hold a connection and a snapshot.
STALLED_READER = Query("SET LOCAL idle_in_transaction_session_timeout = '60s'")
SEARCH_PATH = "disclosed,public"  # unqualified names are the published views (migration 0003)
# One request, one core: PostgreSQL's parallel workers would let a single long public read
# (a deep page, a city-wide view) take every core from the map's quick ones.
ONE_CORE = "-c max_parallel_workers_per_gather=0"
# No JIT: PostGIS declares its functions costly, so the planner would compile a short statement
# to machine code first (tens of milliseconds, a second for a conflict check) to save less.
NO_JIT = "-c jit=off"

# psycopg2's ``connection.cancel()`` holds the GIL through libpq's blocking PQcancel, which
# waits on the server: the libpq psycopg2 is linked to is called directly instead (ctypes
# releases the GIL), from a thread of its own.
_libpq = ctypes.CDLL(psycopg2._psycopg.__file__)
_libpq.PQgetCancel.argtypes = [ctypes.c_void_p]
_libpq.PQgetCancel.restype = ctypes.c_void_p
_libpq.PQcancel.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
_libpq.PQfreeCancel.argtypes = [ctypes.c_void_p]


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


def _cancel(handle: int) -> None:
    """Ask the server to stop a statement; may wait until TCP gives up on a dead path."""
    try:
        _libpq.PQcancel(handle, ctypes.create_string_buffer(256), 256)
    finally:
        _libpq.PQfreeCancel(handle)


def _discard(conn: Connection) -> None:
    """Close ``conn``; a statement it still runs is cancelled in the background (the server's
    statement_timeout ends it anyway should the cancel never arrive)."""
    executing = not conn.closed and conn.isexecuting()
    if executing and (handle := _libpq.PQgetCancel(conn.pgconn_ptr)):
        threading.Thread(target=_cancel, args=(handle,), daemon=True).start()
    conn.close()


def _answered(exc: BaseException) -> bool:
    """Whether the server itself answered ``exc``, so that the connection is still fine."""
    if isinstance(exc, psycopg2.errors.QueryCanceled):
        return True
    return isinstance(exc, psycopg2.Error) and not isinstance(exc, DROPPED)


class Database:
    """At most ``size`` connections to ``dsn``, opened on demand and reused while healthy."""

    def __init__(
        self,
        dsn: str,
        size: int,
        *,
        statement_timeout_ms: int,
        pool_wait_s: float,
        search_path: str | None = SEARCH_PATH,
        name: str = "allimi-api",
    ) -> None:
        self._dsn = dsn
        self._idle: list[Connection] = []
        self._slots = asyncio.Semaphore(size)
        self._params = parse_dsn(dsn)
        self._options = (
            f"{self._params.get('options', '')} -c statement_timeout={statement_timeout_ms} "
            f"{ONE_CORE} {NO_JIT}" + (f" -c search_path={search_path}" if search_path else "")
        )
        self._name = name
        self._statement_s = statement_timeout_ms / 1000 + GRACE_S
        self._connect_s = min(CONNECT_TIMEOUT_S, self._statement_s)
        self._pool_wait_s = pool_wait_s
        self._preparer = Preparer()

    async def _address(self) -> dict[str, str]:
        """``hostaddr`` for the server's host name, looked up in a worker thread: libpq's own
        lookup would block the event loop for as long as a name server keeps silent."""
        host = self._params.get("host", "")
        if not host or "hostaddr" in self._params or "," in host or host.startswith("/"):
            return {}
        with suppress(ValueError):
            ipaddress.ip_address(host)
            return {}
        port = self._params.get("port") or "5432"
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        # every address, tried in turn as libpq does with a name (IPv6 first, say, then IPv4)
        return {"host": ",".join([host] * len(addresses)), "hostaddr": ",".join(addresses)}

    async def _connect(self) -> Connection:
        async with asyncio.timeout(self._connect_s):
            address = await self._address()
            conn = psycopg2.connect(
                self._dsn,
                async_=True,
                connection_factory=PreparingConnection,
                options=self._options,
                application_name=self._name,
                **KEEPALIVES,
                **address,
            )
            try:
                await _ready(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    async def _use(self, conn: Connection, query: Query) -> list[tuple[Any, ...]]:
        """Run ``query`` on ``conn``; back to the pool afterwards unless the connection failed."""
        try:
            found = await self._prepared(conn, query)
        except BaseException as exc:
            if _answered(exc) and not conn.closed and not conn.isexecuting():
                self._idle.append(conn)
            else:
                _discard(conn)
            raise
        self._idle.append(conn)
        return found

    async def _prepared(self, conn: Connection, query: Query) -> list[tuple[Any, ...]]:
        """``query``'s rows, run as a prepared statement once it repeats (``api.prepared``)."""
        assert isinstance(conn, PreparingConnection)
        sql, params = self._preparer.sent(conn, query)
        try:
            return await self._fetch(conn, sql, params)
        except psycopg2.Error as exc:
            if not self._preparer.retried(conn, query, exc):
                raise
        return await self._fetch(conn, query.sql, query.params)

    async def _fetch(
        self, conn: Connection, sql: str, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        async with asyncio.timeout(self._statement_s):  # no task of its own, as wait_for's
            await _ready(conn)
        return cursor.fetchall()

    async def rows(self, query: Query) -> list[tuple[Any, ...]]:
        """Every row of ``query``, in a slot of the pool within the client's share of it."""
        async with statement(self._slots, self._pool_wait_s):
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

    async def stream(self, query: Query, chunk: int = 1000) -> AsyncGenerator[Rows, None]:
        """The rows of ``query`` a ``chunk`` at a time, read through a cursor in a read-only
        transaction: an answer of any size (a city's bulk download) is never held whole, here or
        in the server's reply. Each fetch has the statement deadline; the slot is held until the
        last chunk is taken or the consumer stops (a client that hung up), and the client is
        charged the fetches' time, not its own reading's."""
        async with statement(self._slots, self._pool_wait_s) as held:
            declare = Query("DECLARE rows NO SCROLL CURSOR FOR " + query.sql, query.params)
            conn, opened = await self._first([READ_ONLY, STALLED_READER, declare])
            try:
                if isinstance(opened, psycopg2.Error):
                    raise opened
                fetch = Query(f"FETCH FORWARD {int(chunk)} FROM rows")
                while rows := await self._send(conn, [fetch]):
                    with held.reader_has_it():
                        yield rows
                await self._send(conn, [COMMIT])
            except BaseException:
                await self._rolled_back(conn)
                raise
            self._idle.append(conn)

    async def _send(self, conn: Connection, batch: Sequence[Query]) -> Rows:
        """Run ``batch`` on ``conn`` as one message; the last statement's rows."""
        cursor = conn.cursor()
        if len(batch) == 1:
            cursor.execute(batch[0].sql, batch[0].params or None)
        else:
            cursor.execute(b";".join(cursor.mogrify(q.sql, q.params or None) for q in batch))
        async with asyncio.timeout(self._statement_s):
            await _ready(conn)
        return rows_of(cursor)

    async def _first(self, batch: Sequence[Query]) -> tuple[Connection, Rows | psycopg2.Error]:
        """A connection that ran ``batch`` (a transaction's first message), with its rows or the
        error the server answered: an idle one, or a new one when that was dropped while idle
        (the message then did nothing)."""
        while True:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect()
            try:
                return conn, await self._send(conn, batch)
            except psycopg2.Error as exc:
                if _answered(exc):
                    return conn, exc
                _discard(conn)
                if not (reused and isinstance(exc, DROPPED)):
                    raise
            except BaseException:
                _discard(conn)
                raise

    async def transaction(self, work: Steps[T]) -> T:
        """Run the steps of ``work`` as one transaction: committed when it returns; rolled back
        when it raises, or when the database fails (an error the server answered is first
        thrown into ``work``, which may recover from it, say to a savepoint)."""
        async with statement(self._slots, self._pool_wait_s, shared=False):
            conn: Connection | None = None
            batch = [BEGIN]
            outcome: Rows | psycopg2.Error | None = None
            try:
                while True:
                    try:
                        step = resume(work, outcome)
                    except StopIteration as done:
                        batch.append(COMMIT)
                        if conn is None:  # nothing read: nothing to retry safely either
                            conn = self._idle.pop() if self._idle else await self._connect()
                        await self._send(conn, batch)
                        self._idle.append(conn)
                        return done.value
                    if isinstance(step, Later):
                        batch.append(step.query)
                        outcome = []
                        continue
                    batch.append(step)
                    if conn is None:
                        conn, outcome = await self._first(batch)
                    else:
                        try:
                            outcome = await self._send(conn, batch)
                        except psycopg2.Error as exc:
                            if not _answered(exc):
                                raise
                            outcome = exc
                    batch = []
            except BaseException:
                if conn is not None:
                    await self._rolled_back(conn)
                raise

    async def _rolled_back(self, conn: Connection) -> None:
        """``conn`` out of its transaction and back to the pool, or closed when it cannot be."""
        if conn.closed or conn.isexecuting():
            _discard(conn)
            return
        try:
            await self._send(conn, [ROLLBACK])
        except BaseException:
            _discard(conn)
            raise
        self._idle.append(conn)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


async def database(request: Request) -> Database:
    """The pool of the app serving ``request`` (made in its lifespan); ``async``, as FastAPI
    runs a plain function dependency in a worker thread."""
    db: Database = request.app.state.database
    return db
