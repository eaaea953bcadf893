"""Rendering a layer: Mapbox Vector Tiles with ST_AsMVT, or GeoJSON assembled in SQL.

Both share the same trick for dense views: when more than ``layer.cluster_above`` features fall
in the tile (or view), they are aggregated on a grid of ``GRID`` x ``GRID`` cells into points
that carry the count and the dominant style value, so the response stays small while every
feature still shows its presence. Counting stops at the threshold, so the test is cheap.
"""

from __future__ import annotations

from typing import Any

from geo.disclosure import COORDINATE_DECIMALS
from geo.filters import BBox, ProjectFilter, envelope_sql, envelopes
from geo.map_tables import CELL_GRID
from geo.sql import Query
from layers import prepared
from layers.base import Layer

EXTENT = 4096
BUFFER = 64
GRID = CELL_GRID  # cluster cells per tile side
VIEW_GRID = 14  # cluster cells across a requested view (about 60 px each on a laptop)


MVT_GEOM = f"ST_AsMVTGeom(ST_Transform({{g}}, 3857), box.e, {EXTENT}, {BUFFER}, true)"
GEOJSON = f"ST_AsGeoJSON({{g}}, {COORDINATE_DECIMALS})::json"
CELL = "floor((s.c{a} - ST_{A}Min(box.g)) / nullif(ST_{A}Max(box.g) - ST_{A}Min(box.g), 0) * {n})"
# ``{hit}`` tests a feature against the box; every template is filled by ``Query.compose``.
COUNT = (
    "(SELECT count(*) FROM (SELECT 1 FROM ({source}) c, box WHERE {hit} "
    "LIMIT %(cluster_above)s + 1) n)"
)
CELLS = """
        SELECT min(s.id) AS id, count(*) AS count,
               mode() WITHIN GROUP (ORDER BY s.{prop}) AS {prop},
               ST_SetSRID(ST_MakePoint(avg(s.cx), avg(s.cy)), 4326) AS centre
        FROM (SELECT c.id, c.{prop},
                     (ST_XMin(c.geom) + ST_XMax(c.geom)) / 2 AS cx,
                     (ST_YMin(c.geom) + ST_YMax(c.geom)) / 2 AS cy
              FROM ({source}) c, box WHERE {hit}) s, box
        WHERE {condition}
        GROUP BY {x}, {y}"""
TRANSLATED = "s.{p} ->> (SELECT languages[1] FROM jurisdiction) AS {p}"
TILE_FEATURES = """
        SELECT s.id, {props}, NULL::bigint AS count, {geom} AS geom
        FROM ({source}) s, box WHERE s.geom && box.g"""
TILE_CLUSTERS = """
            {features} AND {few}
            UNION ALL
            SELECT NULL, {nulls}, k.count, {geom}
            FROM ({cells}) k, box"""
TILE = """
        WITH box AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e,
                            ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS g)
        SELECT ST_AsMVT(t, %(layer)s, {extent}, 'geom', 'id')
        FROM ({features}) t WHERE t.geom IS NOT NULL"""
CITY_BOX = "(SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM districts)"
BOX = "SELECT {columns}, ST_Collect(ARRAY[{boxes}]) AS g"
ROWS = """
        SELECT s.id, json_build_object('type', 'Feature', 'id', s.id,
               'geometry', {geom},
               'properties', json_build_object({props})) AS f
        FROM ({source}) s, box WHERE {hit}
        ORDER BY s.id LIMIT %(limit)s"""
CLUSTER_ROWS = """
            SELECT * FROM ({rows}) r WHERE {few}
            UNION ALL
            SELECT k.id, json_build_object('type', 'Feature',
                   'geometry', {geom},
                   'properties', json_build_object('cluster', true, 'count', k.count,
                                                   '{prop}', k.{prop}))
            FROM ({cells}) k"""
COLLECTION = """
        WITH box AS ({box})
        SELECT json_build_object('type', 'FeatureCollection',
               'features', coalesce(json_agg(r.f ORDER BY r.id), '[]'::json))::text
        FROM ({rows}) r"""


def _clustering(layer: Layer, hit: str, source: Query) -> tuple[Query, Query]:
    """Conditions choosing the features branch or the clusters branch of a query; ``hit``
    tests a feature ``{g}`` against the box."""
    count = Query.compose(
        COUNT, {"cluster_above": layer.cluster_above}, source=source, hit=hit.format(g="c.geom")
    )
    return (
        Query.compose("{count} <= %(cluster_above)s", count=count),
        Query.compose("{count} > %(cluster_above)s", count=count),
    )


def _cells(layer: Layer, hit: str, grid: int, source: Query, condition: Query) -> Query:
    """Grid clusters of the features in the box: cell centroid (lon, lat), count, style value.
    A box with no width or height (a line, a point) is one cell across that way."""
    return Query.compose(
        CELLS,
        prop=layer.style.property,
        source=source,
        hit=hit.format(g="c.geom"),
        condition=condition,
        x=CELL.format(a="x", A="X", n=grid),
        y=CELL.format(a="y", A="Y", n=grid),
    )


def tile(layer: Layer, z: int, x: int, y: int, where: ProjectFilter) -> Query:
    """The layer's features in tile z/x/y as an MVT (bytea; NULL or empty when there are none):
    from its map tables when it has them and they can answer ``where`` (its rows, or its
    source's features and its stored clusters), else from its source."""
    at = prepared.TileOf(layer.id, layer.style.property, z, x, y, layer.cluster_above or 0, EXTENT)
    if layer.prepared and layer.cells and layer.cluster_above:
        ready = prepared.tile(layer.prepared, layer.cells, where, at, buffer=BUFFER)
        if ready is not None:
            return ready
    source = layer.source(where)
    props = ", ".join(
        TRANSLATED.format(p=p) if p in layer.translated else f"s.{p}" for p in layer.properties
    )
    features = Query.compose(
        TILE_FEATURES, props=props, geom=MVT_GEOM.format(g="s.geom"), source=source
    )
    if layer.cells and layer.cluster_above:
        stored = prepared.stored_tile(
            layer.cells, where, at, features=features, properties=list(layer.properties)
        )
        if stored is not None:
            return stored
    if layer.cluster_above:
        few, many = _clustering(layer, "{g} && box.g", source)
        nulls = ", ".join(
            f"k.{p}" if p == layer.style.property else f"NULL AS {p}" for p in layer.properties
        )
        features = Query.compose(
            TILE_CLUSTERS,
            features=features,
            few=few,
            nulls=nulls,
            geom=MVT_GEOM.format(g="k.centre"),
            cells=_cells(layer, "{g} && box.g", GRID, source, many),
        )
    return Query.compose(
        TILE,
        {"z": z, "x": x, "y": y, "layer": layer.id},
        extent=str(EXTENT),
        features=features,
    )


def features(layer: Layer, where: ProjectFilter, bbox: BBox | None, limit: int) -> Query:
    """The layer's features in ``bbox`` (or everywhere) as a GeoJSON FeatureCollection (text)."""
    source = layer.source(where)
    # One envelope, or two across the antimeridian: ``g`` covers them, ``hit`` tests each.
    boxes, box_params = envelope_sql(bbox) if bbox else ([CITY_BOX], {})
    box = Query.compose(
        BOX,
        box_params,
        columns=", ".join(f"{box} AS e{i}" for i, box in enumerate(boxes)),
        boxes=", ".join(boxes),
    )
    hit = " OR ".join(f"{{g}} && box.e{i}" for i in range(len(boxes)))
    hit = f"({hit})" if len(boxes) > 1 else hit

    def rows_where(condition: str) -> Query:
        return Query.compose(
            ROWS,
            {"limit": limit},
            geom=GEOJSON.format(g="s.geom"),
            props=", ".join(f"'{p}', s.{p}" for p in layer.properties),
            source=source,
            hit=f"{hit.format(g='s.geom')} AND {condition}",
        )

    if layer.cells and layer.cluster_above and bbox and len(envelopes(bbox)) == 1:
        ready = prepared.view(
            layer.cells,
            where,
            prop=layer.style.property,
            bbox=bbox,
            across=VIEW_GRID,
            box=box,
            rows=rows_where,
            cluster_above=layer.cluster_above,
            decimals=COORDINATE_DECIMALS,
        )
        if ready is not None:
            return ready
    rows = rows_where("true")
    if layer.cluster_above:
        few, many = _clustering(layer, hit, source)
        rows = Query.compose(
            CLUSTER_ROWS,
            rows=rows,
            few=few,
            geom=GEOJSON.format(g="k.centre"),
            prop=layer.style.property,
            cells=_cells(layer, hit, VIEW_GRID, source, many),
        )
    return Query.compose(COLLECTION, box=box, rows=rows)


EXTENT_OF_CITY = Query(
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
    "(SELECT ST_Extent(geom) AS e FROM districts WHERE level = 1) s"
)
WORLD = (-180.0, -85.0, 180.0, 85.0)


def bounds(row: tuple[float | None, ...] | None) -> tuple[float, float, float, float]:
    """The city's bounds from a row of ``EXTENT_OF_CITY``; the world when it has no districts."""
    if row is None or row[0] is None:
        return WORLD
    minx, miny, maxx, maxy = (float(v) for v in row if v is not None)
    return (minx, miny, maxx, maxy)


def tilejson(
    layer: Layer, titles: dict[str, str], tiles: str, bounds: tuple[float, float, float, float]
) -> dict[str, Any]:
    """TileJSON 3.0 of ``layer``, named in the city's default language (``titles``' first)."""
    centre = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 11]
    fields = dict(layer.properties)
    if layer.cluster_above:
        fields["count"] = "Number"
    return {
        "tilejson": "3.0.0",
        "name": next(iter(titles.values()), layer.id),
        "description": " / ".join(titles.values()),
        "tiles": [tiles],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "bounds": list(bounds),
        "center": centre,
        "vector_layers": [
            {"id": layer.id, "fields": fields, "minzoom": layer.minzoom, "maxzoom": layer.maxzoom}
        ],
    }
