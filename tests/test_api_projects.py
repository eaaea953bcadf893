"""The public project API against the hand-made city, over real HTTP."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.city import HIDDEN, LIBRARY, PARK, PUBLISHED, ROAD, STALE, VALVE
from tests.conftest import VERSION_TTL


def _codes(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [f["id"] for f in response.json()["features"]]


def test_lists_every_published_project_and_nothing_else(server) -> None:
    body = server.http.get("/api/projects", params={"limit": 1000}).json()
    assert body["type"] == "FeatureCollection"
    assert sorted(f["id"] for f in body["features"]) == sorted(p.code for p in PUBLISHED)
    assert body["numberMatched"] == len(PUBLISHED)
    assert HIDDEN.code not in [f["id"] for f in body["features"]]


def test_number_matched_is_left_out_past_what_is_counted(server, monkeypatch) -> None:
    """A list counts its matches up to ``COUNT_UP_TO`` (a big city's would read every row):
    past it ``numberMatched`` is left out, and the pages still walk every match."""
    monkeypatch.setattr("geo.disclosure.COUNT_UP_TO", 2)
    # addresses of their own: a body another test left in the cache would carry its count
    body = server.http.get("/api/projects", params={"limit": 999}).json()
    assert "numberMatched" not in body
    assert body["numberReturned"] == len(body["features"]) == len(PUBLISHED)
    road = server.http.get("/api/projects", params={"category": "road", "limit": 999}).json()
    assert road["numberMatched"] == 1


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "road"}, [ROAD]),
        ({"category": "road,water"}, [ROAD, VALVE]),
        ({"status": "completion"}, [LIBRARY]),
        ({"status": "implementation", "category": "sewer"}, [STALE]),
        ({"agency": "TEST-WATER"}, [VALVE, PARK, STALE]),
        ({"q": "하수관로"}, [STALE]),
        ({"q": "fix-build"}, [LIBRARY]),
        ({"q": "한빛시험"}, [ROAD]),
        ({"q": "100%_done"}, [PARK]),
        ({"q": "100%"}, [PARK]),
        ({"q": "%"}, [PARK]),
        ({"q": "_"}, [PARK]),
        ({"q": "시험%공사"}, []),
        ({"q": "'; DROP TABLE projects; --"}, []),
        ({"active_on": "2026-01-10"}, [ROAD]),
        ({"active_on": "2025-06-01"}, [LIBRARY]),
        ({"min_budget": "1000000000"}, [ROAD, LIBRARY, PARK]),
        ({"max_budget": "800000000"}, [VALVE, STALE]),
        ({"min_budget": "300000000", "max_budget": "900000000"}, [STALE]),
        ({"bbox": "126.9995,37.4995,127.0015,37.5005"}, [ROAD, VALVE]),
        ({"bbox": "127.0105,37.5104,127.0106,37.5105"}, [LIBRARY]),
        ({"flagged": "true"}, [ROAD, VALVE, STALE]),
    ],
)
def test_each_filter(server, params: dict[str, str], expected: list) -> None:
    codes = _codes(server.http.get("/api/projects", params=params))
    assert sorted(codes) == sorted(p.code for p in expected)


def test_district_filter(server, engine) -> None:
    with engine.connect() as conn:
        district = conn.execute(
            text("SELECT district_code FROM projects WHERE code = :c"), {"c": PARK.code}
        ).scalar()
    assert district
    assert _codes(server.http.get("/api/projects", params={"district": district})) == [PARK.code]


def test_paging_follows_next_links(server) -> None:
    seen: list[str] = []
    url = "/api/projects?limit=2&sort=-budget"
    while url:
        body = server.http.get(url).json()
        seen += [f["id"] for f in body["features"]]
        assert body["numberReturned"] == len(body["features"]) <= 2
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else ""
    by_budget = sorted(PUBLISHED, key=lambda p: -p.budget)
    assert seen == [p.code for p in by_budget]


@pytest.mark.parametrize("sort", ["title", "-budget", "progress", "-end", "-updated", "code"])
def test_pages_walk_the_order_of_one_page_ties_included(server, sort: str) -> None:
    """A page at a time, by keyset, gives the order one page gives, equal keys included (the id
    breaks ties, the same way as the column)."""
    whole = _codes(server.http.get("/api/projects", params={"sort": sort, "limit": 500}))
    walked: list[str] = []
    url = f"/api/projects?limit=1&sort={sort}"
    while url:
        body = server.http.get(url).json()
        walked += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), "")
    assert walked == whole and len(whole) == len(PUBLISHED)


def test_click_finds_nearest_first_and_never_the_unpublished(server) -> None:
    body = server.http.get("/api/projects/at", params={"lon": 127.0005, "lat": 37.5}).json()
    codes = [f["id"] for f in body["features"]]
    assert codes == [ROAD.code, VALVE.code]
    road, valve = body["features"]
    assert road["properties"]["distance_m"] == 0
    assert 5.0 < valve["properties"]["distance_m"] < 6.0
    assert road["properties"]["title"] == ROAD.title
    assert road["properties"]["budget"] == ROAD.budget
    assert road["properties"]["progress_actual"] == ROAD.actual
    assert road["properties"]["agency"]["name"]["en"] == "Test Roads Office"
    assert road["geometry"]["type"] == "LineString"


def test_click_radius_and_zoom(server) -> None:
    near = {"lon": 127.0005, "lat": 37.5}
    assert _codes(server.http.get("/api/projects/at", params={**near, "radius_m": 3})) == [
        ROAD.code
    ]
    away = {"lon": 127.0005, "lat": 37.5009}  # 100 m north of the street
    assert _codes(server.http.get("/api/projects/at", params=away)) == []
    assert _codes(server.http.get("/api/projects/at", params={**away, "zoom": 13})) == [
        VALVE.code,
        ROAD.code,
    ]


def test_full_disclosure(server) -> None:
    response = server.http.get(f"/api/projects/{ROAD.code}")
    assert response.headers["content-type"] == "application/geo+json"
    p = response.json()["properties"]
    assert p["title"] == ROAD.title
    assert p["contractor"] == ROAD.contractor
    assert p["supervisor"] == "(주)시험감리"
    assert p["contract_value"] == ROAD.budget * 0.9
    assert p["remaining"] == ROAD.budget - ROAD.spent
    assert p["officer"] == {"name": "홍길동", "phone": "02-000-1234"}
    assert [r["actual"] for r in p["reports"]] == [10.0, 40.0]
    assert p["reports"][1]["note"] == "우기 대비 공정 조정"
    assert p["documents"][0]["document_type"] == "illustration"
    assert p["days_elapsed"] > 0 and p["days_remaining"] > 0
    assert p["flags"] == {
        "over_budget": False,
        "behind_schedule": True,
        "spending_ahead": False,
        "stale": False,
    }


@pytest.mark.parametrize(
    ("fixture", "flag"),
    [(VALVE, "over_budget"), (STALE, "stale"), (ROAD, "behind_schedule")],
)
def test_flags(server, fixture, flag: str) -> None:
    flags = server.http.get(f"/api/projects/{fixture.code}").json()["properties"]["flags"]
    assert flags[flag] is True


def test_unpublished_and_unknown_codes_are_404(server) -> None:
    for code in (HIDDEN.code, "NO-SUCH-1"):
        response = server.http.get(f"/api/projects/{code}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["parameter"] == "code"


def test_etag_and_304_until_the_data_changes(server, engine) -> None:
    url = f"/api/projects/{LIBRARY.code}"
    first = server.http.get(url)
    tag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = server.http.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    with engine.begin() as conn:
        conn.execute(text("UPDATE projects SET spent = spent WHERE code = :c"), {"c": LIBRARY.code})
    time.sleep(VERSION_TTL * 1.5)  # the server re-reads the data version after this long
    changed = server.http.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag


def test_a_category_the_city_lacks_matches_nothing(server) -> None:
    response = server.http.get("/api/projects", params={"category": "spaceport"})
    assert response.status_code == 200
    assert response.json()["numberMatched"] == 0
