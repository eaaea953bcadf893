"""The web map on the second city (tests/danang.py) in a real browser: Vietnamese first, money in
dong, the map on Da Nang, English on request, and nothing of Seoul or Korean anywhere; and the
scripts of the portal's languages drawn with real fonts."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, BrowserContext, Page, Response

from geo.formatting import Formatter
from tests.conftest import Server
from tests.danang import AGENCIES, CITY_NAME, ROAD, lon_lat
from tests.test_web import BOXES, assert_city_fills_the_map
from web.messages import locale_of

SCREENSHOTS = Path(__file__).parent / "artifacts"
SEOUL = re.compile(r"[\u3131-\u318E\uAC00-\uD7A3]|Seoul|서울|KRW|₩")
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TRANSPORT = next(a for a in AGENCIES if a[0] == ROAD.agency)
# The ROAD runs east-west through (1000 m, 1000 m): centred on it, close enough that a click
# lists projects.
ROAD_LON, ROAD_LAT = lon_lat(1000, 1000)
ON_THE_ROAD = f"lat={ROAD_LAT}&lon={ROAD_LON}&z=17"
# What the page says in words a citizen reads, and the attributes read aloud or shown.
PAGE_TEXT = """() => [document.title, document.body.innerText,
  ...[...document.querySelectorAll('[aria-label], [placeholder], [title], [alt]')].flatMap(
    (el) => ['aria-label', 'placeholder', 'title', 'alt'].map((a) => el.getAttribute(a) || ''))]"""


def new_context(browser: Browser, locale: str = "fr-FR") -> BrowserContext:
    """A citizen's browser, 1280x800; by default asking for a language Da Nang does not offer."""
    return browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)


def open_map(context: BrowserContext, server: Server, query: str, seen: list[Response]) -> Page:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: seen.append(r))
    page.goto(f"{server.base}/?{query}")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    assert errors == []
    return page


def seoul_in(page: Page) -> list[str]:
    """Whatever of Seoul or Korean the page shows (its text, title and attributes)."""
    return [m for text in page.evaluate(PAGE_TEXT) for m in SEOUL.findall(text)]


def seoul_in_json(seen: list[Response]) -> dict[str, list[str]]:
    """Whatever of Seoul or Korean the JSON answers the page fetched hold (read before the page
    navigates away, which drops their bodies)."""
    found = {}
    for response in seen:
        if "json" in response.headers.get("content-type", ""):
            hits = SEOUL.findall(response.text())
            if hits:
                found[response.url] = hits
    return found


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def open_the_road(page: Page) -> str:
    """Clicks the road on the map, then its entry; the disclosure's text."""
    box = page.locator("#map").bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(".project-item", has_text=ROAD.title).click()
    page.locator("article.disclosure").wait_for()
    return page.locator("article.disclosure").inner_text()


def test_the_served_page_is_vietnamese_and_names_da_nang(danang_server) -> None:
    page = danang_server.http.get("/").text
    assert '<html lang="vi">' in page
    assert f"<title>Allimi · Công khai công trình công cộng {CITY_NAME['vi']}</title>" in page
    assert '<option value="vi" lang="vi" selected>Tiếng Việt</option>' in page
    assert SEOUL.findall(page) == []
    english = danang_server.http.get("/?lang=en").text
    assert '<html lang="en">' in english and CITY_NAME["en"] in english
    assert '<html lang="vi">' in danang_server.http.get("/?lang=ko").text  # not Da Nang's


def test_a_citizen_of_da_nang_reads_the_map_in_vietnamese_then_english(
    browser, danang_server
) -> None:
    seen: list[Response] = []
    context = new_context(browser)
    page = open_map(context, danang_server, "", seen)
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator(".brand-sub").inner_text() == (
        f"Công khai công trình công cộng {CITY_NAME['vi']}"
    )
    assert page.locator("#lang option").all_inner_texts() == ["Tiếng Việt", "English"]
    assert_city_fills_the_map(page)
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "Ranh giới hành chính thử nghiệm / test boundaries" in attribution
    shot(page, "danang-map")
    assert seoul_in(page) == []
    assert seoul_in_json(seen) == {}
    assert any("/api/config" in r.url for r in seen)
    page.close()

    seen.clear()
    page = open_map(context, danang_server, ON_THE_ROAD, seen)
    assert page.locator("html").get_attribute("lang") == "vi"
    disclosure = open_the_road(page)
    budget = Formatter(locale_of("vi"), "VND", TZ).money(Decimal(ROAD.budget))
    assert budget == "12,5\u00a0tỷ\u00a0₫"
    assert page.locator("#panel-title").inner_text() == ROAD.title
    assert "Đường bộ" in page.locator("article.disclosure .chip").all_inner_texts()
    for expected in (TRANSPORT[1], f"Dự toán\n{budget}", ROAD.contractor, "Quận Hải Châu"):
        assert expected in disclosure
    shot(page, "danang-disclosure")
    assert seoul_in(page) == []

    page.locator("#lang").select_option("en")
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.locator("article.disclosure", has_text=TRANSPORT[2]).wait_for()
    english = page.locator("article.disclosure").inner_text()
    budget_en = Formatter(locale_of("en"), "VND", TZ).money(Decimal(ROAD.budget))
    for expected in (TRANSPORT[2], f"Budget\n{budget_en}", "Hai Chau District"):
        assert expected in english
    assert "Road" in page.locator("article.disclosure .chip").all_inner_texts()
    assert page.title() == f"Allimi · {CITY_NAME['en']} public works notifier"
    assert "lang=en" in page.url
    shot(page, "danang-en")
    assert seoul_in(page) == []
    shared = page.url
    assert seoul_in_json(seen) == {}
    context.close()

    # the link carries the language: another citizen's browser opens it in English
    context = new_context(browser, locale="vi-VN")
    seen.clear()
    page = open_map(context, danang_server, shared.split("?", 1)[1], seen)
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("article.disclosure", has_text=TRANSPORT[2]).wait_for()
    assert page.locator("#lang").input_value() == "en"
    assert seoul_in(page) == []
    assert seoul_in_json(seen) == {}
    context.close()


def test_a_district_click_names_the_quan_in_vietnamese(browser, danang_server) -> None:
    context = new_context(browser)
    lon, lat = lon_lat(4000, 1000)  # the city's middle, zoomed out to where a click picks a quận
    page = open_map(context, danang_server, f"lat={lat}&lon={lon}&z=12", [])
    assert_city_fills_the_map(page, 0.2)
    (left, top, right, bottom), _ = page.evaluate(BOXES)
    page.mouse.click(left + (right - left) / 4, (top + bottom) / 2)  # Quận Hải Châu's middle
    page.locator(".totals").wait_for()
    assert page.locator("#panel-title").inner_text() == "Dự án tại Quận Hải Châu"
    assert page.locator(".panel .level").inner_text() == "Quận"
    budget = Formatter(locale_of("vi"), "VND", TZ).money(Decimal(ROAD.budget))
    assert budget in page.locator(".totals").inner_text()
    assert page.locator(".panel button", has_text="Xem các dự án tại Quận Hải Châu").is_visible()
    shot(page, "danang-district")
    context.close()


# Each script drawn on a canvas in the page's own font, against as many code points no font has
# (Unicode leaves U+0378 unassigned): a script without a font draws the same missing-glyph boxes.
DRAWN = """([text, n]) => {
  const draw = (s) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 64;
    const ctx = canvas.getContext('2d');
    ctx.font = `32px ${getComputedStyle(document.body).fontFamily}`;
    ctx.fillText(s, 4, 44);
    return canvas.toDataURL();
  };
  return draw(text) !== draw('\\u0378'.repeat(n));
}"""
SCRIPTS = {
    "Hangul": "공공공사알리미",
    "Vietnamese": "ẮẰẲẴẶắằẳẵặỮỰỘớờ",
    "Thai": "กขคงจฉชซญฎ",
}


def test_korean_vietnamese_and_thai_have_fonts(browser, danang_server) -> None:
    context = new_context(browser)
    page = open_map(context, danang_server, "", [])
    # the check sees a missing font: code points that no font has draw as the same boxes
    assert page.evaluate(DRAWN, ["\u0379\u0380\u0381", 3]) is False
    drawn = {script: page.evaluate(DRAWN, [text, len(text)]) for script, text in SCRIPTS.items()}
    assert drawn == dict.fromkeys(SCRIPTS, True)
    context.close()
