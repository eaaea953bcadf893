"""Bad input answers a 4xx with an RFC 9457 problem naming the parameter; never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from tests.city import ROAD


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/api/projects?bbox=1,2,3", 400, "bbox"),
        ("/api/projects?bbox=1,2,3,4,5", 400, "bbox"),
        ("/api/projects?bbox=a,b,c,d", 400, "bbox"),
        ("/api/projects?bbox=127,95,128,96", 400, "bbox"),
        ("/api/projects?bbox=nan,37,128,38", 400, "bbox"),
        ("/api/projects?bbox=1e999,37,128,38", 400, "bbox"),
        ("/api/projects?limit=1000000", 422, "limit"),
        ("/api/projects?limit=0", 422, "limit"),
        ("/api/projects?offset=-1", 422, "offset"),
        ("/api/projects?offset=10001", 422, "offset"),
        ("/api/projects?category=Space-Port", 400, "category"),
        ("/api/projects?category=road,", 400, "category"),
        ("/api/projects?status=done", 400, "status"),
        ("/api/projects?active_on=tomorrow", 400, "active_on"),
        ("/api/projects?active_on=0", 400, "active_on"),
        ("/api/projects?active_on=2026-02-30", 400, "active_on"),
        ("/api/projects?min_budget=lots", 400, "min_budget"),
        ("/api/projects?min_budget=-1", 400, "min_budget"),
        ("/api/projects?min_budget=1e-16384", 400, "min_budget"),
        ("/api/projects?max_budget=1e-999999999", 400, "max_budget"),
        ("/api/projects?max_budget=1e16384", 400, "max_budget"),
        ("/api/projects?max_budget=NaN", 400, "max_budget"),
        ("/api/projects?flagged=yes", 400, "flagged"),
        ("/api/projects?flagged=false&flagged=true", 400, "flagged"),
        ("/api/projects?limit=5&limit=6", 400, "limit"),
        ("/api/projects?junk=1", 400, "junk"),
        ("/api/projects/at?lon=127&lat=37.5&_=1", 400, "_"),
        ("/api/layers?bbox=1,2,3,4", 400, "bbox"),
        ("/api/projects?sort=price", 422, "sort"),
        ("/api/projects?cursor=not-ours", 404, "cursor"),
        (f"/api/projects?cursor={_cursor('code', 'X', 1)}&sort=-code", 404, "cursor"),
        (f"/api/projects?cursor={_cursor('budget', '1e-99999', 1)}&sort=budget", 404, "cursor"),
        (f"/api/projects?cursor={_cursor('start', '2026-02-30', 1)}&sort=start", 404, "cursor"),
        (f"/api/projects?cursor={_cursor('updated', '2026-02-03', 1)}&sort=updated", 404, "cursor"),
        (f"/api/projects?cursor={_cursor('code', 'X', 'one')}", 404, "cursor"),
        ("/api/projects/at?lon=abc&lat=37.5", 422, "lon"),
        ("/api/projects/at?lon=127&lat=91", 422, "lat"),
        ("/api/projects/at?lon=127", 422, "lat"),
        ("/api/projects/at?lon=127&lat=37.5&radius_m=99999", 422, "radius_m"),
        ("/api/layers/projects/tiles/3/8/0.mvt", 404, "x"),
        ("/api/layers/projects/tiles/3/0/8.mvt", 404, "y"),
        ("/api/layers/projects/tiles/30/0/0.mvt", 422, "z"),
        ("/api/layers/projects/tiles/-1/0/0.mvt", 422, "z"),
        ("/api/layers/projects/tiles/2/1/1.mvt", 404, "z"),
        ("/api/layers/nothing/tiles/10/0/0.mvt", 404, "layer_id"),
        ("/api/layers/projects/features?bbox=0,0", 400, "bbox"),
        ("/api/projects/bad%20code!", 422, "code"),
        (f"/projects/{ROAD.code}/sheet?lang=xx", 400, "lang"),
    ],
)
def test_bad_input_is_a_problem_naming_the_parameter(
    server, url: str, status: int, parameter: str
) -> None:
    response = server.http.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert [e["parameter"] for e in body["errors"]] == [parameter], body


def test_a_repeated_parameter_says_so(server) -> None:
    body = server.http.get("/api/projects?flagged=false&flagged=true").json()
    assert body["detail"] == "flagged is given more than once; give it once."


def test_an_unknown_parameter_lists_the_known_ones(server) -> None:
    body = server.http.get("/api/projects/at?lon=127&lat=37.5&nocache=1").json()
    assert body["detail"] == (
        "nocache is not a parameter of this endpoint (it takes: lat, lon, radius_m, zoom)."
    )


def test_budget_bounds_round_to_the_cent_they_can_select(server) -> None:
    """Budgets are kept to the cent: 0.001 selects what 0.01 does, and the extremes of the
    number line that a client may still mean are answered, not refused."""

    def codes(**params: str) -> list[str]:
        response = server.http.get("/api/projects", params=params)
        assert response.status_code == 200, response.text
        return sorted(f["id"] for f in response.json()["features"])

    every = codes()
    assert codes(min_budget="0.001") == codes(min_budget="0.01") == every
    assert codes(min_budget="5e-324") == every
    assert codes(max_budget="1e16") == every
    assert codes(max_budget="0.009") == codes(max_budget="0") == []
    assert codes(min_budget=str(ROAD.budget), max_budget=str(ROAD.budget)) == [ROAD.code]
