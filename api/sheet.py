"""``/projects/{code}/sheet``: one project's disclosure on one printable A4 page, in any
language Allimi has messages for (the city's first by default; names and labels the city does
not give in that language appear in its first).

The small map is a folium map that loads Leaflet from this server only, over no base map: the
sheet renders, prints and shows its map without the internet. Folium inlines its script and
styles; the response's Content-Security-Policy names their hashes (api/security.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import folium
import shapely.geometry
from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from markupsafe import Markup

from api.caching import cached
from api.city import City, city
from api.database import Database
from api.problems import documented
from api.projects import NOT_FOUND, ProjectCode, disclosure_or_404
from api.rendering import formatter, in_each, page_language, templates, texts
from api.security import allow_inline
from geo.districts import outline
from geo.flags import AHEAD_POINTS, BEHIND_POINTS, STALE_DAYS
from web.messages import messages

router = APIRouter(tags=["pages"])
HTML = "text/html"
PRINTED_REPORTS = 10  # the latest reports that fit on the printed page
LEAFLET_JS = [("leaflet", "/vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/vendor/leaflet/leaflet.css")]


def href(url: str | None) -> str | None:
    """``url`` when it is safe to link (a path here, or http(s)), else None."""
    if not url:
        return None
    local = url.startswith("/") and url[1:2] not in ("/", "\\")
    return url if local or url.startswith(("https://", "http://")) else None


@dataclass(frozen=True)
class District:
    """The project's district: its level (1, 2) and its outline as GeoJSON."""

    level: int
    outline: dict[str, Any]


async def _district(db: Database, code: str | None) -> District | None:
    found = await db.first(outline(code)) if code else None
    return District(found[0], json.loads(found[1])) if found else None


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


def render_sheet(feature: dict[str, Any], lang: str, area: District | None, here: City) -> str:
    p = feature["properties"]
    j = here.jurisdiction

    def name(values: dict[str, str] | None) -> str | None:
        return (values or {}).get(lang) or j.local(values) or None

    return templates.get_template("sheet.html").render(
        lang=lang,
        t=texts(lang),
        languages=[(code, messages(code)["language.name"]) for code in j.languages],
        sample=in_each([lang, *(c for c in j.languages if c != lang)], "sheet.sample"),
        p=p,
        fmt=formatter(lang, p["currency"], here),
        category=here.label("category", p["category"], lang),
        status=here.label("status", p["status"], lang),
        project_type=here.label("project_type", p["project_type"], lang),
        agency=name(p["agency"]["name"]),
        district=name((p["district"] or {}).get("name")),
        level=name(j.levels[area.level - 1] if area else j.levels[0]),
        document_type=lambda code: here.label("document_type", code, lang),
        attribution=j.attribution,
        reports=p["reports"],
        printed=PRINTED_REPORTS,
        thresholds={"behind": BEHIND_POINTS, "ahead": AHEAD_POINTS, "stale": STALE_DAYS},
        href=href,
        today=datetime.now(ZoneInfo(j.timezone)).date().isoformat(),
        map=small_map(feature["geometry"], area.outline if area else None),
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
    lang: Annotated[str, Depends(page_language)],
) -> Response:
    """One published project's disclosure as a printable one-page HTML sheet."""

    async def produce(db: Database) -> str:
        feature = json.loads(await disclosure_or_404(db, code), parse_float=Decimal)
        area = await _district(db, feature["properties"]["district_code"])
        # folium and Jinja take milliseconds of CPU: off the event loop
        return await to_thread.run_sync(render_sheet, feature, lang, area, here)

    # the policy allows this body's own inline map: fresh or kept, header and body agree
    return allow_inline(request, await cached(request, HTML, produce))
