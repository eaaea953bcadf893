"""Server-side prepared statements for the reads a process sends again and again.

A map tile's statement is planned in less than a millisecond, but a tile at street level is
made in two or three: planning is a third of it. A statement text seen ``REPEATS`` times by a
pool is prepared on each connection that runs it next (``PREPARE`` sent with the first
``EXECUTE``, in one message), and from then on that connection sends only ``EXECUTE`` with the
values; PostgreSQL plans it anew for its values until a generic plan is as cheap (its
``plan_cache_mode`` ``auto``). Each connection keeps at most ``KEPT`` statements, the least
recently used deallocated first. A text PostgreSQL cannot prepare (a parameter whose type only
its value tells) is remembered and sent as it is.

psycopg2 writes values into the statement text on the client; in ``EXECUTE`` they are the
same literals, each cast to the type PostgreSQL inferred for its parameter.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import psycopg2.errors
import psycopg2.extensions

from geo.sql import Query

REPEATS = 3  # times a pool sees a text before its connections prepare it
KEPT = 128  # statements prepared on one connection
SEEN = 4096  # texts a pool counts
PARAMETER = re.compile(r"%\((\w+)\)s")


class PreparingConnection(psycopg2.extensions.connection):
    """A connection that knows the statements prepared on it: by text, the name and the
    ``EXECUTE`` that runs it, least recently used first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statements: OrderedDict[str, tuple[str, str]] = OrderedDict()


class Preparer:
    """Which texts a pool prepares, and how a query is sent on a connection."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._refused: set[str] = set()
        self._counter = 0

    def sent(self, conn: PreparingConnection, query: Query) -> tuple[str, Mapping[str, Any]]:
        """The text and values to send for ``query`` on ``conn``."""
        kept = conn.statements.get(query.sql)
        if kept is not None:
            conn.statements.move_to_end(query.sql)
            return kept[1], query.params
        if query.sql in self._refused or not self._repeated(query.sql):
            return query.sql, query.params
        self._counter += 1
        name = f"allimi_{self._counter}"
        text, names = _numbered(query.sql)
        values = ", ".join(f"%({n})s" for n in names)
        execute = f"EXECUTE {name}" + (f"({values})" if names else "")
        prologue = ""
        if len(conn.statements) >= KEPT:
            _, (oldest, _) = conn.statements.popitem(last=False)
            prologue = f"DEALLOCATE {oldest}; "
        conn.statements[query.sql] = (name, execute)
        # the text goes in as it is, its percent signs doubled for psycopg2's formatting
        return f"{prologue}PREPARE {name} AS {text.replace('%', '%%')}; {execute}", query.params

    def retried(self, conn: PreparingConnection, query: Query, exc: BaseException) -> bool:
        """Whether ``query``, answered ``exc`` on ``conn``, is to be sent again as it is: when
        PostgreSQL could not prepare it (remembered: it is never prepared again), or when the
        connection lost the statement (a ``PREPARE`` cut short: prepared again next time)."""
        if conn.statements.get(query.sql) is None:
            return False
        if isinstance(exc, psycopg2.errors.InvalidSqlStatementName):
            conn.statements.pop(query.sql)
            return True
        if not _not_preparable(exc):
            return False
        conn.statements.pop(query.sql)
        self._refused.add(query.sql)
        return True

    def _repeated(self, sql: str) -> bool:
        count = self._seen.pop(sql, 0) + 1
        self._seen[sql] = count
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        return count >= REPEATS


def _numbered(sql: str) -> tuple[str, list[str]]:
    """``sql`` with its ``%(name)s`` parameters as ``$1``, ``$2``... and ``%%`` as ``%``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return PARAMETER.sub(number, sql).replace("%%", "%"), names


def _not_preparable(exc: BaseException) -> bool:
    """A parameter PostgreSQL could not type without its value (SQLSTATE class 42)."""
    return isinstance(exc, psycopg2.Error) and (exc.pgcode or "").startswith("42")
