"""Atom feeds of the public change log: the city, a district, an agency, or a circle.

``/api/feeds/changes.atom`` tells a feed reader what changed in the scope it names (see
``geo.feeds``), newest first, each entry linking to the project on the map. Like
``/api/projects`` and ``/api/changes``, an agency or district code the city lacks is a question
whose answer is empty (an empty feed), not a missing resource; a malformed circle is a 400.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from feedgen.feed import FeedGenerator

from api.caching import cached
from api.city import City, city
from api.database import Database
from api.links import href, this_page
from api.params import TEXT, comma_list
from api.problems import Problem, documented
from api.rendering import formatter, page_language, texts
from geo.feeds import MAX_RADIUS_M, WATCHED, Circle, Entry, Scope, entries_of, feed
from geo.formatting import MISSING, Formatter

router = APIRouter(tags=["open data"])
ATOM = "application/atom+xml"
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
# What XML 1.0 cannot hold (C0 controls but tab and line ends, and two non-characters): a
# title typed with one would otherwise make the whole feed unwritable.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The message naming each field an edit is news for (``geo.feeds.WATCHED``)
LABELS = {
    field: f"project.{label}"
    for field, label in zip(
        WATCHED, ("budget", "contractValue", "plannedStart", "plannedEnd", "status"), strict=True
    )
}
MONEY = ("budget", "contract_value", "spent")
DATES = ("planned_start", "planned_end", "reported_on")


def parse_circle(value: str | None) -> Circle | None:
    """``lon,lat,radius_m``: a point (EPSG:4326) and metres around it, up to MAX_RADIUS_M."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 3 or not all(NUMBER.fullmatch(p) for p in parts):
        raise Problem(
            400, "circle must be 3 comma-separated numbers: lon,lat,radius_m.", param="circle"
        )
    lon, lat, radius = (float(p) for p in parts)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise Problem(
            400,
            "circle's centre is out of range: longitudes lie in [-180, 180] and latitudes in "
            "[-90, 90].",
            param="circle",
        )
    if not 0 < radius <= MAX_RADIUS_M:
        raise Problem(
            400,
            f"circle's radius must be more than 0 and at most {MAX_RADIUS_M:,} m; for a wider "
            "area leave circle out (the whole city) or give a district.",
            param="circle",
        )
    return Circle(lon, lat, radius)


def _xml(text: str) -> str:
    return NOT_XML.sub("\ufffd", text)


class Wording:
    """How one feed words its entries: the language's messages and formats, the city's
    labels."""

    def __init__(self, here: City, lang: str) -> None:
        self.here = here
        self.lang = lang
        self.t = texts(lang)

    def name(self, values: dict[str, str] | None) -> str:
        return (values or {}).get(self.lang) or self.here.jurisdiction.local(values)

    def value(self, fmt: Formatter, field: str, value: Any) -> str:
        if value is None:
            return MISSING
        if field in MONEY:
            return fmt.money(Decimal(value))
        if field == "status":
            return self.here.label("status", value, self.lang)
        if field in DATES:
            return fmt.day(str(value))
        return fmt.pct(Decimal(value)) if field.startswith("progress_") else str(value)

    def revision(self, fmt: Formatter, entry: Entry, field: str) -> str:
        before, after = entry.fields[field]
        return self.t(
            "feed.revised",
            field=self.t(LABELS[field]),
            before=self.value(fmt, field, before),
            after=self.value(fmt, field, after),
        )

    def what(self, entry: Entry) -> tuple[str, list[str]]:
        """The entry's headline and its lines of detail."""
        fmt = formatter(self.lang, entry.currency, self.here)
        now = {field: after for field, (_, after) in entry.fields.items()}

        def shown(field: str) -> str:
            return self.value(fmt, field, now.get(field))

        if entry.action in ("create", "publish"):
            return self.t("feed.new"), [
                self.here.label("category", entry.category, self.lang),
                self.t("feed.budgetIs", budget=shown("budget")),
                self.t("feed.period", start=shown("planned_start"), end=shown("planned_end")),
            ]
        if entry.action == "report":
            spent = [self.t("feed.spent", spent=shown("spent"))] if "spent" in now else []
            return (
                self.t(
                    "feed.report",
                    actual=shown("progress_actual"),
                    planned=shown("progress_planned"),
                ),
                [self.t("feed.reportedOn", date=shown("reported_on")), *spent],
            )
        if entry.action == "withdraw":
            return self.t("feed.withdrawn"), []
        changed = [self.revision(fmt, entry, field) for field in LABELS if field in entry.fields]
        if now.get("status") == "completion":
            return self.t("feed.completed"), changed
        return "; ".join(changed), []

    def entry(self, request: Request, fg: FeedGenerator, entry: Entry) -> None:
        headline, details = self.what(entry)
        if entry.reason:
            details.append(self.t("feed.reason", reason=entry.reason))
        agency = self.name(entry.agency)
        details.append(self.t("feed.agency", agency=agency))
        item = fg.add_entry(order="append")
        item.id(
            f"urn:allimi:{self.here.jurisdiction.code_prefix.lower()}:change:{entry.hash.hex()}"
        )
        item.title(_xml(self.t("feed.entry", title=entry.title, what=headline)))
        item.link(href=href(request, "/", {"project": entry.code, "lang": self.lang}))
        item.published(entry.at)
        item.updated(entry.at)
        item.author(name=_xml(agency))
        item.category(
            term=entry.category, label=_xml(self.here.label("category", entry.category, self.lang))
        )
        item.content(_xml("\n".join(details)), type="text")
        item.geo.point(f"{entry.lat:.6f} {entry.lon:.6f}")


def _title(wording: Wording, scope: Scope, district: Any, agency: Any) -> str:
    t, here = wording.t, wording.here
    parts = [t("feed.title", city=wording.name(here.jurisdiction.name))]
    if scope.district:
        parts.append(wording.name(district) or scope.district)
    if scope.agency:
        parts.append(wording.name(agency) or scope.agency)
    if scope.circle:
        c = scope.circle
        fmt = formatter(wording.lang, here.jurisdiction.currency, here)
        parts.append(
            t(
                "feed.circle",
                radius=fmt.count(math.ceil(c.radius_m)),
                lat=f"{c.lat:.5f}",
                lon=f"{c.lon:.5f}",
            )
        )
    return " · ".join(parts)


def _feed_id(here: City, scope: Scope) -> str:
    """The feed's id, the same wherever the portal is served from: the city and the scope."""
    c = scope.circle
    given = {
        "district": scope.district,
        "agency": scope.agency,
        "circle": c and f"{c.lon!r},{c.lat!r},{c.radius_m!r}",
    }
    parts = [f"{name}={quote(value, safe=',')}" for name, value in given.items() if value]
    return ":".join(["urn:allimi", here.jurisdiction.code_prefix.lower(), "changes", *parts])


def render(request: Request, here: City, lang: str, scope: Scope, document: str) -> bytes:
    """The Atom feed of the entries ``geo.feeds.feed`` found."""
    found = entries_of(document)
    wording = Wording(here, lang)
    fg = FeedGenerator()
    fg.load_extension("geo")
    fg.id(_feed_id(here, scope))
    fg.title(_xml(_title(wording, scope, found.district, found.agency)))
    fg.subtitle(wording.t("feed.subtitle"))
    fg.author(name=_xml(wording.name(here.jurisdiction.name)))
    fg.link(href=this_page(request), rel="self", type=ATOM)
    fg.link(href=href(request, "/", {"lang": lang}), rel="alternate", type="text/html")
    fg.language(lang)
    licence = here.jurisdiction.licence
    fg.rights(_xml(f"{wording.name(licence.name)} ({licence.url})"))
    fg.generator("Allimi")
    fg.updated(found.entries[0].at if found.entries else found.changed_at)
    for entry in found.entries:
        wording.entry(request, fg, entry)
    feed_xml: bytes = fg.atom_str(pretty=False)
    return feed_xml


@router.get(
    "/api/feeds/changes.atom",
    response_class=Response,
    responses={
        200: {"content": {ATOM: {}}, "description": "An Atom feed, newest entries first"},
        400: documented("circle is malformed or out of range, or lang is unknown."),
    },
)
async def changes_feed(
    request: Request,
    here: Annotated[City, Depends(city)],
    lang: Annotated[str, Depends(page_language)],
    district: Annotated[
        str | None, Query(max_length=40, pattern=TEXT, description="Only this district's")
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=40, pattern=TEXT, description="Only this agency's")
    ] = None,
    circle: Annotated[
        str | None,
        Query(
            description=f"lon,lat,radius_m: only works within radius_m metres (at most "
            f"{MAX_RADIUS_M:,}) of the point (EPSG:4326)",
            json_schema_extra=comma_list({"type": "number"}, min_items=3, max_items=3)
            | {
                "examples": [[126.978, 37.5665, 500]],
                "prefixItems": [
                    {"type": "number", "minimum": -180, "maximum": 180},
                    {"type": "number", "minimum": -90, "maximum": 90},
                    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M},
                ],
            },
        ),
    ] = None,
) -> Response:
    """The changes to published projects in a scope, as an Atom feed for a feed reader: new
    projects, money and schedule changes with their reasons, status changes and completions,
    progress reports and withdrawals, the newest first. Scopes combine: all must hold."""
    scope = Scope(district=district or None, agency=agency or None, circle=parse_circle(circle))

    async def produce(db: Database) -> bytes:
        return render(request, here, lang, scope, await db.scalar(feed(scope)))

    return await cached(request, ATOM, produce)
