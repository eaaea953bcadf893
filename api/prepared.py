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
same literals. Each parameter is declared with the type PostgreSQL gives that literal (an
integer is ``integer`` while it fits, a float ``numeric``...), so a prepared statement answers
exactly as its text would: a value never takes the narrower type of the column it meets (an
id beyond ``integer`` stays a miss, 1.4 is not rounded to 1). A statement is kept per text and
types.
"""

from __future__ import annotations

import datetime
import decimal
import functools
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
        self.statements: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()


class Preparer:
    """Which texts a pool prepares, and how a query is sent on a connection."""

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._refused: set[tuple[str, str]] = set()
        self._counter = 0

    def sent(self, conn: PreparingConnection, query: Query) -> tuple[str, Mapping[str, Any]]:
        """The text and values to send for ``query`` on ``conn``."""
        key = _key(query)
        kept = conn.statements.get(key)
        if kept is not None:
            conn.statements.move_to_end(key)
            return kept[1], query.params
        if key in self._refused or not self._repeated(key):
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
        conn.statements[key] = (name, execute)
        declared = f"({key[1]})" if names else ""
        # the text goes in as it is, its percent signs doubled for psycopg2's formatting
        prepare = f"PREPARE {name}{declared} AS {text.replace('%', '%%')}"
        return f"{prologue}{prepare}; {execute}", query.params

    def retried(self, conn: PreparingConnection, query: Query, exc: BaseException) -> bool:
        """Whether ``query``, answered ``exc`` on ``conn``, is to be sent again as it is: when
        PostgreSQL could not prepare it (remembered: it is never prepared again), or when the
        connection lost the statement (a ``PREPARE`` cut short: prepared again next time)."""
        key = _key(query)
        if key not in conn.statements:
            return False
        if isinstance(exc, psycopg2.errors.InvalidSqlStatementName):
            conn.statements.pop(key)
            return True
        if not _not_preparable(exc):
            return False
        conn.statements.pop(key)
        self._refused.add(key)
        return True

    def _repeated(self, key: tuple[str, str]) -> bool:
        count = self._seen.pop(key, 0) + 1
        self._seen[key] = count
        if len(self._seen) > SEEN:
            self._seen.popitem(last=False)
        return count >= REPEATS


def _key(query: Query) -> tuple[str, str]:
    """What a statement is kept by: its text and its parameters' types."""
    return query.sql, ", ".join(_literal_type(query.params[n]) for n in _numbered(query.sql)[1])


@functools.lru_cache(maxsize=SEEN)
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` with its ``%(name)s`` parameters as ``$1``, ``$2``... and ``%%`` as ``%``."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return PARAMETER.sub(number, sql).replace("%%", "%"), tuple(names)


def _not_preparable(exc: BaseException) -> bool:
    """A parameter PostgreSQL could not type without its value (SQLSTATE class 42)."""
    return isinstance(exc, psycopg2.Error) and (exc.pgcode or "").startswith("42")


INT4 = 2**31
INT8 = 2**63
TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    ((float, decimal.Decimal), "numeric"),
    (datetime.datetime, "timestamp"),  # or timestamptz: below
    (datetime.date, "date"),
    (datetime.time, "time"),
    (datetime.timedelta, "interval"),
    ((bytes, bytearray, memoryview), "bytea"),
)


def _literal_type(value: Any) -> str:
    """The type PostgreSQL gives ``value`` as psycopg2 writes it; ``unknown`` (inferred from
    where it stands, as for a quoted literal) for text, NULL and the rest."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):  # a negative literal is its magnitude's type, negated
        return "integer" if abs(value) < INT4 else "bigint" if abs(value) < INT8 else "numeric"
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return "timestamptz"
    if isinstance(value, list) and value:  # ARRAY[...]: its elements' common type
        inner = {_literal_type(v) for v in value}
        if inner <= {"integer", "bigint"}:
            return "bigint[]" if "bigint" in inner else "integer[]"
        return f"{inner.pop()}[]" if len(inner) == 1 and "unknown" not in inner else "unknown"
    return next((name for kind, name in TYPES if isinstance(value, kind)), "unknown")
