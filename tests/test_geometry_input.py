"""Geometry as officials give it: every check with its reason, any CRS PostGIS knows, repairs
only on request."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pyproj import Transformer
from sqlalchemy import Connection, Engine, text

from geo.geometry_input import Checked, GeometryError, Limits, checked_geometry
from geo.settings import Settings
from geo.transaction import run

CITY_HALL = (126.97797, 37.56654)  # Seoul City Hall, in Jung-gu (11140)
# a bow-tie: its two edges cross at (127.001, 37.501), inside Seoul
BOW_TIE = (
    "POLYGON((127.000 37.500, 127.002 37.502, 127.002 37.500, 127.000 37.502, 127.000 37.500))"
)


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection, connection.begin() as outer:
        yield connection
        outer.rollback()


def _refused(conn: Connection, value: object, **options: object) -> str:
    with pytest.raises(GeometryError) as refused:
        run(conn, checked_geometry(value, **options))  # type: ignore[arg-type]
    return refused.value.reason


def _lon_lat(conn: Connection, checked: Checked) -> tuple[float, float]:
    x, y = conn.execute(
        text("SELECT ST_X(g), ST_Y(g) FROM ST_GeomFromEWKB(decode(:g, 'hex')) g"),
        {"g": checked.ewkb},
    ).one()
    return x, y


def _metres_from_city_hall(conn: Connection, checked: Checked) -> float:
    return float(
        conn.execute(
            text(
                "SELECT ST_Distance(ST_GeomFromEWKB(decode(:g, 'hex'))::geography, "
                "ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)"
            ),
            {"g": checked.ewkb, "x": CITY_HALL[0], "y": CITY_HALL[1]},
        ).scalar_one()
    )


def _northernmost(conn: Connection) -> tuple[float, float]:
    """The city's northernmost boundary vertex."""
    x, y = conn.execute(
        text(
            "SELECT ST_X(p.geom), ST_Y(p.geom) FROM districts d, ST_DumpPoints(d.geom) p "
            "WHERE d.level = 1 ORDER BY ST_Y(p.geom) DESC LIMIT 1"
        )
    ).one()
    return x, y


def test_a_point_in_lon_lat_is_kept_and_placed(conn: Connection) -> None:
    checked = run(conn, checked_geometry({"type": "Point", "coordinates": list(CITY_HALL)}))
    assert _lon_lat(conn, checked) == pytest.approx(CITY_HALL, abs=1e-9)
    assert checked.district == "11140"
    assert checked.repaired is None


def test_geojson_text_a_feature_and_wkt_are_read(conn: Connection) -> None:
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": list(CITY_HALL)},
    }
    for value in (json.dumps(feature), feature, f"POINT({CITY_HALL[0]} {CITY_HALL[1]})"):
        assert run(conn, checked_geometry(value)).district == "11140"


@pytest.mark.parametrize("crs", ["EPSG:5186", "EPSG:5179"])
def test_korean_projected_input_lands_within_a_metre(conn: Connection, crs: str) -> None:
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*CITY_HALL)
    checked = run(conn, checked_geometry(f"POINT({x} {y})", crs=crs))
    assert _metres_from_city_hall(conn, checked) < 1.0
    assert checked.district == "11140"


def test_an_unknown_crs_is_refused_by_name(conn: Connection) -> None:
    reason = _refused(conn, "POINT(1 2)", crs="EPSG:999999")
    assert reason == (
        "The coordinate reference system 'EPSG:999999' is unknown; name an EPSG code PostGIS "
        "knows, such as EPSG:4326 (longitude, latitude), EPSG:5186 or EPSG:5179."
    )
    assert "'WGS 84'" in _refused(conn, "POINT(1 2)", crs="WGS 84")


def test_unreadable_input_says_what_could_not_be_read(conn: Connection) -> None:
    assert _refused(conn, "POINT(127 37.5").startswith("The geometry cannot be read as WKT: ")
    assert _refused(conn, '{"type": "Point"}').startswith(
        "The geometry cannot be read as GeoJSON: "
    )
    assert conn.execute(text("SELECT 1")).scalar_one() == 1  # the transaction goes on


def test_empty_geometry_is_refused(conn: Connection) -> None:
    assert _refused(conn, "POINT EMPTY") == "The geometry is empty: it has no coordinates."


def test_a_collection_is_not_a_project_geometry(conn: Connection) -> None:
    reason = _refused(conn, "GEOMETRYCOLLECTION(POINT(127 37.5))")
    assert reason == (
        "A project's geometry cannot be a GEOMETRYCOLLECTION; give one of POINT, LINESTRING, "
        "POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON."
    )


def test_a_line_of_zero_length_is_refused(conn: Connection) -> None:
    reason = _refused(conn, "LINESTRING(127 37.5, 127 37.5)")
    assert reason == "The line has zero length: all its points are at one place."


def test_an_invalid_polygon_is_refused_with_its_location(conn: Connection) -> None:
    assert _refused(conn, BOW_TIE) == (
        "The geometry is not valid: Self-intersection at lon 127.001000, lat 37.501000; "
        "correct it, or ask for it to be repaired."
    )


def test_an_invalid_polygon_is_repaired_on_request_and_says_so(conn: Connection) -> None:
    checked = run(conn, checked_geometry(BOW_TIE, repair=True))
    assert checked.repaired == "Self-intersection at lon 127.001000, lat 37.501000"
    kind, valid, area = conn.execute(
        text(
            "SELECT GeometryType(g), ST_IsValid(g), ST_Area(g) "
            "FROM ST_GeomFromEWKB(decode(:g, 'hex')) g"
        ),
        {"g": checked.ewkb},
    ).one()
    assert (kind, valid) == ("MULTIPOLYGON", True)
    assert area == pytest.approx(2 * 0.5 * 0.002 * 0.001)  # two triangles


def test_outside_the_city_is_refused_with_where_and_how_far(conn: Connection) -> None:
    reason = _refused(conn, "POINT(126.5 37.5)")
    assert reason.startswith(
        "The geometry lies outside the city: at lon 126.500000, lat 37.500000 "
    )
    assert reason.endswith(
        " km from the nearest district, and at most 200 m beyond the districts are allowed."
    )


def test_the_margin_lets_boundary_works_reach_out(conn: Connection) -> None:
    x, y = _northernmost(conn)
    near = f"POINT({x} {y + 100 / 111_320})"  # 100 m north of the city's edge
    far = f"POINT({x} {y + 300 / 111_320})"
    assert run(conn, checked_geometry(near)).district is None  # in the margin, in no district
    assert "at most 200 m beyond" in _refused(conn, far)
    assert run(conn, checked_geometry(far, limits=Limits(400, 1e5, 1e7))).district is None
    assert "at most 50 m beyond" in _refused(conn, near, limits=Limits(50, 1e5, 1e7))


def test_a_line_leaving_the_city_is_refused_where_it_leaves(conn: Connection) -> None:
    x, y = _northernmost(conn)
    reason = _refused(conn, f"LINESTRING({x} {y - 0.001}, {x} {y + 0.02})")
    assert reason.startswith("The geometry lies outside the city: at lon ")
    lat = float(reason.split(", lat ")[1].split(" ")[0])
    assert y + 200 / 111_320 < lat < y + 0.02 + 1e-9


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:5186"])
def test_swapped_axes_are_recognised(conn: Connection, crs: str) -> None:
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*CITY_HALL)
    reason = _refused(conn, f"POINT({y} {x})", crs=crs)
    assert reason.startswith("The geometry lies outside the city (at lon ")
    assert reason.endswith(
        ") but inside it with its axes swapped: longitude and latitude (or x and y) appear to "
        "be given in the wrong order."
    )


def test_insane_sizes_are_refused(conn: Connection) -> None:
    small = Limits(200, 1000, 100_000)
    line = "LINESTRING(126.97 37.56, 126.99 37.56)"  # about 1.8 km
    assert _refused(conn, line, limits=small) == (
        "The line is 1.8 km long; a project's line may be at most 1 km (a longer one is taken "
        "for a mistake)."
    )
    square = "POLYGON((126.97 37.56, 126.975 37.56, 126.975 37.564, 126.97 37.564, 126.97 37.56))"
    assert _refused(conn, square, limits=small) == (
        "The area is 0.2 km²; a project may cover at most 0.1 km² (a larger one is taken for "
        "a mistake)."
    )
    assert run(conn, checked_geometry(line)).district is not None  # within the defaults
    assert run(conn, checked_geometry(square)).district is not None


def test_the_limits_come_from_the_settings() -> None:
    limits = Limits.of(
        Settings(geometry_margin_m=10, geometry_max_length_km=2, geometry_max_area_km2=3)
    )
    assert limits == Limits(10, 2000, 3_000_000)
    assert Limits.of(Settings()) == Limits(200, 50_000, 25_000_000)
