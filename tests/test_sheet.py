"""The printable disclosure sheet and the sample documents, over real HTTP (and in Chromium)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser
from sqlalchemy import text

from api.sample_documents import banner_lines
from geo.formatting import Formatter
from geo.jurisdiction import SEOUL, read_city
from geo.sample.generator import SampleSpec
from geo.sample.loader import load_sample
from geo.settings import Settings
from geo.store.database import drop_database, engine_for
from tests import danang
from tests.city import HIDDEN, LIBRARY, ROAD, Fixture
from tests.conftest import Server, city_database, serve
from web.messages import languages, locale_of, messages

PROBLEM = "application/problem+json"
ARTIFACTS = Path(__file__).parent / "artifacts"
EN_DASH = "\u2013"
SAMPLE_BANNER = "합성 예시 자료 · Synthetic sample data"
MARKUP_TITLE = '<script>alert("x")</script> & <b>공사</b>'
# Every attribute that makes a browser fetch something: src, href, and the like.
RESOURCE = re.compile(r"""\b(?:src|href|srcset|poster|data|action)\s*=\s*["']?([^"'\s>]+)""")


def _problem(response, status: int, parameter: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["parameter"] == parameter


def _fmt(lang: str) -> Formatter:
    return Formatter(locale_of(lang), "KRW", ZoneInfo("Asia/Seoul"))


def _amounts(lang: str, project: Fixture) -> list[str]:
    """Budget, contract value (90 % of the budget in tests/city), spent and remaining."""
    budget, spent = Decimal(project.budget), Decimal(project.spent)
    return [_fmt(lang).money(v) for v in (budget, budget * Decimal("0.9"), spent, budget - spent)]


def _period(lang: str, project: Fixture) -> str:
    between = {"ko": "~", "en": EN_DASH}[lang]  # as each language writes a span of days
    return f"{_fmt(lang).day(project.start)} {between} {_fmt(lang).day(project.end)}"


def test_sheet_shows_the_projects_disclosure(server) -> None:
    response = server.http.get(f"/projects/{ROAD.code}/sheet")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<html lang="ko">' in html
    for expected in (
        ROAD.title,
        ROAD.code,
        ROAD.contractor,
        "(주)시험감리",
        "홍길동",
        "02-000-1234",
        "시험 도로과",
        "공사중",
        "도로",
        *_amounts("ko", ROAD),
        "₩10억",  # the budget, as a Korean reader writes it
        "40%",
        "60%",
        _period("ko", ROAD),
        "공정 지연",
        "우기 대비 공정 조정",
        "현장 사진",
        '<a href="/static/test-photo.svg">',
        "서울특별시 시험구 시험동",
    ):
        assert expected in html, expected
    assert '<rect class="actual" width="40.00%"' in html
    assert SAMPLE_BANNER not in html


def test_sheet_in_english(server) -> None:
    html = server.http.get(f"/projects/{ROAD.code}/sheet", params={"lang": "en"}).text
    assert '<html lang="en">' in html
    for expected in (
        ROAD.title,
        "Test Roads Office",
        "Under construction",
        "Road",
        *_amounts("en", ROAD),
        "₩1\u00a0billion",
        _fmt("en").exact(Decimal(ROAD.budget)),
        "₩1,000,000,000",
        "Behind schedule",
        _period("en", ROAD),
    ):
        assert expected in html, expected


def test_every_language_allimi_offers_has_every_text_of_its_pages(server) -> None:
    keys = {k for k in messages("en") if k.startswith(("sheet.", "sample_document."))}
    assert len(keys) > 30
    for lang in languages():
        assert keys <= set(messages(lang)), (lang, keys - set(messages(lang)))
        response = server.http.get(f"/projects/{ROAD.code}/sheet", params={"lang": lang})
        assert response.status_code == 200, lang
        assert f'<html lang="{lang}">' in response.text


def test_sheet_of_a_completed_project_without_warnings(server) -> None:
    html = server.http.get(f"/projects/{LIBRARY.code}/sheet", params={"lang": "en"}).text
    assert _amounts("en", LIBRARY)[0] in html
    assert _period("en", LIBRARY) in html
    assert "None: budget, progress and updates are all within the limits." in html
    assert "No progress report yet." in html


def test_sheet_loads_only_this_servers_assets(server) -> None:
    html = server.http.get(f"/projects/{ROAD.code}/sheet").text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    resources = RESOURCE.findall(html)
    assert "/vendor/leaflet/leaflet.js" in resources
    assert "/vendor/leaflet/leaflet.css" in resources
    for url in resources:
        assert url.startswith(("/", "?")) and not url.startswith("//"), url
    for asset in ("/vendor/leaflet/leaflet.js", "/vendor/leaflet/leaflet.css"):
        assert server.http.get(asset).status_code == 200


def test_sheet_map_is_drawn_by_folium_with_the_geometry(server) -> None:
    html = server.http.get(f"/projects/{ROAD.code}/sheet").text
    assert re.search(r'<div class="folium-map" id="map_[0-9a-f]+"', html)
    assert "[[127.0, 37.5], [127.001, 37.5]]" in html  # the street, as GeoJSON
    assert ".fitBounds(" in html
    assert "tileLayer" not in html


def test_unknown_and_unpublished_codes_are_404(server) -> None:
    for code in (HIDDEN.code, "NO-SUCH-1"):
        _problem(server.http.get(f"/projects/{code}/sheet"), 404, "code")


def test_a_bad_language_or_code_is_refused(server) -> None:
    _problem(server.http.get(f"/projects/{ROAD.code}/sheet", params={"lang": "fr"}), 400, "lang")
    _problem(server.http.get("/projects/no%20such/sheet"), 422, "code")


def test_sheet_is_cached_until_the_data_changes(server) -> None:
    url = f"/projects/{ROAD.code}/sheet"
    tag = server.http.get(url).headers["etag"]
    assert server.http.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert server.http.get(url, params={"lang": "en"}).headers["etag"] != tag


def _print(browser: Browser, server: Server, path: str, shot: str | None = None) -> bytes:
    """The page at ``path`` printed to PDF by Chromium, which may fetch nothing from elsewhere;
    with ``shot``, also a screenshot of it as printed, in tests/artifacts."""
    elsewhere: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi

    def only_here(route) -> None:
        if route.request.url.startswith(server.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", only_here)
    page.goto(f"{server.base}{path}", wait_until="load")
    page.wait_for_selector(".folium-map .leaflet-overlay-pane path", state="attached")
    assert page.locator(".folium-map .leaflet-overlay-pane path").count() >= 2  # work, district
    pdf = page.pdf(prefer_css_page_size=True)
    if shot:
        ARTIFACTS.mkdir(exist_ok=True)
        page.emulate_media(media="print")
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    page.close()
    assert errors == [] and elsewhere == []
    return pdf


def test_sheet_prints_on_one_a4_page_and_its_map_works_offline(browser, server) -> None:
    pdf = _print(browser, server, f"/projects/{ROAD.code}/sheet", "seoul-sheet.png")
    assert re.findall(rb"/Count (\d+)", pdf) == [b"1"]


# Sample documents: a tiny synthetic city of the test's own.


@dataclass
class SampleCity:
    server: Server
    url: str
    working: str  # an implementation project: plan, contract summary and photo
    done: str  # a completed project: all four documents
    marked_up: str  # a project whose title carries markup
    moved: str  # a project whose plan is listed at another URL


def _codes(url: str, sql: str) -> list[str]:
    engine = engine_for(url)
    with engine.connect() as conn:
        codes = list(conn.execute(text(sql)).scalars())
    engine.dispose()
    return codes


@pytest.fixture(scope="module")
def sample_city(settings: Settings) -> Iterator[SampleCity]:
    url = city_database(settings, "allimi_test_sheet", read_city(SEOUL))
    load_sample(url, SampleSpec(projects=60, seed=3, as_of=date(2026, 5, 1)))
    by_status = "SELECT code FROM projects WHERE status = '{}' ORDER BY code"
    working = _codes(url, by_status.format("implementation"))
    done = _codes(url, by_status.format("completion"))
    assert len(working) >= 5 and done
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE projects SET title = :t WHERE code = :c"),
            {"t": MARKUP_TITLE, "c": working[1]},
        )
        conn.execute(
            text("UPDATE projects SET published = false WHERE code = :c"), {"c": working[2]}
        )
        conn.execute(
            text("UPDATE projects SET is_sample = false WHERE code = :c"), {"c": working[3]}
        )
        conn.execute(
            text(
                "UPDATE documents SET url = '/elsewhere/plan.html' WHERE document_type = "
                "'projectPlan' AND project_id = (SELECT id FROM projects WHERE code = :c)"
            ),
            {"c": working[4]},
        )
    engine.dispose()
    for served in serve(Settings(database_url=url)):
        yield SampleCity(served, url, working[0], done[0], working[1], working[4])
    drop_database(url)


def test_every_listed_sample_document_is_served(sample_city: SampleCity) -> None:
    http = sample_city.server.http
    for code in (sample_city.working, sample_city.done):
        documents = http.get(f"/api/projects/{code}").json()["properties"]["documents"]
        assert {d["document_type"] for d in documents} >= {"projectPlan", "illustration"}
        for document in documents:
            response = http.get(document["url"])
            assert response.status_code == 200, document
            assert response.headers["content-type"].split(";")[0] == document["media_type"]
            assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_sample_photo_is_a_labelled_svg_drawing(sample_city: SampleCity) -> None:
    response = sample_city.server.http.get(f"/sample-documents/{sample_city.working}/illustration")
    assert response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.content)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "합성 예시 사진 · Synthetic sample photo" in texts
    assert sample_city.working in texts


def test_sample_document_page_names_the_document_and_the_project(sample_city) -> None:
    http = sample_city.server.http
    feature = http.get(f"/api/projects/{sample_city.done}").json()["properties"]
    html = http.get(f"/sample-documents/{sample_city.done}/completionCertificate").text
    assert "합성 예시 문서 · Synthetic sample document" in html
    assert f"{feature['title']} 준공 보고서" in html
    assert feature["title"] in html and sample_city.done in html
    assert f'href="/projects/{sample_city.done}/sheet"' in html


def test_sample_sheet_carries_the_sample_banner(sample_city: SampleCity) -> None:
    html = sample_city.server.http.get(f"/projects/{sample_city.working}/sheet").text
    assert SAMPLE_BANNER in html
    assert f'href="/sample-documents/{sample_city.working}/projectPlan"' in html


def test_titles_are_escaped_everywhere(sample_city: SampleCity) -> None:
    http, code = sample_city.server.http, sample_city.marked_up
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;공사&lt;/b&gt;"
    sheet = http.get(f"/projects/{code}/sheet").text
    page = http.get(f"/sample-documents/{code}/projectPlan").text
    for html in (sheet, page):
        assert "<script>alert" not in html and "<b>공사" not in html
        assert escaped in html
    svg = ET.fromstring(http.get(f"/sample-documents/{code}/illustration").content)
    assert svg.findtext("{http://www.w3.org/2000/svg}title", "").startswith(MARKUP_TITLE)


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/sample-documents/NO-SUCH-1/projectPlan", 404, "code"),
        ("/sample-documents/{working}/completionCertificate", 404, "code"),  # not completed
        ("/sample-documents/{working}/contract", 404, "code"),
        ("/sample-documents/{unpublished}/projectPlan", 404, "code"),
        ("/sample-documents/{real}/projectPlan", 404, "code"),  # not a sample project
        ("/sample-documents/{working}/project-plan", 422, "document_type"),
        ("/sample-documents/{working}/{long}", 422, "document_type"),
    ],
)
def test_anything_else_is_a_problem(
    sample_city: SampleCity, path: str, status: int, parameter: str
) -> None:
    unpublished, real = _codes(
        sample_city.url,
        "SELECT code FROM projects WHERE NOT published OR NOT is_sample ORDER BY published",
    )
    url = path.format(
        working=sample_city.working, unpublished=unpublished, real=real, long="a" * 61
    )
    _problem(sample_city.server.http.get(url), status, parameter)


def test_a_document_must_be_listed_at_that_very_url(sample_city: SampleCity) -> None:
    http, code = sample_city.server.http, sample_city.moved
    _problem(http.get(f"/sample-documents/{code}/projectPlan"), 404, "code")
    assert http.get(f"/sample-documents/{code}/contractSummary").status_code == 200


# The second city (tests/danang.py): Vietnamese first, then English; VND; Asia/Ho_Chi_Minh.

HANGUL = re.compile(r"[\u3131-\u318E\uAC00-\uD7A3]")
DA_NANG = ZoneInfo("Asia/Ho_Chi_Minh")


def _vi() -> Formatter:
    return Formatter("vi-VN", "VND", DA_NANG)


def _nothing_of_seoul(html: str) -> None:
    assert not HANGUL.search(html), HANGUL.findall(html)[:5]
    for seoul in ("Seoul", "KRW", "₩"):
        assert seoul not in html, seoul


def test_a_citys_sheet_speaks_its_first_language(danang_server: Server) -> None:
    http, road = danang_server.http, danang.ROAD
    updated = http.get(f"/api/projects/{road.code}").json()["properties"]["updated_at"]
    html = http.get(f"/projects/{road.code}/sheet").text
    assert '<html lang="vi">' in html
    for expected in (
        road.title,
        "Sở Giao thông vận tải Đà Nẵng",
        "Đường bộ",
        "Đang thi công",
        "<dt>Quận</dt>",  # the city's name for its first level
        "<dd>Quận Hải Châu</dd>",
        _vi().money(Decimal(road.budget)),
        "12,5\u00a0tỷ\u00a0₫",
        _vi().exact(Decimal(road.budget)),
        f"{_vi().day(road.start)} {EN_DASH} {_vi().day(road.end)}",
        f"Cập nhật lần cuối {_vi().day(updated)}",  # its day in Da Nang
        "Kinh phí <small>(đơn vị: VND)</small>",
        "Ảnh hiện trường",  # the document type
        "Chậm 7% so với kế hoạch",
        '<span class="here" lang="vi" aria-current="true">Tiếng Việt</span>',
        '<a href="?lang=en" lang="en" hreflang="en">English</a>',
    ):
        assert expected in html, expected
    _nothing_of_seoul(html)


def test_a_citys_sheet_in_its_other_language(danang_server: Server) -> None:
    road = danang.ROAD
    html = danang_server.http.get(f"/projects/{road.code}/sheet", params={"lang": "en"}).text
    assert '<html lang="en">' in html
    en = Formatter("en-GB", "VND", DA_NANG)
    for expected in (
        road.title,
        "Da Nang Department of Transport",
        '<span class="badge">Road</span>',
        "<dt>District</dt>",
        "<dd>Hai Chau District</dd>",
        en.money(Decimal(road.budget)),
        "Cost <small>(VND)</small>",
        "Site photo",
        '<a href="?lang=vi" lang="vi" hreflang="vi">Tiếng Việt</a>',
    ):
        assert expected in html, expected
    _nothing_of_seoul(html)


def test_a_language_the_city_does_not_offer_frames_its_own_names(danang_server) -> None:
    """Allimi has Korean messages, so a Korean reader may have the sheet's words in Korean; the
    city's names and labels, which it gives in Vietnamese and English only, stay Vietnamese."""
    road = danang.ROAD
    html = danang_server.http.get(f"/projects/{road.code}/sheet", params={"lang": "ko"}).text
    assert '<html lang="ko">' in html
    for expected in ("공공공사 정보공개서", "발주기관", "Đường bộ", "<dd>Quận Hải Châu</dd>"):
        assert expected in html, expected
    assert "?lang=ko" not in html  # the links offer the city's languages
    assert '<a href="?lang=vi"' in html and '<a href="?lang=en"' in html
    for seoul in ("Seoul", "서울", "KRW", "₩"):
        assert seoul not in html, seoul
    _problem(danang_server.http.get(f"/projects/{road.code}/sheet?lang=fr"), 400, "lang")


def test_a_citys_sheet_prints_on_one_a4_page(browser, danang_server) -> None:
    pdf = _print(browser, danang_server, f"/projects/{danang.ROAD.code}/sheet", "danang-sheet.png")
    assert re.findall(rb"/Count (\d+)", pdf) == [b"1"]


def test_the_photo_banner_breaks_a_title_by_its_width_in_any_script() -> None:
    assert banner_lines("Nâng cấp trạm bơm Phước Mỹ") == ["Nâng cấp trạm bơm Phước Mỹ"]
    korean = "서울특별시 강남구 테헤란로 일대 노후 상수도관 교체 및 도로 포장 복구 공사 2차 구간"
    assert banner_lines(korean) == [
        "서울특별시 강남구 테헤란로 일대 노후",
        "상수도관 교체 및 도로 포장 복구 공사 2차 …",
    ]
    unspaced = "東京都千代田区丸の内一丁目地区下水道管渠更生工事及び道路舗装復旧工事" * 2
    assert banner_lines(unspaced) == [unspaced[:22], unspaced[22:43] + " …"]


@pytest.fixture(scope="module")
def danang_samples(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A Da Nang of the test's own, served, whose pumping station is a sample project listing a
    plan and a photo."""
    config = danang.write_files(tmp_path_factory.mktemp("danang_samples"))
    url = city_database(settings, "allimi_test_sheet_danang", read_city(config))
    engine = engine_for(url)
    with engine.begin() as conn:
        danang.build(conn)
        conn.execute(
            text("UPDATE projects SET is_sample = true WHERE code = :c"), {"c": danang.PUMP.code}
        )
        conn.execute(
            text(
                "INSERT INTO documents (project_id, title, document_type, url, media_type, "
                "published_on) SELECT id, :title, :type, :url, :media, DATE '2026-11-20' "
                "FROM projects WHERE code = :c"
            ),
            [
                {
                    "c": danang.PUMP.code,
                    "title": title,
                    "type": kind,
                    "url": f"/sample-documents/{danang.PUMP.code}/{kind}",
                    "media": media,
                }
                for title, kind, media in (
                    ("Kế hoạch nâng cấp trạm bơm", "projectPlan", "text/html"),
                    ("Ảnh hiện trường trạm bơm", "illustration", "image/svg+xml"),
                )
            ],
        )
    engine.dispose()
    yield from serve(Settings(database_url=url))
    drop_database(url)


def test_a_citys_sample_document_speaks_its_languages(danang_samples: Server) -> None:
    code = danang.PUMP.code
    response = danang_samples.http.get(f"/sample-documents/{code}/projectPlan")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="vi">' in html
    for expected in (
        "Tài liệu mẫu tổng hợp · Synthetic sample document",
        '<span class="note" lang="vi">Đây là bản mẫu thay cho tài liệu thật',
        '<span lang="vi">Kế hoạch dự án</span> · <span lang="en">Project plan</span>',
        "<h1>Kế hoạch nâng cấp trạm bơm</h1>",
        danang.PUMP.title,
        f"<code>{code}</code>",
        f"<dd>{_vi().day('2026-11-20')}</dd>",
        "Bản in · Printable sheet",
    ):
        assert expected in html, expected
    _nothing_of_seoul(html)


def test_a_citys_sample_photo_is_labelled_in_its_languages(danang_samples: Server) -> None:
    code = danang.PUMP.code
    response = danang_samples.http.get(f"/sample-documents/{code}/illustration")
    assert response.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(response.content)
    assert svg.get("{http://www.w3.org/XML/1998/namespace}lang") == "vi"
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "Ảnh mẫu tổng hợp · Synthetic sample photo" in texts
    assert danang.PUMP.title in texts and code in texts
    _nothing_of_seoul(response.text)


def test_a_citys_sample_sheet_says_so_in_the_readers_language_first(danang_samples) -> None:
    url = f"/projects/{danang.PUMP.code}/sheet"
    vi = danang_samples.http.get(url).text
    en = danang_samples.http.get(url, params={"lang": "en"}).text
    assert '<p class="sample" role="note">Dữ liệu mẫu tổng hợp · Synthetic sample data</p>' in vi
    assert '<p class="sample" role="note">Synthetic sample data · Dữ liệu mẫu tổng hợp</p>' in en
