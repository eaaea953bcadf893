"""Answers no request can poison for the next visitor: links, conditional requests, HEAD."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from geo.settings import Settings
from layers import LAYERS
from tests.city import PUBLISHED, ROAD, tile_of
from tests.conftest import VERSION_TTL, serve
from tests.routes import ROUTES, roles_of

FORGED = {"Host": "evil.example", "X-Forwarded-Proto": "gopher", "X-Forwarded-Host": "evil.example"}


def _hrefs(page: dict, catalogue: dict, tilejson: dict) -> list[str]:
    return (
        [link["href"] for link in page["links"]]
        + [url for layer in catalogue["layers"] for url in layer["links"].values()]
        + tilejson["tiles"]
    )


@pytest.mark.parametrize("public_url", [None, "https://allimi.example.org"])
def test_a_forged_host_never_reaches_a_kept_body(db_url, public_url: str | None) -> None:
    settings = Settings(
        database_url=db_url, version_ttl=VERSION_TTL, cache_min_ms=0, public_url=public_url
    )
    paths = ["/api/projects?limit=2", "/api/layers", "/api/layers/projects/tilejson.json"]
    for running in serve(settings):
        for path in paths:
            assert running.http.get(path, headers=FORGED).status_code == 200
        later = [running.http.get(path).json() for path in paths]
    hrefs = _hrefs(*later)
    assert len(hrefs) == 2 + 3 * len(LAYERS) + 1
    assert "evil.example" not in str(later) and "gopher" not in str(later)
    for link in hrefs:
        if public_url:
            assert link.startswith(f"{public_url}/api/"), link
        else:
            assert link.startswith("/api/"), link


def test_if_none_match_star_is_304_only_where_there_is_a_resource(server) -> None:
    star = {"If-None-Match": "*"}
    assert server.http.get(f"/api/projects/{ROAD.code}", headers=star).status_code == 304
    missing = server.http.get("/api/projects/NO-SUCH-1", headers=star)
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"parameter": "code", "reason": missing.json()["detail"]}]
    tag = server.http.get(f"/api/projects/{ROAD.code}").headers["etag"]
    assert (
        server.http.get(f"/api/projects/{ROAD.code}", headers={"If-None-Match": tag}).status_code
        == 304
    )
    other = server.http.get("/api/projects/NO-SUCH-1", headers={"If-None-Match": tag})
    assert other.status_code == 404


def _example_path(route: APIRoute) -> str:
    z, x, y = tile_of(127.0005, 37.5, 16)
    values = {
        "code": ROAD.code,
        "layer_id": "projects",
        "z": z,
        "x": x,
        "y": y,
        "document_type": "contract",
        "sha256": "0" * 64,  # no file is stored in the test city
        "report_id": 1,
        "job_id": 1,
        "conflict_id": 1,
        "collectionId": "projects",
        "featureId": 1,  # the test city's first project
    }
    path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), route.path)
    required = [p.alias for p in route.dependant.query_params if p.field_info.is_required()]
    if required == ["lon", "lat"]:
        return path + "?lon=127.0005&lat=37.5"
    return path + ("?bbox=126.99,37.49,127.01,37.51" if required == ["bbox"] else "")


GET_ROUTES = [route for route in ROUTES if route.methods and "GET" in route.methods]


@pytest.mark.parametrize("route", GET_ROUTES, ids=[r.path for r in GET_ROUTES])
def test_every_get_route_answers_head_alike(server, route: APIRoute) -> None:
    path = _example_path(route)
    got = server.http.get(path)
    head = server.http.head(path)
    # the test city has no synthetic sample documents and no stored files: there, both answer
    # the same 404; an account's own routes answer an anonymous request 401, both alike
    expected = (401,) if roles_of(route) else (200, 204)
    absent = route.path.startswith(("/sample-documents/", "/files/"))
    assert got.status_code in expected or (absent and got.status_code == 404), path
    assert head.status_code == got.status_code
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("etag") == got.headers.get("etag")


def test_keyset_pages_walk_every_match_in_every_order(server) -> None:
    for sort in ("code", "-budget", "start", "-end", "updated", "-progress", "title"):
        whole = server.http.get("/api/projects", params={"sort": sort, "limit": 1000}).json()
        expected = [f["id"] for f in whole["features"]]
        seen: list[str] = []
        url = f"/api/projects?sort={sort}&limit=2"
        while url:
            body = server.http.get(url).json()
            assert body["numberMatched"] == len(PUBLISHED)
            assert body["numberReturned"] == len(body["features"])
            seen += [f["id"] for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), "")
            assert not url or "cursor=" in url
        assert seen == expected, sort
