"""The planners' conflicts over HTTP, on the hand-made city (whose street and valve, 5.5 m
apart, are dug at once): the list and its overrides, exports, the check of an unsaved work,
the workflow, zones drawn by hand, the timeline, and what the public sees."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine, text

from geo.conflicts import store
from geo.conflicts.rules import Rules
from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests import city
from tests.conftest import Server, hand_made_city, problem, serve, signed_in

PEOPLE = [("planner", "planner"), ("roads", "official", "TEST-ROADS"), ("admin", "admin")]
# Beside the hand-made street (127.0000..127.0010 at 37.5000): 11 m north of it
BESIDE = {"type": "LineString", "coordinates": [[127.0002, 37.5001], [127.0008, 37.5001]]}
WORK = {"geometry": BESIDE, "category": "sewer", "planned_start": "2026-05-01",
        "planned_end": "2026-08-31"}  # fmt: skip


@dataclass(frozen=True)
class Site:
    server: Server
    engine: Engine
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str | None = "planner", **params: object) -> httpx.Response:
        headers = self.as_(who) if who else {}
        return self.server.http.get(path, params=params, headers=headers)

    def post(
        self, path: str, body: object, who: str = "planner", **params: object
    ) -> httpx.Response:
        return self.server.http.post(path, json=body, params=params, headers=self.as_(who))

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    url = hand_made_city(settings, "allimi_test_conflicts_api")
    engine = engine_for(url)
    with engine.begin() as conn:
        tokens = {who: token for who, (_, token) in signed_in(conn, PEOPLE).items()}
        store.scan(conn, Rules())
    for running in serve(Settings(database_url=url, version_ttl=0)):
        yield Site(running, engine, tokens)
    engine.dispose()
    drop_database(url)


def test_the_street_and_its_valve_clash(site: Site) -> None:
    answer = site.get("/api/conflicts")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    body = answer.json()
    pairs = {
        (f["properties"]["a"]["code"], f["properties"]["b"]["code"]): f for f in body["features"]
    }
    assert body["numberMatched"] == len(pairs) == 1
    clash = pairs[city.ROAD.code, city.VALVE.code]["properties"]
    assert (clash["kind"], clash["status"], clash["holds"]) == ("clash", "open", True)
    assert clash["distance_m"] == pytest.approx(5.5, abs=0.1)
    assert clash["overlap_days"] == 334  # 2026-02-01 to 2026-12-31
    assert "note" in clash


def test_a_project_s_conflicts_are_those_naming_it(site: Site) -> None:
    (clash,) = site.get("/api/conflicts").json()["features"]
    for code in (city.ROAD.code, city.VALVE.code):
        (its,) = site.get(f"/api/projects/{code}/conflicts").json()["features"]
        assert its["properties"]["id"] == clash["properties"]["id"]
    assert site.get(f"/api/projects/{city.STALE.code}/conflicts").json()["features"] == []
    for unknown in ("NOPE-1", city.HIDDEN.code):  # none, or not published
        assert problem(site.get(f"/api/projects/{unknown}/conflicts"), 404) == ["code"]


def test_a_request_s_own_buffer_is_applied_on_the_spot(site: Site) -> None:
    """The valve is 5.5 m from the street: a 5 m buffer parts them, a 6 m one finds the stored
    conflict (with its id and workflow)."""
    (stored,) = site.get("/api/conflicts").json()["features"]
    assert site.get("/api/conflicts", buffer_m=5).json()["numberMatched"] == 0
    (near,) = site.get("/api/conflicts", buffer_m=6).json()["features"]
    assert near["properties"]["id"] == stored["properties"]["id"]
    assert site.get("/api/conflicts", kind="dig_once").json()["numberMatched"] == 0


def test_number_matched_is_left_out_past_what_is_counted(site: Site, monkeypatch) -> None:
    """A list counts its matches up to ``COUNT_UP_TO`` and no further (a city's tens of
    millions would take minutes): past it the page comes without ``numberMatched``."""
    monkeypatch.setattr("geo.conflicts.listing.COUNT_UP_TO", 0)
    body = site.get("/api/conflicts").json()
    assert "numberMatched" not in body
    assert body["numberReturned"] == len(body["features"]) == 1
    assert site.get("/api/conflicts", kind="dig_once").json()["numberMatched"] == 0


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"buffer_m": -1}, "buffer_m"),
        ({"buffer_m": 100_000}, "buffer_m"),
        ({"gap_days": -5}, "gap_days"),
        ({"moratorium_months": 9999}, "moratorium_months"),
        ({"kind": "fight"}, "kind"),
        ({"from": "2027-01-01", "to": "2026-01-01"}, "to"),
        ({"bbox": "1,2,3"}, "bbox"),
    ],
)
def test_absurd_rules_and_filters_are_refused(site: Site, params: dict, parameter: str) -> None:
    answer = site.get("/api/conflicts", **params)
    status = 422 if parameter in ("buffer_m", "gap_days", "moratorium_months") else 400
    assert parameter in problem(answer, status)


def test_the_list_is_for_planners_and_officials(site: Site) -> None:
    assert problem(site.get("/api/conflicts", who=None), 401) == ["Authorization"]
    assert site.get("/api/conflicts", who="roads").status_code == 200


def test_exports_as_csv_and_as_an_offline_district_report(site: Site) -> None:
    answer = site.get("/api/conflicts.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["a_code"], r["b_code"], r["kind"]) for r in rows] == [
        (city.ROAD.code, city.VALVE.code, "clash")
    ]
    district = site.get("/api/conflicts", who="planner").json()["features"][0]["properties"]
    report = site.get("/api/conflicts/report", district=district["a"]["district"])
    assert report.status_code == 200, report.text
    assert report.headers["content-type"].startswith("text/html")
    page = report.text
    assert city.ROAD.code in page and "L.map(" in page
    # nothing fetched from elsewhere: no external script or stylesheet
    assert not re.findall(r'<script[^>]+src=|<link[^>]+href="http', page)
    assert problem(site.get("/api/conflicts/report", district="NOWHERE"), 404) == ["district"]


def test_the_check_finds_what_an_unsaved_work_would_meet(site: Site) -> None:
    answer = site.post("/api/conflicts/check", WORK)
    assert answer.status_code == 200, answer.text
    found = {(f["properties"]["b"]["code"], f["properties"]["kind"]) for f in answer.json()}
    assert found == {(city.ROAD.code, "clash"), (city.VALVE.code, "clash")}
    later = {**WORK, "planned_start": "2027-06-01", "planned_end": "2027-07-31"}
    kinds = {f["properties"]["kind"] for f in site.post("/api/conflicts/check", later).json()}
    assert kinds == {"dig_once"}  # the street ends 2027-03-31, the valve 2026-12-31: 2 months
    # an edit of the street itself does not meet itself
    own = {**WORK, "geometry": BESIDE, "code": city.ROAD.code}
    assert city.ROAD.code not in {
        f["properties"]["b"]["code"] for f in site.post("/api/conflicts/check", own).json()
    }


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"planned_end": "2026-01-01"}, "planned_end"),
        ({"planned_start": "yesterday"}, "planned_start"),
        ({"category": "circus"}, "category"),
        ({"geometry": {"type": "LineString", "coordinates": [[127.0, 37.5], [127.0, 37.5]]}},
         "geometry"),
        ({"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry"),  # Paris
        ({"colour": "red"}, "colour"),
        ({"code": "FIX-\x00"}, "code"),
    ],
)  # fmt: skip
def test_a_check_of_bad_input_says_which_field(site: Site, change: dict, parameter: str) -> None:
    assert parameter in problem(site.post("/api/conflicts/check", {**WORK, **change}), 422)


def test_the_workflow_over_http(site: Site) -> None:
    clash = site.get("/api/conflicts").json()["features"][0]["properties"]["id"]
    path = f"/api/conflicts/{clash}/steps"
    logged = site.count("changes")
    assert problem(site.post(path, {"status": "coordinated", "note": "x"}), 409) == ["status"]
    assert problem(site.post(path, {"status": "closed"}), 422) == ["status"]
    assert problem(site.post("/api/conflicts/999999/steps", {"status": "acknowledged"}), 404) == []
    assert site.count("changes") == logged
    assert (
        site.post(path, {"status": "acknowledged"}, who="roads").json()["status"] == "acknowledged"
    )
    refused = site.post(path, {"status": "coordinated", "note": "one trench"})
    assert problem(refused, 422) == ["days_saved", "money_saved"]
    done = site.post(path, {"status": "coordinated", "note": "one trench for both",
                            "days_saved": 14, "money_saved": 25000000})  # fmt: skip
    assert done.json() == {"id": clash, "status": "coordinated"}
    assert site.count("changes") == logged + 2
    # the public layer shows it coordinated, without the note
    layer = site.get("/api/layers/conflicts/features", who=None, bbox="126.99,37.49,127.01,37.51")
    (shown,) = [f for f in layer.json()["features"] if f["id"] == clash]
    assert shown["properties"]["status"] == "coordinated"
    assert "one trench" not in layer.text


def test_the_public_layer_keeps_the_conflicts_a_filter_on_either_work_matches(
    site: Site,
) -> None:
    """The map's filter keeps a conflict when either of its works matches it: the street's
    clash with its valve is a road's and a water main's, not a park's."""
    box = "126.99,37.49,127.01,37.51"

    def shown(**given: str) -> set[str]:
        answer = site.get("/api/layers/conflicts/features", who=None, bbox=box, **given)
        assert answer.status_code == 200, answer.text
        return {f["properties"]["kind"] for f in answer.json()["features"]}

    assert shown() == {"clash"}
    assert shown(category="road") == shown(category="water") == {"clash"}
    assert shown(category="park") == set()
    assert shown(agency="TEST-WATER") == {"clash"}


def test_a_planner_draws_a_protected_zone(site: Site) -> None:
    street = {"type": "LineString", "coordinates": [[127.02, 37.52], [127.021, 37.5205]]}
    zone = {"geometry": street, "starts": "2026-01-01", "ends": "2028-12-31",
            "reason": "new sewer lining"}  # fmt: skip
    before = site.count("moratoria")
    assert problem(site.post("/api/moratoria", zone, who="roads"), 403) == ["Authorization"]
    for bad, parameter in (({"ends": "2025-01-01"}, "ends"), ({"reason": " "}, "reason"),
                           ({"geometry": {"type": "Point", "coordinates": [127.02, 37.52]}},
                            "geometry")):  # fmt: skip
        assert parameter in problem(site.post("/api/moratoria", {**zone, **bad}), 422)
    assert site.count("moratoria") == before
    made = site.post("/api/moratoria", zone)
    assert made.status_code == 201, made.text
    # the sewer works under way on that street now violate it
    found = site.get("/api/conflicts", kind="moratorium").json()["features"]
    assert [(f["properties"]["a"]["code"], f["properties"]["zone"]["id"]) for f in found] == [
        (city.STALE.code, made.json()["id"])
    ]
    timeline = site.get(f"/api/projects/{city.STALE.code}/timeline", who=None).json()
    assert [w["code"] for w in timeline["works"]] == [city.STALE.code]
    assert [(z["source"], z["reason"]) for z in timeline["zones"]] == [
        ("drawn", "new sewer lining")
    ]


def test_the_timeline_of_a_place_is_public(site: Site) -> None:
    timeline = site.get("/api/timeline", who=None, bbox="126.9995,37.4995,127.0015,37.5005")
    assert timeline.status_code == 200
    works = timeline.json()["works"]
    assert [w["code"] for w in works] == [city.ROAD.code, city.VALVE.code]  # by start
    assert city.HIDDEN.code not in timeline.text  # a draft is not public
    whole = site.get("/api/timeline", who=None).json()  # the city's
    assert {w["code"] for w in whole["works"]} == {f.code for f in city.PUBLISHED}
    assert problem(site.get("/api/projects/NOPE-1/timeline", who=None), 404) == ["code"]


def test_a_disclosure_names_the_other_works_at_its_place(site: Site) -> None:
    disclosure = site.get(f"/api/projects/{city.VALVE.code}", who=None).json()
    (other,) = disclosure["properties"]["same_place"]
    assert (other["code"], other["kind"]) == (city.ROAD.code, "clash")


def test_one_conflict_is_read_by_its_id(site: Site) -> None:
    listed = site.get("/api/conflicts").json()["features"][0]
    one = site.get(f"/api/conflicts/{listed['id']}")
    assert one.headers["content-type"] == "application/geo+json"
    assert one.json()["properties"]["a"] == listed["properties"]["a"]
    assert problem(site.get("/api/conflicts/999999"), 404) == ["conflict_id"]
