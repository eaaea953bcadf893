"""Response headers over real HTTP: the Content-Security-Policy with the base map's tile host and
the hashes of a page's own inline blocks, nosniff, the referrer policy, CORS on the open API,
and API docs that load nothing from elsewhere."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from api.app import create_app
from api.pages import REDOC_ADDS
from api.security import tile_source
from geo.errors import AllimiError
from geo.settings import Settings
from tests.city import ROAD
from tests.conftest import Server, nowhere, serve

SHEET = f"/projects/{ROAD.code}/sheet"
OSM = "https://tile.openstreetmap.org"
FIXED = {
    "default-src": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
ORIGIN = "https://elsewhere.example"


class Page(HTMLParser):
    """The inline <script> and <style> texts of a page, and the URLs it loads code from."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self.loads: list[str] = []
        self._open: str | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.loads.append(found["src"] or "")
        elif tag in self.inline:
            self._open = tag
            self.inline[tag].append("")
        if tag == "link" and found.get("href"):
            self.loads.append(found["href"] or "")

    def handle_data(self, data: str) -> None:
        if self._open:
            self.inline[self._open][-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def policy(response: httpx.Response) -> dict[str, list[str]]:
    header = response.headers["content-security-policy"]
    directives = [d.split() for d in header.split(";")]
    return {d[0]: d[1:] for d in directives}


def sha256(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def assert_strict(
    response: httpx.Response,
    img_hosts: list[str],
    html: Page | None = None,
    adds: dict[str, tuple[str, ...]] | None = None,
) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = policy(response)
    inline = html.inline if html else {"script": [], "style": []}
    adds = adds or {}
    styles = [*dict.fromkeys(sha256(s) for s in inline["style"]), *adds.get("style-src", ())]
    assert csp == {
        **FIXED,
        "script-src": ["'self'", *dict.fromkeys(sha256(s) for s in inline["script"])],
        "style-src": ["'self'", *styles],
        "img-src": ["'self'", "data:", "blob:", *img_hosts],
        **({"worker-src": list(adds["worker-src"])} if "worker-src" in adds else {}),
    }


@pytest.mark.parametrize(
    ("path", "status", "media_type"),
    [
        ("/", 200, "text/html"),
        ("/static/app.css", 200, "text/css"),
        ("/vendor/leaflet/leaflet.js", 200, "text/javascript"),
        ("/api/projects", 200, "application/geo+json"),
        ("/api/districts", 200, "application/json"),
        ("/api/projects?bbox=1,2,3", 400, "application/problem+json"),
        ("/api/projects?limit=0", 422, "application/problem+json"),
        ("/api/projects/NO-SUCH-1", 404, "application/problem+json"),
        ("/no/such/page", 404, "application/problem+json"),
        ("/openapi.json", 200, "application/json"),
    ],
)
def test_every_response_carries_the_strict_policy(server, path, status, media_type) -> None:
    response = server.http.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].split(";")[0] == media_type
    assert_strict(response, [OSM])


@pytest.mark.parametrize("path", ["/docs", "/redoc", SHEET, f"{SHEET}?lang=en"])
def test_pages_with_inline_blocks_allow_exactly_their_hashes(server, path) -> None:
    response = server.http.get(path)
    assert response.status_code == 200
    page = Page(response.text)
    assert page.inline["script"] or page.inline["style"]  # the hashes are for something
    assert_strict(response, [OSM], page, REDOC_ADDS if path == "/redoc" else None)


def test_a_kept_sheet_and_a_fresh_one_each_carry_the_hashes_of_their_own_body(server) -> None:
    first, second = server.http.get(SHEET), server.http.get(SHEET)
    for response in (first, second):
        assert_strict(response, [OSM], Page(response.text))


def test_a_revalidated_sheet_keeps_the_policy_the_browser_stored(server) -> None:
    tag = server.http.get(SHEET).headers["etag"]
    response = server.http.get(SHEET, headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_sheet_has_no_inline_handler_or_style_attribute(server) -> None:
    html = server.http.get(SHEET).text
    assert " style=" not in html
    assert " onclick=" not in html
    assert '<script src="/static/js/sheet.js"></script>' in html


@pytest.fixture(scope="module")
def subdomain_tiles(db_url: str) -> Iterator[Server]:
    url = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    yield from serve(Settings(database_url=db_url, basemap_url=url))


@pytest.fixture(scope="module")
def no_tiles(db_url: str) -> Iterator[Server]:
    yield from serve(Settings(database_url=db_url, basemap_url=None))


def test_img_src_follows_the_base_map_setting(subdomain_tiles, no_tiles) -> None:
    for path in ("/", "/api/config", SHEET):
        assert policy(subdomain_tiles.http.get(path))["img-src"][3:] == [
            "https://*.tile.example.org"
        ]
        assert policy(no_tiles.http.get(path))["img-src"] == ["'self'", "data:", "blob:"]
    sheet = subdomain_tiles.http.get(SHEET)
    assert_strict(sheet, ["https://*.tile.example.org"], Page(sheet.text))


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", OSM),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://tiles-{s}.maps.example.org/{z}/{x}/{y}{r}.png", "https://*.maps.example.org"),
        ("http://localhost:8080/tiles/{z}/{x}/{y}.png", "http://localhost:8080"),
        ("https://user@tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("//tiles.example.org/{z}/{x}/{y}.png", "tiles.example.org"),
        ("/tiles/{z}/{x}/{y}.png", None),
        ("", None),
        (None, None),
    ],
)
def test_tile_source(url, source) -> None:
    assert tile_source(url) == source


@pytest.mark.parametrize(
    "url", ["https://a.org; script-src *", "https://{s}/{z}/{x}/{y}.png", "https://a b.org/x"]
)
def test_a_base_map_host_that_is_no_host_stops_the_start(url) -> None:
    with pytest.raises(AllimiError, match="ALLIMI_BASEMAP_URL"):
        create_app(Settings(basemap_url=url), nowhere())


def test_any_origin_reads_the_api_without_credentials(server) -> None:
    response = server.http.get("/api/projects", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed == {"etag", "link", "retry-after"}
    assert "access-control-allow-credentials" not in response.headers
    assert "etag" in response.headers
    problem = server.http.get("/api/projects?bbox=1,2,3", headers={"Origin": ORIGIN})
    assert problem.status_code == 400
    assert problem.headers["access-control-allow-origin"] == "*"


def test_a_preflight_for_get_is_answered(server) -> None:
    response = server.http.options(
        "/api/projects",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods == {"GET", "HEAD"}
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert "if-none-match" in allowed
    assert response.headers["access-control-max-age"] == "86400"
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_preflight_for_a_write_is_refused(server) -> None:
    response = server.http.options(
        "/api/projects", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
    )
    assert response.status_code == 400
    assert response.text == "Disallowed CORS method"
    assert response.headers["access-control-allow-methods"] == "GET, HEAD"
    assert "access-control-allow-credentials" not in response.headers


def test_the_pages_answer_no_cors(server) -> None:
    for path in ("/", SHEET):
        response = server.http.get(path, headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        (
            "/docs",
            [
                "/vendor/swagger-ui/swagger-ui.css",
                "/static/favicon.svg",
                "/vendor/swagger-ui/swagger-ui-bundle.js",
            ],
        ),
        ("/redoc", ["/static/favicon.svg", "/vendor/redoc/redoc.standalone.js"]),
    ],
)
def test_the_api_docs_load_only_from_here(server, path, assets) -> None:
    response = server.http.get(path)
    assert response.status_code == 200
    page = Page(response.text)
    assert page.loads == assets
    assert "://" not in response.text
    assert "/openapi.json" in response.text
    for asset in assets:
        loaded = server.http.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"


def test_only_the_docs_files_of_the_vendored_packages_are_served(server) -> None:
    for path in ("/vendor/swagger-ui/index.html", "/vendor/redoc/redoc.lib.js"):
        response = server.http.get(path)
        assert response.status_code == 404, path
        assert response.headers["x-content-type-options"] == "nosniff"
