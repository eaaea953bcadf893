"""Public project disclosures: search, the click query, and one project's full disclosure."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.caching import cached
from api.database import Database
from api.params import Limit, Offset, project_filter
from api.problems import Problem, documented
from geo.click import DEFAULT_RADIUS_M, projects_at, radius_for_zoom
from geo.disclosure import SORTS, project_feature, search
from geo.filters import ProjectFilter

router = APIRouter(prefix="/api/projects", tags=["projects"])
GEOJSON = "application/geo+json"
SORT_VALUES = "|".join(f"-?{s}" for s in SORTS)


def _page_links(request: Request, limit: int, offset: int, matched: int) -> str:
    links = [{"rel": "self", "href": str(request.url)}]
    if offset + limit < matched:
        links.append(
            {
                "rel": "next",
                "href": str(request.url.include_query_params(offset=offset + limit, limit=limit)),
            }
        )
    if offset > 0:
        links.append(
            {
                "rel": "prev",
                "href": str(
                    request.url.include_query_params(offset=max(offset - limit, 0), limit=limit)
                ),
            }
        )
    return json.dumps(links)


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
) -> Response:
    """Published projects matching the filters, as a GeoJSON FeatureCollection page."""

    async def produce(db: Database) -> str:
        page = search(where, limit=limit, offset=offset, sort=sort)
        matched, features = await db.first(page) or (0, "[]")
        returned = min(limit, max(matched - offset, 0))
        return (
            f'{{"type":"FeatureCollection","numberMatched":{matched},'
            f'"numberReturned":{returned},"links":{_page_links(request, limit, offset, matched)},'
            f'"features":{features}}}'
        )

    return await cached(request, GEOJSON, produce)


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
