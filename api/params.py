"""Query parameters shared by the routers, parsed strictly: bad input is a 400 naming it."""

from __future__ import annotations

import math
import re
from contextlib import suppress
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Query

from api.problems import Problem
from geo.filters import BBox, ProjectFilter
from geo.vocab import CATEGORIES, STATUSES

MAX_LIMIT = 1000
TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str | None, name: str) -> date | None:
    """A calendar date written ``YYYY-MM-DD``; nothing else (not a number of seconds)."""
    if value is None:
        return None
    if ISO_DATE.fullmatch(value):
        with suppress(ValueError):  # 2026-02-30
            return date.fromisoformat(value)
    raise Problem(400, f"{name} must be a date written YYYY-MM-DD, got {value!r}.", param=name)


def parse_bbox(value: str | None, name: str = "bbox") -> BBox | None:
    """``minLon,minLat,maxLon,maxLat`` in EPSG:4326."""
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4:
        raise Problem(
            400,
            f"{name} needs 4 numbers (minLon,minLat,maxLon,maxLat), got {len(parts)}.",
            param=name,
        )
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise Problem(400, f"{name} must be 4 comma-separated numbers.", param=name) from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise Problem(400, f"{name} must be finite numbers.", param=name)
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise Problem(
            400,
            f"{name} is out of range: longitudes lie in [-180, 180] and latitudes in [-90, 90].",
            param=name,
        )
    if minx > maxx or miny > maxy:
        raise Problem(400, f"{name} has its minimum above its maximum.", param=name)
    return (minx, miny, maxx, maxy)


def _codes(value: str | None, name: str, allowed: dict[str, object]) -> tuple[str, ...]:
    if not value:
        return ()
    codes = tuple(c.strip() for c in value.split(",") if c.strip())
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise Problem(
            400,
            f"{name} has unknown value(s) {', '.join(unknown)}; known: {', '.join(allowed)}.",
            param=name,
        )
    return codes


async def project_filter(
    bbox: Annotated[
        str | None,
        Query(
            description="minLon,minLat,maxLon,maxLat (EPSG:4326)",
            examples=["126.97,37.55,126.99,37.57"],
        ),
    ] = None,
    category: Annotated[str | None, Query(description="Category codes, comma-separated")] = None,
    status: Annotated[str | None, Query(description="Status codes, comma-separated")] = None,
    agency: Annotated[
        str | None, Query(max_length=40, pattern=TEXT, description="Agency code")
    ] = None,
    district: Annotated[
        str | None, Query(max_length=10, pattern=TEXT, description="District code")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200, pattern=TEXT, description="Text in name, code, contractor or address"
        ),
    ] = None,
    active_on: Annotated[
        str | None,
        Query(
            description="Under way on this date (YYYY-MM-DD)",
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    min_budget: Annotated[Decimal | None, Query(ge=0, le=10**16)] = None,
    max_budget: Annotated[Decimal | None, Query(ge=0, le=10**16)] = None,
    flagged: Annotated[bool | None, Query(description="Only (or no) flagged projects")] = None,
) -> ProjectFilter:
    if min_budget is not None and max_budget is not None and min_budget > max_budget:
        raise Problem(400, "min_budget is above max_budget.", param="min_budget")
    return ProjectFilter(
        bbox=parse_bbox(bbox),
        categories=_codes(category, "category", dict(CATEGORIES)),
        statuses=_codes(status, "status", dict(STATUSES)),
        agency=agency or None,
        district=district or None,
        q=q.strip() or None if q else None,
        active_on=parse_date(active_on, "active_on"),
        min_budget=min_budget,
        max_budget=max_budget,
        flagged=flagged,
    )


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
