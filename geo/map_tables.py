"""The map tables that triggers keep ready to draw (migration 0017): their grid and zooms.

A tile's cells are a ``CELL_GRID`` x ``CELL_GRID`` grid of equal squares in Web Mercator, so
the cells of zoom z + 1 nest in those of zoom z, and the cells of a view aligned to tiles
cover it exactly. Points are kept in Web Mercator centimetres, whose sums stay exact integers.
"""

from __future__ import annotations

import math

CELL_GRID = 64  # cells across a tile (64 px cells on a 256 px tile at 4x)
CELL_SHIFT = CELL_GRID.bit_length() - 1  # a cell's column >> CELL_SHIFT is its tile's
CELL_ZOOMS = (5, 15)  # tile zooms whose cells are stored: from the projects layer's minzoom
AREA_ZOOM = 16  # a change marks the tiles of this zoom its geometry's box covers
HALF_WORLD_M = 20037508.342789244  # half the Web Mercator world's width, metres
HALF_WORLD_CM = HALF_WORLD_M * 100


def column_sql(x: str, across: str) -> str:
    """SQL of the column (from the west, of ``across`` in the world) of point x (centimetres);
    in double precision as ``column`` computes it."""
    return f"floor(({x}::float8 + {HALF_WORLD_CM!r}) / {2 * HALF_WORLD_CM!r} * {across})::bigint"


def row_sql(y: str, across: str) -> str:
    """SQL of the row (from the north) of point y (centimetres), as ``row`` computes it."""
    return f"floor(({HALF_WORLD_CM!r} - {y}::float8) / {2 * HALF_WORLD_CM!r} * {across})::bigint"


def column(x: int, across: int) -> int:
    return math.floor((x + HALF_WORLD_CM) / (2 * HALF_WORLD_CM) * across)


def row(y: int, across: int) -> int:
    return math.floor((HALF_WORLD_CM - y) / (2 * HALF_WORLD_CM) * across)


def cell_range(lon_lat_box: tuple[float, float, float, float], zoom: int) -> tuple[int, ...]:
    """The first and last cell column and row (global, at tile zoom ``zoom``) a lon/lat box
    covers: (i0, j0, i1, j1), rows counted from the north as tiles are."""
    west, south, east, north = lon_lat_box
    n = 2 ** (zoom + int(math.log2(CELL_GRID)))

    def column(lon: float) -> int:
        return min(max(math.floor((lon + 180) / 360 * n), 0), n - 1)

    def row(lat: float) -> int:
        lat = max(min(lat, 85.0511287798), -85.0511287798)
        y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        return min(max(math.floor((1 - y / math.pi) / 2 * n), 0), n - 1)

    return column(west), row(north), column(east), row(south)
