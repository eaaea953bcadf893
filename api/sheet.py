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
from fastapi import APIRouter, Depends, Query, Request, Response
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from api.caching import cached
from api.city import City, city
from api.database import Database
from api.problems import Problem, documented
from api.projects import NOT_FOUND, ProjectCode, disclosure_or_404
from api.security import allow_inline
from geo import sql
from geo.flags import AHEAD_POINTS, BEHIND_POINTS, STALE_DAYS
from geo.formatting import Formatter
from web import TEMPLATES_DIR
from web.messages import languages, locale_of

router = APIRouter(tags=["pages"])
HTML = "text/html"
PRINTED_REPORTS = 10  # the latest reports that fit on the printed page
LEAFLET_JS = [("leaflet", "/vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/vendor/leaflet/leaflet.css")]

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


def formatter(lang: str, currency: str, here: City) -> Formatter:
    """Numbers as the language's locale writes them (its messages name it), days in the city's
    time zone."""
    return Formatter(locale_of(lang), currency, ZoneInfo(here.jurisdiction.timezone))


def render_sheet(
    feature: dict[str, Any], lang: str, district: dict[str, Any] | None, here: City
) -> str:
    p = feature["properties"]

    def name(values: dict[str, str] | None) -> str | None:
        return (values or {}).get(lang) or here.jurisdiction.local(values) or None

    return templates.get_template("sheet.html").render(
        lang=lang,
        p=p,
        fmt=formatter(lang, p["currency"], here),
        category=here.label("category", p["category"], lang),
        status=here.label("status", p["status"], lang),
        project_type=here.label("project_type", p["project_type"], lang),
        agency=name(p["agency"]["name"]),
        district=name((p["district"] or {}).get("name")),
        attribution=here.jurisdiction.attribution,
        reports=p["reports"],
        printed=PRINTED_REPORTS,
        thresholds={"behind": BEHIND_POINTS, "ahead": AHEAD_POINTS, "stale": STALE_DAYS},
        href=href,
        today=datetime.now(ZoneInfo(here.jurisdiction.timezone)).date().isoformat(),
        map=small_map(feature["geometry"], district),
    )


@router.get(
    "/projects/{code}/sheet",
    response_class=Response,
    responses={
        200: {"content": {HTML: {}}, "description": "The printable disclosure sheet"},
        400: documented("lang is not a language Allimi has messages for."),
        404: NOT_FOUND,
    },
)
async def sheet(
    request: Request,
    code: ProjectCode,
    here: Annotated[City, Depends(city)],
    lang: Annotated[
        str | None,
        Query(
            description="Language (default: the city's first, see /api/config)",
            json_schema_extra={"enum": languages()},
        ),
    ] = None,
) -> Response:
    """One published project's disclosure as a printable one-page HTML sheet."""
    lang = lang or here.jurisdiction.language
    if lang not in languages():
        raise Problem(400, f"lang must be one of {', '.join(languages())}.", param="lang")

    async def produce(db: Database) -> str:
        feature = json.loads(await disclosure_or_404(db, code), parse_float=Decimal)
        outline = await _district_outline(db, feature["properties"]["district_code"])
        # folium and Jinja take milliseconds of CPU: off the event loop
        return await to_thread.run_sync(render_sheet, feature, lang, outline, here)

    # the policy allows this body's own inline map: fresh or kept, header and body agree
    return allow_inline(request, await cached(request, HTML, produce))
