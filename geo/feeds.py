"""The public change log as feed entries: what a citizen following a place wants to be told.

An entry is a change to a published project (``geo.changelog``): its publication, a change of
its money or dates with the reason, a change of its status (a completion among them), a
progress report, or its withdrawal. Edits of other fields, conflicts and imports' own entries
are left out. A feed's scope is the city, a district, an agency, a circle around a place, or
several of these at once (all must hold), and it holds the newest entries first.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from geo.changelog import REVISED
from geo.earth import METRES_PER_DEGREE
from geo.filters import envelope_sql
from geo.sql import Query

ENTRIES = 50  # the newest entries a feed holds
MAX_RADIUS_M = 20_000  # the widest circle: a city's whole view is the city's feed
ANNOUNCED = ("create", "publish", "report", "withdraw")  # every one of these is news
WATCHED = (*REVISED, "status")  # an edit is news when it changes one of these
# The box test of a circle is wider than the circle by this share: metres per degree of
# latitude vary by 0.5 % from the equator to the poles.
BOX_SLACK = 1.01


@dataclass(frozen=True)
class Circle:
    lon: float
    lat: float
    radius_m: float

    def box(self) -> tuple[float, float, float, float]:
        """A box (west, south, east, north; the west edge east of the east one across the
        antimeridian) holding every point within the radius: the spatial index's test."""
        reach = self.radius_m * BOX_SLACK / METRES_PER_DEGREE
        south, north = max(self.lat - reach, -90.0), min(self.lat + reach, 90.0)
        # longitudes are closest together at the circle's edge nearest a pole
        widest = math.cos(math.radians(max(abs(south), abs(north))))
        if widest * 180 <= reach:
            return (-180.0, south, 180.0, north)
        half = reach / widest

        def wrapped(lon: float) -> float:
            return (lon + 180.0) % 360.0 - 180.0

        return (wrapped(self.lon - half), south, wrapped(self.lon + half), north)


@dataclass(frozen=True)
class Scope:
    """Whose changes a feed holds: the whole city when nothing is given."""

    district: str | None = None
    agency: str | None = None
    circle: Circle | None = None

    def where(self) -> Query:
        """The clause over entries ``c`` of projects ``p``."""
        clauses = [Query("TRUE")]
        if self.district:
            clauses.append(Query("p.district_code = %(district)s", {"district": self.district}))
        if self.agency:
            clauses.append(Query("c.agency_code = %(agency)s", {"agency": self.agency}))
        if self.circle:
            boxes, params = envelope_sql(self.circle.box(), "circle_box")
            c = self.circle
            clauses.append(
                Query(
                    f"({' OR '.join(f'p.geom && {box}' for box in boxes)}) AND ST_DWithin("
                    "p.geom::geography, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
                    "::geography, %(radius)s)",
                    {**params, "lon": c.lon, "lat": c.lat, "radius": c.radius_m},
                )
            )
        return Query(" AND ").join(clauses)


FEED = """
    SELECT json_build_object(
        'changed_at', (SELECT changed_at FROM data_version),
        'district', (SELECT name FROM districts WHERE code = %(district)s),
        'agency', (SELECT name FROM agencies WHERE code = %(agency)s),
        'entries', coalesce((SELECT json_agg(e ORDER BY e.seq DESC) FROM (
            SELECT c.seq, c.at, c.action, encode(c.hash, 'hex') AS hash,
                   c.content::json -> 'fields' AS fields, c.content::json ->> 'reason' AS reason,
                   p.code, p.title, p.category, p.currency, a.name AS agency,
                   ST_X(ST_PointOnSurface(p.geom)) AS lon, ST_Y(ST_PointOnSurface(p.geom)) AS lat
            FROM changes c JOIN projects p ON p.code = c.project_code
            JOIN agencies a ON a.code = p.agency_code
            WHERE (c.action = ANY(%(announced)s)
                   OR (c.action = 'edit' AND (c.content::jsonb -> 'fields') ?| %(watched)s))
              AND {scope}
            ORDER BY c.seq DESC LIMIT %(entries)s) e), '[]')
    )::text
    """


def feed(scope: Scope, entries: int = ENTRIES) -> Query:
    """A JSON document (text): the newest ``entries`` of ``scope`` (``entries_of`` reads them),
    the data's date, and the names of the scope's district and agency (null when unknown)."""
    return Query.compose(
        FEED,
        {
            "district": scope.district,
            "agency": scope.agency,
            "announced": list(ANNOUNCED),
            "watched": list(WATCHED),
            "entries": entries,
        },
        scope=scope.where(),
    )


Translations = dict[str, str]


@dataclass(frozen=True)
class Entry:
    """One change as a feed tells it: which project, when, what changed (field -> (before,
    after), values as the log writes them), and why."""

    seq: int
    at: datetime
    action: str
    hash: bytes
    fields: dict[str, tuple[Any, Any]]
    reason: str | None
    code: str
    title: str
    category: str
    currency: str
    agency: Translations
    lon: float
    lat: float


@dataclass(frozen=True)
class Feed:
    changed_at: datetime
    district: Translations | None
    agency: Translations | None
    entries: list[Entry]


def entries_of(document: str) -> Feed:
    """The feed ``feed`` answered."""
    found = json.loads(document, parse_float=Decimal)
    return Feed(
        changed_at=datetime.fromisoformat(found["changed_at"]),
        district=found["district"],
        agency=found["agency"],
        entries=[
            Entry(
                seq=e["seq"],
                at=datetime.fromisoformat(e["at"]),
                action=e["action"],
                hash=bytes.fromhex(e["hash"]),
                fields={name: (was, now) for name, (was, now) in (e["fields"] or {}).items()},
                reason=e["reason"],
                code=e["code"],
                title=e["title"],
                category=e["category"],
                currency=e["currency"],
                agency=e["agency"],
                lon=float(e["lon"]),
                lat=float(e["lat"]),
            )
            for e in found["entries"]
        ],
    )
