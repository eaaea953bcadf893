"""Per-district totals: projects, active works, budget, spent and flagged projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.caching import cached
from api.params import project_filter
from geo.districts import district_totals
from geo.filters import ProjectFilter

router = APIRouter(prefix="/api/districts", tags=["districts"])


@router.get("", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def districts(
    request: Request,
    where: Annotated[ProjectFilter, Depends(project_filter)],
) -> Response:
    """Totals per district of the projects the filters select (bbox is not applied)."""
    query = district_totals(where)
    return await cached(request, "application/json", lambda db: db.scalar(query))
