"""``/api/changes``: the public change log, newest first, with the chain head, so that anyone
can keep a copy and later prove the log was not rewritten (``geo.changelog``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.caching import cached
from api.params import TEXT, parse_date
from api.projects import ProjectCode
from geo.changelog import listing

router = APIRouter(tags=["changes"])
JSON: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}}}}
MAX_CHANGES = 500

Limit = Annotated[int, Query(ge=1, le=MAX_CHANGES, description=f"At most {MAX_CHANGES}")]
Before = Annotated[
    int | None,
    Query(ge=1, lt=2**63, description="Only entries before this one (to page back)"),
]


@router.get("/api/changes", response_class=Response, responses=JSON)
async def changes(
    request: Request,
    agency: Annotated[str | None, Query(max_length=40, pattern=TEXT)] = None,
    district: Annotated[str | None, Query(max_length=40, pattern=TEXT)] = None,
    since: Annotated[
        str | None,
        Query(description="From this date (YYYY-MM-DD)", json_schema_extra={"format": "date"}),
    ] = None,
    before: Before = None,
    limit: Limit = 100,
) -> Response:
    """Recent changes city-wide: what changed, from what to what, why, by which agency and
    role; each entry with its content as hashed, its previous hash and its hash."""
    query = listing(
        agency=agency, district=district, since=parse_date(since, "since"), before=before,
        limit=limit,
    )  # fmt: skip
    return await cached(request, "application/json", lambda db: db.scalar(query))


@router.get("/api/projects/{code}/changes", response_class=Response, responses=JSON)
async def project_changes(
    request: Request, code: ProjectCode, before: Before = None, limit: Limit = 100
) -> Response:
    """One project's change history, newest first."""
    query = listing(project=code, before=before, limit=limit)
    return await cached(request, "application/json", lambda db: db.scalar(query))
