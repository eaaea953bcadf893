"""Query parameters shared by the routers, parsed strictly: bad input is a 400 naming it.

What each parameter accepts is declared once, next to it, and the OpenAPI document states the
same (``api.openapi`` turns the declarations into parameter schemas), so that generated clients
and fuzzers send what the code takes.
"""

from __future__ import annotations

import math
import re
from contextlib import suppress
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant

from api.problems import Problem
from geo.filters import MAX_BUDGET, BBox, ProjectFilter
from geo.vocab import CATEGORY_CODE, STATUSES

MAX_LIMIT = 1000
MAX_OFFSET = 10_000  # deeper pages are walked with the ``cursor`` of a ``next`` link
TEXT = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CENT = Decimal("0.01")
# The smallest positive double: a budget bound nearer to zero than this is not a number a
# client meant (``1e-16384``), and PostgreSQL's numeric could not even hold some of them.
TINIEST = Decimal(math.ulp(0.0))


def comma_list(items: dict[str, Any], *, min_items: int = 1, max_items: int | None = None) -> dict:
    """OpenAPI for a comma-separated list (``style: form, explode: false``)."""
    schema: dict[str, Any] = {"type": "array", "items": items, "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return {"x-comma-list": True, **schema}


def parse_date(value: str | None, name: str) -> date | None:
    """A calendar date written ``YYYY-MM-DD``; nothing else (not a number of seconds)."""
    if value is None:
        return None
    if ISO_DATE.fullmatch(value):
        with suppress(ValueError):  # 2026-02-30
            return date.fromisoformat(value)
    raise Problem(400, f"{name} must be a date written YYYY-MM-DD, got {value!r}.", param=name)


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Problem(400, f"{name} must be 4 comma-separated numbers.", param=name) from None
    if not math.isfinite(value):
        raise Problem(400, f"{name} must be finite numbers.", param=name)
    return value


def parse_bbox(value: str | None, name: str = "bbox") -> BBox | None:
    """``minLon,minLat,maxLon,maxLat`` in EPSG:4326.

    As in OGC API Features, a west edge east of the east edge crosses the antimeridian. The two
    latitudes may come in either order, and a box may have no area (a line or a point).
    """
    if value is None:
        return None
    parts = value.split(",")
    if len(parts) != 4:
        raise Problem(
            400,
            f"{name} needs 4 numbers (minLon,minLat,maxLon,maxLat), got {len(parts)}.",
            param=name,
        )
    west, south, east, north = (_number(p, name) for p in parts)
    lons, lats = (west, east), (south, north)
    if not (all(-180 <= v <= 180 for v in lons) and all(-90 <= v <= 90 for v in lats)):
        raise Problem(
            400,
            f"{name} is out of range: longitudes lie in [-180, 180] and latitudes in [-90, 90].",
            param=name,
        )
    return (west, min(south, north), east, max(south, north))


def parse_codes(value: str | None, name: str, allowed: dict[str, object]) -> tuple[str, ...]:
    """Comma-separated codes, each one of ``allowed``."""
    if value is None:
        return ()
    codes = value.split(",")
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise Problem(
            400,
            f"{name} has unknown value(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(allowed)}.",
            param=name,
        )
    return tuple(dict.fromkeys(codes))


def parse_category_codes(value: str | None) -> tuple[str, ...]:
    """Comma-separated category codes. Categories are the city's data, so any well-formed code
    is a question with an answer (perhaps none)."""
    if value is None:
        return ()
    codes = value.split(",")
    bad = [c for c in codes if not re.match(CATEGORY_CODE, c)]
    if bad:
        raise Problem(
            400,
            f"category {bad[0]!r} is not a category code (lower-case letters, digits and _, "
            "a letter first, at most 20).",
            param="category",
        )
    return tuple(dict.fromkeys(codes))


def parse_flag(value: str | None, name: str) -> bool | None:
    """``true`` or ``false``, as JSON writes them; nothing else."""
    if value is None:
        return None
    if value not in ("true", "false"):
        raise Problem(400, f"{name} must be true or false, got {value!r}.", param=name)
    return value == "true"


def parse_budget(value: str | None, name: str, rounding: str) -> Decimal | None:
    """A bound on the budget, to the cent: rounded (``rounding``) so that it selects exactly the
    budgets a client meant, since budgets are kept to the cent."""
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Problem(400, f"{name} must be a number, got {value!r}.", param=name) from None
    if not amount.is_finite() or not 0 <= amount <= MAX_BUDGET:
        raise Problem(400, f"{name} must be a number from 0 to {MAX_BUDGET:,}.", param=name)
    if 0 < amount < TINIEST:
        raise Problem(400, f"{name} is too small a number to be an amount of money.", param=name)
    return amount.quantize(CENT, rounding=rounding)


def _budget_param(bound: str) -> Any:
    return Query(
        description=f"Budget at {bound} (in the project's currency)",
        json_schema_extra={"type": "number", "minimum": 0, "maximum": MAX_BUDGET},
    )


def bbox_query() -> Any:
    """The ``bbox`` parameter's declaration (each route its own)."""
    return Query(
        description="minLon,minLat,maxLon,maxLat (EPSG:4326); a west edge east of the "
        "east edge crosses the antimeridian",
        json_schema_extra=comma_list({"type": "number"}, min_items=4, max_items=4)
        | {
            "examples": [[126.97, 37.55, 126.99, 37.57]],
            "prefixItems": [
                {"type": "number", "minimum": -180, "maximum": 180},
                {"type": "number", "minimum": -90, "maximum": 90},
                {"type": "number", "minimum": -180, "maximum": 180},
                {"type": "number", "minimum": -90, "maximum": 90},
            ],
        },
    )


async def project_filter(
    bbox: Annotated[str | None, bbox_query()] = None,
    category: Annotated[
        str | None,
        Query(
            description="Category codes, comma-separated: the city's, listed by /api/config "
            "(a code it lacks matches nothing, as an agency or district code does)",
            json_schema_extra=comma_list({"type": "string", "pattern": CATEGORY_CODE}),
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            description="Status codes, comma-separated",
            json_schema_extra=comma_list({"type": "string", "enum": list(STATUSES)}),
        ),
    ] = None,
    agency: Annotated[
        str | None, Query(max_length=40, pattern=TEXT, description="Agency code")
    ] = None,
    district: Annotated[
        str | None, Query(max_length=40, pattern=TEXT, description="District code")
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
    min_budget: Annotated[str | None, _budget_param("least")] = None,
    max_budget: Annotated[str | None, _budget_param("most")] = None,
    flagged: Annotated[
        str | None,
        Query(
            description="true: only flagged projects; false: only unflagged ones",
            json_schema_extra={"type": "boolean"},
        ),
    ] = None,
) -> ProjectFilter:
    low = parse_budget(min_budget, "min_budget", ROUND_CEILING)
    high = parse_budget(max_budget, "max_budget", ROUND_FLOOR)
    return ProjectFilter(
        bbox=parse_bbox(bbox),
        categories=parse_category_codes(category),
        statuses=parse_codes(status, "status", dict(STATUSES)),
        agency=agency or None,
        district=district or None,
        q=q.strip() or None if q else None,
        active_on=parse_date(active_on, "active_on"),
        min_budget=low,
        max_budget=high,
        flagged=parse_flag(flagged, "flagged"),
    )


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most {MAX_LIMIT}")]
Offset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description=f"At most {MAX_OFFSET:,}; walk further with the next link's cursor",
    ),
]


async def strict_query(request: Request) -> None:
    """Refuse a query parameter the route does not take, or one given twice: either would make
    one URL (and its cached answer) stand for different questions."""
    refuse_unknown(request, declared_names(request))


def declared_names(request: Request) -> frozenset[str]:
    """The query parameters the request's route declares, worked out once per route."""
    route = request.scope["route"]
    names: dict[int, frozenset[str]] = request.app.state.query_names
    known = names.get(id(route))
    if known is None:
        known = names[id(route)] = query_names(route.dependant)
    return known


def refuse_unknown(request: Request, known: frozenset[str]) -> None:
    """A 400 problem for the first query parameter given twice or not among ``known``."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise Problem(400, f"{name} is given more than once; give it once.", param=name)
        seen.add(name)
        if name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise Problem(
                400, f"{name} is not a parameter of this endpoint (it takes: {takes}).", param=name
            )


def query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route takes, its dependencies' included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return frozenset(names)
