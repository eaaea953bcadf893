"""Officials write projects: ``POST /api/projects``, ``PATCH`` and ``DELETE
/api/projects/{code}``. Each write is one transaction with its change-log entry
(``geo.project_writes``); who may write is declared on each route.

An edit names the version it was made from (``If-Match``: the ``version`` of the project's
disclosure, or the ``ETag`` of the last write): an edit from an older version is a 412 and
changes nothing, so two officials cannot overwrite each other unknowingly.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Query, Response

from api.auth import requires
from api.problems import Problem, documented
from api.projects import ProjectCode
from api.writer import Writer, writer
from geo import project_writes
from geo.accounts import Principal
from geo.project_writes import Actor, WriteError

router = APIRouter(tags=["writing"])
Writers = Annotated[Principal, Depends(requires(*project_writes.WRITERS))]
Store = Annotated[Writer, Depends(writer)]
Crs = Annotated[
    str,
    Query(
        max_length=40,
        pattern=r"^[A-Za-z]+:[0-9]+$",
        description="The CRS the geometry is given in, e.g. EPSG:5186",
    ),
]
Repair = Annotated[
    bool, Query(description="Repair an invalid geometry (ST_MakeValid) instead of refusing it")
]
Fields = Annotated[
    dict[str, Any],
    Body(
        description="The project's fields (title, category, project_type, status, agency, "
        "budget, planned_start, planned_end, geometry as GeoJSON or WKT, ...); for an edit "
        "only those that change, and a `reason` when money or dates change"
    ),
]
Reason = Annotated[dict[str, Any], Body(description='{"reason": "why it is withdrawn"}')]
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: documented("This account may not write this project."),
    404: documented("There is no such project."),
    409: documented("The project is withdrawn, or no city is set up."),
    412: documented("The project changed since the version named in If-Match."),
    422: documented("Fields that cannot be stored, each with its reason."),
    428: documented("An edit must name the version it was made from (If-Match)."),
}
T = TypeVar("T")


def actor_of(who: Principal) -> Actor:
    return Actor(who.user_id, who.role, who.agency, who.contractor)


async def refusals_as_problems(write: Awaitable[T]) -> T:
    """Await a write; a refusal becomes its problem (nothing of it was stored)."""
    try:
        return await write
    except WriteError as refused:
        param = refused.errors[0][0] if refused.errors else None
        raise Problem(refused.status, refused.detail, param=param, errors=refused.errors) from None


def _etag(version: str) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _if_match(value: str | None) -> str:
    if not value:
        raise Problem(
            428, "Name the version this edit was made from in If-Match.", param="If-Match"
        )
    return value.strip().removeprefix("W/").strip('"')


@router.post("/api/projects", status_code=201, responses=REFUSALS)
async def create(
    fields: Fields, who: Writers, store: Store, response: Response,
    crs: Crs = "EPSG:4326", repair: Repair = False,
) -> dict[str, str]:  # fmt: skip
    """A new project (a draft unless `published` is true), coded by the city's prefix and its
    planned start's year."""
    made = await refusals_as_problems(
        store.run(project_writes.create_project(actor_of(who), fields, crs=crs, repair=repair))
    )
    response.headers.update({**_etag(made.version), "Location": f"/api/projects/{made.code}"})
    return {"code": made.code, "version": made.version}


@router.patch("/api/projects/{code}", responses=REFUSALS)
async def edit(
    code: ProjectCode, fields: Fields, who: Writers, store: Store, response: Response,
    if_match: Annotated[str | None, Header(description="The version edited")] = None,
    crs: Crs = "EPSG:4326", repair: Repair = False,
) -> dict[str, Any]:  # fmt: skip
    """Change some of a project's fields; publishing a draft is `{"published": true}`."""
    version = _if_match(if_match)
    changes = dict(fields)
    reason = changes.pop("reason", None)
    done = await refusals_as_problems(
        store.run(project_writes.update_project(
            actor_of(who), code, changes, reason=reason, if_version=version, crs=crs,
            repair=repair,
        ))
    )  # fmt: skip
    response.headers.update(_etag(done.version))
    return {"code": done.code, "version": done.version, "changed": list(done.changed)}


@router.delete("/api/projects/{code}", responses=REFUSALS)
async def withdraw(
    code: ProjectCode, body: Reason, who: Writers, store: Store, response: Response,
    if_match: Annotated[str | None, Header(description="The version withdrawn")] = None,
) -> dict[str, str]:  # fmt: skip
    """Withdraw a project: it is kept and shown as withdrawn, with the reason; nothing is
    ever erased."""
    version = _if_match(if_match) if if_match else None
    done = await refusals_as_problems(
        store.run(
            project_writes.withdraw_project(
                actor_of(who), code, body.get("reason"), if_version=version
            )
        )
    )
    response.headers.update(_etag(done.version))
    return {"code": done.code, "version": done.version}


Readers = Annotated[Principal, Depends(requires(*project_writes.READERS))]


@router.get("/api/projects/{code}/working", responses=REFUSALS)
async def working(code: ProjectCode, who: Readers, store: Store) -> dict[str, Any]:
    """A project as its writers see it, draft or published, with the version to edit from:
    officials their agency's, planners and admins every agency's."""
    return await refusals_as_problems(store.run(project_writes.working_copy(actor_of(who), code)))


@router.get("/api/drafts", responses=REFUSALS)
async def drafts(who: Readers, store: Store) -> list[dict[str, Any]]:
    """The unpublished projects the account may see, last changed first."""
    return await refusals_as_problems(store.run(project_writes.drafts(actor_of(who))))
