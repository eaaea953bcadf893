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
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from geo.db import drop_database, engine_for
from geo.formatting import Formatter
from geo.jurisdiction import SEOUL, read_city
from geo.sample.generator import SampleSpec
from geo.sample.loader import load_sample
from geo.settings import Settings
from tests.city import HIDDEN, LIBRARY, ROAD, Fixture
from tests.conftest import Server, city_database, serve
from web.messages import locale_of

PROBLEM = "application/problem+json"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
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
    return f"{_fmt(lang).day(project.start)} ~ {_fmt(lang).day(project.end)}"


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


def test_sheet_prints_on_one_a4_page_and_its_map_works_offline(server) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does).")
    elsewhere: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))

        def only_here(route) -> None:
            if route.request.url.startswith(server.base):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_here)
        page.goto(f"{server.base}/projects/{ROAD.code}/sheet", wait_until="load")
        page.wait_for_selector(".folium-map .leaflet-overlay-pane path", state="attached")
        assert page.locator(".folium-map .leaflet-overlay-pane path").count() >= 2  # work, district
        pdf = page.pdf(prefer_css_page_size=True)
        browser.close()
    assert errors == [] and elsewhere == []
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
