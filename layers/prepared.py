"""Drawing a layer from the map tables triggers keep (migrations 0017, 0021), not from its
source: its rows already in Web Mercator (``Prepared``), its clusters (``Cells``) or both.

When more features than the layer's ``cluster_above`` have their point in a tile (or view), it
reads the stored cells of that tile's zoom instead of a single feature: counting, choosing and
drawing the clusters of a city of a million projects (or tens of millions of conflicts) costs
as much as for a village. A tile finer than the stored cells reads its features, at most one
past the threshold, and only when that many meet it counts its cells from the rows. Filters the
tables cannot answer (``ProjectFilter.map_where``) draw from the layer's source
(``layers.render``).

A work too small to show at the tile's zoom (a short line far out) is drawn as its point.
A cluster stands for the features whose point lies in its cell: its count, the style value
most of them have (ties to the first), and the mean of their points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from geo.filters import BBox, ProjectFilter
from geo.map_tables import CELL_GRID, CELL_ZOOMS, cell_range, column_sql, row_sql
from geo.map_tables import CELL_SHIFT as SHIFT
from geo.sql import Query, identifier


@dataclass(frozen=True)
class Prepared:
    """A layer's map rows: ``rows`` (``id``, ``geom`` in EPSG:3857, the point ``x``, ``y`` in
    centimetres, and a column or expression over row ``f`` for each property)."""

    rows: str
    properties: dict[str, str]  # property -> SQL over the row ``f``
    held: tuple[str, ...]  # what ``ProjectFilter.map_where`` may use of ``rows``

    def __post_init__(self) -> None:
        identifier(self.rows)


@dataclass(frozen=True)
class Cells:
    """A layer's stored clusters: per tile zoom of ``CELL_ZOOMS``, rows of ``zoom``, ``x``,
    ``y``, ``cell``, the style property, ``count`` (the column counting the features whose
    point lies in the cell) and ``sum_x``, ``sum_y`` (of those points, in centimetres)."""

    table: str
    count: str

    def __post_init__(self) -> None:
        identifier(self.table)
        identifier(self.count)


# The cells of one tile (stored, or for a zoom without stored cells, counted from the rows
# whose point lies in the tile), each with its count, style value and mean point.
STORED_CELLS = """
        SELECT c.cell, c.{prop}, c.{count} AS n, c.sum_x, c.sum_y FROM {cells} c
        WHERE c.zoom = %(z)s AND c.x = %(x)s AND c.y = %(y)s AND {where}"""
COUNTED_CELLS = f"""
        SELECT (k.i & {CELL_GRID - 1}) + {CELL_GRID} * (k.j & {CELL_GRID - 1}) AS cell, f.{{prop}},
               count(*) AS n, sum(f.x) AS sum_x, sum(f.y) AS sum_y
        FROM {{rows}} f, box CROSS JOIN LATERAL (
            SELECT {column_sql("f.x", "%(cells_across)s")} AS i,
                   {row_sql("f.y", "%(cells_across)s")} AS j) k
        WHERE f.geom && box.e AND k.i >> {SHIFT} = %(x)s AND k.j >> {SHIFT} = %(y)s AND {{where}}
        GROUP BY 1, 2"""  # noqa: S608 - grid constants written in; the values are bound
CLUSTERS = """
        SELECT sum(k.n) AS count,
               (array_agg(k.{prop} ORDER BY k.n DESC, k.{prop}))[1] AS {prop},
               sum(k.sum_x::float8) / sum(k.n) / 100 AS cx,
               sum(k.sum_y::float8) / sum(k.n) / 100 AS cy
        FROM ({cells}) k GROUP BY {by}"""
# A feature's geometry in the tile; a work too small to show at its zoom, its point.
FEATURE_GEOM = """coalesce(
                       ST_AsMVTGeom(f.geom, box.e, {extent}, {buffer}, true),
                       ST_AsMVTGeom(ST_Point(f.x / 100.0, f.y / 100.0, 3857), box.e,
                                    {extent}, {buffer}, true))"""
# A tile's features from the map rows
ROW_FEATURES = """
            SELECT f.id, {props}, NULL::bigint AS count, {geom} AS geom
            FROM {rows} f, box WHERE f.geom && box.e AND {where}"""
# ``features`` (rows of id, properties, count and geometry over the CTE ``box``), or the
# clusters of the tile's stored cells
TILE = """
        WITH box AS ({box}),
        cells AS MATERIALIZED ({cells}),
        dense AS ({dense})
        SELECT ST_AsMVT(t, %(layer)s, {extent}, 'geom', 'id') FROM (
            SELECT * FROM ({features}) f WHERE NOT (SELECT yes FROM dense)
            UNION ALL
            SELECT NULL, {cluster_props}, k.count::bigint,
                   {cluster_geom}
            FROM ({clusters}) k, box WHERE (SELECT yes FROM dense)
        ) t WHERE t.geom IS NOT NULL"""
DENSE = "SELECT coalesce(sum(n), 0) > %(cluster_above)s AS yes FROM cells"
# The tile's envelope (``e``; ``g`` in EPSG:4326 for a source's features) and scale (units of
# the MVT extent per metre), as ST_AsMVTGeom takes them
TILE_BOX = """
        SELECT e, ST_Transform(e, 4326) AS g, {extent} / (ST_XMax(e) - ST_XMin(e)) AS fx,
               {extent} / (ST_YMax(e) - ST_YMin(e)) AS fy
        FROM ST_TileEnvelope(%(z)s, %(x)s, %(y)s) e"""
# A cluster's point in the tile's coordinates, as ST_AsMVTGeom would place it (the same affine
# transform, rounded by rint as its grid is), without its clipping: a mean of points in the tile
# lies in it.
CLUSTER_GEOM = (
    "ST_Point(round(k.cx * box.fx - ST_XMin(box.e) * box.fx), "
    "round(ST_YMax(box.e) * box.fy - k.cy * box.fy))"
)
# Finer than the stored cells: the features, read at most one past the threshold; when that
# many meet the tile, the clusters of its cells counted instead.
FINE_TILE = """
        WITH box AS ({box}),
        features AS MATERIALIZED ({features} LIMIT %(cluster_above)s + 1),
        dense AS (SELECT count(*) > %(cluster_above)s AS yes FROM features),
        cells AS MATERIALIZED ({cells})
        SELECT ST_AsMVT(t, %(layer)s, {extent}, 'geom', 'id') FROM (
            SELECT * FROM features WHERE NOT (SELECT yes FROM dense)
            UNION ALL
            SELECT NULL, {cluster_props}, k.count::bigint,
                   {cluster_geom}
            FROM ({clusters}) k, box WHERE (SELECT yes FROM dense)
        ) t WHERE t.geom IS NOT NULL"""
# A view's cells: those of the tiles of ``zoom`` it covers, kept where they meet its box.
VIEW_CELLS = f"""
        SELECT c.x * {CELL_GRID} + (c.cell & {CELL_GRID - 1}) AS i,
               c.y * {CELL_GRID} + (c.cell >> {SHIFT}) AS j,
               c.{{prop}}, c.{{count}} AS n, c.sum_x, c.sum_y
        FROM {{cells}} c
        WHERE c.zoom = %(view_zoom)s AND c.x BETWEEN %(x0)s AND %(x1)s
          AND c.y BETWEEN %(y0)s AND %(y1)s AND {{where}}"""  # noqa: S608 - as COUNTED_CELLS
VIEW_CLUSTERS = """
            SELECT * FROM ({rows}) r
            UNION ALL
            SELECT NULL, json_build_object('type', 'Feature',
                   'geometry', ST_AsGeoJSON(ST_Transform(ST_Point(k.cx, k.cy, 3857), 4326),
                                            {decimals})::json,
                   'properties', json_build_object('cluster', true, 'count', k.count,
                                                   '{prop}', k.{prop}))
            FROM ({clusters}) k WHERE (SELECT yes FROM dense)"""
VIEW = """
        WITH box AS ({box}),
        cells AS MATERIALIZED (SELECT * FROM ({cells}) v
                               WHERE v.i BETWEEN %(i0)s AND %(i1)s
                                 AND v.j BETWEEN %(j0)s AND %(j1)s),
        dense AS ({dense})
        SELECT json_build_object('type', 'FeatureCollection',
               'features', coalesce(json_agg(r.f ORDER BY r.id), '[]'::json))::text
        FROM ({rows}) r"""


@dataclass(frozen=True)
class TileOf:
    """A tile of a layer to draw: its name in the MVT, its style property, where it is, and how
    many features it draws one by one at most."""

    layer: str
    prop: str
    z: int
    x: int
    y: int
    cluster_above: int
    extent: int

    def values(self) -> dict[str, object]:
        return {"z": self.z, "x": self.x, "y": self.y, "layer": self.layer,
                "cluster_above": self.cluster_above}  # fmt: skip

    def cluster_props(self, properties: list[str]) -> str:
        """A cluster's properties: its style value, no other."""
        return ", ".join(
            f"k.{name}" if name == self.prop else f"NULL AS {name}" for name in properties
        )


def stored_tile(
    cells: Cells, where: ProjectFilter, at: TileOf, *, features: Query, properties: list[str]
) -> Query | None:
    """The MVT of tile ``at``: its ``features`` (rows of id, ``properties``, count and
    geometry, reading the CTE ``box``: ``e`` the tile in EPSG:3857, ``g`` in EPSG:4326), or
    the clusters of its stored ``cells`` when more than ``cluster_above`` features have their
    point in it. None when the zoom has no stored cells or they cannot answer ``where``."""
    low, high = CELL_ZOOMS
    cells_where = where.map_where("c", (at.prop,))
    if not low <= at.z <= high or cells_where is None:
        return None
    return Query.compose(
        TILE,
        at.values(),
        box=Query.compose(TILE_BOX, extent=str(at.extent)),
        cells=Query.compose(
            STORED_CELLS, cells=cells.table, count=cells.count, prop=at.prop, where=cells_where
        ),
        dense=DENSE,
        features=features,
        clusters=Query.compose(CLUSTERS, prop=at.prop, cells="SELECT * FROM cells", by="k.cell"),
        cluster_props=at.cluster_props(properties),
        cluster_geom=CLUSTER_GEOM,
        extent=str(at.extent),
    )


def tile(
    prepared: Prepared, cells: Cells, where: ProjectFilter, at: TileOf, *, buffer: int
) -> Query | None:
    """The layer's MVT of tile ``at`` from its map tables: its features, or the clusters of
    its cells when too many have their point in it; None when they cannot answer ``where``."""
    rows_where = where.map_where("f", prepared.held)
    if rows_where is None:
        return None
    props = ", ".join(f"{sql} AS {name}" for name, sql in prepared.properties.items())
    geom = FEATURE_GEOM.format(extent=at.extent, buffer=buffer)
    features = Query.compose(
        ROW_FEATURES, rows=prepared.rows, props=props, geom=geom, where=rows_where
    )
    properties = list(prepared.properties)
    stored = stored_tile(cells, where, at, features=features, properties=properties)
    if stored is not None:
        return stored
    counted = Query.compose(
        COUNTED_CELLS,
        {"cells_across": 2 ** (at.z + SHIFT)},
        rows=prepared.rows,
        prop=at.prop,
        where=rows_where,
    )
    return Query.compose(
        FINE_TILE,
        at.values(),
        box=Query.compose(TILE_BOX, extent=str(at.extent)),
        cells=counted,
        features=features,
        clusters=Query.compose(CLUSTERS, prop=at.prop, cells="SELECT * FROM cells", by="k.cell"),
        cluster_props=at.cluster_props(properties),
        cluster_geom=CLUSTER_GEOM,
        extent=str(at.extent),
    )


def view_zoom(bbox: BBox, across: int) -> int | None:
    """The tile zoom whose cells are at most a ``across``-th of the box's width, if stored."""
    west, _, east, _ = bbox
    width = max(east - west, 1e-9) / 360
    zoom = max(CELL_ZOOMS[0], _ceil_log2(across / width) - SHIFT)
    return zoom if zoom <= CELL_ZOOMS[1] else None


def _ceil_log2(value: float) -> int:
    return max(0, int(value - 1).bit_length()) if value >= 1 else 0


def view(
    cells: Cells,
    where: ProjectFilter,
    *,
    prop: str,
    bbox: BBox,
    across: int,
    box: Query,
    rows: Callable[[str], Query],
    cluster_above: int,
    decimals: int,
) -> Query | None:
    """A GeoJSON FeatureCollection of the box: ``rows(few)``, its features (each a row ``(id,
    f)``, read only when the SQL condition ``few`` holds), or the clusters of the stored cells
    at most an ``across``-th of the box wide when too many features have their point in those
    meeting it. ``box`` is the CTE ``rows`` reads the box from. None when the stored cells
    cannot answer ``where`` or are not that fine."""
    zoom = view_zoom(bbox, across)
    cells_where = where.map_where("c", (prop,))
    if zoom is None or cells_where is None:
        return None
    i0, j0, i1, j1 = cell_range(bbox, zoom)
    ranges = {
        "view_zoom": zoom,
        "x0": i0 >> SHIFT,
        "x1": i1 >> SHIFT,
        "y0": j0 >> SHIFT,
        "y1": j1 >> SHIFT,
        "i0": i0,
        "i1": i1,
        "j0": j0,
        "j1": j1,
    }
    stored = Query.compose(
        VIEW_CELLS, ranges, cells=cells.table, count=cells.count, prop=prop, where=cells_where
    )
    clusters = Query.compose(CLUSTERS, prop=prop, cells="SELECT * FROM cells", by="k.i, k.j")
    body = Query.compose(
        VIEW_CLUSTERS,
        rows=rows("(SELECT NOT yes FROM dense)"),
        clusters=clusters,
        prop=prop,
        decimals=str(decimals),
    )
    return Query.compose(
        VIEW, {"cluster_above": cluster_above}, box=box, cells=stored, dense=DENSE, rows=body
    )
