"""Officials write projects over HTTP: each write one transaction with its change-log entry,
an edit only from the version it was made from, and every refusal leaving nothing behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests.conftest import WRITERS, Server, hand_made_city, problem, serve, signed_in

ARTIFACTS = Path(__file__).parent / "artifacts"
# A street in Jongno-gu (EPSG:4326), and a point given in the Korean EPSG:5186
STREET = {"type": "LineString", "coordinates": [[126.9780, 37.5700], [126.9800, 37.5702]]}
CITY_HALL = (126.97797, 37.56654)
NEW = {
    "title": "세종대로 보도 정비",
    "category": "road",
    "project_type": "rehabilitation",
    "status": "preparation",
    "agency": "TEST-ROADS",
    "budget": "1200000000",
    "planned_start": "2027-03-01",
    "planned_end": "2027-09-30",
    "published": True,
    "geometry": STREET,
}


@dataclass(frozen=True)
class Site:
    server: Server
    engine: Engine
    tokens: dict[str, str]  # who -> bearer token

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def log(self) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, action, project_code FROM changes ORDER BY seq"))
            return [tuple(r) for r in rows]

    def projects(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM projects")).scalar_one())


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    """The hand-made test city in a database of its own (these tests change it)."""
    name = "allimi_test_writes"
    url = hand_made_city(settings, name)
    engine = engine_for(url)
    with engine.begin() as conn:
        tokens = {who: token for who, (_, token) in signed_in(conn, WRITERS).items()}
    for running in serve(Settings(database_url=url, version_ttl=0)):
        yield Site(running, engine, tokens)
    engine.dispose()
    drop_database(url)


def _create(site: Site, values: dict, who: str = "roads", **params: str) -> httpx.Response:
    return site.server.http.post("/api/projects", json=values, params=params, headers=site.as_(who))


def test_an_official_puts_a_project_on_the_public_map(site: Site) -> None:
    made = _create(site, NEW)
    assert made.status_code == 201, made.text
    code, version = made.json()["code"], made.json()["version"]
    assert code.startswith("SEOUL-2027-")
    assert made.headers["location"] == f"/api/projects/{code}"
    assert made.headers["etag"] == f'"{version}"'
    public = site.server.http.get(f"/api/projects/{code}").json()["properties"]
    assert (public["title"], public["district_code"], public["currency"]) == (
        NEW["title"], "11110", "KRW",
    )  # fmt: skip
    assert public["version"] == version
    assert site.log()[-1][1:] == ("create", code)
    history = site.server.http.get(f"/api/projects/{code}/changes").json()["changes"]
    created = json.loads(history[0]["content"])
    assert created["fields"]["budget"] == [None, "1200000000"]
    assert created["agency"] == "TEST-ROADS" and created["role"] == "official"


def test_a_geometry_in_the_korean_crs_lands_where_it_is(site: Site) -> None:
    x, y = Transformer.from_crs(4326, 5186, always_xy=True).transform(*CITY_HALL)
    point = {"type": "Point", "coordinates": [x, y]}
    made = _create(site, {**NEW, "geometry": point}, crs="EPSG:5186")
    assert made.status_code == 201, made.text
    with site.engine.connect() as conn:
        off = conn.execute(
            text(
                "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
                "::geography) FROM projects WHERE code = :c"
            ),
            {"x": CITY_HALL[0], "y": CITY_HALL[1], "c": made.json()["code"]},
        ).scalar_one()
    assert off < 1.0


def test_bad_fields_are_all_named_and_nothing_is_stored(site: Site) -> None:
    before = (site.projects(), site.log())
    bad = {**NEW, "category": "spaceport", "budget": "-5", "planned_end": "2020-01-01"}
    assert set(problem(_create(site, bad), 422)) >= {"category", "budget", "planned_end"}
    outside = {**NEW, "geometry": {"type": "Point", "coordinates": [129.0, 35.1]}}  # Busan
    assert problem(_create(site, outside), 422) == ["geometry"]
    assert (site.projects(), site.log()) == before


def test_an_edit_needs_the_current_version_and_a_reason_for_money(site: Site) -> None:
    made = _create(site, NEW).json()
    url = f"/api/projects/{made['code']}"
    http, roads = site.server.http, site.as_("roads")
    assert problem(http.patch(url, json={"title": "x"}, headers=roads), 428) == ["If-Match"]
    fresh = {**roads, "If-Match": f'"{made["version"]}"'}
    assert "reason" in problem(http.patch(url, json={"budget": "1500000000"}, headers=fresh), 422)
    log = site.log()  # the refused edit wrote nothing
    done = http.patch(url, json={"budget": "1500000000", "reason": "설계 변경"}, headers=fresh)
    assert done.status_code == 200, done.text
    assert done.json()["changed"] == ["budget"]
    edit = json.loads(http.get(f"{url}/changes").json()["changes"][0]["content"])
    assert (edit["action"], edit["fields"], edit["reason"]) == (
        "edit", {"budget": ["1200000000", "1500000000"]}, "설계 변경",
    )  # fmt: skip
    shown = http.get(url).json()["properties"]
    assert shown["baseline"]["budget"] == "1200000000" and shown["budget"] == 1500000000
    assert [(r["reason"], r["fields"]["budget"]) for r in shown["revisions"]] == [
        ("설계 변경", ["1200000000", "1500000000"])
    ]
    after_edit = site.log()
    assert len(after_edit) == len(log) + 1
    stale = http.patch(url, json={"title": "다른 제목"}, headers=fresh)  # the old version
    problem(stale, 412)
    assert site.log() == after_edit
    assert http.get(url).json()["properties"]["title"] == NEW["title"]


def test_an_official_writes_only_its_own_agencys_projects(site: Site) -> None:
    made = _create(site, NEW).json()
    url = f"/api/projects/{made['code']}"
    other = {**site.as_("water"), "If-Match": f'"{made["version"]}"'}
    before = (site.projects(), site.log())
    problem(site.server.http.patch(url, json={"title": "x"}, headers=other), 403)
    problem(_create(site, NEW, who="water"), 403)  # a project of the roads office
    assert (site.projects(), site.log()) == before


def test_a_withdrawn_project_is_kept_and_shown_with_its_reason(site: Site) -> None:
    made = _create(site, NEW).json()
    url = f"/api/projects/{made['code']}"
    gone = site.server.http.request(
        "DELETE", url, json={"reason": "예산 미확보"}, headers=site.as_("admin")
    )
    assert gone.status_code == 200, gone.text
    shown = site.server.http.get(url).json()["properties"]
    assert shown["withdrawn_reason"] == "예산 미확보" and shown["withdrawn_at"]
    assert site.log()[-1][1:] == ("withdraw", made["code"])


def test_the_disclosure_shows_money_beside_its_baseline_and_why_it_changed(
    site: Site, browser
) -> None:
    made = _create(site, NEW).json()
    url = f"/api/projects/{made['code']}"
    edit = {**site.as_("roads"), "If-Match": f'"{made["version"]}"'}
    changed = {"budget": "1500000000", "planned_end": "2027-12-31", "reason": "설계 변경"}
    assert site.server.http.patch(url, json=changed, headers=edit).status_code == 200
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{site.server.base}/?project={made['code']}&lang=en")
    section = page.locator("article.disclosure section.revisions")
    section.wait_for()
    page.screenshot(path=str(ARTIFACTS / "revisions.png"))
    text = section.inner_text()
    for expected in (
        "Budget\n₩1.2 billion at publication · now ₩1.5 billion",
        "Planned end\n30 Sept 2027 at publication · now 31 Dec 2027",
        "설계 변경",
    ):
        assert expected in text.replace("\u00a0", " "), text
    page.close()


def test_drafts_are_seen_by_their_agency_and_planners_only(site: Site) -> None:
    draft = _create(site, {**NEW, "published": False, "title": "미공개 초안"}).json()
    http = site.server.http
    assert http.get(f"/api/projects/{draft['code']}").status_code == 404  # not public
    mine = http.get("/api/drafts", headers=site.as_("roads")).json()
    assert draft["code"] in [d["code"] for d in mine]
    others = http.get("/api/drafts", headers=site.as_("water")).json()
    assert draft["code"] not in [d["code"] for d in others]
    working = http.get(f"/api/projects/{draft['code']}/working", headers=site.as_("roads"))
    assert working.status_code == 200
    assert (working.json()["title"], working.json()["version"]) == ("미공개 초안", draft["version"])
    refused = http.get(f"/api/projects/{draft['code']}/working", headers=site.as_("water"))
    problem(refused, 403)
    assert "unpublished work" in refused.json()["detail"]
    assert draft["code"] in [
        d["code"] for d in http.get("/api/drafts", headers=site.as_("admin")).json()
    ]
