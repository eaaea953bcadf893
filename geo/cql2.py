"""CQL2 filters (OGC 21-065r2) as SQL conditions with bound parameters.

A filter comes as CQL2 text or CQL2 JSON; the ``cql2`` library parses either into CQL2 JSON,
which ``condition`` walks. It takes comparisons of a queryable property with a literal:
``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=`` and ``IS NULL`` (Basic CQL2), ``LIKE``, ``BETWEEN``
and ``IN`` (advanced comparison operators), and ``S_INTERSECTS`` of the geometry with a literal
geometry or ``BBOX`` (basic spatial functions, with every geometry type), joined by ``AND``,
``OR`` and ``NOT``. Anything else (a property that is not queryable, a function, arithmetic,
two properties or two literals compared) is a ``FilterError``. The only names written into
the SQL are the declared columns; every literal travels as a parameter.

Dates and timestamps are read here too, for CQL2's ``DATE``/``TIMESTAMP`` literals and for the
``datetime`` parameter of OGC API Features, which writes them the same way (RFC 3339).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from typing import Any

import cql2
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from geo.filters import BBox, envelope_sql
from geo.sql import Query, identifier

LANGUAGES = ("cql2-text", "cql2-json")
# Characters of a filter: it travels in a URL, percent-encoded, up to 12 bytes a character,
# and uvicorn's parser refuses a request line much past 64 KB
MAX_LENGTH = 4000
# The parser recurses into brackets, and deep enough nesting would overflow its stack: deeper
# filters are refused before they reach it. Conditions nest at most MAX_NESTING levels.
MAX_BRACKETS = 40
MAX_NESTING = 20
MAX_EXPONENT = 100  # numbers from 1e-100 to 1e100, which PostgreSQL's numeric holds
# The kind of a queryable: what it compares with
KINDS = ("string", "number", "integer", "boolean", "date", "timestamp", "geometry")
# Each comparison, and what it is with its two sides swapped (SQL writes them alike)
MIRRORED = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
GEOMETRIES = (
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon",
    "GeometryCollection",
)  # fmt: skip

# RFC 3339 dates (years 0001 to 9999, leap days where the Gregorian calendar has them) and
# times with a zone: exactly what ``parse_date`` and ``parse_timestamp`` take, so that the
# OpenAPI document can state it as a pattern. Digits are ASCII ([0-9]: Python's \d takes any
# script's digits).
YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
LEAP = r"(?:0[48]|[2468][048]|[13579][26])"
LEAP_DAY = rf"(?:[0-9]{{2}}{LEAP}|{LEAP}00)-02-29"
DATE = rf"(?:{YEAR}-{MONTH_DAY}|{LEAP_DAY})"
CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
TIME = rf"T{CLOCK}:[0-5][0-9](?:\.[0-9]{{1,9}})?(?:Z|[+-]{CLOCK})"
TIMESTAMP = rf"{DATE}{TIME}"


class FilterError(ValueError):
    """A filter this API does not take; the message says why."""


@dataclass(frozen=True)
class Queryable:
    """A property a filter may name: the column of the filtered rows it reads, and its kind."""

    column: str
    kind: str

    def __post_init__(self) -> None:
        identifier(self.column)
        if self.kind not in KINDS:
            raise ValueError(f"{self.kind!r} is not a queryable kind; known: {', '.join(KINDS)}")


def parse_date(text: str) -> date:
    """A calendar date written ``YYYY-MM-DD``; ValueError otherwise."""
    if not re.fullmatch(DATE, text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return date.fromisoformat(text)


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 instant with its zone (``2026-03-01T09:30:00Z``); ValueError otherwise."""
    if not re.fullmatch(TIMESTAMP, text):
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with a zone")
    return datetime.fromisoformat(text)


def depth(text: str) -> int:
    """How deep the brackets of a filter nest, outside its quoted strings."""
    deepest = level = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            level += 1
            deepest = max(deepest, level)
        elif char in ")]}":
            level -= 1
    return deepest


def parse(text: str, language: str = "cql2-text") -> Any:
    """The CQL2 JSON of a filter written in ``language`` (``cql2-text`` or ``cql2-json``)."""
    if language not in LANGUAGES:
        raise FilterError(f"filter-lang {language!r} is not one of {', '.join(LANGUAGES)}.")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"A filter has at most {MAX_LENGTH} characters.")
    if depth(text) > MAX_BRACKETS:
        raise FilterError(f"A filter nests at most {MAX_BRACKETS} levels of brackets.")
    try:
        expression = cql2.parse_text(text) if language == "cql2-text" else cql2.parse_json(text)
        return expression.to_json()
    except (cql2.ParseError, ValueError) as error:
        raise FilterError(f"The filter is not {language}: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    """The parser's message in one line: where, and what it expected."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    where = next((line[4:] for line in lines if line.startswith("--> ")), None)
    what = next((line[2:] for line in lines if line.startswith("= ")), lines[-1] if lines else "")
    return f"at {where}: {what}" if where else what


def condition(
    tree: Any, queryables: Mapping[str, Queryable], alias: str = "s", prefix: str = "f"
) -> Query:
    """The SQL condition over rows aliased ``alias`` of a filter's CQL2 JSON, its parameters
    named ``prefix`` and a number."""
    return _Compiler(queryables, identifier(alias), identifier(prefix)).condition(tree, 0)


def equals(
    name: str, value: str, queryables: Mapping[str, Queryable], alias: str = "s", prefix: str = "q"
) -> Query:
    """``name = value`` for a queryable given as a query parameter (``status=planned``), the
    value read as the queryable's kind."""
    queryable = queryables[name]
    literal: Any = value
    if queryable.kind in ("number", "integer"):
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", value):
            raise FilterError(f"{name} is a number, not {value!r}.")
        literal = Decimal(value)
    elif queryable.kind == "boolean":
        if value not in ("true", "false"):
            raise FilterError(f"{name} is true or false, not {value!r}.")
        literal = value == "true"
    elif queryable.kind in ("date", "timestamp"):
        literal = {queryable.kind: value}
    tree = {"op": "=", "args": [{"property": name}, literal]}
    return _Compiler(queryables, identifier(alias), identifier(prefix)).condition(tree, 0)


class _Compiler:
    def __init__(self, queryables: Mapping[str, Queryable], alias: str, prefix: str) -> None:
        self.queryables = queryables
        self.alias = alias
        self.prefix = prefix
        self.numbers = count()

    def param(self, value: Any) -> tuple[str, dict[str, Any]]:
        name = f"{self.prefix}{next(self.numbers)}"
        return f"%({name})s", {name: value}

    def condition(self, node: Any, level: int) -> Query:
        if level > MAX_NESTING:
            raise FilterError(f"A filter nests at most {MAX_NESTING} levels of conditions.")
        if not (isinstance(node, dict) and isinstance(node.get("op"), str)):
            raise FilterError(
                f"{_shown(node)} is not a condition: a filter compares queryables with values."
            )
        op, args = node["op"], node.get("args")
        if not isinstance(args, list):
            raise FilterError(f"{op} needs its arguments.")
        if op in ("and", "or") and len(args) >= 2:
            parts = [self.condition(arg, level + 1) for arg in args]
            return Query("(") + Query(f" {op.upper()} ").join(parts) + Query(")")
        if op == "not" and len(args) == 1:
            return Query("NOT (") + self.condition(args[0], level + 1) + Query(")")
        if op in MIRRORED and len(args) == 2:
            return self.comparison(op, *args)
        if op == "like" and len(args) == 2:
            column, kind = self.property(args[0], "string")
            pattern, params = self.param(self.literal(args[1], kind, args[0]["property"]))
            return Query(f"{column} LIKE {pattern}", params)
        if op == "between" and len(args) == 3:
            column, kind = self.property(args[0], "number", "integer", "date", "timestamp")
            low, lows = self.param(self.literal(args[1], kind, args[0]["property"]))
            high, highs = self.param(self.literal(args[2], kind, args[0]["property"]))
            return Query(f"{column} BETWEEN {low} AND {high}", lows | highs)
        if op == "in" and len(args) == 2 and isinstance(args[1], list):
            column, kind = self.property(args[0], *(k for k in KINDS if k != "geometry"))
            name = args[0]["property"]
            values, params = self.param([self.literal(v, kind, name) for v in args[1]])
            return Query(f"{column} = ANY({values})", params)
        if op == "isNull" and len(args) == 1:
            column, _ = self.property(args[0], *KINDS)
            return Query(f"{column} IS NULL")
        if op == "s_intersects" and len(args) == 2:
            return self.intersects(*args)
        raise FilterError(
            f"{op} with {len(args)} argument(s) is not taken: a filter compares queryables "
            "with values (=, <>, <, <=, >, >=, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS), "
            "joined by AND, OR and NOT."
        )

    def comparison(self, op: str, left: Any, right: Any) -> Query:
        if _is_property(right) and not _is_property(left):
            op, left, right = MIRRORED[op], right, left
        kinds = ("string", "number", "integer", "date", "timestamp") + (
            ("boolean",) if op in ("=", "<>") else ()
        )
        column, kind = self.property(left, *kinds)
        value, params = self.param(self.literal(right, kind, left["property"]))
        return Query(f"{column} {op} {value}", params)

    def property(self, node: Any, *kinds: str) -> tuple[str, str]:
        """The column of a queryable property named by ``node``, one of ``kinds``."""
        if not _is_property(node):
            raise FilterError(
                f"{_shown(node)} is not a property: a filter compares a queryable property "
                "with a value."
            )
        name = node["property"]
        queryable = self.queryables.get(name)
        if queryable is None:
            raise FilterError(
                f"{name!r} is not a queryable of this collection; its queryables are "
                f"{', '.join(self.queryables)}."
            )
        if queryable.kind not in kinds:
            raise FilterError(f"{name} is a {queryable.kind}: it cannot be used that way here.")
        return f"{self.alias}.{queryable.column}", queryable.kind

    def literal(self, node: Any, kind: str, name: str) -> Any:
        """The value of a literal compared with the ``kind`` queryable ``name``."""
        if isinstance(node, str) and kind == "string":
            if "\x00" in node:
                raise FilterError("A text in a filter cannot hold NUL.")
            return node
        if isinstance(node, bool):
            if kind == "boolean":
                return node
        elif isinstance(node, int | float | Decimal) and kind in ("number", "integer"):
            number = Decimal(repr(node)) if isinstance(node, float) else Decimal(node)
            if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
                raise FilterError(
                    f"{name} compares with numbers of 1e-{MAX_EXPONENT} to 1e{MAX_EXPONENT}."
                )
            return number
        elif isinstance(node, dict) and set(node) == {"date"} and kind == "date":
            return _temporal(parse_date, node["date"], name)
        elif isinstance(node, dict) and set(node) == {"timestamp"} and kind == "timestamp":
            return _temporal(parse_timestamp, node["timestamp"], name)
        hints = {
            "string": "a text in single quotes",
            "number": "a number",
            "integer": "a number",
            "boolean": "TRUE or FALSE",
            "date": "DATE('YYYY-MM-DD')",
            "timestamp": "TIMESTAMP('YYYY-MM-DDThh:mm:ssZ')",
        }
        raise FilterError(f"{name} compares with {hints[kind]}, not {_shown(node)}.")

    def intersects(self, left: Any, right: Any) -> Query:
        if _is_property(right) and not _is_property(left):
            left, right = right, left
        column, _ = self.property(left, "geometry")
        if isinstance(right, dict) and set(right) == {"bbox"}:
            boxes, params = envelope_sql(
                _bbox(right["bbox"]), f"{self.prefix}{next(self.numbers)}_"
            )
            hits = [f"({column} && {box} AND ST_Intersects({column}, {box}))" for box in boxes]
            return Query(f"({' OR '.join(hits)})", params)
        wkb, params = self.param(_geometry(right))
        return Query(f"ST_Intersects({column}, ST_GeomFromWKB({wkb}, 4326))", params)


def _is_property(node: Any) -> bool:
    return (
        isinstance(node, dict) and set(node) == {"property"} and isinstance(node["property"], str)
    )


def _shown(node: Any) -> str:
    text = json.dumps(node, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _temporal(read: Any, text: Any, name: str) -> Any:
    try:
        return read(text)
    except (ValueError, TypeError) as error:
        raise FilterError(f"{name}: {error}.") from None


def _bbox(numbers: Any) -> BBox:
    """A CQL2 BBOX (2D or 3D) as west, south, east, north in CRS84."""
    if not (
        isinstance(numbers, list)
        and len(numbers) in (4, 6)
        and all(isinstance(n, int | float) and math.isfinite(n) for n in numbers)
    ):
        raise FilterError("BBOX takes 4 numbers (or 6, with heights).")
    west, south, east, north = (
        numbers if len(numbers) == 4 else [numbers[0], numbers[1], numbers[3], numbers[4]]
    )
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise FilterError(
            "BBOX is west, south, east, north in CRS84: longitudes in [-180, 180], latitudes in "
            "[-90, 90], south to north (a west edge east of the east edge crosses 180°)."
        )
    return (float(west), float(south), float(east), float(north))


def _geometry(node: Any) -> bytes:
    """A literal geometry (CQL2 JSON writes it as GeoJSON) as WKB, once checked to be a valid
    geometry of longitudes and latitudes."""
    if not (isinstance(node, dict) and node.get("type") in GEOMETRIES):
        raise FilterError(f"{_shown(node)} is not a geometry (or BBOX) to intersect with.")
    try:
        geometry = shape(node)
    except (
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        shapely.errors.ShapelyError,
    ):
        raise FilterError(f"{_shown(node)} is not a geometry that can be read.") from None
    if not geometry.is_valid:
        raise FilterError(f"The filter's geometry is not valid: {explain_validity(geometry)}.")
    west, south, east, north = geometry.bounds if not geometry.is_empty else (0, 0, 0, 0)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise FilterError("A filter's geometry is in CRS84: longitude, latitude in degrees.")
    return bytes(geometry.wkb)
