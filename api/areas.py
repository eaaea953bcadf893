"""Area versions: which data version last changed the map inside a tile or a view.

The database keeps a row (zoom, x, y, version) for every XYZ tile (Web Mercator, y from the
north) whose public map content a write changed, at zoom 16 for small works and coarser for
large ones, with a baseline row (0, 0, 0) that every tile inherits (migration 0017). ``Pyramid``
holds them in memory, per zoom from 0 to 16 a sparse map of the version of the row exactly at a
tile and of the newest row at or below it, so that the version of a tile or of a view is a
bounded number of dict lookups, whatever the number of rows.

A tile's version covers every row it may draw: rows inside it, rows of its ancestors, and rows
in the ring of cells at zoom z+6 just around it (an MVT tile draws what lies within its buffer
of 64/4096, which is one such cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from geo.filters import BBox, envelopes
from geo.map_tables import AREA_ZOOM
from layers.render import BUFFER, EXTENT

MAX_ZOOM = AREA_ZOOM  # the finest zoom of area rows; a finer tile takes its ancestor's scope
RING_ZOOMS = (EXTENT // BUFFER).bit_length() - 1  # a tile's buffer: a cell this much finer
SPAN = 4  # a view is checked at the finest zoom where it spans at most this many tiles a way
MAX_LAT = math.degrees(math.atan(math.sinh(math.pi)))  # the edge of Web Mercator
EDGE = 1e-9  # degrees a view is widened by, so that rounding at a tile edge never narrows it


def _key(x: int, y: int) -> int:
    return x << MAX_ZOOM | y


def _column(lon: float, n: int) -> int:
    return min(max(math.floor((lon + 180.0) / 360.0 * n), 0), n - 1)


def _row(lat: float, n: int) -> int:
    lat = min(max(lat, -MAX_LAT), MAX_LAT)
    mercator = math.asinh(math.tan(math.radians(lat))) / math.pi
    return min(max(math.floor((1.0 - mercator) / 2.0 * n), 0), n - 1)


def covering(bbox: BBox) -> tuple[int, int, int, int, int]:
    """The tiles (zoom, x0, y0, x1, y1) covering one envelope (west <= east) at the finest zoom
    up to 16 where it spans at most ``SPAN`` tiles each way."""
    west, south, east, north = bbox
    n = 1 << MAX_ZOOM
    x0, x1 = _column(west - EDGE, n), _column(east + EDGE, n)
    y0, y1 = _row(north + EDGE, n), _row(south - EDGE, n)
    zoom = MAX_ZOOM
    while zoom > 0 and (x1 - x0 >= SPAN or y1 - y0 >= SPAN):
        x0, y0, x1, y1, zoom = x0 >> 1, y0 >> 1, x1 >> 1, y1 >> 1, zoom - 1
    return zoom, x0, y0, x1, y1


class Pyramid:
    """Area rows by zoom: ``exact[z]`` maps a tile to the version of its own row, ``below[z]``
    to the newest version of any row at or below it (the tile or one inside it). Rows only
    ever raise versions, so ``add`` stops climbing at the first ancestor already as new."""

    def __init__(self) -> None:
        self.exact: list[dict[int, int]] = [{} for _ in range(MAX_ZOOM + 1)]
        self.below: list[dict[int, int]] = [{} for _ in range(MAX_ZOOM + 1)]

    def add(self, zoom: int, x: int, y: int, version: int) -> None:
        if zoom > MAX_ZOOM:
            x, y, zoom = x >> (zoom - MAX_ZOOM), y >> (zoom - MAX_ZOOM), MAX_ZOOM
        exact = self.exact[zoom]
        if exact.get(_key(x, y), -1) < version:
            exact[_key(x, y)] = version
        for z in range(zoom, -1, -1):
            below = self.below[z]
            if below.get(_key(x, y), -1) >= version:
                break
            below[_key(x, y)] = version
            x, y = x >> 1, y >> 1

    def _coarser(self, zoom: int, x0: int, y0: int, x1: int, y1: int, best: int) -> int:
        """``best`` or a newer row of a tile coarser than ``zoom`` over tiles x0..x1, y0..y1
        of ``zoom`` (at most 2 x 2 of them a level once the range spans at most 3)."""
        for z in range(zoom - 1, -1, -1):
            x0, y0, x1, y1 = x0 >> 1, y0 >> 1, x1 >> 1, y1 >> 1
            exact = self.exact[z]
            if not exact:
                continue
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    version = exact.get(_key(x, y), -1)
                    if version > best:
                        best = version
        return best

    def _band(self, z: int, x: int, y: int, sx: int, sy: int, ring: int, best: int) -> int:
        """``best`` or a newer row in the band of tile z/x/y facing a neighbour, down to zoom
        ``ring``: its cells on the side ``sx``/``sy`` (-1 the low half, 1 the high half, 0
        both) at each zoom, a branch skipped once nothing below it is newer than ``best``."""
        newest = self.below[z].get(_key(x, y), -1)
        if newest <= best:
            return best
        if z == ring:
            return newest
        best = max(best, self.exact[z].get(_key(x, y), -1))
        xs = (2 * x,) if sx < 0 else (2 * x + 1,) if sx > 0 else (2 * x, 2 * x + 1)
        ys = (2 * y,) if sy < 0 else (2 * y + 1,) if sy > 0 else (2 * y, 2 * y + 1)
        for cx in xs:
            for cy in ys:
                best = self._band(z + 1, cx, cy, sx, sy, ring, best)
        return best

    def tile(self, z: int, x: int, y: int) -> int:
        """The newest version of a row inside tile z/x/y, over it (an ancestor, the baseline
        among them), or in the ring of zoom min(z + 6, 16) cells around it."""
        if z > MAX_ZOOM:
            x, y, z = x >> (z - MAX_ZOOM), y >> (z - MAX_ZOOM), MAX_ZOOM
        n = 1 << z
        best = self.below[z].get(_key(x, y), 0)
        x0, y0, x1, y1 = max(x - 1, 0), max(y - 1, 0), min(x + 1, n - 1), min(y + 1, n - 1)
        best = self._coarser(z, x0, y0, x1, y1, best)
        ring = min(z + RING_ZOOMS, MAX_ZOOM)
        for nx in range(x0, x1 + 1):
            for ny in range(y0, y1 + 1):
                if (nx, ny) != (x, y):
                    best = self._band(z, nx, ny, x - nx, y - ny, ring, best)
        return best

    def bbox(self, bbox: BBox) -> int:
        """The newest version of a row over a view (lon/lat; west of east crosses the
        antimeridian): its covering tiles (``covering``), what is inside them and above."""
        best = 0
        for envelope in envelopes(bbox):
            zoom, x0, y0, x1, y1 = covering(envelope)
            below = self.below[zoom]
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    best = max(best, below.get(_key(x, y), 0))
            best = self._coarser(zoom, x0, y0, x1, y1, best)
        return best


class Area(Protocol):
    """What a response shows of the map: its ETag's version is the area's (``version``)."""

    def version(self, pyramid: Pyramid) -> int: ...


@dataclass(frozen=True)
class Tile:
    """An XYZ tile, as a vector tile draws it (with its buffer)."""

    z: int
    x: int
    y: int

    def version(self, pyramid: Pyramid) -> int:
        return pyramid.tile(self.z, self.x, self.y)


@dataclass(frozen=True)
class View:
    """A view (lon/lat bbox) of features that intersect it."""

    bbox: BBox

    def version(self, pyramid: Pyramid) -> int:
        return pyramid.bbox(self.bbox)


def view(bbox: BBox | None) -> View | None:
    """The area of a request's ``bbox``; None (the whole city) without one."""
    return View(bbox) if bbox is not None else None
