"""The web map in a real browser (Debian's Chromium driven by Playwright) on the hand-made city."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from geo.formatting import Formatter
from geo.settings import Settings
from tests.city import ROAD, STALE, VALVE
from tests.conftest import Server, free_port, serve
from web import NODE_MODULES

ARTIFACTS = Path(__file__).parent / "artifacts"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
STREET = "lat=37.50000&lon=127.00050&z=18"  # centred on the ROAD fixture
# Every Content-Security-Policy violation of the page, as "directive blocked-URI". (Predicates
# of wait_for_function are written as functions: Playwright evals a bare expression, and the
# policy refuses eval.)
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""
# A 1x1 PNG: the tile every request to the stand-in tile server gets.
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c63f80f040009fb03fdfb5e6b2b0000000049454e44ae426082"
)
REFUSED: WeakKeyDictionary[Page, list[str]] = WeakKeyDictionary()


@pytest.fixture(scope="module")
def site(db_url: str) -> Iterator[Server]:
    """The portal with no base map configured: the district layer is the base."""
    yield from serve(Settings(database_url=db_url, basemap_url=None))


def open_page(
    browser: Browser, site: Server, query: str, width: int = 1280, height: int = 800
) -> Page:
    page = watched(browser, width, height)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site.base}/?{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    assert errors == []
    assert csp_violations(page) == []
    return page


def watched(browser: Browser, width: int = 1280, height: int = 800) -> Page:
    """A new page that records what its Content-Security-Policy refuses: the events, and the
    console errors naming the Content Security Policy (they also cover what no event reports)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.add_init_script(WATCH_CSP)
    refused = REFUSED.setdefault(page, [])
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None)
    return page


def csp_violations(page: Page) -> list[str]:
    return [*REFUSED[page], *page.evaluate("window.cspViolations")]


def click_map_centre(page: Page) -> None:
    box = page.locator("#map").bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


# The screen box of the district outlines drawn, and of the map: [left, top, right, bottom].
BOXES = """() => {
  const box = (r) => [r.left, r.top, r.right, r.bottom];
  const drawn = [...document.querySelectorAll('.leaflet-overlay-pane path')]
    .map((p) => box(p.getBoundingClientRect()));
  const city = [0, 1, 2, 3].map((i) => (i < 2 ? Math.min : Math.max)(...drawn.map((b) => b[i])));
  return [city, box(document.getElementById('map').getBoundingClientRect())];
}"""


def assert_city_fills_the_map(page: Page, share: float = 0.6) -> None:
    """The city's districts are on the map, all of them, filling more than ``share`` of its
    width or its height."""
    page.locator(".leaflet-overlay-pane path").first.wait_for()
    (left, top, right, bottom), (m_left, m_top, m_right, m_bottom) = page.evaluate(BOXES)
    slack = 2
    assert m_left - slack <= left < right <= m_right + slack
    assert m_top - slack <= top < bottom <= m_bottom + slack
    fill = max((right - left) / (m_right - m_left), (bottom - top) / (m_bottom - m_top))
    assert fill > share


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_click_on_a_street_lists_its_projects_with_money_and_progress(browser, site) -> None:
    page = open_page(browser, site, f"lang=ko&{STREET}")
    click_map_centre(page)
    item = page.locator(".project-item").first
    item.wait_for()
    text = item.inner_text()
    assert ROAD.title in text
    budget = Formatter("ko", "KRW", ZoneInfo("Asia/Seoul")).money(Decimal(ROAD.budget))
    assert f"예산 {budget}" in text
    assert "실적 40% · 계획 60%" in text
    assert page.locator("#panel-title").inner_text() == "이 자리의 사업 2건"
    shot(page, "click-desktop")

    item.click()
    page.locator("article.disclosure").wait_for()
    disclosure = page.locator("article.disclosure").inner_text()
    for expected in (
        ROAD.contractor,
        "02-000-1234",
        "공정이 계획보다 늦습니다.",
        "우기 대비 공정 조정",
        "현장 사진 1",
    ):
        assert expected in disclosure
    assert f"project={ROAD.code}" in page.url
    shot(page, "disclosure-desktop")


def test_a_shared_link_opens_the_project(browser, site) -> None:
    page = open_page(browser, site, f"lang=en&{STREET}&project={ROAD.code}")
    page.locator("article.disclosure").wait_for()
    assert page.locator("#panel-title").inner_text() == ROAD.title
    assert "Works are behind schedule." in page.locator("article.disclosure").inner_text()


def test_switching_language(browser, site) -> None:
    page = open_page(browser, site, f"lang=ko&{STREET}")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("#toggle-view").inner_text() == "목록 보기"
    assert page.locator("#lang option").all_inner_texts() == ["한국어", "English"]
    page.locator("#lang").select_option("en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.locator("#toggle-view").inner_text() == "List view"
    assert "lang=en" in page.url
    click_map_centre(page)
    page.locator(".project-item").first.wait_for()
    assert page.locator("#panel-title").inner_text() == "2 projects here"


def test_a_new_citizen_sees_seoul_in_korean(browser, site) -> None:
    """No ?lang=, nothing stored, a browser asking for a language Seoul does not offer."""
    served = site.http.get("/")
    assert '<html lang="ko">' in served.text
    assert "<title>Allimi · 서울특별시 공공공사 알리미</title>" in served.text
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-FR")
    page = context.new_page()
    page.goto(site.base)
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.title() == "Allimi · 서울특별시 공공공사 알리미"
    assert page.locator(".brand-sub").inner_text() == "서울특별시 공공공사 알리미"
    assert page.locator("#lang").input_value() == "ko"
    assert_city_fills_the_map(page)
    assert "Seoul boundaries" in page.locator(".leaflet-control-attribution").inner_text()
    shot(page, "seoul-first-visit")
    context.close()


def test_list_view_is_sortable_and_opens_projects(browser, site) -> None:
    page = open_page(browser, site, "lang=en&lat=37.5100&lon=127.0100&z=14")
    page.locator("#toggle-view").click()
    rows = page.locator("#list-table tbody tr")
    rows.first.wait_for()
    titles = [r.locator("td").first.inner_text() for r in rows.all()]
    assert ROAD.title in titles and STALE.title in titles
    budget = page.locator("th", has_text="Budget")
    assert budget.get_attribute("aria-sort") == "descending"
    budget.locator("button").click()
    page.wait_for_function("() => document.querySelector('th[aria-sort=ascending]') !== null")
    page.wait_for_function(
        "(t) => document.querySelector('#list-table tbody td').innerText !== t", arg=titles[0]
    )
    first = page.locator("#list-table tbody tr").first.locator("td").first.inner_text()
    assert first == VALVE.title  # the smallest budget in view
    assert "view=list" in page.url
    page.locator("#list-table button.link", has_text=ROAD.title).click()
    page.locator("article.disclosure").wait_for()
    shot(page, "list-view")


def test_a_list_past_what_is_counted_says_so(browser, site, monkeypatch) -> None:
    """Past ``COUNT_UP_TO`` matches the API leaves ``numberMatched`` out: the list tells how
    many it shows of many, and how to count them, never a false total."""
    monkeypatch.setattr("geo.disclosure.COUNT_UP_TO", 1)
    # a view of its own: a body another test's view left in the cache would carry its count
    page = open_page(browser, site, "lang=en&lat=37.5080&lon=127.0080&z=14")
    page.locator("#toggle-view").click()
    page.locator("#list-table tbody tr").first.wait_for()
    shown = page.locator("#list-table tbody tr").count()
    assert shown > 1
    expect(page.locator("#list-count")).to_have_text(
        f"{shown} of many: zoom in or filter to count them"
    )


def test_search_finds_a_project_by_name(browser, site) -> None:
    page = open_page(browser, site, "lang=ko")
    page.fill("#q", "하수관로")
    page.press("#q", "Enter")
    page.locator(".project-item").first.wait_for()
    assert STALE.title in page.locator(".project-list").inner_text()


def test_phone_layout(browser, site) -> None:
    page = open_page(browser, site, f"lang=ko&{STREET}", width=360, height=740)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    click_map_centre(page)
    page.locator(".project-item").first.wait_for()
    sheet = page.locator("#panel").bounding_box()
    assert sheet and sheet["y"] > 300 and sheet["width"] == 360
    assert page.locator(".project-item").first.is_visible()
    shot(page, "click-phone")


def _axe(page: Page) -> list[dict]:
    page.evaluate(AXE.read_text())  # evaluated, not an inline <script> the page's policy refuses
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_accessibility_has_no_serious_violations(browser, site) -> None:
    page = open_page(browser, site, f"lang=ko&{STREET}")
    assert _axe(page) == []
    click_map_centre(page)
    page.locator(".project-item").first.click()
    page.locator("article.disclosure").wait_for()
    assert _axe(page) == []
    page.locator("#toggle-view").click()
    page.locator("#list-table tbody tr").first.wait_for()
    assert _axe(page) == []


def test_district_click_zooms_in_and_shows_its_totals(browser, site) -> None:
    page = open_page(browser, site, "lang=en&lat=37.50000&lon=127.00050&z=11")
    totals = site.http.get("/api/districts").json()
    click_map_centre(page)
    page.locator(".totals").wait_for()
    title = page.locator("#panel-title").inner_text()
    district = next(d for d in totals if title == f"Projects in {d['name']['en']}")
    assert page.locator(".totals dd").first.inner_text() == str(district["projects"])
    page.wait_for_function("() => !location.search.includes('z=11&')")
    assert "z=11&" not in page.url


def test_near_me_lists_what_is_around_the_citizen(browser, site) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        geolocation={"latitude": 37.50002, "longitude": 127.0005},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{site.base}/?lang=ko")
    page.wait_for_selector("body[data-ready=true]")
    page.locator("#near-me").click()
    page.locator(".project-item").first.wait_for()
    assert ROAD.title in page.locator(".project-list").inner_text()
    context.close()


def test_small_pans_reuse_the_projects_already_fetched(browser, site) -> None:
    page = open_page(browser, site, "lat=37.55000&lon=126.99000&z=12")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/projects/features" in r.url else None)
    box = page.locator("#map").bounding_box()
    assert box
    # a row clear of the zoom buttons (top left) and the legend (bottom left)
    right, left, y = box["x"] + box["width"] - 20, box["x"] + 20, box["y"] + box["height"] * 0.3

    def drag(start: float, end: float) -> None:
        before = page.url
        page.mouse.move(start, y)
        page.mouse.down()
        page.mouse.move(end, y, steps=8)
        page.mouse.up()
        page.wait_for_url(lambda url: url != before)  # the map has settled (moveend)
        page.wait_for_timeout(300)

    drag(right - 8, right)  # well inside the 256 px tiles already covered
    assert asked == []
    drag(left, right)  # a new stretch of the city comes into view
    assert len(asked) == 1
    assert "bbox=" in asked[0]


@pytest.fixture(scope="module")
def tile_server() -> Iterator[tuple[int, list[str]]]:
    """A stand-in tile server on another origin than the portal's: its port and the paths asked."""
    asked: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(TILE)))
            self.end_headers()
            self.wfile.write(TILE)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Tiles)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], asked
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def tiled_site(db_url: str, tile_server: tuple[int, list[str]]) -> Iterator[Server]:
    """The portal over a base map whose tiles come from {s}.localhost (Chromium resolves every
    *.localhost to this machine): another origin, allowed by img-src as http://*.localhost."""
    url = f"http://{{s}}.localhost:{tile_server[0]}/{{z}}/{{x}}/{{y}}.png"
    yield from serve(Settings(database_url=db_url, basemap_url=url))


def test_the_map_page_runs_under_its_policy_with_tiles_from_another_host(
    browser, tiled_site, tile_server
) -> None:
    page = open_page(browser, tiled_site, f"lang=en&{STREET}")
    page.locator("img.leaflet-tile-loaded").first.wait_for()
    assert any(path.startswith("/18/") for path in tile_server[1])
    click_map_centre(page)
    page.locator(".project-item").first.click()
    page.locator("article.disclosure").wait_for()
    assert csp_violations(page) == []
    # the watch itself sees a refusal: an image from a host the policy does not name
    page.evaluate("new Image().src = 'http://elsewhere.invalid/x.png'")
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations") == ["img-src http://elsewhere.invalid/x.png"]


def test_the_sheet_runs_under_its_policy(browser, site) -> None:
    page = watched(browser)
    page.add_init_script("window.print = () => { document.body.dataset.printed = 'yes'; };")
    page.goto(f"{site.base}/projects/{ROAD.code}/sheet?lang=en")
    page.locator(".map .leaflet-overlay-pane path").first.wait_for()
    bar = page.locator("svg.bar rect.actual").first
    ratio = bar.evaluate("r => r.getBoundingClientRect().width / r.ownerSVGElement.clientWidth")
    assert round(ratio, 2) == 0.40  # the ROAD fixture is 40 % done
    page.locator("button[data-print]").click()
    page.wait_for_selector("body[data-printed=yes]")
    assert csp_violations(page) == []
    shot(page, "sheet")


def test_swagger_ui_renders_the_operations_under_its_policy(browser, site) -> None:
    page = watched(browser)
    page.goto(f"{site.base}/docs")
    page.locator(".opblock-summary-path", has_text="/api/projects").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/projects").first.click()
    page.locator(".opblock-body").first.wait_for()
    page.wait_for_timeout(300)
    shot(page, "docs")
    assert csp_violations(page) == []


def test_redoc_renders_the_operations_under_its_policy(browser, site) -> None:
    page = watched(browser)
    page.goto(f"{site.base}/redoc")
    page.locator("h2", has_text="List Projects").first.wait_for()
    page.locator("[role=search] input").fill("district")
    page.locator("[data-role='search:results'] li").first.wait_for()  # the search worker ran
    shot(page, "redoc")
    # the one refusal is the policy at work: Redoc's sidebar shows Redocly's logo from its CDN
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert page.evaluate("window.cspViolations") == [f"img-src {logo}"]
    assert [m for m in REFUSED[page] if logo not in m] == []
