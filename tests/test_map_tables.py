"""The map tables the triggers keep (migration 0017) against a fresh computation, after the
writes an official and an import make; and the tiles drawn from them against the projects."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import mapbox_vector_tile
import pytest
from sqlalchemy import Connection, Engine, text

from geo.filters import ProjectFilter
from geo.flags import any_flag
from geo.map_tables import CELL_GRID, CELL_ZOOMS, HALF_WORLD_M, column, row
from geo.project_writes import (
    Actor,
    create_project,
    update_project,
    version_of,
    withdraw_project,
)
from geo.settings import Settings
from geo.transaction import run
from layers import LAYERS
from layers.render import tile
from tests.conftest import TEST_DB, seoul_agencies
from tests.test_imports import MAPPING, frame, imported, records

ROADS = Actor(1, "official", agency="TEST-ROADS")
CATEGORIES = ("road", "water", "sewer", "park")
STATUSES = ("preparation", "implementation", "suspended", "completion")
CITY_HALL = (126.97797, 37.56654)


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Engine]:
    """The Seoul test city with its agencies and no projects, for this module's writes."""
    yield from seoul_agencies(settings, f"{TEST_DB}_map")


def place(i: int) -> tuple[float, float]:
    """Spread around City Hall, within a few hundred metres, so that cells hold several."""
    return (CITY_HALL[0] + (i % 7) * 0.0011 - 0.003, CITY_HALL[1] + (i // 7) * 0.0009 - 0.002)


def geometry(i: int) -> dict[str, Any]:
    lon, lat = place(i)
    if i % 3 == 0:
        return {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.0012, lat + 0.0003]]}
    return {"type": "Point", "coordinates": [lon, lat]}


def values(i: int) -> dict[str, Any]:
    return {
        "title": f"정비 공사 {i}",
        "category": CATEGORIES[i % len(CATEGORIES)],
        "project_type": "rehabilitation",
        "status": STATUSES[i % len(STATUSES)],
        "budget": str(100_000_000 + i * 1_000_000),
        "spent": str((i % 5) * 30_000_000),
        "progress_actual": str(i % 90),
        "planned_start": "2025-03-01",
        "planned_end": "2026-06-30" if i % 2 else "2027-12-31",
        "officer_name": "홍길동",
        "geometry": geometry(i),
        "published": i % 6 != 5,  # some drafts, never on the map
    }


def version(conn: Connection, code: str) -> str:
    found = conn.execute(
        text("SELECT id, updated_at FROM projects WHERE code = :c"), {"c": code}
    ).one()
    return version_of(found.id, found.updated_at)


def edit(db: Engine, code: str, reason: str | None = "정정", **changes: Any) -> None:
    with db.begin() as conn:
        run(
            conn,
            update_project(ROADS, code, changes, reason=reason, if_version=version(conn, code)),
        )


@pytest.fixture(scope="module")
def written(db: Engine, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Creates, edits of money, status and category, moves, a publication, withdrawals, a
    deletion and an import, in that order."""
    with db.begin() as conn:
        codes = [run(conn, create_project(ROADS, values(i))).code for i in range(36)]
    edit(db, codes[1], spent="999000000")  # over budget: flagged from now on
    edit(db, codes[2], status="suspended")
    edit(db, codes[3], category="park")
    edit(db, codes[4], geometry={"type": "Point", "coordinates": [127.0276, 37.4979]})  # Gangnam
    edit(db, codes[7], geometry=geometry(30))
    edit(db, codes[5], reason=None, published=True)  # a draft goes public
    with db.begin() as conn:
        run(conn, withdraw_project(ROADS, codes[8], "예산 미확보"))
        conn.execute(text("DELETE FROM projects WHERE code = :c"), {"c": codes[9]})
    path = tmp_path_factory.mktemp("map") / "list.gpkg"
    frame(records(6)).to_file(path, layer="projects")
    imported(db, path, MAPPING)
    return codes


def rows(conn: Connection, sql: str) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r) for r in conn.execute(text(sql)))


def test_map_rows_equal_the_published_projects_computed_afresh(
    db: Engine, written: list[str]
) -> None:
    fresh = """
        SELECT p.id, p.code, p.category, p.status, p.district_code, p.budget, p.spent,
               ST_AsEWKB(ST_Transform(p.geom, 3857)),
               round(ST_X(ST_PointOnSurface(ST_Transform(p.geom, 3857))) * 100)::bigint,
               round(ST_Y(ST_PointOnSurface(ST_Transform(p.geom, 3857))) * 100)::bigint,
               {flagged}
        FROM projects p WHERE p.published
    """.format(flagged=any_flag("p"))
    kept = """
        SELECT id, code, category, status, district_code, budget, spent, ST_AsEWKB(geom), x, y,
               flagged_on <= current_date
        FROM map_features
    """
    with db.connect() as conn:
        expected = rows(conn, fresh)
        assert rows(conn, kept) == expected
        # the writes reached the map: 30 published of 36, a draft published, one deleted, six
        # imported
        assert sum(expected.values()) == 30 + 1 - 1 + 6
        assert sum(1 for r in expected if r[-1]) >= 2  # flagged ones among them


def test_flagged_on_tells_each_day_as_the_rules_do(db: Engine, written: list[str]) -> None:
    """On any day, a project's first flagged day is reached exactly when a rule holds."""
    with db.connect() as conn:
        for shift in (-400, -30, 0, 200, 400, 900):
            day = f"(current_date + {shift})"
            rule = any_flag("p").replace("current_date", day)
            stored = f"f.flagged_on <= {day}"
            differ = conn.execute(
                text(
                    f"SELECT count(*) FROM projects p JOIN map_features f USING (id) "
                    f"WHERE ({rule}) IS DISTINCT FROM ({stored})"
                )
            ).scalar_one()
            assert differ == 0, shift


def cells_afresh(conn: Connection) -> Counter[tuple[Any, ...]]:
    """Each cell's projects per category and sums of points, from the map rows, in Python."""
    found: dict[tuple[int, ...], list[int]] = {}
    for x, y, category in conn.execute(text("SELECT x, y, category FROM map_features")):
        for zoom in range(CELL_ZOOMS[0], CELL_ZOOMS[1] + 1):
            n = 2**zoom * CELL_GRID
            i, j = column(x, n), row(y, n)
            key = (
                zoom,
                i // CELL_GRID,
                j // CELL_GRID,
                i % CELL_GRID + CELL_GRID * (j % CELL_GRID),
            )
            sums = found.setdefault((*key, category), [0, 0, 0])
            sums[0] += 1
            sums[1] += x
            sums[2] += y
    return Counter((*k, *v) for k, v in found.items())


def test_cells_and_district_sums_equal_a_fresh_count(db: Engine, written: list[str]) -> None:
    with db.connect() as conn:
        assert rows(conn, "SELECT * FROM map_cells") == cells_afresh(conn)
        fresh = """
            SELECT district_code, category, status, {flagged}, count(*), sum(budget), sum(spent)
            FROM projects p WHERE published AND district_code IS NOT NULL GROUP BY 1, 2, 3, 4
        """.format(flagged=any_flag("p"))
        kept = """
            SELECT district_code, category, status, flagged_on <= current_date,
                   sum(projects), sum(budget), sum(spent)
            FROM district_sums GROUP BY 1, 2, 3, 4
        """
        assert rows(conn, kept) == rows(conn, fresh)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return int((lon + 180) / 360 * n), int((1 - y / math.pi) / 2 * n)


def draw(conn: Connection, z: int, x: int, y: int, cluster_above: int) -> list[dict[str, Any]]:
    layer = LAYERS["projects"]
    query = tile(replace(layer, cluster_above=cluster_above), z, x, y, ProjectFilter())
    data = conn.exec_driver_sql(query.sql, query.params).scalar()
    if not data:
        return []
    return list(mapbox_vector_tile.decode(bytes(data))["projects"]["features"])


@pytest.mark.parametrize("z", [5, 12, 15, 16])
def test_a_tiles_clusters_count_the_projects_whose_point_lies_in_it(
    db: Engine, written: list[str], z: int
) -> None:
    """Drawn with a threshold low enough to cluster, a tile's cluster counts add up to the
    projects whose point lies in it (ST_TileEnvelope's west and north edges in, the others
    out), below the threshold each such project is a feature of its own."""
    x, y = tile_of(*CITY_HALL, z)
    inside = """
        SELECT f.id FROM map_features f, ST_TileEnvelope(:z, :x, :y) e
        WHERE f.x / 100.0 >= ST_XMin(e) AND f.x / 100.0 < ST_XMax(e)
          AND f.y / 100.0 > ST_YMin(e) AND f.y / 100.0 <= ST_YMax(e)
    """
    with db.connect() as conn:
        ids = set(conn.execute(text(inside), {"z": z, "x": x, "y": y}).scalars())
        assert len(ids) >= 5
        clusters = draw(conn, z, x, y, cluster_above=3)
        features = draw(conn, z, x, y, cluster_above=10_000)
    assert all(c["properties"]["count"] >= 1 for c in clusters)
    assert sum(c["properties"]["count"] for c in clusters) == len(ids)
    assert len(clusters) < len(ids)
    assert len(clusters) > 1 or z < 10
    assert ids <= {f["id"] for f in features}
    assert not any("count" in f["properties"] for f in features)


@pytest.mark.parametrize("z", [12, 16])
def test_a_clusters_point_is_where_st_asmvtgeom_puts_the_mean_of_its_projects(
    db: Engine, written: list[str], z: int
) -> None:
    """Clusters are placed without ST_AsMVTGeom (a mean of points in the tile is never
    clipped): each lands on the tile coordinates ST_AsMVTGeom gives its cell's mean point,
    from the stored cells (z12) as from the rows (z16)."""
    x, y = tile_of(*CITY_HALL, z)
    across = 2**z * CELL_GRID
    expected = """
        SELECT count(*) AS n, ST_X(g) AS px, ST_Y(g) AS py FROM (
            SELECT ST_AsMVTGeom(ST_Point(avg(f.x) / 100.0, avg(f.y) / 100.0, 3857),
                                ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS g
            FROM map_features f, ST_TileEnvelope(:z, :x, :y) e
            WHERE f.x / 100.0 >= ST_XMin(e) AND f.x / 100.0 < ST_XMax(e)
              AND f.y / 100.0 > ST_YMin(e) AND f.y / 100.0 <= ST_YMax(e)
            GROUP BY floor((f.x / 100.0 + :half) / (2 * :half) * :across),
                     floor((:half - f.y / 100.0) / (2 * :half) * :across)) c
        GROUP BY g"""
    with db.connect() as conn:
        cells = conn.execute(
            text(expected), {"z": z, "x": x, "y": y, "half": HALF_WORLD_M, "across": across}
        ).all()
        data = conn.exec_driver_sql(
            (q := tile(replace(LAYERS["projects"], cluster_above=3), z, x, y, ProjectFilter())).sql,
            q.params,
        ).scalar()
    assert data is not None
    decoded = mapbox_vector_tile.decode(bytes(data), default_options={"y_coord_down": True})
    drawn = Counter(tuple(f["geometry"]["coordinates"]) for f in decoded["projects"]["features"])
    assert len(cells) > 1
    assert drawn == Counter({(int(c.px), int(c.py)): c.n for c in cells})
