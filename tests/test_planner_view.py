"""The planner view in a real browser, on a city of its own: three streets, one with two works
that clash, one with a dig-once pair and one with a completed road and an excavation in its
protected period. A planner signs in at /plan, sees the conflicts in the table and on the map,
filters them by kind, selects one, reads the timeline of its street (both works and the
protected period), acknowledges it and records its coordination (told first, beside the fields,
what a coordination must record); a citizen reads the other work in the public disclosure; an
official drawing a line on the street is told, before saving, which works it would meet."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import text

from geo.conflicts import store
from geo.conflicts.rules import Rules
from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests.city import SEOUL_DETAILS, Fixture, insert_projects
from tests.conftest import PASSWORD, Server, hand_made_city, serve, signed_in
from tests.test_web import _axe, csp_violations, shot, watched

# Three streets of Gangnam running east for about 90 m, 220 m apart (beyond the 20 m buffer)
FIRST, SECOND, THIRD = 37.5100, 37.5120, 37.5140
WEST, EAST = 127.0600, 127.0610
NORTH_6M = 0.000054  # about 6 m of latitude
DASH = "\u2013"  # between a period's first and last day


def street(lat: float, west: float = WEST, east: float = EAST) -> str:
    return f"LINESTRING({west} {lat}, {east} {lat})"


def work(code: str, title: str, category: str, status: str, wkt: str, start: str, end: str,
         agency: str = "TEST-WATER") -> Fixture:  # fmt: skip
    return Fixture(code, title, category, status, agency, wkt, 500_000_000, 0, 0.0, 0.0, start, end)


GAS = work("PLAN-GAS-1", "시험대로 가스관 교체공사", "gas", "implementation", street(FIRST),
           "2027-03-01", "2027-05-31")  # fmt: skip
WATER = work("PLAN-WATER-1", "시험대로 상수도관 확장공사", "water", "preparation",
             street(FIRST + NORTH_6M), "2027-04-15", "2027-07-31")  # fmt: skip
SEWER = work("PLAN-SEWER-1", "둘째길 하수관 정비공사", "sewer", "preparation", street(SECOND),
             "2027-03-01", "2027-04-30")  # fmt: skip
CABLE = work("PLAN-TEL-1", "둘째길 통신관로 매설공사", "telecom", "preparation",
             street(SECOND + NORTH_6M), "2027-06-15", "2027-08-31")  # fmt: skip
PAVING = work("PLAN-ROAD-2", "셋째길 도로 재포장공사", "road", "completion", street(THIRD),
              "2025-03-01", "2025-09-30", agency="TEST-ROADS")  # fmt: skip
POWER = work("PLAN-POWER-1", "셋째길 전력구 공사", "power", "preparation",
             street(THIRD + NORTH_6M / 2, 127.0602, 127.0608),
             "2027-02-01", "2027-04-30")  # fmt: skip
WORKS = [GAS, WATER, SEWER, CABLE, PAVING, POWER]
VIEW = "lat=37.51200&lon=127.06050&z=16"
LINE = re.compile(r'^\{"type":"LineString","coordinates":\[\[127\.06')
PEOPLE = [("planner", "planner"), ("roads", "official", "TEST-ROADS")]


@dataclass(frozen=True)
class Site:
    server: Server
    url: str

    def conflict(self, kind: str) -> dict:
        engine = engine_for(self.url)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT c.id, c.status, c.note, c.days_saved, c.money_saved, a.code AS a, "
                    "b.code AS b FROM conflicts c JOIN projects a ON a.id = c.a_id "
                    "LEFT JOIN projects b ON b.id = c.b_id "
                    "WHERE c.kind = :kind AND a.code LIKE 'PLAN-%'"
                ),
                {"kind": kind},
            ).mappings().one()  # fmt: skip
        engine.dispose()
        return dict(row)


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[Site]:
    """The hand-made city with the three streets' works, scanned, a planner and an official of
    the roads office."""
    url = hand_made_city(settings, "allimi_test_plan")
    engine = engine_for(url)
    with engine.begin() as conn:
        insert_projects(conn, [{**w.__dict__, **SEOUL_DETAILS} for w in WORKS])
        store.scan(conn, Rules())
        signed_in(conn, PEOPLE)
    engine.dispose()
    for running in serve(Settings(database_url=url, basemap_url=None, version_ttl=0)):
        yield Site(running, url)
    drop_database(url)


def open_page(browser: Browser, url: str, width: int = 1440, height: int = 900) -> Page:
    page = watched(browser, width, height)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    assert errors == []
    return page


def sign_in(page: Page, who: str) -> None:
    page.get_by_label("E-mail address").fill(f"{who}@allimi.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def rows(page: Page) -> Locator:
    return page.locator("#conflict-table tbody tr[data-id]")


def test_the_scan_found_one_conflict_of_each_kind(site: Site) -> None:
    assert site.conflict("clash")["a"] in (GAS.code, WATER.code)
    dig_once = site.conflict("dig_once")
    assert {dig_once["a"], dig_once["b"]} == {SEWER.code, CABLE.code}
    moratorium = site.conflict("moratorium")
    assert (moratorium["a"], moratorium["b"]) == (POWER.code, PAVING.code)


def test_the_page_loads_its_timeline_library_from_here_and_nothing_else_of_it(site: Site) -> None:
    page = site.server.http.get("/plan")
    assert page.status_code == 200
    assert "://" not in page.text  # no CDN
    for asset in (
        "/vendor/moment/moment.min.js",
        "/vendor/vis-data/vis-data.min.js",
        "/vendor/vis-timeline/peer/umd/vis-timeline-graph2d.min.js",
        "/vendor/vis-timeline/styles/vis-timeline-graph2d.min.css",
    ):
        assert f'"{asset}"' in page.text
        loaded = site.server.http.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"
    # the standalone build (it writes <style> elements the policy refuses), sources and maps
    for path in (
        "/vendor/vis-timeline/standalone/umd/vis-timeline-graph2d.min.js",
        "/vendor/vis-timeline/peer/umd/vis-timeline-graph2d.min.js.map",
        "/vendor/vis-timeline/package.json",
        "/vendor/moment/moment-with-locales.min.js",
    ):
        assert site.server.http.get(path).status_code == 404, path


def test_a_planner_filters_selects_reads_the_timeline_and_coordinates(
    browser: Browser, site: Site
) -> None:
    page = open_page(browser, f"{site.server.base}/plan?lang=en&{VIEW}")
    expect(page.get_by_role("heading", name="Sign in to coordinate works")).to_be_visible()
    assert _axe(page) == []
    sign_in(page, "planner")
    expect(page.locator("#who")).to_have_text("planner (planner)")

    # the three conflicts of the view, in the table and on the map (the hand-made city's own
    # clash is kilometres away, out of the view)
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#list-count")).to_have_text("3 of 3 conflicts")
    expect(page.locator("#plan-map .conflict-marker")).to_have_count(3)
    table = page.locator("#conflict-table tbody").inner_text()
    for w in WORKS:
        assert w.title in table
    for kind in ("Clash", "Dig once", "Moratorium"):
        expect(page.locator("#conflict-table tbody")).to_contain_text(kind)
    assert _axe(page) == []
    shot(page, "plan-list")

    # by kind: the moratorium alone
    page.get_by_role("checkbox", name="Clash").uncheck()
    page.get_by_role("checkbox", name="Dig once").uncheck()
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#plan-map .conflict-marker")).to_have_count(1)
    assert "kind=moratorium" in page.url
    row = rows(page).first
    expect(row).to_contain_text(POWER.title)
    expect(row).to_contain_text(PAVING.title)
    expect(row).to_contain_text("Open")

    # selected: its works, its zone and the timeline of its street
    row.click()
    detail = page.locator("#conflict-detail")
    expect(detail.get_by_role("heading", level=2)).to_have_text("Dug up a protected street")
    expect(detail).to_contain_text("The work digs within 3 m of a protected street")
    expect(detail.locator(".work-card.work-a")).to_contain_text(POWER.title)
    expect(detail.locator(".work-card.work-b")).to_contain_text(PAVING.title)
    expect(detail.locator(".zone-card")).to_contain_text(f"1 Oct 2025 {DASH} 30 Sept 2028")
    expect(page.locator("#plan-map .cmark-chosen")).to_have_count(1)
    timeline = page.locator("#timeline-box")
    expect(timeline).to_be_visible()
    expect(page.locator("#timeline-title")).to_have_text(
        f"Timeline of the street of “{POWER.title}”"
    )
    labels = page.locator("#timeline .vis-label")
    expect(labels).to_have_count(2)
    expect(page.locator("#timeline .vis-labelset")).to_contain_text(POWER.title)
    expect(page.locator("#timeline .vis-labelset")).to_contain_text(PAVING.title)
    expect(page.locator("#timeline .vis-label.tl-pair-row")).to_have_count(2)
    zone = page.locator("#timeline .vis-item.vis-background.tl-zone-marked")
    expect(zone).to_have_count(1)
    expect(zone).to_contain_text(f"Protected after “{PAVING.title}”")
    expect(page.locator("#timeline .vis-item.tl-pair-item")).to_have_count(2)
    assert "conflict=" in page.url
    assert _axe(page) == []
    shot(page, "plan-detail")

    # acknowledged (no note needed), then coordinated: first without what it saved
    detail.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#detail-status")).to_have_text("Recorded. Status: Acknowledged.")
    assert site.conflict("moratorium")["status"] == "acknowledged"
    expect(rows(page).first).to_contain_text("Acknowledged")
    detail.get_by_label("Coordinated: the works were arranged together").check()
    expect(detail.get_by_label("Days of works saved")).to_be_visible()
    detail.get_by_label("Note (internal, required): why, or how").fill(
        "전력구 공사를 도로 재포장 전으로 옮길 수 없어, 굴착 후 전면 재포장으로 합의"
    )
    detail.get_by_role("button", name="Record the coordination").click()
    for field in ("days_saved", "money_saved"):
        expect(page.locator(f"#step-{field}-error")).to_have_text(
            "a coordination records what it saved (0 for nothing)"
        )
        expect(page.locator(f"#step-{field}")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#step-status")).to_have_text(
        "The step was not recorded: correct the marked fields."
    )
    expect(page.locator("#step-days_saved")).to_be_focused()
    assert site.conflict("moratorium")["status"] == "acknowledged"
    assert _axe(page) == []
    shot(page, "plan-step-errors")

    detail.get_by_label("Days of works saved").fill("30")
    detail.get_by_label("Money saved").fill("25000000")
    detail.get_by_role("button", name="Record the coordination").click()
    expect(page.locator("#detail-status")).to_have_text("Recorded. Status: Coordinated.")
    expect(detail.locator(".saved")).to_contain_text("30 days")
    expect(detail.locator(".note-box")).to_contain_text("전면 재포장")
    expect(detail).to_contain_text("A coordination is final")
    stored = site.conflict("moratorium")
    assert stored["status"] == "coordinated"
    assert stored["days_saved"] == 30 and stored["money_saved"] == 25_000_000
    shot(page, "plan-coordinated")

    # back to every kind; a click on the map selects the clash
    detail.get_by_role("button", name="Back to the list").click()
    page.get_by_role("button", name="Reset filters").click()
    expect(page.get_by_role("checkbox", name="Clash")).to_be_checked()
    # the selection zoomed in on the third street: out again, the list follows the map
    expect(rows(page)).not_to_have_count(3)
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    expect(rows(page)).to_have_count(3)
    page.locator("#plan-map .conflict-marker[title^='Clash']").click()
    expect(detail.get_by_role("heading", level=2)).to_have_text("Clash: works at one place at once")
    expect(detail).to_contain_text(GAS.title)
    expect(detail).to_contain_text(WATER.title)
    expect(page.locator("#conflict-table tr.selected")).to_have_count(1)

    # the CSV of the view, downloaded with the planner's token
    detail.get_by_role("button", name="Back to the list").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = download.value
    assert saved.suggested_filename == "conflicts.csv"
    with open(saved.path(), encoding="utf-8-sig", newline="") as f:
        listed = list(csv.DictReader(f))
    assert len(listed) == 3
    # the report of the selected conflict's district, which works offline
    district = page.locator("#report-district").input_value()
    assert district
    with page.expect_download() as download:
        page.get_by_role("button", name="Download report").click()
    report = download.value
    assert report.suggested_filename == f"conflicts-{district}.html"
    with open(report.path(), encoding="utf-8") as f:
        html = f.read()
    assert GAS.title in html and PAVING.title in html
    assert csp_violations(page) == []
    page.close()


def test_a_list_past_what_is_counted_says_so_and_offers_no_false_total(
    browser: Browser, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``COUNT_UP_TO`` matches the API leaves ``numberMatched`` out: the list says there
    are many and how to count them, and offers more only while a page came full."""
    monkeypatch.setattr("geo.conflicts.listing.COUNT_UP_TO", 2)
    page = open_page(browser, f"{site.server.base}/plan?lang=en&{VIEW}")
    sign_in(page, "planner")
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#list-count")).to_have_text(
        "3 of many conflicts: zoom in or filter to count them"
    )
    expect(page.locator("#list-more")).to_be_hidden()
    page.close()


def test_the_timeline_of_a_drawn_area(browser: Browser, site: Site) -> None:
    page = open_page(browser, f"{site.server.base}/plan?lang=en&lat={SECOND}&lon=127.06050&z=18")
    sign_in(page, "planner")
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Timeline of an area").click()
    expect(page.get_by_role("button", name="Timeline of an area")).to_have_attribute(
        "aria-pressed", "true"
    )
    box = page.locator("#plan-map").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 160, y - 60)
    page.mouse.down()
    page.mouse.move(x + 160, y + 60, steps=8)
    page.mouse.up()
    expect(page.locator("#timeline-title")).to_have_text("Timeline of the drawn area")
    expect(page.locator("#timeline .vis-labelset")).to_contain_text(SEWER.title)
    expect(page.locator("#timeline .vis-labelset")).to_contain_text(CABLE.title)
    expect(page.locator("#timeline-summary")).to_have_text("Works: 2 · protected periods: 0.")
    assert csp_violations(page) == []
    shot(page, "plan-area-timeline")
    page.close()


def test_the_public_disclosure_lists_the_other_work_at_its_place(
    browser: Browser, site: Site
) -> None:
    page = open_page(browser, f"{site.server.base}/?lang=en&project={POWER.code}")
    section = page.locator("article.disclosure .same-place")
    expect(section.get_by_role("heading")).to_have_text("Other works at this place")
    item = section.locator("li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(PAVING.title)
    expect(item).to_contain_text("Road")
    expect(item).to_contain_text(f"1 Mar 2025 {DASH} 30 Sept 2025")
    expect(item).to_contain_text("Dug up a protected street")
    # a work with no other at its place says so
    other = open_page(browser, f"{site.server.base}/?lang=en&project=FIX-PARK-1")
    expect(other.locator("article.disclosure .same-place")).to_contain_text(
        "No other works at this place within half a year."
    )
    other.close()

    # the conflicts layer of the catalogue, behind its switch in the legend
    switch = page.get_by_role("checkbox", name="Works meeting in place and time")
    expect(switch).not_to_be_checked()
    with page.expect_response(lambda r: "/api/layers/conflicts/features" in r.url):
        switch.check()
    expect(page.locator(".legend-conflicts")).to_contain_text("Dug up a protected street")
    expect(page.locator("#map .conflict-marker .cmark")).not_to_have_count(0)
    assert _axe(page) == []
    assert csp_violations(page) == []
    shot(page, "plan-public-same-place")
    page.close()


def test_the_editor_shows_the_works_a_drawn_line_would_meet(browser: Browser, site: Site) -> None:
    page = open_page(browser, f"{site.server.base}/edit?lang=en&lat={FIRST}&lon=127.06050&z=18",
                     1280, 900)  # fmt: skip
    sign_in(page, "roads")
    page.locator("#project-form").wait_for()
    page.get_by_label("Category").select_option("water")
    page.get_by_label("Planned start").fill("2027-04-01")
    page.get_by_label("Planned end").fill("2027-06-30")
    expect(page.locator("#conflict-check")).to_be_hidden()  # no place yet

    # a line along the first street, drawn with the line tool (a click on its end finishes it)
    page.get_by_role("button", name="Draw Polyline").click()
    box = page.locator("#edit-map").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx in (-70, 70, 70):
        page.mouse.click(x + dx, y + 3)
        page.wait_for_timeout(200)
    expect(page.locator("#f-geometry")).to_have_value(LINE)
    check = page.locator("#conflict-check")
    expect(check).to_be_visible()
    expect(check).to_contain_text("2 found")
    expect(check).to_contain_text(GAS.title)
    expect(check).to_contain_text(WATER.title)
    expect(check).to_contain_text("Clash: works at one place at once")
    # the other works, on the map
    expect(page.locator("#edit-map path[stroke-dasharray='2 8']")).to_have_count(2)
    assert _axe(page) == []
    shot(page, "plan-editor-check")

    # half a year after the water main (and more after the gas), a dig-once opportunity with
    # the water main only
    page.get_by_label("Planned start").fill("2028-01-15")
    page.get_by_label("Planned end").fill("2028-02-28")
    expect(check).to_contain_text("1 found")
    expect(check).to_contain_text("Dig once: works at one place months apart")
    expect(check).to_contain_text(WATER.title)
    expect(check).not_to_contain_text(GAS.title)
    assert csp_violations(page) == []
    page.close()
