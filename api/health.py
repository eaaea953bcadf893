"""``/api/health``: is the database reachable, which PostGIS, how many projects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import connect
from api.problems import problem_response

router = APIRouter(tags=["health"])


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
def health(request: Request) -> Health | JSONResponse:
    try:
        with connect(request) as conn:
            row = conn.execute(
                text("SELECT postgis_lib_version(), (SELECT count(*) FROM projects)")
            ).one()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return problem_response(
            503, f"The database is unreachable: {reason}", instance="/api/health"
        )
    return Health(status="ok", database="reachable", postgis=row[0], projects=row[1])
