"""A project's geometry as officials and imports give it: read, checked and put in EPSG:4326.

Input is GeoJSON (a geometry or a Feature, as a mapping or text) or WKT, in any CRS PostGIS
knows. PostGIS does the spatial work; each check that fails raises one ``GeometryError`` whose
reason names the problem and, where there is one, where it is (longitude, latitude), so the
editor can point at it. An invalid geometry is repaired (``ST_MakeValid``) only when the caller
asks, and the repair is reported back, never done silently.

PostGIS errors (unreadable text, a transformation out of its domain) are caught inside a
savepoint, so the caller's transaction stays usable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from geo.earth import METRES_PER_DEGREE
from geo.jurisdiction import placement_of
from geo.settings import Settings, get_settings
from geo.sql import Query
from geo.vocab import GEOMETRY_TYPES

CRS = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG::)(\d{1,6})$", re.IGNORECASE)
READ = {
    "GeoJSON": "SELECT encode(ST_AsEWKB(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(:v), :srid))), "
    "'hex')",
    "WKT": "SELECT encode(ST_AsEWKB(ST_Force2D(ST_SetSRID(ST_GeomFromText(:v), :srid))), 'hex')",
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


def _srid(conn: Connection, crs: str) -> int:
    match = CRS.match(crs.strip())
    srid = conn.execute(
        text("SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG' AND auth_srid = :code"),
        {"code": int(match[1]) if match else -1},
    ).scalar()
    if srid is None:
        raise UnknownCRS(
            f"The coordinate reference system {crs!r} is unknown; name an EPSG code PostGIS "
            "knows, such as EPSG:4326 (longitude, latitude), EPSG:5186 or EPSG:5179."
        )
    return int(srid)


def _guarded(conn: Connection, sql: str, params: Mapping[str, Any], problem: str) -> Any:
    """The one row of ``sql``, or GeometryError(problem + PostGIS's message) when PostGIS
    refuses; a savepoint keeps the caller's transaction usable."""
    try:
        with conn.begin_nested():
            return conn.execute(text(sql), params).one()
    except DBAPIError as exc:
        message = str(getattr(exc.orig, "pgerror", None) or exc.orig).strip()
        message = message.removeprefix("ERROR:").strip().splitlines()[0].rstrip(".")
        raise GeometryError(f"{problem}: {message}.") from None


def _read(conn: Connection, value: Mapping[str, Any] | str, srid: int) -> str:
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
    row = _guarded(
        conn,
        READ[form],
        {"v": source, "srid": srid},
        f"The geometry cannot be read as {form}",
    )
    return str(row[0])


def _to_lon_lat(conn: Connection, raw: str, crs: str) -> str:
    row = _guarded(
        conn,
        """
        SELECT encode(ST_AsEWKB(t), 'hex'), ST_XMin(t), ST_YMin(t), ST_XMax(t), ST_YMax(t)
        FROM (SELECT ST_Transform(ST_GeomFromEWKB(decode(:g, 'hex')), 4326) AS t) s
        """,
        {"g": raw},
        f"The geometry cannot be converted from {crs} to longitude and latitude",
    )
    if not all(math.isfinite(v) for v in row[1:]):
        raise GeometryError(
            f"The geometry cannot be converted from {crs} to longitude and latitude: its "
            "coordinates lie outside the area that system covers."
        )
    return str(row[0])


def _outside(conn: Connection, g: str, margin_m: float) -> tuple[float, float, float | None] | None:
    """A point of ``g`` (EPSG:4326) farther than ``margin_m`` from every district, with its
    distance to the nearest (None when it is no position on Earth); None when there is none."""
    xmin, ymin, xmax, ymax = conn.execute(
        text(
            "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) "
            "FROM ST_GeomFromEWKB(decode(:g, 'hex')) g"
        ),
        {"g": g},
    ).one()
    if xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90:
        x, y = conn.execute(
            text(
                "SELECT ST_X(p.geom), ST_Y(p.geom) "
                "FROM ST_DumpPoints(ST_GeomFromEWKB(decode(:g, 'hex'))) p "
                "WHERE abs(ST_X(p.geom)) > 180 OR abs(ST_Y(p.geom)) > 90 LIMIT 1"
            ),
            {"g": g},
        ).one()
        return x, y, None
    # degrees that surely cover the margin near these latitudes (longitude's are shortest)
    lat = max(abs(ymin), abs(ymax))
    degrees = margin_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    row = conn.execute(
        text(
            """
            WITH g AS (SELECT ST_GeomFromEWKB(decode(:g, 'hex')) AS g),
            city AS (SELECT coalesce(ST_Union(d.geom), ST_SetSRID('POLYGON EMPTY'::geometry,
                                                                 4326)) AS c
                     FROM districts d, g WHERE d.level = 1 AND d.geom && ST_Expand(g.g, :deg)),
            beyond AS (SELECT ST_Difference(g.g, city.c) AS b FROM g, city),
            far AS (
                SELECT p.geom AS p FROM beyond,
                    ST_DumpPoints(ST_Segmentize(b::geography, :step)::geometry) p
                WHERE NOT ST_IsEmpty(b) AND NOT EXISTS (
                    SELECT FROM districts d
                    WHERE d.level = 1 AND d.geom && ST_Expand(p.geom, :deg)
                      AND ST_DWithin(d.geom::geography, p.geom::geography, :margin))
                LIMIT 1)
            SELECT ST_X(p), ST_Y(p),
                   (SELECT min(ST_Distance(n.geom::geography, p::geography)) FROM (
                        SELECT geom FROM districts WHERE level = 1 ORDER BY geom <-> p LIMIT 3
                    ) n)
            FROM far
            """
        ),
        {"g": g, "deg": degrees, "step": max(margin_m / 4, 10.0), "margin": margin_m},
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def _flipped(conn: Connection, raw: str, crs: str) -> str | None:
    """``raw`` with its axes swapped, in EPSG:4326; None when that is no geometry either."""
    flipped = conn.execute(
        text(
            "SELECT encode(ST_AsEWKB(ST_FlipCoordinates(ST_GeomFromEWKB(decode(:g, 'hex')))), "
            "'hex')"
        ),
        {"g": raw},
    ).scalar_one()
    try:
        return _to_lon_lat(conn, flipped, crs)
    except GeometryError:
        return None


def _check_place(conn: Connection, g: str, raw: str, crs: str, margin_m: float) -> None:
    far = _outside(conn, g, margin_m)
    if far is None:
        return
    lon, lat, distance = far
    flipped = _flipped(conn, raw, crs)
    if flipped is not None and _outside(conn, flipped, margin_m) is None:
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


def _validity(conn: Connection, g: str) -> tuple[bool, str | None, float | None, float | None]:
    row = conn.execute(
        text(
            "SELECT valid, reason, ST_X(location), ST_Y(location) "
            "FROM ST_IsValidDetail(ST_GeomFromEWKB(decode(:g, 'hex')))"
        ),
        {"g": g},
    ).one()
    return bool(row[0]), row[1], row[2], row[3]


def _repaired(conn: Connection, g: str) -> str:
    """``g`` made valid, keeping only parts of its own dimension (a polygon's repair may leave
    stray lines or points)."""
    fixed = conn.execute(
        text(
            """
            SELECT CASE WHEN ST_IsEmpty(f) THEN NULL ELSE encode(ST_AsEWKB(f), 'hex') END
            FROM (SELECT ST_CollectionExtract(ST_MakeValid(g), ST_Dimension(g) + 1) AS f
                  FROM (SELECT ST_GeomFromEWKB(decode(:g, 'hex')) AS g) s) r
            """
        ),
        {"g": g},
    ).scalar_one()
    if fixed is None:
        raise GeometryError("The geometry is not valid and nothing of it is left once repaired.")
    return str(fixed)


def _check_size(conn: Connection, g: str, limits: Limits) -> None:
    dimension, length, area = conn.execute(
        text(
            """
            SELECT ST_Dimension(g), ST_Length(g::geography), ST_Area(g::geography)
            FROM (SELECT ST_GeomFromEWKB(decode(:g, 'hex')) AS g) s
            """
        ),
        {"g": g},
    ).one()
    if dimension == 1 and length > limits.max_length_m:
        raise GeometryError(
            f"The line is {length / 1000:.1f} km long; a project's line may be at most "
            f"{limits.max_length_m / 1000:g} km (a longer one is taken for a mistake)."
        )
    if dimension == 2 and area > limits.max_area_m2:
        raise GeometryError(
            f"The area is {area / 1e6:.1f} km²; a project may cover at most "
            f"{limits.max_area_m2 / 1e6:g} km² (a larger one is taken for a mistake)."
        )


def checked_geometry(
    conn: Connection,
    value: Mapping[str, Any] | str,
    *,
    crs: str = "EPSG:4326",
    repair: bool = False,
    limits: Limits | None = None,
) -> Checked:
    """``value`` (GeoJSON or WKT in ``crs``) checked and in EPSG:4326; GeometryError naming the
    first problem. ``repair`` makes an invalid geometry valid instead of refusing it."""
    limits = limits or Limits.of(get_settings())
    srid = _srid(conn, crs)
    raw = _read(conn, value, srid)
    empty, kind, dimension, length = conn.execute(
        text(
            "SELECT ST_IsEmpty(g), GeometryType(g), ST_Dimension(g), ST_Length(g) "
            "FROM (SELECT ST_GeomFromEWKB(decode(:g, 'hex')) AS g) s"
        ),
        {"g": raw},
    ).one()
    if empty:
        raise GeometryError("The geometry is empty: it has no coordinates.")
    if kind not in GEOMETRY_TYPES:
        raise GeometryError(
            f"A project's geometry cannot be a {kind}; give one of {', '.join(GEOMETRY_TYPES)}."
        )
    if dimension == 1 and length == 0:
        raise GeometryError("The line has zero length: all its points are at one place.")
    g = _to_lon_lat(conn, raw, crs)
    repaired = None
    valid, reason, x, y = _validity(conn, g)
    if not valid:
        where = f" at {_at(x, y)}" if x is not None and y is not None else ""
        if not repair:
            raise GeometryError(
                f"The geometry is not valid: {reason}{where}; correct it, or ask for it to be "
                "repaired."
            )
        g, repaired = _repaired(conn, g), f"{reason}{where}"
    _check_place(conn, g, raw, crs, limits.margin_m)
    _check_size(conn, g, limits)
    place = placement_of(Query("ST_GeomFromEWKB(decode(%(ewkb)s, 'hex'))", {"ewkb": g}))
    district = conn.exec_driver_sql(place.sql, place.params).one()[1]
    return Checked(g, district, repaired)
