"""``/projects/{code}/sheet``: one project's disclosure on one printable A4 page, ko or en.

The small map is a folium map that loads Leaflet from this server only, over no base map: the
sheet renders, prints and shows its map without the internet. Folium inlines its script and
styles; the response's Content-Security-Policy names their hashes (api/security.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import folium
import shapely.geometry
from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from api.caching import cached
from api.database import Database
from api.problems import Problem, documented
from api.projects import NOT_FOUND, ProjectCode, disclosure_or_404
from api.security import allow_inline
from geo import sql
from geo.flags import AHEAD_POINTS, BEHIND_POINTS, STALE_DAYS
from geo.formatting import Formatter
from geo.vocab import CATEGORIES, PROJECT_TYPES, STATUSES
from web import TEMPLATES_DIR

router = APIRouter(tags=["pages"])
HTML = "text/html"
LANGS = ("ko", "en")
PRINTED_REPORTS = 10  # the latest reports that fit on the printed page
LEAFLET_JS = [("leaflet", "/vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/vendor/leaflet/leaflet.css")]
LOCALES = {"ko": "ko", "en": "en-GB"}  # the sheet's language → the locale its numbers follow
TZ = ZoneInfo("Asia/Seoul")  # the day a timestamp falls on, and the issue date

templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True
)


def href(url: str | None) -> str | None:
    """``url`` when it is safe to link (a path here, or http(s)), else None."""
    if not url:
        return None
    local = url.startswith("/") and url[1:2] not in ("/", "\\")
    return url if local or url.startswith(("https://", "http://")) else None


async def _district_outline(db: Database, code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    found = await db.scalar(
        sql.Query(
            "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00005), 6) "
            "FROM districts WHERE code = %(code)s",
            {"code": code},
        )
    )
    return json.loads(found) if found else None


def small_map(geometry: dict[str, Any], district: dict[str, Any] | None) -> dict[str, Markup]:
    """A folium map fitted to ``geometry``, as the header, body and script parts of a page."""
    shape = shapely.geometry.shape(geometry)
    minx, miny, maxx, maxy = shape.bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        control_scale=True,
        attribution_control=False,
        scroll_wheel_zoom=False,
    )
    m.default_js, m.default_css = LEAFLET_JS, LEAFLET_CSS
    if district:
        folium.GeoJson(
            district,
            style_function=lambda _: {
                "color": "#5b6b7d",
                "weight": 1.5,
                "dashArray": "6 4",
                "fillColor": "#dfe7f0",
                "fillOpacity": 0.5,
            },
            interactive=False,
        ).add_to(m)
    folium.GeoJson(
        shapely.geometry.mapping(shape),
        style_function=lambda _: {
            "color": "#c2410c",
            "weight": 6,
            "fillColor": "#f97316",
            "fillOpacity": 0.45,
        },
        marker=folium.CircleMarker(radius=9, fill=True),
        interactive=False,
    ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(28, 28), max_zoom=16)
    figure = m.get_root()
    figure.render()
    return {
        part: Markup(getattr(figure, part).render())  # noqa: S704 - folium's own output
        for part in ("header", "html", "script")
    }


def render_sheet(feature: dict[str, Any], lang: str, district: dict[str, Any] | None) -> str:
    p = feature["properties"]

    def label(terms: dict[str, Any], code: str | None) -> str:
        term = terms.get(code or "")
        return getattr(term, lang) if term else (code or "—")

    return templates.get_template("sheet.html").render(
        lang=lang,
        p=p,
        fmt=Formatter(LOCALES[lang], p["currency"], TZ),
        category=label(CATEGORIES, p["category"]),
        status=label(STATUSES, p["status"]),
        project_type=label(PROJECT_TYPES, p["project_type"]),
        district=(p["district"] or {}).get(f"name_{lang}"),
        reports=p["reports"],
        printed=PRINTED_REPORTS,
        thresholds={"behind": BEHIND_POINTS, "ahead": AHEAD_POINTS, "stale": STALE_DAYS},
        href=href,
        today=datetime.now(TZ).date().isoformat(),
        map=small_map(feature["geometry"], district),
    )


@router.get(
    "/projects/{code}/sheet",
    response_class=Response,
    responses={
        200: {"content": {HTML: {}}, "description": "The printable disclosure sheet"},
        400: documented("lang is neither ko nor en."),
        404: NOT_FOUND,
    },
)
async def sheet(
    request: Request,
    code: ProjectCode,
    lang: Annotated[
        str, Query(description="Language", json_schema_extra={"enum": list(LANGS)})
    ] = "ko",
) -> Response:
    """One published project's disclosure as a printable one-page HTML sheet."""
    if lang not in LANGS:
        raise Problem(400, f"lang must be one of {', '.join(LANGS)}.", param="lang")

    async def produce(db: Database) -> str:
        feature = json.loads(await disclosure_or_404(db, code), parse_float=Decimal)
        outline = await _district_outline(db, feature["properties"]["district_code"])
        # folium and Jinja take milliseconds of CPU: off the event loop
        return await to_thread.run_sync(render_sheet, feature, lang, outline)

    # the policy allows this body's own inline map: fresh or kept, header and body agree
    return allow_inline(request, await cached(request, HTML, produce))
