"""The layers as collections of OGC API Features: their documents, extents and queryables.

Links are made by the caller (``href``): the documents only say what each links to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from geo.earth import METRES_PER_DEGREE
from geo.filters import ProjectFilter
from geo.sql import Query
from layers.base import Layer
from layers.items import COUNT_UP_TO

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
HTML = "text/html"
JSON = "application/json"
EXTENT = """
        SELECT %({name})s, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), first, last
        FROM (SELECT ST_Extent(s.geom) AS e, {first} AS first, {last} AS last
              FROM ({source}) s) x"""
# The city's districts' extent, reaching ``margin_m`` beyond (in degrees at its farthest latitude)
CITY_EXTENT = f"""
        SELECT %({{name}})s, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), NULL::date, NULL::date
        FROM (SELECT ST_Expand(c.e, %(margin_m)s / ({METRES_PER_DEGREE} * greatest(
                  cos(radians(greatest(abs(ST_YMin(c.e)), abs(ST_YMax(c.e))))), 0.01))) AS e
              FROM (SELECT ST_Extent(geom) AS e FROM districts WHERE level = 1) c) x"""  # noqa: S608 - a constant
HTML_F = {"f": "html"}
# (path, query) -> the link's URL, as the API makes links
Href = Callable[[str, dict[str, str] | None], str]
Extent = tuple[tuple[float, float, float, float] | None, tuple[date, date] | None]
SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp": {"type": "string", "format": "date-time"},
    "geometry": {"format": "geometry-any"},
}


def link(rel: str, media_type: str, title: str, href: str) -> dict[str, str]:
    """A link of a document (OGC API Common): what it is to this one, its type, its URL."""
    return {"rel": rel, "type": media_type, "title": title, "href": href}


def extents(layers: Iterable[Layer], margin_m: float) -> Query:
    """One row per layer: its id, the bbox of its features (NULLs when it has none; for a layer
    ``within_city``, the city's, ``margin_m`` beyond its districts) and the first and last day
    of their periods (NULLs when timeless)."""
    return Query(" UNION ALL ").join(
        Query.compose(
            CITY_EXTENT if layer.within_city else EXTENT,
            {f"layer_{layer.id}": layer.id, "margin_m": margin_m},
            name=f"layer_{layer.id}",
            first=f"min(s.{layer.period[0]})" if layer.period else "NULL::date",
            last=f"max(s.{layer.period[1]})" if layer.period else "NULL::date",
            source=layer.source(ProjectFilter()),
        )
        for layer in layers
    )


def read_extents(rows: Sequence[Sequence[Any]]) -> dict[str, Extent]:
    """The rows of ``extents`` by layer id."""
    return {
        row[0]: (
            None if row[1] is None else (row[1], row[2], row[3], row[4]),
            None if row[5] is None else (row[5], row[6]),
        )
        for row in rows
    }


def _moment(day: date, at: time, zone: ZoneInfo) -> str:
    """A day's first or last second in the city's time zone, as an RFC 3339 UTC instant."""
    return datetime.combine(day, at, zone).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def collection(
    layer: Layer, title: str, extent: Extent, timezone: str, href: Href
) -> dict[str, Any]:
    """The collection document of ``layer``, with its extent (bbox in CRS84, period in UTC)."""
    base = f"/ogc/collections/{layer.id}"
    bbox, period = extent
    spatial = {"bbox": [list(bbox)], "crs": CRS84} if bbox else None
    temporal = None
    if period:
        zone = ZoneInfo(timezone)
        first, last = _moment(period[0], time.min, zone), _moment(period[1], time(23, 59, 59), zone)
        temporal = {"interval": [[first, last]], "trs": GREGORIAN}
    return {
        "id": layer.id,
        "title": title,
        "description": f"{layer.description} numberMatched is given while at most "
        f"{COUNT_UP_TO:,} features match.",
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {k: v for k, v in (("spatial", spatial), ("temporal", temporal)) if v},
        "links": [
            link("self", JSON, "This collection", href(base, None)),
            link("alternate", HTML, "As HTML", href(base, HTML_F)),
            link("items", GEOJSON, "Features", href(f"{base}/items", None)),
            link("items", HTML, "Features as HTML", href(f"{base}/items", HTML_F)),
            link(QUERYABLES_REL, SCHEMA_JSON, "Queryables", href(f"{base}/queryables", None)),
        ],
    }


# What every collection may be filtered on, besides its properties
BUILT_IN: dict[str, dict[str, Any]] = {
    "id": {"title": "id", "description": "The feature's id", "type": "integer",
           "x-ogc-role": "id"},
    "geometry": {"title": "geometry", "description": "Where it is (CRS84)",
                 "x-ogc-role": "primary-geometry", **SCHEMAS["geometry"]},
}  # fmt: skip


def queryable_schema(layer: Layer, name: str) -> dict[str, Any]:
    """The JSON Schema of the queryable ``name`` of ``layer``."""
    if name in BUILT_IN:
        return BUILT_IN[name]
    attribute = layer.attributes[name]
    schema = {"title": name, "description": attribute.description, **SCHEMAS[attribute.kind]}
    if attribute.values:
        schema["enum"] = list(attribute.values)
    return schema


def parameter_queryables(layer: Layer) -> list[str]:
    """The queryables that are also query parameters of the items (all but the geometry)."""
    return [name for name, queryable in layer.queryables.items() if queryable.kind != "geometry"]


def queryables(layer: Layer, title: str, href: Href) -> dict[str, Any]:
    """The JSON Schema of what a filter of ``layer`` may name (OGC API Features Part 3)."""
    properties = {name: queryable_schema(layer, name) for name in layer.queryables}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href(f"/ogc/collections/{layer.id}/queryables", None),
        "type": "object",
        "title": title,
        "description": f"What a filter of {layer.id} may name: in CQL2 (filter) or as a query "
        "parameter (name=value).",
        "properties": properties,
        "additionalProperties": False,
    }
