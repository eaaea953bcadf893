"""Bad input answers 4xx with an RFC 9457 problem naming the parameter; never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/projects?bbox=1,2,3", "bbox"),
        ("/api/projects?bbox=1,2,3,4,5", "bbox"),
        ("/api/projects?bbox=a,b,c,d", "bbox"),
        ("/api/projects?bbox=127,37,126,38", "bbox"),
        ("/api/projects?bbox=127,95,128,96", "bbox"),
        ("/api/projects?bbox=nan,37,128,38", "bbox"),
        ("/api/projects?limit=1000000", "limit"),
        ("/api/projects?limit=0", "limit"),
        ("/api/projects?offset=-1", "offset"),
        ("/api/projects?category=spaceport", "category"),
        ("/api/projects?status=done", "status"),
        ("/api/projects?active_on=tomorrow", "active_on"),
        ("/api/projects?active_on=0", "active_on"),
        ("/api/projects?active_on=2026-02-30", "active_on"),
        ("/api/projects?min_budget=lots", "min_budget"),
        ("/api/projects?min_budget=10&max_budget=5", "min_budget"),
        ("/api/projects?sort=price", "sort"),
        ("/api/projects/at?lon=abc&lat=37.5", "lon"),
        ("/api/projects/at?lon=127&lat=91", "lat"),
        ("/api/projects/at?lon=127", "lat"),
        ("/api/projects/at?lon=127&lat=37.5&radius_m=99999", "radius_m"),
        ("/api/layers/projects/tiles/3/8/0.mvt", "x"),
        ("/api/layers/projects/tiles/3/0/8.mvt", "y"),
        ("/api/layers/projects/tiles/30/0/0.mvt", "z"),
        ("/api/layers/projects/tiles/-1/0/0.mvt", "z"),
        ("/api/layers/projects/tiles/2/1/1.mvt", "z"),
        ("/api/layers/nothing/tiles/10/0/0.mvt", "layer_id"),
        ("/api/layers/projects/features?bbox=0,0", "bbox"),
        ("/api/projects/bad%20code!", "code"),
    ],
)
def test_bad_input_is_a_problem_naming_the_parameter(server, url: str, parameter: str) -> None:
    response = server.http.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    assert parameter in [e["parameter"] for e in body["errors"]], body
