"""SQL statements as values: text in psycopg2's ``%(name)s`` style with its bound parameters.

``geo`` and ``layers`` build statements; they do not run them. The API runs them on its event
loop (``api.database``); scripts, tests and benchmarks run them on a SQLAlchemy connection with
``first`` and ``scalar``. Either way the driver receives the same text and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


def first(conn: Connection, query: Query) -> tuple[Any, ...] | None:
    """The first row of ``query`` on a SQLAlchemy connection, or None."""
    row = conn.exec_driver_sql(query.sql, query.params).first()
    return tuple(row) if row is not None else None


def scalar(conn: Connection, query: Query) -> Any:
    """The first column of the first row of ``query``, or None when there is no row."""
    row = first(conn, query)
    return row[0] if row is not None else None
