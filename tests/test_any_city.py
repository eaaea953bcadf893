"""A second city served by the same code: the API answers with its names, languages, currency
and extent, and nothing of Seoul or Korean appears in any answer."""

from __future__ import annotations

import re

import mapbox_vector_tile
import pytest

from tests import danang
from tests.city import tile_of

SEOUL_OR_KOREAN = re.compile(r"[\u3131-\u318e\uac00-\ud7a3]|Seoul|KRW|₩")
ROAD_AT = danang.lon_lat(1000, 1000)  # the middle of the road


def _paths() -> list[str]:
    lon, lat = ROAD_AT
    z, x, y = tile_of(lon, lat, 16)
    code = danang.ROAD.code
    return [
        "/api/config",
        "/api/layers",
        "/api/layers/projects/tilejson.json",
        "/api/layers/districts/tilejson.json",
        "/api/layers/projects/features",
        "/api/layers/districts/features",
        f"/api/layers/projects/tiles/{z}/{x}/{y}.mvt",
        f"/api/layers/districts/tiles/{z}/{x}/{y}.mvt",
        "/api/districts",
        "/api/projects",
        f"/api/projects/{code}",
        f"/api/projects/at?lon={lon}&lat={lat}",
        "/api/health",
        "/openapi.json",
    ]


@pytest.mark.parametrize("path", _paths())
def test_no_answer_speaks_of_seoul(danang_server, path: str) -> None:
    response = danang_server.http.get(path)
    assert response.status_code == 200, response.text
    body = response.content.decode("utf-8", errors="replace")
    assert not SEOUL_OR_KOREAN.findall(body)


def test_the_config_is_the_citys(danang_server) -> None:
    config = danang_server.http.get("/api/config").json()
    j = config["jurisdiction"]
    assert (j["name"], j["languages"], j["currency"]) == (danang.CITY_NAME, ["vi", "en"], "VND")
    assert j["levels"] == list(danang.LEVELS)
    # the extent of the four corners (UTM's grid north is not true north)
    corners = [danang.lon_lat(x, y) for x in (0, 8000) for y in (0, 2000)]
    lons, lats = [c[0] for c in corners], [c[1] for c in corners]
    expected = [min(lons), min(lats), max(lons), max(lats)]
    assert j["bounds"] == pytest.approx(expected, abs=1e-6)
    assert j["licence"] == {  # the city names none
        "name": {"vi": "CC BY 4.0", "en": "CC BY 4.0"},
        "url": "https://creativecommons.org/licenses/by/4.0/",
    }
    assert config["categories"]["road"]["label"] == {"vi": "Đường bộ", "en": "Road"}
    assert config["statuses"]["implementation"]["label"] == {
        "vi": "Đang thi công",
        "en": "Under construction",
    }
    assert [a["name"]["vi"] for a in config["agencies"]] == sorted(a[1] for a in danang.AGENCIES)


def test_tilejson_bounds_and_names_come_from_the_city(danang_server) -> None:
    districts = danang_server.http.get("/api/layers/districts/tilejson.json").json()
    config = danang_server.http.get("/api/config").json()
    assert districts["bounds"] == config["jurisdiction"]["bounds"]
    assert districts["name"] == "Quận"
    assert districts["description"] == "Quận / District"


def test_district_totals_are_the_citys(danang_server) -> None:
    totals = {d["code"]: d for d in danang_server.http.get("/api/districts").json()}
    assert set(totals) == {code for code, _, _ in danang.QUAN}
    hai_chau = totals["490"]
    assert hai_chau["name"] == {"vi": "Quận Hải Châu", "en": "Hai Chau District"}
    assert (hai_chau["projects"], hai_chau["budget"]) == (1, danang.ROAD.budget)
    assert totals["493"]["budget"] == danang.PUMP.budget


def test_a_click_finds_the_citys_project_with_its_names(danang_server) -> None:
    lon, lat = ROAD_AT
    found = danang_server.http.get("/api/projects/at", params={"lon": lon, "lat": lat}).json()
    assert [f["id"] for f in found["features"]] == [danang.ROAD.code]
    road = found["features"][0]["properties"]
    assert road["currency"] == "VND"
    assert road["agency"]["name"]["vi"] == "Sở Giao thông vận tải Đà Nẵng"
    detail = danang_server.http.get(f"/api/projects/{danang.ROAD.code}").json()["properties"]
    assert detail["district"] == {
        "code": "490",
        "name": {"vi": "Quận Hải Châu", "en": "Hai Chau District"},
    }


def test_district_tiles_name_each_district_in_the_citys_language(danang_server) -> None:
    z, x, y = tile_of(*ROAD_AT, 10)  # one tile holds the whole test city
    response = danang_server.http.get(f"/api/layers/districts/tiles/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    features = mapbox_vector_tile.decode(response.content)["districts"]["features"]
    names = sorted(f["properties"]["name"] for f in features)
    assert names == sorted(vi for _, vi, _ in danang.QUAN)
