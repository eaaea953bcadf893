"""Published projects as OC4IDS project packages (``geo.oc4ids``): the whole city, streamed, or
one project.

The city's package is written as PostGIS makes it, a chunk of projects at a time
(``api.streaming``): its head, the projects comma-separated, its tail. However large the city,
the portal holds one chunk, never the package.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from api.caching import cached
from api.city import City, city
from api.database import Database, database
from api.links import href
from api.problems import Problem, documented
from api.projects import ProjectCode
from api.streaming import Layout, file_headers, streamed
from geo.oc4ids import oc4ids_settings
from geo.oc4ids.export import package_head, projects
from geo.transaction import Rows

router = APIRouter(tags=["open data"])
JSON = "application/json"
CHUNK = 50  # projects read at a time (some 300 kB of JSON)
PACKAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {JSON: {}}, "description": "An OC4IDS 0.9 project package"}
}
NO_CITY = "No city is set up yet, so there is no project to export."


def _base(request: Request) -> str:
    return href(request, "")


async def _head(db: Database, request: Request) -> str:
    """The package up to its list of projects, opened."""
    uri = href(request, request.url.path)
    head: str | None = await db.scalar(package_head(uri, _base(request)))
    if head is None:
        raise Problem(404, NO_CITY)
    return head.rstrip()[:-1] + ',"projects":['


def _joined(rows: Rows) -> str:
    return ",".join(row["project"] for row in rows)


@router.get(
    "/api/export/oc4ids.json",
    response_class=Response,
    responses={**PACKAGE, 404: documented("No published project yet (or no city).")},
)
async def city_package(request: Request, here: Annotated[City, Depends(city)]) -> Response:
    """Every published project as an OC4IDS 0.9 project package, streamed.

    Ids are ``<prefix>-<code>`` (``ALLIMI_OC4IDS_PREFIX``); ``publishedDate`` is when the data
    last changed. Allimi's own category and status, and budget changes, are in the additional
    field ``allimi``.
    """
    db = await database(request)
    _, headers = await file_headers(request, here, "oc4ids.json")
    layout = Layout(await _head(db, request), _joined, ",", "]}")
    query = projects(oc4ids_settings().prefix, _base(request))
    nothing = Problem(404, "No project is published yet: there is nothing to export.")
    return await streamed(request, query, CHUNK, layout, JSON, headers, empty=nothing)


@router.get(
    "/api/projects/{code}/oc4ids.json",
    response_class=Response,
    responses={**PACKAGE, 404: documented("No published project has this code.")},
)
async def project_package(request: Request, code: ProjectCode) -> Response:
    """One published project as an OC4IDS 0.9 project package of one project."""

    async def produce(db: Database) -> str:
        found = await db.scalar(projects(oc4ids_settings().prefix, _base(request), code))
        if found is None:
            raise Problem(404, f"No published project has the code {code}.", param="code")
        return await _head(db, request) + found + "]}"

    return await cached(request, JSON, produce)
