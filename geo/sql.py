"""SQL statements as values: text in psycopg2's ``%(name)s`` style with its bound parameters.

``geo`` and ``layers`` build statements; they do not run them. The API runs them on its event
loop (``api.database``); anything else hands ``sql`` and ``params`` to a psycopg2 cursor or to
SQLAlchemy's ``Connection.exec_driver_sql``. Either way the driver receives the same text and
parameters.

Statements are glued from parts with ``compose`` and ``+``: the parts' parameters are merged,
and two parts giving one name two different values are refused, so a fragment can never
silently take another's value. Input never becomes SQL text: it travels as parameters, and the
only names written into the text are declared ones, checked by ``identifier``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Lists count their matches exactly up to this many and no further: past it, a count would read
# a big city's every row for a number nobody pages through
COUNT_UP_TO = 10_000


def identifier(name: str) -> str:
    """``name`` when it is a plain SQL identifier (lower case letters, digits, ``_``), safe to
    write into a statement unquoted; ValueError otherwise."""
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier")
    return name


def merged(*params: Mapping[str, Any]) -> dict[str, Any]:
    """The union of parameter sets; ValueError naming a parameter given two different values."""
    out: dict[str, Any] = {}
    for given in params:
        for name, value in given.items():
            if name in out and out[name] != value:
                raise ValueError(f"parameter {name!r} has two values: {out[name]!r} and {value!r}")
            out[name] = value
    return out


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)

    def __add__(self, other: Query) -> Query:
        return Query(self.sql + other.sql, merged(self.params, other.params))

    def join(self, parts: Iterable[Query]) -> Query:
        """The parts one after another, with this query's text (say ``" AND "``) between."""
        parts = list(parts)
        return Query(
            self.sql.join(p.sql for p in parts), merged(self.params, *(p.params for p in parts))
        )

    @staticmethod
    def compose(
        template: str, params: Mapping[str, Any] | None = None, /, **parts: Query | str
    ) -> Query:
        """``template`` with each ``{name}`` replaced by part ``name``'s SQL (a ``str`` part is
        SQL text made in ``geo`` or ``layers``, never input), with ``params`` and the parts'
        parameters merged. Literal braces in the template are doubled, as for ``str.format``."""
        queries = {k: v if isinstance(v, Query) else Query(v) for k, v in parts.items()}
        return Query(
            template.format(**{k: q.sql for k, q in queries.items()}),
            merged(params or {}, *(q.params for q in queries.values())),
        )
