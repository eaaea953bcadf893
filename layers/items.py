"""A layer's features as OGC API Features serves them: a page of items, or one item.

A page is one statement: the features as GeoJSON assembled by PostGIS, whether more follow and
where the next page starts (keyset paging on the feature id: a late page costs what the first
does), and ``numberMatched``, counted only up to ``COUNT_UP_TO`` so that a page of a big city
never pays a full count. The selection (bbox, datetime, property filters and CQL2, each a
condition over the layer's source rows ``s``) is the same SQL for the page and its count.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime

from geo.cql2 import DATE, TIME, parse_date, parse_timestamp
from geo.disclosure import COORDINATE_DECIMALS
from geo.filters import BBox, ProjectFilter, envelope_sql
from geo.sql import COUNT_UP_TO, Query
from layers.base import Layer

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**63 - 1
# OGC API Features' datetime: an instant, or an interval with ``..`` or nothing at an open end
INSTANT = rf"{DATE}(?:{TIME})?"
DATETIME = rf"^(?:{INSTANT}(?:/(?:{INSTANT}|\.\.)?)?|(?:\.\.)?/{INSTANT})$"
# A date, or an instant as a day of the city's calendar
DAY = "%({name})s::date"
DAY_OF = "(%({name})s::timestamptz AT TIME ZONE (SELECT timezone FROM jurisdiction))::date"

FEATURE = """json_build_object('type', 'Feature', 'id', s.id,
               'geometry', ST_AsGeoJSON(s.geom, {decimals})::json,
               'properties', json_build_object({properties}))"""
PAGE = """
        WITH page AS (
            SELECT s.* FROM ({source}) s WHERE {where}{after}
            ORDER BY s.id LIMIT %(limit)s + 1)
        SELECT
            (SELECT CASE WHEN count(*) <= %(count_up_to)s THEN count(*) END
             FROM (SELECT 1 FROM ({source}) s WHERE {where} LIMIT %(count_up_to)s + 1) n),
            (SELECT coalesce(json_agg({feature} ORDER BY s.id), '[]')::text
             FROM (SELECT * FROM page ORDER BY id LIMIT %(limit)s) s),
            (SELECT least(count(*), %(limit)s) FROM page),
            (SELECT CASE WHEN count(*) > %(limit)s THEN (array_agg(id ORDER BY id))[%(limit)s] END
             FROM page)"""
# The first page of a box: the box's few matches are read once, for the count and the page.
IN_BOX = """
        WITH matched AS MATERIALIZED (
            SELECT s.id FROM ({source}) s WHERE {where}
            ORDER BY s.id LIMIT %(count_up_to)s + 1),
        page AS MATERIALIZED (
            SELECT s.* FROM ({source}) s
            WHERE s.id IN (SELECT id FROM matched ORDER BY id LIMIT %(limit)s + 1))
        SELECT
            (SELECT CASE WHEN count(*) <= %(count_up_to)s THEN count(*) END FROM matched),
            (SELECT coalesce(json_agg({feature} ORDER BY s.id), '[]')::text
             FROM (SELECT * FROM page ORDER BY id LIMIT %(limit)s) s),
            (SELECT least(count(*), %(limit)s) FROM page),
            (SELECT CASE WHEN count(*) > %(limit)s THEN (array_agg(id ORDER BY id))[%(limit)s] END
             FROM page)"""
ONE = "SELECT {feature}::text FROM ({source}) s WHERE s.id = %(id)s"


@dataclass(frozen=True)
class Interval:
    """A request's ``datetime``: its first and last moment, each a date or an instant; None
    for an open end. An instant is an interval of one moment."""

    start: date | datetime | None
    end: date | datetime | None


def parse_datetime(text: str) -> Interval:
    """``datetime`` as OGC API Features writes it; ValueError for anything else."""
    if not re.fullmatch(DATETIME, text):
        raise ValueError(
            "datetime is an instant (2026-03-01 or 2026-03-01T09:00:00Z) or an interval of two, "
            "start/end, with '..' or nothing at an open end."
        )

    def moment(bound: str) -> date | datetime | None:
        if bound in ("", ".."):
            return None
        return parse_timestamp(bound) if "T" in bound else parse_date(bound)

    start, _, end = text.partition("/")
    return Interval(moment(start), moment(end if "/" in text else start))


@dataclass(frozen=True)
class Selection:
    """Which features a request asks for: a box, a period, and conditions over the source's
    rows ``s`` (property filters and CQL2, from ``geo.cql2``)."""

    bbox: BBox | None = None
    interval: Interval | None = None
    conditions: tuple[Query, ...] = ()

    def where(self, layer: Layer) -> Query:
        clauses = [Query("true"), *self.conditions]
        if self.bbox:
            boxes, params = envelope_sql(self.bbox, "box")
            hits = [f"(s.geom && {box} AND ST_Intersects(s.geom, {box}))" for box in boxes]
            clauses.append(Query(f"({' OR '.join(hits)})", params))
        if self.interval and layer.period:
            first, last = layer.period
            for column, compare, name, moment in (
                (last, ">=", "from_day", self.interval.start),
                (first, "<=", "to_day", self.interval.end),
            ):
                if moment is not None:
                    day = (DAY_OF if isinstance(moment, datetime) else DAY).format(name=name)
                    clauses.append(Query(f"s.{column} {compare} {day}", {name: moment}))
        return Query(" AND ").join(clauses)


def feature(layer: Layer) -> str:
    """SQL for the GeoJSON Feature of source row ``s``."""
    properties = ", ".join(f"'{name}', s.{name}" for name in layer.attributes)
    return FEATURE.format(decimals=COORDINATE_DECIMALS, properties=properties)


def page(layer: Layer, selection: Selection, limit: int, after: int | None = None) -> Query:
    """One row: how many features match (NULL past ``COUNT_UP_TO``), the page as a JSON array
    of Features, how many it holds, and the id of its last feature when more follow (NULL
    otherwise: the ``after`` of the next page)."""
    keyset = Query(" AND s.id > %(after)s", {"after": after}) if after is not None else ""
    return Query.compose(
        IN_BOX if selection.bbox and after is None else PAGE,
        {"limit": limit, "count_up_to": COUNT_UP_TO},
        source=layer.source(ProjectFilter()),
        where=selection.where(layer),
        after=keyset,
        feature=feature(layer),
    )


def one(layer: Layer, feature_id: int) -> Query:
    """The Feature (JSON text) of one id; no row when there is none."""
    return Query.compose(
        ONE, {"id": feature_id}, feature=feature(layer), source=layer.source(ProjectFilter())
    )


def encode_cursor(after: int) -> str:
    """The ``cursor`` of the page after the feature ``after``: opaque to clients."""
    return base64.urlsafe_b64encode(f"after:{after}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The feature id a cursor starts after; ValueError for one this API did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise ValueError(cursor) from None
    found = re.fullmatch(r"after:([1-9][0-9]{0,18})", text)
    if not found or int(found[1]) > MAX_ID:
        raise ValueError(cursor)
    return int(found[1])
