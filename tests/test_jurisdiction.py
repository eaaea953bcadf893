"""The jurisdiction check of geometry: inside the loaded boundaries, and in which district."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from geo.jurisdiction import placement
from geo.store.database import engine_for
from tests import danang


def _place(engine: Engine, geometry: dict) -> tuple[bool, str | None]:
    query = placement(json.dumps(geometry))
    with engine.connect() as conn:
        row = conn.exec_driver_sql(query.sql, query.params).one()
    return bool(row[0]), row[1]


def _line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(danang.lon_lat(*p)) for p in points]}


@pytest.fixture(scope="module")
def danang_engine(danang_db: str):
    engine = engine_for(danang_db)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (_line((500, 1000), (1500, 1000)), (True, "490")),
        # 1.2 km in quận 490, 0.3 km in 493: inside the city, mostly in 490
        (_line((2800, 500), (4300, 500)), (True, "490")),
        (_line((3000, 500), (7500, 500)), (True, "493")),
        ({"type": "Point", "coordinates": list(danang.lon_lat(6000, 1500))}, (True, "493")),
        # half of it north of the city's edge
        (_line((500, 1500), (500, 2500)), (False, "490")),
        ({"type": "Point", "coordinates": list(danang.lon_lat(-500, 1000))}, (False, None)),
    ],
    ids=["in one", "across, mostly 490", "across, mostly 493", "point", "leaving", "outside"],
)
def test_a_geometry_is_placed_by_the_loaded_boundaries(danang_engine, geometry, expected):
    assert _place(danang_engine, geometry) == expected


def test_the_same_check_knows_seoul(engine: Engine) -> None:
    with engine.connect() as conn:
        jongno = conn.execute(
            text("SELECT ST_AsGeoJSON(ST_PointOnSurface(geom)) FROM districts WHERE code = '11110'")
        ).scalar_one()
    assert _place(engine, json.loads(jongno)) == (True, "11110")
    assert _place(engine, json.loads(json.dumps(_line((500, 1000), (1500, 1000))))) == (
        False,
        None,
    )
