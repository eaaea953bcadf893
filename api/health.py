"""``/api/health``: is the database reachable, which PostGIS, how many projects (counted up to
``geo.sql.COUNT_UP_TO``, estimated beyond).

It answers within a second whatever the database does: the check runs on a connection of its
own (a busy or hung pool cannot delay it) under one deadline for connecting and the query, and
reconnects on a later call once the database is back.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.database import Database
from api.problems import DATABASE_ERRORS, RETRY_AFTER, documented, problem_response
from geo.health import HEALTH
from geo.sql import COUNT_UP_TO

router = APIRouter(tags=["health"])
DEADLINE_S = 0.75


class Health(BaseModel):
    status: str
    database: str
    postgis: str
    projects: int
    projects_estimated: bool = Field(
        description=f"Whether projects is the statistics' estimate (past {COUNT_UP_TO:,})"
    )


def own_connection(dsn: str) -> Database:
    """The health check's connection, apart from the pool of the other requests."""
    return Database(dsn, 1, statement_timeout_ms=int(DEADLINE_S * 1000), pool_wait_s=DEADLINE_S)


@router.get(
    "/api/health",
    response_model=Health,
    responses={503: documented("The database is unreachable.")},
)
async def health(request: Request) -> Health | JSONResponse:
    db: Database = request.app.state.health_database
    try:
        async with asyncio.timeout(DEADLINE_S):
            row = await db.first(HEALTH)
    except DATABASE_ERRORS:
        return problem_response(
            503,
            "The database is unreachable.",
            instance="/api/health",
            headers=RETRY_AFTER,
        )
    assert row is not None
    return Health(
        status="ok", database="reachable", postgis=row[0], projects=row[1],
        projects_estimated=row[2],
    )  # fmt: skip
