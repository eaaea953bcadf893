"""``/api/health``: is the database reachable, which PostGIS, how many projects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.database import database
from api.problems import DATABASE_ERRORS, problem_response
from geo.sql import Query

router = APIRouter(tags=["health"])
CHECK = Query("SELECT postgis_lib_version(), (SELECT count(*) FROM projects)")


class Health(BaseModel):
    status: str
    database: str
    postgis: str
    projects: int


@router.get(
    "/api/health",
    response_model=Health,
    responses={503: {"description": "The database is unreachable."}},
)
async def health(request: Request) -> Health | JSONResponse:
    try:
        row = await database(request).first(CHECK)
    except DATABASE_ERRORS as exc:
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        return problem_response(
            503, f"The database is unreachable: {reason}", instance="/api/health"
        )
    assert row is not None
    return Health(status="ok", database="reachable", postgis=row[0], projects=row[1])
