"""OGC API - Features at /ogc over real HTTP: its documents, the items and their paging,
bbox, datetime and property filters compared with SQL on the database, and bad input."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from api.rendering import templates
from geo.earth import METRES_PER_DEGREE
from geo.settings import Settings
from layers import LAYERS
from layers.collections import CRS84, GEOJSON
from layers.items import MAX_LIMIT
from layers.service import CONFORMANCE, OPENAPI
from tests.city import ROAD
from tests.conftest import problem
from tests.test_web import shot

ITEMS = "/ogc/collections/{}/items"
PROJECTS = ITEMS.format("projects")
PERIOD = ("coalesce(p.actual_start, p.planned_start)", "coalesce(p.actual_end, p.planned_end)")


def _rows(engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return [row[0] if len(row) == 1 else tuple(row) for row in conn.execute(text(sql), params)]


def _published(engine, where: str = "true", **params: Any) -> list[str]:
    return _rows(
        engine,
        f"SELECT code FROM projects p WHERE p.published AND ({where}) ORDER BY code",
        **params,
    )


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GEOJSON
    return sorted(f["properties"]["code"] for f in response.json()["features"])


def _walk(server, url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every page from ``url`` on, following next links: the pages and their features."""
    pages, features = [], []
    while url:
        response = server.http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        features += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), "")
    return pages, features


# ---- the documents ---------------------------------------------------------------------------


def test_the_landing_page_links_to_everything_and_each_link_answers(server) -> None:
    landing = server.http.get("/ogc")
    assert landing.status_code == 200
    links = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "alternate", "service-desc", "conformance", "data"} <= set(links)
    for rel in ("service-desc", "conformance", "data", "alternate"):
        followed = server.http.get(links[rel]["href"])
        assert followed.status_code == 200, rel
        assert followed.headers["content-type"].startswith(links[rel]["type"].split(";")[0])


def test_conformance_declares_core_geojson_html_openapi_and_cql2_filtering(server) -> None:
    declared = server.http.get("/ogc/conformance").json()["conformsTo"]
    assert declared == CONFORMANCE
    for part in ("features-1/1.0/conf/core", "features-1/1.0/conf/geojson",
                 "features-1/1.0/conf/html", "features-1/1.0/conf/oas30",
                 "features-3/1.0/conf/filter", "features-3/1.0/conf/features-filter",
                 "features-3/1.0/conf/queryables",
                 "features-3/1.0/conf/queryables-query-parameters",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
                 "cql2/1.0/conf/basic-cql2"):  # fmt: skip
        assert any(uri.endswith(part) for uri in declared), part


def test_the_openapi_description_states_limit_and_each_collections_queryables(server) -> None:
    response = server.http.get("/ogc/api")
    assert response.headers["content-type"] == OPENAPI
    document = response.json()
    assert document["openapi"].startswith("3.0")
    limit = document["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == MAX_LIMIT and limit["default"] <= MAX_LIMIT
    for layer in LAYERS.values():
        parameters = document["paths"][f"/collections/{layer.id}/items"]["get"]["parameters"]
        assert {"$ref": "#/components/parameters/limit"} in parameters
        named = {p["name"] for p in parameters if "name" in p}
        assert {"bbox", "datetime", "filter", "filter-lang", "cursor"} <= named
        assert set(layer.queryables) - {"geometry"} <= named
        assert "collectionId" not in named
    assert "/collections/{collectionId}/items" not in document["paths"]


def test_collections_are_the_public_layers_with_their_extents(server, engine) -> None:
    body = server.http.get("/ogc/collections").json()
    collections = {c["id"]: c for c in body["collections"]}
    assert list(collections) == list(LAYERS)
    zone = ZoneInfo(_rows(engine, "SELECT timezone FROM jurisdiction")[0])
    projects = collections["projects"]
    assert projects["itemType"] == "feature"
    assert projects["storageCrs"] == CRS84 and projects["crs"] == [CRS84]
    bbox = _rows(
        engine,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM projects WHERE published) s",
    )[0]
    assert projects["extent"]["spatial"]["bbox"] == [pytest.approx(list(bbox))]
    first, last = _rows(
        engine, f"SELECT min({PERIOD[0]}), max({PERIOD[1]}) FROM projects p WHERE p.published"
    )[0]
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(last, time(23, 59, 59), zone).astimezone(UTC)
    assert projects["extent"]["temporal"]["interval"] == [
        [start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")]
    ]
    districts = _rows(
        engine,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM districts WHERE level = 1) s",
    )[0]
    assert collections["districts"]["extent"]["spatial"]["bbox"] == [pytest.approx(list(districts))]
    assert "temporal" not in collections["districts"]["extent"]
    # where works meet lies where works may: the city, and the geometry margin beyond
    west, south, east, north = collections["conflicts"]["extent"]["spatial"]["bbox"][0]
    reach = Settings().geometry_margin_m / METRES_PER_DEGREE
    beyond = [districts[0] - west, districts[1] - south, east - districts[2], north - districts[3]]
    assert all(reach <= b < 2 * reach for b in beyond), beyond
    assert "temporal" not in collections["conflicts"]["extent"]
    one = server.http.get("/ogc/collections/projects").json()
    assert one["extent"] == projects["extent"]
    rels = {(link["rel"], link["type"]) for link in one["links"]}
    assert ("items", GEOJSON) in rels
    assert ("http://www.opengis.net/def/rel/ogc/1.0/queryables", "application/schema+json") in rels


def test_queryables_are_a_json_schema_of_what_a_filter_may_name(server) -> None:
    for layer in LAYERS.values():
        response = server.http.get(f"/ogc/collections/{layer.id}/queryables")
        assert response.headers["content-type"] == "application/schema+json"
        schema = response.json()
        assert schema["type"] == "object"
        assert set(schema["properties"]) == set(layer.queryables)
    status = server.http.get("/ogc/collections/projects/queryables").json()["properties"]["status"]
    assert status["type"] == "string" and "implementation" in status["enum"]


# ---- items -----------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["projects", "districts"])
def test_next_links_walk_every_feature_once(server, engine, collection) -> None:
    pages, features = _walk(server, ITEMS.format(collection) + "?limit=2")
    table = "projects WHERE published" if collection == "projects" else "districts WHERE level = 1"
    ids = _rows(engine, f"SELECT id FROM {table} ORDER BY id")
    assert [f["id"] for f in features] == ids
    assert len(pages) == (len(ids) + 1) // 2
    for body in pages:
        assert body["numberMatched"] == len(ids)
        assert body["numberReturned"] == len(body["features"]) <= 2
        assert all("cursor=" in link["href"] for link in body["links"] if link["rel"] == "next")
    whole, _ = _walk(server, ITEMS.format(collection) + f"?limit={len(ids)}")
    assert len(whole) == 1  # no next link to an empty page


def test_number_matched_is_left_out_past_its_threshold(server, engine, monkeypatch) -> None:
    monkeypatch.setattr("layers.items.COUNT_UP_TO", 2)
    pages, features = _walk(server, ITEMS.format("projects") + "?limit=3")
    assert all("numberMatched" not in body for body in pages)
    assert len(features) == len(_published(engine))
    small = server.http.get(ITEMS.format("projects"), params={"category": "road"}).json()
    assert small["numberMatched"] == len(_published(engine, "p.category = 'road'"))


def test_a_feature_has_its_integer_id_and_the_code_as_a_property(server, engine) -> None:
    (road_id,) = _rows(engine, "SELECT id FROM projects WHERE code = :c", c=ROAD.code)
    feature = server.http.get(f"/ogc/collections/projects/items/{road_id}")
    assert feature.status_code == 200
    assert feature.headers["content-type"] == GEOJSON
    assert feature.headers["content-crs"] == f"<{CRS84}>"
    body = feature.json()
    assert body["id"] == road_id and body["properties"]["code"] == ROAD.code
    assert body["geometry"]["type"] == "LineString"
    in_page = next(
        f
        for f in server.http.get(ITEMS.format("projects"), params={"limit": 1000}).json()[
            "features"
        ]
        if f["id"] == road_id
    )
    assert {k: v for k, v in body.items() if k != "links"} == in_page


def test_bbox_selects_what_st_intersects_selects(server, engine) -> None:
    for box in ("126.9995,37.4995,127.0015,37.5005", "127.0105,37.5104,127.0106,37.5105",
                "126.9,37.4,127.1,37.7", "170,-10,-170,10"):  # fmt: skip
        w, s, e, n = (float(v) for v in box.split(","))
        sql = (
            "ST_Intersects(p.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
            if w <= e
            else "ST_Intersects(p.geom, ST_MakeEnvelope(:w, :s, 180, :n, 4326)) "
            "OR ST_Intersects(p.geom, ST_MakeEnvelope(-180, :s, :e, :n, 4326))"
        )
        response = server.http.get(ITEMS.format("projects"), params={"bbox": box})
        assert _codes(response) == _published(engine, sql, w=w, s=s, e=e, n=n), box


def _seoul_day(engine, instant: str) -> date:
    zone = ZoneInfo(_rows(engine, "SELECT timezone FROM jurisdiction")[0])
    return datetime.fromisoformat(instant).astimezone(zone).date()


def test_datetime_selects_the_projects_whose_period_meets_it(server, engine) -> None:
    late = "2026-01-04T16:00:00Z"  # already 5 January in Seoul, the day ROAD starts
    cases = {
        "2026-01-10": ("2026-01-10", "2026-01-10"),
        "2025-06-01/2026-01-04": ("2025-06-01", "2026-01-04"),
        "2027-01-01/..": ("2027-01-01", None),
        "../2025-01-01": (None, "2025-01-01"),
        "/2025-01-01": (None, "2025-01-01"),
        "2026-03-01/": ("2026-03-01", None),
        late: (_seoul_day(engine, late),) * 2,
        f"2026-01-01/{late}": ("2026-01-01", _seoul_day(engine, late)),
        "2027-01-01/2026-01-01": ("2027-01-01", "2026-01-01"),  # backwards: nothing
    }
    for value, (first, last) in cases.items():
        where = " AND ".join(
            [f"{PERIOD[1]} >= :first"] * (first is not None)
            + [f"{PERIOD[0]} <= :last"] * (last is not None)
        )
        expected = _published(engine, where, first=first, last=last)
        assert _codes(server.http.get(ITEMS.format("projects"), params={"datetime": value})) == (
            expected
        ), value
    assert _codes(server.http.get(ITEMS.format("projects"), params={"datetime": late})) == [
        ROAD.code
    ]
    districts = server.http.get(ITEMS.format("districts"), params={"datetime": "1990-01-01"})
    assert len(districts.json()["features"]) == len(
        _rows(engine, "SELECT 1 FROM districts WHERE level = 1")
    )


def test_queryables_are_query_parameters_too(server, engine) -> None:
    for params, where in (
        ({"status": "implementation"}, "p.status = 'implementation'"),
        ({"category": "road", "status": "implementation"}, "p.category = 'road'"),
        ({"agency_code": "TEST-WATER"}, "p.agency_code = 'TEST-WATER'"),
        ({"planned_start": "2026-01-05"}, "p.planned_start = '2026-01-05'"),
        ({"budget": "200000000"}, "p.budget = 200000000"),
        ({"is_sample": "false"}, "NOT p.is_sample"),
        ({"title": "no such title"}, "false"),
    ):
        assert _codes(server.http.get(ITEMS.format("projects"), params=params)) == _published(
            engine, where
        ), params


def test_an_items_page_is_cached_by_the_data_version(server) -> None:
    url = ITEMS.format("projects") + "?limit=3"
    first = server.http.get(url)
    assert first.headers["content-crs"] == f"<{CRS84}>"
    again = server.http.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "named"),
    [
        ("/ogc/collections/nowhere", {}, 404, "collectionId"),
        ("/ogc/collections/nowhere/items", {"status": "x"}, 404, "collectionId"),
        ("/ogc/collections/projects/items/999999999", {}, 404, "featureId"),
        ("/ogc/collections/projects/items/abc", {}, 404, "featureId"),
        ("/ogc/collections/projects/items/-1", {}, 404, "featureId"),
        (PROJECTS, {"bbox": "1,2,3"}, 400, "bbox"),
        (PROJECTS, {"bbox": "1,2,3,x"}, 400, "bbox"),
        (PROJECTS, {"bbox": "0,0,200,1"}, 400, "bbox"),
        (PROJECTS, {"datetime": "2026-02-30"}, 400, "datetime"),
        (PROJECTS, {"datetime": "2026-01-01T"}, 400, "datetime"),
        (PROJECTS, {"datetime": "../.."}, 400, "datetime"),
        (PROJECTS, {"datetime": "yesterday"}, 400, "datetime"),
        (PROJECTS, {"limit": "0"}, 400, "limit"),
        (PROJECTS, {"limit": str(MAX_LIMIT + 1)}, 400, "limit"),
        (PROJECTS, {"limit": "ten"}, 400, "limit"),
        (PROJECTS, {"limit": "٣"}, 400, "limit"),
        (PROJECTS, {"cursor": "bm90LW91cnM"}, 404, "cursor"),
        (PROJECTS, {"sortby": "code"}, 400, "sortby"),
        (PROJECTS, {"kind": "clash"}, 400, "kind"),  # conflicts'
        (PROJECTS, {"budget": "a lot"}, 400, "budget"),
        (PROJECTS, {"budget": "1e999999"}, 400, "budget"),
        (PROJECTS, {"flagged": "yes"}, 400, "flagged"),
        (PROJECTS, {"planned_start": "2026-13-01"}, 400, "planned_start"),
        (PROJECTS, {"crs": "EPSG:5186"}, 400, "crs"),
        (PROJECTS, {"bbox-crs": "EPSG:5186"}, 400, "bbox-crs"),
        (PROJECTS, {"f": "xml"}, 400, "f"),
        (PROJECTS, {"filter-lang": ""}, 400, "filter-lang"),
        (PROJECTS, {"filter-lang": "cql-text"}, 400, "filter-lang"),
        ("/ogc/collections", {"status": "x"}, 400, "status"),
        ("/ogc", {"limit": "1"}, 400, "limit"),
    ],
)
def test_bad_input_is_a_problem_naming_the_parameter(server, path, params, status, named) -> None:
    assert problem(server.http.get(path, params=params), status) == [named]


def test_a_parameter_given_twice_is_refused(server) -> None:
    response = server.http.get(ITEMS.format("projects") + "?status=planned&status=completion")
    assert problem(response, 400) == ["status"]


# ---- HTML ------------------------------------------------------------------------------------

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_browsers_are_sent_on_to_html_and_other_clients_get_json(server) -> None:
    for path in ("/ogc", "/ogc/collections", ITEMS.format("projects") + "?limit=2"):
        sent = server.http.get(path, headers=BROWSER)
        assert sent.status_code == 303
        assert "Accept" in [v.strip() for v in sent.headers["vary"].split(",")]
        assert re.search(r"[?&]f=html$", sent.headers["location"])
        page = server.http.get(sent.headers["location"])
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for accept in ("*/*", "application/json", GEOJSON):
            answer = server.http.get(path, headers={"Accept": accept})
            assert answer.status_code == 200
            assert not answer.headers["content-type"].startswith("text/html")


def test_every_page_is_browsable_html(server, engine) -> None:
    (road_id,) = _rows(engine, "SELECT id FROM projects WHERE code = :c", c=ROAD.code)
    pages = ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/districts",
             "/ogc/collections/projects/queryables", ITEMS.format("projects"),
             ITEMS.format("districts"), f"/ogc/collections/projects/items/{road_id}"]  # fmt: skip
    for path in pages:
        page = server.http.get(path, params={"f": "html"})
        assert page.status_code == 200, path
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<script>" not in page.text  # scripts come from files only
    items = server.http.get(ITEMS.format("projects"), params={"f": "html", "limit": 2}).text
    assert 'rel="next"' in items and "cursor=" in items
    assert 'data-features="/ogc/collections/projects/items?limit=2&amp;f=json"' in items


def test_text_from_the_data_is_escaped_in_html() -> None:
    evil = "<script>alert(1)</script>"
    feature = {"type": "Feature", "id": 1, "geometry": None,
               "properties": {"title": evil, "name": {"ko": evil}}}  # fmt: skip
    doc = {"type": "FeatureCollection", "numberReturned": 1, "links": [], "features": [feature]}
    for page, data in (("items.html", doc), ("item.html", {**feature, "links": []})):
        html = templates.get_template(f"ogc/{page}").render(
            doc=data, city=evil, collection="projects"
        )
        assert evil not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_items_page_draws_its_features_on_a_map(server, engine, browser) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    page.goto(f"{server.base}{ITEMS.format('projects')}?f=html")
    rows = page.locator("table.ogc-table tbody tr").count()
    assert rows == len(_published(engine))
    drawn = page.locator("#ogc-map .leaflet-interactive")
    drawn.nth(rows - 1).wait_for()
    assert drawn.count() == rows
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    shot(page, "ogc-items")
    page.close()
