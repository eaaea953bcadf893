"""Open data in a real browser: the map's Subscribe button and the download page."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, text

from geo.downloads import CSV_COLUMNS
from geo.feeds import MAX_RADIUS_M
from geo.formatting import Formatter
from geo.settings import Settings
from tests.city import ROAD
from tests.conftest import Server, serve
from tests.test_web import STREET, _axe, csp_violations, open_page, shot, watched
from web.messages import locale_of

METRES_PER_PIXEL_Z0 = 156_543.03392  # at the equator, web-map zoom 0


@pytest.fixture(scope="module")
def site(db_url: str) -> Iterator[Server]:
    yield from serve(Settings(database_url=db_url, basemap_url=None))


def day_of(moment: datetime, lang: str) -> str:
    return Formatter(locale_of(lang), "KRW", ZoneInfo("Asia/Seoul")).day(moment.isoformat())


def subscribe(page: Page) -> dict[str, str]:
    """Open the dialog from the keyboard; the query of the feed link it gives."""
    page.focus("#subscribe")
    page.keyboard.press("Enter")
    page.locator("#subscribe-dialog").wait_for()
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    href = page.locator("#subscribe-link").get_attribute("href")
    assert href and urlsplit(href).path == "/api/feeds/changes.atom"
    return {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}


def test_subscribe_gives_the_feed_of_the_circle_covering_the_view(
    browser: Browser, site: Server
) -> None:
    page = open_page(browser, site, f"lang=en&{STREET}")
    discovered = page.locator("link[rel=alternate][type='application/atom+xml']")
    city_feed = page.request.get(f"{site.base}{discovered.get_attribute('href')}")
    assert city_feed.ok and not feedparser.parse(city_feed.body()).bozo  # feed readers find it
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    query = subscribe(page)
    lon, lat, radius = (float(v) for v in query["circle"].split(","))
    assert (lon, lat) == pytest.approx((127.0005, 37.5), abs=1e-6)  # the map's centre
    box = page.locator("#map").bounding_box()
    assert box
    per_pixel = METRES_PER_PIXEL_Z0 * math.cos(math.radians(lat)) / 2**18
    corner = math.hypot(box["width"], box["height"]) / 2 * per_pixel
    assert corner <= radius <= corner * 1.02 + 2  # it covers the view, and little more
    assert query["lang"] == "en" and "agency" not in query
    assert (
        f"within {radius:,.0f} m of the map's centre"
        in page.locator("#subscribe-scope").inner_text()
    )
    shot(page, "subscribe-dialog")

    page.locator("#subscribe-copy").click()
    page.locator("#subscribe-status", has_text="Copied.").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == page.locator("#subscribe-url").input_value()
    assert copied.startswith(site.base) and copied.endswith(
        page.locator("#subscribe-link").get_attribute("href") or ""
    )

    page.keyboard.press("Escape")
    page.locator("#subscribe-dialog").wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.id") == "subscribe"

    subscribe(page)
    with page.expect_response(lambda r: "/api/feeds/changes.atom" in r.url) as followed:
        page.locator("#subscribe-link").click()
    response = followed.value
    assert response.ok and response.headers["content-type"] == "application/atom+xml"
    feed = feedparser.parse(response.body())
    assert not feed.bozo
    assert feed.feed.title.startswith("Public works changes in Seoul · within ")
    assert all(ROAD.code in e.link or "FIX-WATER-1" in e.link for e in feed.entries)
    assert csp_violations(page) == []


def test_a_wide_view_follows_the_whole_city_with_the_filters_agency(
    browser: Browser, site: Server
) -> None:
    page = open_page(browser, site, f"lang=ko&lat=37.55&lon=126.99&z=9&agency={ROAD.agency}")
    assert page.locator("#subscribe").inner_text() == "변경 소식 구독"
    query = subscribe(page)
    assert "circle" not in query
    assert query["agency"] == ROAD.agency and query["lang"] == "ko"
    scope = page.locator("#subscribe-scope").inner_text()
    assert "서울특별시 전체" in scope and "시험 도로과" in scope
    assert page.locator("#subscribe-title").inner_text() == "이 지도 범위의 변경 소식 받기"
    assert _axe(page) == []
    page.locator("#subscribe-dialog a[href^='/downloads']").click()
    page.wait_for_url("**/downloads?lang=ko")
    assert page.locator("h1").inner_text() == "공개 데이터: 서울특별시의 모든 공공 공사"


def test_the_circle_stays_within_what_a_feed_takes(browser: Browser, site: Server) -> None:
    page = open_page(browser, site, "lang=en&lat=37.55&lon=126.99&z=13")
    query = subscribe(page)
    assert 0 < float(query["circle"].split(",")[2]) <= MAX_RADIUS_M


def test_the_download_page_shows_the_licence_and_date_and_its_links_work(
    browser: Browser, site: Server, engine: Engine
) -> None:
    with engine.connect() as conn:
        changed, count, licence = conn.execute(
            text(
                "SELECT (SELECT changed_at FROM data_version), "
                "(SELECT count(*) FROM projects WHERE published), "
                "(SELECT licence FROM jurisdiction)"
            )
        ).one()
    page = watched(browser)
    page.goto(f"{site.base}/downloads?lang=en")
    link = page.locator("#licence a")
    assert link.inner_text() == licence["name"]["en"]
    assert link.get_attribute("href") == licence["url"]
    assert page.locator("#data-date").inner_text() == day_of(changed, "en")
    assert page.locator("#data-count").inner_text() == str(count)
    columns = page.locator("#columns tbody tr td:first-child").all_inner_texts()
    assert columns == [c.name for c in CSV_COLUMNS]
    meanings = page.locator("#columns tbody tr td:last-child").all_inner_texts()
    assert all(m and not m.startswith("downloads.") for m in meanings)  # each one described
    for link in page.locator("a[download]").all():
        href = link.get_attribute("href")
        response = page.request.get(f"{site.base}{href}")
        assert response.ok, href
        assert response.headers["content-disposition"].startswith("attachment; filename=")
    feed = page.request.get(f"{site.base}{page.locator('#city-feed').get_attribute('href')}")
    assert feed.ok and not feedparser.parse(feed.body()).bozo
    ogc = page.locator("#ogc-address").inner_text()  # in full, for a GIS to take
    assert ogc == f"{site.base}/ogc"
    assert page.request.get(ogc).json()["links"]
    assert csp_violations(page) == []
    assert _axe(page) == []
    shot(page, "downloads-page")

    page.locator("a[hreflang=ko]").click()
    page.wait_for_url("**/downloads?lang=ko")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("#licence a").inner_text() == licence["name"]["ko"]
    assert page.locator("#data-date").inner_text() == day_of(changed, "ko")
    page.locator("a[href='/?lang=ko']").click()
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
