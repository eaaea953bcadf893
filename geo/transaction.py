"""A write as steps: a generator that yields each statement (a ``Query``) and is sent back its
rows, so that one write runs the same on any connection.

The API runs writes on its event loop, over asynchronous psycopg2 connections
(``api.writer``); the ``allimi`` command, imports and tests run them on a SQLAlchemy connection
with ``run``. Either way the write's own code decides every statement, and the runner only
carries them: one transaction, committed when the generator returns, rolled back when it
raises (a ``WriteError`` refusing the write, or an error of the database, which the runner
first throws into the generator so that it may recover, say from a savepoint).

A statement whose answer the write does not need is yielded as ``Later(query)``: the API sends
it with the next statement, or with the commit, in one message, so that the change log's
entry costs no round trip of its own while the log's head is locked.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg2
from sqlalchemy import Connection

from geo.sql import Query

T = TypeVar("T")
Rows = list[dict[str, Any]]  # each row by column name
Steps = Generator["Query | Later", Rows, T]


@dataclass(frozen=True)
class Later:
    """A statement sent with the next one: the write reads nothing of its answer."""

    query: Query


def rows_of(cursor: Any) -> Rows:
    """The rows a psycopg2 cursor holds, by column name (none for a statement without)."""
    if cursor.description is None:
        return []
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def resume(work: Steps[T], outcome: Rows | BaseException | None) -> Query | Later:
    """``work``'s next statement, after the outcome of its last: its rows, the error the server
    answered (thrown into ``work``), or None for the first. StopIteration once it is done."""
    if outcome is None:
        return next(work)
    if isinstance(outcome, BaseException):
        return work.throw(outcome)
    return work.send(outcome)


def run(conn: Connection, work: Steps[T]) -> T:
    """Run ``work`` in ``conn``'s transaction, each statement in turn, with psycopg2's own
    errors (as the API's runner meets them); the caller commits or rolls back."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None  # a connection in use has its driver connection
    cursor = dbapi.cursor()
    outcome: Rows | BaseException | None = None
    try:
        while True:
            step = resume(work, outcome)
            query = step.query if isinstance(step, Later) else step
            try:
                cursor.execute(query.sql, query.params or None)
                outcome = rows_of(cursor)
            except psycopg2.Error as exc:
                outcome = exc
    except StopIteration as done:
        return done.value
    finally:
        cursor.close()
