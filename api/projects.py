"""Public project disclosures: search, the click query, and one project's full disclosure."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.areas import view
from api.caching import cached
from api.database import Database
from api.links import this_page
from api.params import Limit, Offset, project_filter
from api.problems import Problem, documented
from geo.click import DEFAULT_RADIUS_M, projects_at, radius_for_zoom
from geo.disclosure import SORTS, After, project_feature, search
from geo.filters import MAX_BUDGET, ProjectFilter

router = APIRouter(prefix="/api/projects", tags=["projects"])
GEOJSON = "application/geo+json"
SORT_VALUES = "|".join(f"-?{s}" for s in SORTS)


def encode_cursor(sort: str, last: str) -> str:
    """The ``cursor`` of the page after the row whose ``[key, id]`` is ``last`` (JSON)."""
    key, row_id = json.loads(last)
    text = json.dumps([sort, key, row_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _canonical(key: object, kind: str) -> str:
    """The sort key written as PostgreSQL reads it back as ``kind``; ValueError if it is not."""
    if not isinstance(key, str) or "\x00" in key:
        raise ValueError
    if kind == "numeric":
        number = Decimal(key)
        if not number.is_finite() or abs(number) > MAX_BUDGET or number.adjusted() < -20:
            raise ValueError
        return str(number)
    if kind == "date":
        return date.fromisoformat(key).isoformat()
    if kind == "timestamptz":
        moment = datetime.fromisoformat(key)
        if moment.tzinfo is None:
            raise ValueError
        return moment.isoformat()
    return key


def decode_cursor(cursor: str, sort: str) -> After:
    """The keyset position a ``next`` link's cursor names. One that is not ours names no page:
    404, as for any other address the API never gave out."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        given, key, row_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if given != sort:
            raise Problem(
                404, f"cursor was made for sort={given}, not sort={sort}.", param="cursor"
            )
        if not isinstance(row_id, int) or isinstance(row_id, bool) or not 0 < row_id < 2**63:
            raise ValueError
        return After(_canonical(key, SORTS[sort.lstrip("-")][1]), row_id)
    except (ValueError, TypeError, UnicodeError, ArithmeticError, binascii.Error):
        raise Problem(
            404, "cursor is not one this API made: follow the next link as given.", param="cursor"
        ) from None


def _page_links(
    request: Request, limit: int, offset: int, cursor: str | None
) -> list[dict[str, str]]:
    links = [{"rel": "self", "href": this_page(request)}]
    if cursor:
        links.append({"rel": "next", "href": this_page(request, offset=None, cursor=cursor)})
    if offset > 0 and "cursor" not in request.query_params:
        links.append(
            {"rel": "prev", "href": this_page(request, offset=max(offset - limit, 0) or None)}
        )
    return links


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "FeatureCollection"}},
)
async def list_projects(
    request: Request,
    where: Annotated[ProjectFilter, Depends(project_filter)],
    limit: Limit = 100,
    offset: Offset = 0,
    sort: Annotated[
        str,
        Query(pattern=f"^({SORT_VALUES})$", description="Sort key; a leading '-' sorts descending"),
    ] = "code",
    cursor: Annotated[
        str | None,
        Query(
            max_length=1000,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Where a page starts, as the next link of the page before gives it "
            "(one the API did not make answers 404)",
        ),
    ] = None,
) -> Response:
    """Published projects matching the filters, as a GeoJSON FeatureCollection page.

    Follow the ``next`` link to walk every match: it carries a ``cursor`` (keyset paging), so
    late pages cost no more than the first. ``numberMatched`` is given while it is cheap to
    count (left out past that).
    """
    after = decode_cursor(cursor, sort) if cursor is not None else None

    async def produce(db: Database) -> str:
        page = search(where, limit=limit, offset=offset, sort=sort, after=after)
        matched, features, returned, more, last = await db.first(page) or (0, "[]", 0, False, None)
        next_cursor = encode_cursor(sort, last) if more else None
        links = _page_links(request, limit, offset, next_cursor)
        counted = f'"numberMatched":{matched},' if matched is not None else ""
        return (
            f'{{"type":"FeatureCollection",{counted}'
            f'"numberReturned":{returned},"links":{json.dumps(links)},'
            f'"features":{features}}}'
        )

    return await cached(request, GEOJSON, produce, area=view(where.bbox))


@router.get(
    "/at",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "FeatureCollection"}},
)
async def projects_at_point(
    request: Request,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude (EPSG:4326)")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude (EPSG:4326)")],
    radius_m: Annotated[float | None, Query(gt=0, le=2000, description="Reach in metres")] = None,
    zoom: Annotated[
        float | None,
        Query(
            ge=0,
            le=24,
            description="Map zoom of the click; widens the reach to a fingertip at that zoom",
        ),
    ] = None,
) -> Response:
    """The projects at a clicked spot, nearest first, each with its popup summary."""
    radius = radius_m or DEFAULT_RADIUS_M
    if zoom is not None and radius_m is None:
        radius = max(DEFAULT_RADIUS_M, min(radius_for_zoom(zoom, lat), 2000.0))
    return await cached(request, GEOJSON, lambda db: db.scalar(projects_at(lon, lat, radius)))


ProjectCode = Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
NOT_FOUND = documented("No published project has this code.")


async def disclosure_or_404(db: Database, code: str) -> str:
    """The project's disclosure Feature (JSON text), or a 404 problem naming ``code``."""
    found: str | None = await db.scalar(project_feature(code))
    if found is None:
        raise Problem(404, f"No published project has the code {code}.", param="code")
    return found


@router.get(
    "/{code}",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}}, "description": "Feature"},
        404: NOT_FOUND,
    },
)
async def project(request: Request, code: ProjectCode) -> Response:
    """One project's full disclosure as a GeoJSON Feature."""
    return await cached(request, GEOJSON, lambda db: disclosure_or_404(db, code))
