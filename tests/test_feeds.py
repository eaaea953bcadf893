"""Atom feeds of the change log, read with feedparser over real HTTP: each scope holds exactly
the news the database says it should, newest first."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import feedparser
import pytest
from sqlalchemy import Engine, text

from geo.changelog import Change, appended
from geo.feeds import ENTRIES, MAX_RADIUS_M
from geo.transaction import run
from tests.city import LIBRARY, PARK, ROAD, STALE, VALVE
from tests.conftest import VERSION_TTL, Server, problem

FEED = "/api/feeds/changes.atom"
ROAD_LON, ROAD_LAT = 127.0005, 37.5  # the middle of the road, 5.5 m from the valve
# The news of the log, as SQL says it: publications, reports, withdrawals, and edits of money,
# dates or status, of projects that are public.
NEWS = """
    SELECT c.seq, c.hash, p.code FROM changes c JOIN projects p ON p.code = c.project_code
    WHERE p.published AND (c.action IN ('create', 'publish', 'report', 'withdraw')
        OR (c.action = 'edit' AND (c.content::jsonb -> 'fields') ?|
            ARRAY['budget', 'contract_value', 'planned_start', 'planned_end', 'status']))
      AND {where}
    ORDER BY c.seq DESC LIMIT :entries
"""


@pytest.fixture(scope="module")
def logged(engine: Engine) -> dict[str, int]:
    """Changes as the writes append them: news of five projects, and two entries that are not
    news (a typo fixed, a conflict's step). Their sequence numbers, by name."""
    changes = {
        "published": Change("publish", PARK.code, PARK.agency, "official",
                            {"budget": (None, Decimal(PARK.budget)),
                             "planned_start": (None, date(2027, 5, 1)),
                             "planned_end": (None, date(2028, 6, 30))}),
        "budget": Change("edit", ROAD.code, ROAD.agency, "official",
                         {"budget": (Decimal(900_000_000), Decimal(ROAD.budget))}, "설계 변경"),
        "typo": Change("edit", ROAD.code, ROAD.agency, "official",
                       {"title": ("시험로 도로 포장 정비", ROAD.title)}, "오타"),
        "report": Change("report", VALVE.code, VALVE.agency, "contractor",
                         {"progress_actual": (Decimal(60), Decimal(70)),
                          "progress_planned": (Decimal(60), Decimal(65)),
                          "reported_on": (None, date(2026, 6, 30))}),
        "completed": Change("edit", LIBRARY.code, LIBRARY.agency, "official",
                            {"status": ("implementation", "completion")}),
        "delayed": Change("edit", STALE.code, STALE.agency, "official",
                          {"planned_end": (date(2026, 12, 31), date(2027, 1, 31))}, "우기 지연"),
        "conflict": Change("conflict", ROAD.code, ROAD.agency, "planner",
                           {"status": ("open", "acknowledged")}),
    }  # fmt: skip
    seqs = {}
    for name, change in changes.items():
        with engine.begin() as conn:
            seqs[name] = run(conn, appended(change))
    time.sleep(VERSION_TTL * 1.5)  # the server sees the new data version
    return seqs


def read(server: Server, **params: Any) -> feedparser.FeedParserDict:
    response = server.http.get(FEED, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def entry_id(digest: bytes) -> str:
    """An entry's id: the hash of its change in the log, for ever."""
    return f"urn:allimi:seoul:change:{digest.hex()}"


def news(engine: Engine, where: str = "TRUE", **params: Any) -> list[tuple[str, str]]:
    """(entry id, project code) of the newest news in ``where``, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(text(NEWS.format(where=where)), {"entries": ENTRIES, **params})
        return [(entry_id(bytes(row.hash)), row.code) for row in rows]


def ids(parsed: feedparser.FeedParserDict) -> list[tuple[str, str]]:
    return [(e.id, e.link.rpartition("project=")[2].partition("&")[0]) for e in parsed.entries]


def test_the_city_feed_holds_the_news_newest_first(server: Server, engine: Engine, logged) -> None:
    parsed = read(server)
    assert ids(parsed) == news(engine)
    found = {e.id for e in parsed.entries}
    with engine.connect() as conn:
        hashes = dict(conn.execute(text("SELECT seq, hash FROM changes")).all())
    assert {entry_id(bytes(hashes[logged[name]])) for name in ("typo", "conflict")}.isdisjoint(
        found
    )
    assert len(parsed.entries) <= ENTRIES
    assert parsed.feed.language == "ko"  # the city's first language


def test_a_district_feed_holds_only_its_own(server: Server, engine: Engine, logged) -> None:
    with engine.connect() as conn:
        district = conn.execute(
            text("SELECT district_code FROM projects WHERE code = :c"), {"c": ROAD.code}
        ).scalar_one()
        inside = set(
            conn.execute(
                text("SELECT code FROM projects WHERE published AND district_code = :d"),
                {"d": district},
            ).scalars()
        )
        name = conn.execute(
            text("SELECT name ->> 'en' FROM districts WHERE code = :d"), {"d": district}
        ).scalar_one()
    parsed = read(server, district=district, lang="en")
    expected = news(engine, "p.district_code = :district", district=district)
    assert ids(parsed) == expected
    assert expected and {code for _, code in expected} <= inside
    assert PARK.code not in inside and name in parsed.feed.title


@pytest.mark.parametrize(("centre", "radius"), [(ROAD, 100.0), (LIBRARY, 1500.0), (PARK, 5.0)])
def test_a_circle_feed_holds_only_the_works_within_it(
    server: Server, engine: Engine, logged, centre, radius: float
) -> None:
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                 "FROM projects WHERE code = :c"), {"c": centre.code}
        ).one()  # fmt: skip
    parsed = read(server, circle=f"{lon},{lat},{radius}", lang="en")
    within = (
        "ST_DWithin(p.geom::geography, "
        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :radius)"
    )
    expected = news(engine, within, lon=lon, lat=lat, radius=radius)
    assert ids(parsed) == expected
    assert centre.code in {code for _, code in expected}
    assert f"within {radius:,.0f} m of" in parsed.feed.title


def test_an_agency_feed_and_scopes_together(server: Server, engine: Engine, logged) -> None:
    agency = read(server, agency=ROAD.agency)
    assert ids(agency) == news(engine, "c.agency_code = :agency", agency=ROAD.agency)
    near_road = f"{ROAD_LON},{ROAD_LAT},200"
    both = read(server, agency=VALVE.agency, circle=near_road)
    assert {code for _, code in ids(both)} == {VALVE.code}


def test_entries_say_what_changed_and_why(server: Server, engine: Engine, logged) -> None:
    parsed = read(server, lang="en", circle="127.0105,37.5104,3000")
    by_project: dict[str, list[Any]] = {}
    for entry in parsed.entries:
        by_project.setdefault(entry.link.rpartition("project=")[2].split("&")[0], []).append(entry)
    budget = by_project[ROAD.code][0]
    assert budget.title == f"{ROAD.title}: Budget ₩900\u00a0million → ₩1\u00a0billion"
    assert "Reason: 설계 변경" in budget.content[0].value
    assert "Agency: Test Roads Office" in budget.content[0].value
    assert budget.author == "Test Roads Office"
    assert budget.where["coordinates"]  # a GeoRSS point on the works
    report = by_project[VALVE.code][0]
    assert report.title == f"{VALVE.title}: progress report: 70% done, 65% planned"
    completed = by_project[LIBRARY.code][0]
    assert completed.title == f"{LIBRARY.title}: completed"
    delayed = by_project[STALE.code][0]
    assert "Reason: 우기 지연" in delayed.content[0].value
    assert delayed.title.startswith(f"{STALE.title}: Planned end ")


def test_each_entry_links_to_its_project_on_the_map(server: Server, logged) -> None:
    parsed = read(server, lang="en")
    assert parsed.entries
    for entry in parsed.entries[:5]:
        assert entry.link.startswith("/?project=")
        page = server.http.get(entry.link)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
    assert parsed.feed.links[0].href.startswith(FEED)  # its own address, to subscribe to


@pytest.mark.parametrize("scope", [{"district": "no-such-district"}, {"agency": "NOBODY"}])
def test_an_unknown_district_or_agency_is_an_empty_feed(server: Server, scope, logged) -> None:
    parsed = read(server, **scope)
    assert parsed.entries == []


@pytest.mark.parametrize(
    "circle",
    ["127,37.5", "127,37.5,100,1", "a,b,c", "nan,37.5,100", "127,37.5,inf", "1_27,37.5,100",
     "127,37.5,0", "127,37.5,-5", f"127,37.5,{MAX_RADIUS_M + 1}", "181,37.5,100", "127,91,100",
     "127,37.5,"],
)  # fmt: skip
def test_a_bad_circle_is_a_problem_naming_it(server: Server, circle: str) -> None:
    assert problem(server.http.get(FEED, params={"circle": circle}), 400) == ["circle"]


def test_an_unknown_language_is_a_problem(server: Server) -> None:
    assert problem(server.http.get(FEED, params={"lang": "xx"}), 400) == ["lang"]


def test_a_current_feed_is_not_sent_again(server: Server, logged) -> None:
    tag = server.http.get(FEED).headers["etag"]
    again = server.http.get(FEED, headers={"If-None-Match": tag})
    assert again.status_code == 304
