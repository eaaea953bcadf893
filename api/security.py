"""Response headers: a strict Content-Security-Policy, nosniff and a referrer policy on every
response, and CORS that lets any web page read the open GET API.

The policy allows this server's own scripts, styles, fonts and requests, and images from here
and from the configured base-map tile host. A page whose HTML inlines a script or a style (the
sheet's folium map, the API docs' init script) carries the sha256 of each such block in its own
policy, computed from the body it sends: no page needs ``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.errors import AllimiError

CSP = "Content-Security-Policy"
# strict-origin-when-cross-origin, not no-referrer: tile servers such as OpenStreetMap's ask
# that browsers name the site using them, and the origin is all another host is told (never
# the path, which holds the citizen's filters and the project they opened).
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
# Read by any origin without credentials: the JSON API and its OpenAPI description.
CORS_PATHS = ("/api/", "/ogc", "/openapi.json")
INLINE = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
HAS_SRC = re.compile(r"(?:^|\s)src\s*=", re.IGNORECASE)
HOST = re.compile(r"(\*\.)?[a-z0-9.-]+(:\d+)?|\[[0-9a-f:.]+\](:\d+)?", re.IGNORECASE)


def tile_source(basemap_url: str | None) -> str | None:
    """The CSP source of the base map's tiles: its scheme and host, with ``*.`` for a host
    templated by subdomain (``https://{s}.tile.example.org`` -> ``https://*.tile.example.org``);
    None for no base map or one served from here."""
    if not basemap_url:
        return None
    url = urlsplit(basemap_url)
    host = url.netloc.rpartition("@")[2]
    if not host:
        return None
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        host = ".".join(["*", *labels[templated[-1] + 1 :]])
    if not HOST.fullmatch(host):
        raise AllimiError(f"ALLIMI_BASEMAP_URL {basemap_url!r} has no host tiles can come from.")
    return f"{url.scheme}://{host}" if url.scheme else host


def _digest(text: str) -> str:
    # Browsers hash the block as parsed, and HTML parsing turns CR LF and CR into LF.
    raw = text.replace("\r\n", "\n").replace("\r", "\n").encode()
    return f"'sha256-{base64.b64encode(hashlib.sha256(raw).digest()).decode()}'"


def content_security_policy(
    basemap_url: str | None, page: str = "", extra: Mapping[str, tuple[str, ...]] | None = None
) -> str:
    """The policy for a response; ``page`` is its HTML when it has inline blocks to allow,
    ``extra`` more sources by directive (for what a page's scripts add)."""
    inline: dict[str, list[str]] = {"script": [], "style": []}
    for tag, attributes, text in INLINE.findall(page):
        if not (tag.lower() == "script" and HAS_SRC.search(attributes)):
            inline[tag.lower()].append(_digest(text))
    tiles = tile_source(basemap_url)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *dict.fromkeys(inline["script"])],
        "style-src": ["'self'", *dict.fromkeys(inline["style"])],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    for name, sources in (extra or {}).items():
        directives.setdefault(name, []).extend(sources)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def allow_inline(
    request: Request, response: Response, extra: Mapping[str, tuple[str, ...]] | None = None
) -> Response:
    """``response`` with a policy that also allows the inline blocks of its own HTML body, and
    the ``extra`` sources of what its scripts add.

    A 304 has no body and gets no policy: the browser keeps the one of the page it has."""
    if response.body:
        page = bytes(response.body).decode()
        basemap_url = request.app.state.settings.basemap_url
        response.headers[CSP] = content_security_policy(basemap_url, page, extra)
    return response


class SecurityHeaders:
    """Adds ``HEADERS`` to every response, and the default policy to every response that set
    none, except a 304: its headers would replace those the browser stored with the page."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if message["status"] != 304:
                    headers.setdefault(CSP, self.policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OpenDataCors:
    """CORS for ``CORS_PATHS``: any origin may GET (or HEAD) them, never with credentials.

    Other paths (the pages, the sheet) are for this site's own browsers and answer no CORS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD"],
            allow_headers=["If-None-Match"],
            expose_headers=["ETag", "Link", "Retry-After"],
            max_age=86400,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        target = self.cors if path.startswith(CORS_PATHS) else self.app
        await target(scope, receive, send)


def install(app: FastAPI, basemap_url: str | None) -> None:
    """The security headers outside CORS, so a preflight's answer carries them too. A base map
    URL with no usable host stops the start here, not at the first request."""
    policy = content_security_policy(basemap_url)
    app.add_middleware(OpenDataCors)
    app.add_middleware(SecurityHeaders, policy=policy)
