"""SQL statements as values: text in psycopg2's ``%(name)s`` style with its bound parameters.

``geo`` and ``layers`` build statements; they do not run them. The API runs them on its event
loop (``api.database``); anything else hands ``sql`` and ``params`` to a psycopg2 cursor or to
SQLAlchemy's ``Connection.exec_driver_sql``. Either way the driver receives the same text and
parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
