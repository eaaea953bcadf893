"""Map layers: catalogue, TileJSON, vector tiles decoded, GeoJSON features, district totals."""

from __future__ import annotations

import dataclasses
import json

import mapbox_vector_tile
from sqlalchemy import text

from geo.filters import ProjectFilter
from layers import PROJECTS
from layers.render import features as features_query
from layers.render import tile as tile_query
from tests.city import HIDDEN, LIBRARY, PUBLISHED, ROAD, VALVE, tile_of


def test_catalogue_lists_layers_with_legends_and_links(server) -> None:
    layers = {entry["id"]: entry for entry in server.http.get("/api/layers").json()["layers"]}
    assert set(layers) == {"projects", "districts", "conflicts"}
    projects = layers["projects"]
    assert projects["title"] == {"ko": "공공공사", "en": "Public works"}
    assert {e["value"] for e in projects["style"]["legend"]} >= {"road", "water", "building"}
    assert projects["links"]["tiles"].endswith("/api/layers/projects/tiles/{z}/{x}/{y}.mvt")
    assert projects["minzoom"] < projects["maxzoom"]
    # the districts layer is named as the city names its first administrative level
    assert layers["districts"]["title"] == {"ko": "자치구", "en": "District"}
    conflicts = layers["conflicts"]
    assert [e["value"] for e in conflicts["style"]["legend"]] == ["clash", "dig_once", "moratorium"]
    assert set(conflicts["properties"]) == {"kind", "status", "a_code", "b_code"}  # no note


def test_tilejson(server) -> None:
    body = server.http.get("/api/layers/projects/tilejson.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["vector_layers"][0]["id"] == "projects"
    minx, miny, maxx, maxy = body["bounds"]
    assert 126.7 < minx < maxx < 127.3 and 37.4 < miny < maxy < 37.8


def test_street_tile_holds_the_projects_with_lean_properties(server) -> None:
    z, x, y = tile_of(127.0005, 37.5, 16)
    response = server.http.get(f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    features = decoded["projects"]["features"]
    by_code = {f["properties"]["code"]: f for f in features}
    assert set(by_code) == {ROAD.code, VALVE.code}
    assert by_code[ROAD.code]["properties"]["category"] == "road"
    assert by_code[ROAD.code]["properties"]["status"] == "implementation"
    assert by_code[ROAD.code]["geometry"]["type"] == "LineString"
    assert set(by_code[VALVE.code]["properties"]) == {"code", "category", "status", "flagged"}
    assert HIDDEN.code not in by_code


def test_tile_etag_and_empty_tile(server) -> None:
    z, x, y = tile_of(127.0005, 37.5, 16)
    first = server.http.get(f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt")
    again = server.http.get(
        f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt",
        headers={"If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    z, x, y = tile_of(-30.0, 10.0, 10)  # the Atlantic
    assert server.http.get(f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt").status_code == 204


def test_dense_tiles_become_clusters_that_count_every_project(engine) -> None:
    dense = dataclasses.replace(PROJECTS, cluster_above=2)
    z, x, y = tile_of(127.01, 37.51, 11)
    with engine.connect() as conn:
        query = tile_query(dense, z, x, y, ProjectFilter())
        data = conn.exec_driver_sql(query.sql, query.params).scalar()
        in_tile = conn.execute(
            text(
                "SELECT count(*) FROM projects WHERE published AND "
                "geom && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
            ),
            {"z": z, "x": x, "y": y},
        ).scalar()
    features = mapbox_vector_tile.decode(data)["projects"]["features"]
    assert in_tile >= 4
    assert all(f["geometry"]["type"] == "Point" for f in features)
    assert sum(f["properties"]["count"] for f in features) == in_tile
    assert all("category" in f["properties"] for f in features)


def test_features_in_a_bbox(server) -> None:
    body = server.http.get(
        "/api/layers/projects/features", params={"bbox": "126.99,37.49,127.015,37.515"}
    ).json()
    codes = sorted(f["properties"]["code"] for f in body["features"])
    assert codes == sorted([ROAD.code, VALVE.code, LIBRARY.code])


def test_district_totals_add_up(server, engine) -> None:
    totals = server.http.get("/api/districts").json()
    assert len(totals) == 25
    assert sum(d["projects"] for d in totals) == len(PUBLISHED)
    assert sum(d["budget"] for d in totals) == sum(p.budget for p in PUBLISHED)
    with engine.connect() as conn:
        home = conn.execute(
            text("SELECT district_code FROM projects WHERE code = :c"), {"c": ROAD.code}
        ).scalar()
    district = next(d for d in totals if d["code"] == home)
    assert district["flagged"] >= 2  # the road (behind) and the valve (over budget)
    layer = server.http.get("/api/layers/districts/features").json()
    assert len(layer["features"]) == 25
    assert sum(f["properties"]["projects"] for f in layer["features"]) == len(PUBLISHED)


def test_a_view_with_no_width_or_height_still_clusters(engine) -> None:
    """A line-thin bbox over a dense area used to divide by its zero width."""
    dense = dataclasses.replace(PROJECTS, cluster_above=1)
    query = features_query(dense, ProjectFilter(), (127.0005, 37.49, 127.0005, 37.51), 100)
    with engine.connect() as conn:
        found = json.loads(conn.exec_driver_sql(query.sql, query.params).scalar())
    counts = [f["properties"]["count"] for f in found["features"]]
    assert counts == [2], found  # the street and the valve, one cluster


def test_a_view_across_the_antimeridian_is_its_two_halves(server) -> None:
    def ids(bbox: str) -> list[int]:
        response = server.http.get("/api/layers/projects/features", params={"bbox": bbox})
        assert response.status_code == 200, response.text
        return sorted(f["id"] for f in response.json()["features"])

    across = ids("126.9995,37.49,-170,37.52")
    assert across == sorted(ids("126.9995,37.49,180,37.52") + ids("-180,37.49,-170,37.52"))
    assert len(across) >= 3
