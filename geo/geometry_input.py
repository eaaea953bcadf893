"""A project's geometry as officials and imports give it: read, checked and put in EPSG:4326.

Input is GeoJSON (a geometry or a Feature, as a mapping or text) or WKT, in any CRS PostGIS
knows. PostGIS does the spatial work; each check that fails raises one ``GeometryError`` whose
reason names the problem and, where there is one, where it is (longitude, latitude), so the
editor can point at it. An invalid geometry is repaired (``ST_MakeValid``) only when the caller
asks, and the repair is reported back, never done silently.

The checks are steps of the write that gives the geometry (``geo.transaction``). PostGIS
errors (unreadable text, a transformation out of its domain) are caught inside a savepoint, so
the write's transaction stays usable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2

from geo.earth import METRES_PER_DEGREE
from geo.jurisdiction import placement_of
from geo.settings import Settings, get_settings
from geo.sql import Query
from geo.transaction import Later, Steps
from geo.vocab import GEOMETRY_TYPES

CRS = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG::)(\d{1,6})$", re.IGNORECASE)
READ = {
    form: f"SELECT encode(ST_AsEWKB(ST_Force2D(ST_SetSRID({parse}(%(v)s), %(srid)s))), 'hex') AS g"
    for form, parse in (("GeoJSON", "ST_GeomFromGeoJSON"), ("WKT", "ST_GeomFromText"))
}


class GeometryError(ValueError):
    """A geometry refused; ``reason`` is one sentence saying why and where."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownCRS(GeometryError):
    """The coordinate reference system named is not one PostGIS knows."""


@dataclass(frozen=True)
class Limits:
    """How far outside the districts, and how large, a project's geometry may be."""

    margin_m: float
    max_length_m: float
    max_area_m2: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.geometry_margin_m,
            settings.geometry_max_length_km * 1000,
            settings.geometry_max_area_km2 * 1e6,
        )


@dataclass(frozen=True)
class Checked:
    """A geometry that passed every check: EWKB hex in EPSG:4326, the district holding most of
    it (None when it lies only in the margin), and PostGIS's reason when it was repaired."""

    ewkb: str
    district: str | None
    repaired: str | None = None


def _at(lon: float, lat: float) -> str:
    return f"lon {lon:.6f}, lat {lat:.6f}"


def _distance(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def srid_of(crs: str) -> Steps[int]:
    """The SRID of a CRS named ``EPSG:N`` (or its URN); UnknownCRS when PostGIS knows none."""
    match = CRS.match(crs.strip())
    found = yield Query(
        "SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = %(code)s",
        {"code": int(match[1]) if match else -1},
    )
    if not found:
        raise UnknownCRS(
            f"The coordinate reference system {crs!r} is unknown; name an EPSG code PostGIS "
            "knows, such as EPSG:4326 (longitude, latitude), EPSG:5186 or EPSG:5179."
        )
    return int(found[0]["srid"])


def _one(sql: str, params: Mapping[str, Any]) -> Steps[dict[str, Any]]:
    return (yield Query(sql, dict(params)))[0]


def _guarded(sql: str, params: Mapping[str, Any], problem: str) -> Steps[dict[str, Any]]:
    """The one row of ``sql``, or GeometryError(problem + PostGIS's message) when PostGIS
    refuses; a savepoint keeps the write's transaction usable."""
    yield Later(Query("SAVEPOINT geometry_input"))
    try:
        row = yield from _one(sql, params)
    except psycopg2.Error as exc:
        yield Query("ROLLBACK TO SAVEPOINT geometry_input")
        message = str(exc.pgerror or exc).strip()
        message = message.removeprefix("ERROR:").strip().splitlines()[0].rstrip(".")
        raise GeometryError(f"{problem}: {message}.") from None
    yield Later(Query("RELEASE SAVEPOINT geometry_input"))
    return row


def _read(value: Mapping[str, Any] | str, srid: int) -> Steps[str]:
    """The input as EWKB hex with ``srid``, two-dimensional."""
    if isinstance(value, Mapping):
        if value.get("type") == "Feature":
            value = value.get("geometry") or {}
        source, form = json.dumps(value), "GeoJSON"
    elif value.lstrip().startswith("{"):
        source, form = value, "GeoJSON"
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("type") == "Feature":
            source = json.dumps(parsed.get("geometry") or {})
    else:
        source, form = value, "WKT"
    row = yield from _guarded(
        READ[form], {"v": source, "srid": srid}, f"The geometry cannot be read as {form}"
    )
    return str(row["g"])


def _to_lon_lat(raw: str, crs: str) -> Steps[str]:
    row = yield from _guarded(
        """
        SELECT encode(ST_AsEWKB(t), 'hex') AS g, ST_XMin(t) AS xmin, ST_YMin(t) AS ymin,
               ST_XMax(t) AS xmax, ST_YMax(t) AS ymax
        FROM (SELECT ST_Transform(ST_GeomFromEWKB(decode(%(g)s, 'hex')), 4326) AS t) s
        """,
        {"g": raw},
        f"The geometry cannot be converted from {crs} to longitude and latitude",
    )
    if not all(math.isfinite(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")):
        raise GeometryError(
            f"The geometry cannot be converted from {crs} to longitude and latitude: its "
            "coordinates lie outside the area that system covers."
        )
    return str(row["g"])


def _outside(g: str, margin_m: float) -> Steps[tuple[float, float, float | None] | None]:
    """A point of ``g`` (EPSG:4326) farther than ``margin_m`` from every district, with its
    distance to the nearest (None when it is no position on Earth); None when there is none."""
    box = yield from _one(
        "SELECT ST_XMin(g) AS xmin, ST_YMin(g) AS ymin, ST_XMax(g) AS xmax, ST_YMax(g) AS ymax "
        "FROM ST_GeomFromEWKB(decode(%(g)s, 'hex')) g",
        {"g": g},
    )
    if box["xmin"] < -180 or box["xmax"] > 180 or box["ymin"] < -90 or box["ymax"] > 90:
        off = yield from _one(
            "SELECT ST_X(p.geom) AS x, ST_Y(p.geom) AS y "
            "FROM ST_DumpPoints(ST_GeomFromEWKB(decode(%(g)s, 'hex'))) p "
            "WHERE abs(ST_X(p.geom)) > 180 OR abs(ST_Y(p.geom)) > 90 LIMIT 1",
            {"g": g},
        )
        return off["x"], off["y"], None
    # degrees that surely cover the margin near these latitudes (longitude's are shortest)
    lat = max(abs(box["ymin"]), abs(box["ymax"]))
    degrees = margin_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    far = yield Query(
        """
        WITH g AS (SELECT ST_GeomFromEWKB(decode(%(g)s, 'hex')) AS g),
        city AS (SELECT coalesce(ST_Union(d.geom), ST_SetSRID('POLYGON EMPTY'::geometry,
                                                             4326)) AS c
                 FROM districts d, g WHERE d.level = 1 AND d.geom && ST_Expand(g.g, %(deg)s)),
        beyond AS (SELECT ST_Difference(g.g, city.c) AS b FROM g, city),
        far AS (
            SELECT p.geom AS p FROM beyond,
                ST_DumpPoints(ST_Segmentize(b::geography, %(step)s)::geometry) p
            WHERE NOT ST_IsEmpty(b) AND NOT EXISTS (
                SELECT FROM districts d
                WHERE d.level = 1 AND d.geom && ST_Expand(p.geom, %(deg)s)
                  AND ST_DWithin(d.geom::geography, p.geom::geography, %(margin)s))
            LIMIT 1)
        SELECT ST_X(p) AS x, ST_Y(p) AS y,
               (SELECT min(ST_Distance(n.geom::geography, p::geography)) FROM (
                    SELECT geom FROM districts WHERE level = 1 ORDER BY geom <-> p LIMIT 3
                ) n) AS distance
        FROM far
        """,
        {"g": g, "deg": degrees, "step": max(margin_m / 4, 10.0), "margin": margin_m},
    )
    return (far[0]["x"], far[0]["y"], far[0]["distance"]) if far else None


def _flipped(raw: str, crs: str) -> Steps[str | None]:
    """``raw`` with its axes swapped, in EPSG:4326; None when that is no geometry either."""
    row = yield from _one(
        "SELECT encode(ST_AsEWKB(ST_FlipCoordinates(ST_GeomFromEWKB(decode(%(g)s, 'hex')))), "
        "'hex') AS g",
        {"g": raw},
    )
    try:
        return (yield from _to_lon_lat(row["g"], crs))
    except GeometryError:
        return None


def _check_place(g: str, raw: str, crs: str, margin_m: float) -> Steps[None]:
    far = yield from _outside(g, margin_m)
    if far is None:
        return
    lon, lat, distance = far
    flipped = yield from _flipped(raw, crs)
    if flipped is not None and (yield from _outside(flipped, margin_m)) is None:
        raise GeometryError(
            f"The geometry lies outside the city (at {_at(lon, lat)}) but inside it with its "
            "axes swapped: longitude and latitude (or x and y) appear to be given in the wrong "
            "order."
        )
    where = (
        "it is no position on Earth"
        if distance is None
        else (f"{_distance(distance)} from the nearest district")
    )
    raise GeometryError(
        f"The geometry lies outside the city: at {_at(lon, lat)} {where}, and at most "
        f"{_distance(margin_m)} beyond the districts are allowed."
    )


def _repaired(g: str) -> Steps[str]:
    """``g`` made valid, keeping only parts of its own dimension (a polygon's repair may leave
    stray lines or points)."""
    row = yield from _one(
        """
        SELECT CASE WHEN ST_IsEmpty(f) THEN NULL ELSE encode(ST_AsEWKB(f), 'hex') END AS g
        FROM (SELECT ST_CollectionExtract(ST_MakeValid(g), ST_Dimension(g) + 1) AS f
              FROM (SELECT ST_GeomFromEWKB(decode(%(g)s, 'hex')) AS g) s) r
        """,
        {"g": g},
    )
    if row["g"] is None:
        raise GeometryError("The geometry is not valid and nothing of it is left once repaired.")
    return str(row["g"])


def _check_size(g: str, limits: Limits) -> Steps[None]:
    row = yield from _one(
        """
        SELECT ST_Dimension(g) AS dimension, ST_Length(g::geography) AS length,
               ST_Area(g::geography) AS area
        FROM (SELECT ST_GeomFromEWKB(decode(%(g)s, 'hex')) AS g) s
        """,
        {"g": g},
    )
    length, area = row["length"], row["area"]
    if row["dimension"] == 1 and length > limits.max_length_m:
        raise GeometryError(
            f"The line is {length / 1000:.1f} km long; a project's line may be at most "
            f"{limits.max_length_m / 1000:g} km (a longer one is taken for a mistake)."
        )
    if row["dimension"] == 2 and area > limits.max_area_m2:
        raise GeometryError(
            f"The area is {area / 1e6:.1f} km²; a project may cover at most "
            f"{limits.max_area_m2 / 1e6:g} km² (a larger one is taken for a mistake)."
        )


def checked_geometry(
    value: Mapping[str, Any] | str,
    *,
    crs: str = "EPSG:4326",
    repair: bool = False,
    limits: Limits | None = None,
) -> Steps[Checked]:
    """``value`` (GeoJSON or WKT in ``crs``) checked and in EPSG:4326; GeometryError naming the
    first problem. ``repair`` makes an invalid geometry valid instead of refusing it."""
    limits = limits or Limits.of(get_settings())
    srid = yield from srid_of(crs)
    raw = yield from _read(value, srid)
    shape = yield from _one(
        "SELECT ST_IsEmpty(g) AS empty, GeometryType(g) AS kind, ST_Dimension(g) AS dimension, "
        "ST_Length(g) AS length FROM (SELECT ST_GeomFromEWKB(decode(%(g)s, 'hex')) AS g) s",
        {"g": raw},
    )
    if shape["empty"]:
        raise GeometryError("The geometry is empty: it has no coordinates.")
    if shape["kind"] not in GEOMETRY_TYPES:
        raise GeometryError(
            f"A project's geometry cannot be a {shape['kind']}; give one of "
            f"{', '.join(GEOMETRY_TYPES)}."
        )
    if shape["dimension"] == 1 and shape["length"] == 0:
        raise GeometryError("The line has zero length: all its points are at one place.")
    g = yield from _to_lon_lat(raw, crs)
    repaired = None
    validity = yield from _one(
        "SELECT valid, reason, ST_X(location) AS x, ST_Y(location) AS y "
        "FROM ST_IsValidDetail(ST_GeomFromEWKB(decode(%(g)s, 'hex')))",
        {"g": g},
    )
    if not validity["valid"]:
        x, y, reason = validity["x"], validity["y"], validity["reason"]
        where = f" at {_at(x, y)}" if x is not None and y is not None else ""
        if not repair:
            raise GeometryError(
                f"The geometry is not valid: {reason}{where}; correct it, or ask for it to be "
                "repaired."
            )
        g, repaired = (yield from _repaired(g)), f"{reason}{where}"
    yield from _check_place(g, raw, crs, limits.margin_m)
    yield from _check_size(g, limits)
    place = yield placement_of(Query("ST_GeomFromEWKB(decode(%(ewkb)s, 'hex'))", {"ewkb": g}))
    return Checked(g, place[0]["district"], repaired)
