"""The planners' conflicts: the list (GeoJSON, CSV), a project's, the check of an unsaved work,
the workflow's steps, protected zones drawn by hand, a place's timeline and a district's
coordination report. Who may do what is declared on each route (``geo.conflicts``).

Planners, officials and admins read the list with its internal notes, over the writing login
(the public reading login never sees a note); the public sees conflicts as a map layer
(``layers.conflicts``) and in each project's disclosure.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from api.auth import requires
from api.city import City, city
from api.database import Database, database
from api.params import (
    Limit,
    Offset,
    bbox_query,
    comma_list,
    parse_bbox,
    parse_codes,
    parse_date,
)
from api.problems import Problem, documented
from api.project_writes import Crs, actor_of, refusals_as_problems
from api.projects import ProjectCode
from api.writer import Writer, writer
from geo import conflicts as rules_of_conflicts
from geo.accounts import Principal
from geo.conflicts import check, export, listing, timeline, workflow
from geo.conflicts.listing import ConflictFilter
from geo.conflicts.rules import READ_STORED, STORED, Rules
from geo.sql import Query as Statement
from geo.transaction import Steps

router = APIRouter(tags=["conflicts"])
Readers = Annotated[Principal, Depends(requires(*rules_of_conflicts.READERS))]
Actors = Annotated[Principal, Depends(requires(*rules_of_conflicts.ACTORS))]
Planners = Annotated[Principal, Depends(requires("planner"))]
Store = Annotated[Writer, Depends(writer)]
GEOJSON = "application/geo+json"
MAX_EXPORT = 20_000
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: documented("This account may not do this to this conflict."),
    404: documented("There is no such conflict or project."),
    409: documented("The workflow does not move the conflict to that status."),
    422: documented("Fields that cannot be taken, each with its reason."),
}


async def given_rules(
    request: Request,
    buffer_m: Annotated[
        float | None,
        Query(ge=0, le=500, description="How close two works are to meet (metres)"),
    ] = None,
    gap_days: Annotated[
        int | None,
        Query(ge=0, le=3650, description="Fewer days apart than this: a dig-once opportunity"),
    ] = None,
    moratorium_months: Annotated[
        int | None, Query(ge=0, le=240, description="How long a completed road is protected")
    ] = None,
) -> Rules:
    """The portal's rules (``ALLIMI_CONFLICT_*``) with the numbers the request overrides."""
    defaults: Rules = request.app.state.conflict_rules
    return defaults.overridden(buffer_m, gap_days, moratorium_months)


Given = Annotated[Rules, Depends(given_rules)]


async def conflict_filter(
    bbox: Annotated[str | None, bbox_query()] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="Works active on or after")
    ] = None,
    to: Annotated[str | None, Query(description="Works active on or before (YYYY-MM-DD)")] = None,
    kind: Annotated[
        str | None,
        Query(
            description="Kinds, comma-separated",
            json_schema_extra=comma_list(
                {"type": "string", "enum": list(rules_of_conflicts.KINDS)}
            ),
        ),
    ] = None,
    status: Annotated[
        str | None,
        Query(
            description="Workflow statuses, comma-separated",
            json_schema_extra=comma_list(
                {"type": "string", "enum": list(rules_of_conflicts.STATUSES)}
            ),
        ),
    ] = None,
    agency: Annotated[str | None, Query(max_length=40, pattern=r"^[^\x00]*$")] = None,
    district: Annotated[str | None, Query(max_length=40, pattern=r"^[^\x00]*$")] = None,
) -> ConflictFilter:
    start, end = parse_date(from_, "from"), parse_date(to, "to")
    if start and end and end < start:
        raise Problem(400, f"to ({end}) is before from ({start}).", param="to")
    return ConflictFilter(
        bbox=parse_bbox(bbox),
        start=start,
        end=end,
        kinds=parse_codes(kind, "kind", dict.fromkeys(rules_of_conflicts.KINDS)),
        statuses=parse_codes(status, "status", dict.fromkeys(rules_of_conflicts.STATUSES)),
        agency=agency or None,
        district=district or None,
    )


Filtered = Annotated[ConflictFilter, Depends(conflict_filter)]


def _read(query: Statement) -> Steps[Any]:
    rows = yield query
    return next(iter(rows[0].values()))


async def _rules_query(store: Writer, rules: Rules) -> tuple[Statement, bool]:
    """The rules as SQL, and whether they differ from the stored conflicts' (then the list is
    found on the spot)."""
    stored = Rules.stored((await store.run(_rows(READ_STORED)))[0])
    return (STORED, False) if rules == stored else (rules.values(), True)


def _rows(query: Statement) -> Steps[list[dict[str, Any]]]:
    return (yield query)


async def _page(
    store: Writer, where: ConflictFilter, rules: Rules | None, limit: int, offset: int
) -> str:
    """A page of conflicts (GeoJSON text): the stored ones (``rules`` None, or the stored
    rules), else those ``rules`` find on the spot."""
    statement, live = (STORED, False) if rules is None else await _rules_query(store, rules)
    query = listing.conflicts(
        where, statement, live=live, internal=True, limit=limit, offset=offset
    )
    return str(await store.run(_read(query)))


@router.get(
    "/api/conflicts",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **REFUSALS},
)
async def conflicts(
    who: Readers, store: Store, where: Filtered, rules: Given,
    limit: Limit = 100, offset: Offset = 0,
) -> Response:  # fmt: skip
    """Conflicts as GeoJSON: each pair with both works' summaries, the distance, the days they
    overlap (or the gap), the workflow and its internal note, and where they meet. Newest
    first; ``numberMatched`` is given while it is cheap to count (left out past that)."""
    body = await _page(store, where, rules, limit, offset)
    return Response(body, media_type=GEOJSON)


@router.get(
    "/api/conflicts.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **REFUSALS},
)
async def conflicts_csv(who: Readers, store: Store, where: Filtered, rules: Given) -> Response:
    """Conflicts as CSV, one row each (at most 20,000)."""
    body = await _page(store, where, rules, MAX_EXPORT, 0)
    return Response(
        export.csv_of(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conflicts.csv"'},
    )


@router.get(
    "/api/conflicts/report",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, **REFUSALS},
)
async def report(
    request: Request, who: Readers, store: Store, rules: Given,
    here: Annotated[City, Depends(city)],
    district: Annotated[str, Query(max_length=40, pattern=r"^[^\x00]+$")],
) -> Response:  # fmt: skip
    """A district's coordination report: a self-contained HTML page (it works offline) with a
    map of its conflicts and their table."""
    area = await store.run(_rows(export.district_outline(district)))
    if not area:
        raise Problem(404, f"There is no district {district!r}.", param="district")
    body = await _page(store, ConflictFilter(district=district), rules, MAX_EXPORT, 0)
    html = export.report_html(here.jurisdiction, area[0], body, rules, request.app.state.settings)
    return Response(html, media_type="text/html; charset=utf-8")


ConflictId = Annotated[int, Path(ge=1, lt=2**63, description="The conflict's id")]


@router.get(
    "/api/conflicts/{conflict_id:int}",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **REFUSALS},
)
async def one_conflict(conflict_id: ConflictId, who: Readers, store: Store) -> Response:
    """One stored conflict as a GeoJSON Feature, as the list has it."""
    page = await _page(store, ConflictFilter(conflict=conflict_id), None, 1, 0)
    features = json.loads(page)["features"]
    if not features:
        raise Problem(404, f"There is no conflict {conflict_id}.", param="conflict_id")
    return Response(json.dumps(features[0], ensure_ascii=False), media_type=GEOJSON)


@router.get(
    "/api/projects/{code}/conflicts",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **REFUSALS},
)
async def project_conflicts(
    code: ProjectCode, who: Readers, store: Store, rules: Given,
    limit: Limit = 100, offset: Offset = 0,
) -> Response:  # fmt: skip
    """One published project's conflicts, as ``/api/conflicts``."""
    found = await store.run(_rows(listing.published(code)))
    if not found:
        raise Problem(404, f"There is no published project {code!r}.", param="code")
    body = await _page(store, ConflictFilter(project=code), rules, limit, offset)
    return Response(body, media_type=GEOJSON)


Work = Annotated[
    dict[str, Any],
    Body(
        description="The work as the editor has it: geometry (GeoJSON or WKT), category, "
        "planned_start, planned_end, and actual_start, actual_end, code (an edit of a saved "
        "project) where known"
    ),
]


@router.post("/api/conflicts/check", responses=REFUSALS)
async def check_unsaved(
    work: Work, who: Readers, store: Store, rules: Given, crs: Crs = "EPSG:4326"
) -> Response:
    """The conflicts a work not yet saved would have, each with the other work or zone: the
    editor shows them before the official saves."""
    statement, _ = await _rules_query(store, rules)
    body = await refusals_as_problems(store.run(check.check(work, statement, crs=crs)))
    return Response(body, media_type="application/json")


StepBody = Annotated[
    dict[str, Any],
    Body(
        description='{"status": "acknowledged" | "coordinated" | "dismissed" | "open", "note": '
        '"...", "days_saved": 12, "money_saved": 3000000} (what was saved: for a coordination)'
    ),
]


@router.post("/api/conflicts/{conflict_id}/steps", responses=REFUSALS)
async def take_step(
    conflict_id: ConflictId, body: StepBody, who: Actors, store: Store
) -> dict[str, Any]:
    """Move a conflict along its workflow (open → acknowledged → coordinated or dismissed);
    planners, and officials of either work's agency. Logged publicly, the note withheld."""
    done = await refusals_as_problems(store.run(workflow.step(actor_of(who), conflict_id, body)))
    return {"id": done.id, "status": done.status}


Zone = Annotated[
    dict[str, Any],
    Body(
        description="A protected zone: geometry (a line or polygon, GeoJSON or WKT), starts, "
        "ends (YYYY-MM-DD) and reason"
    ),
]


@router.post("/api/moratoria", status_code=201, responses=REFUSALS)
async def draw_zone(
    zone: Zone, who: Planners, store: Store, crs: Crs = "EPSG:4326"
) -> dict[str, int]:
    """A protected zone drawn by a planner: excavating works in it during its period violate
    it. Logged publicly."""
    made = await refusals_as_problems(store.run(workflow.draw_zone(actor_of(who), zone, crs=crs)))
    return {"id": made}


@router.get("/api/timeline")
async def place_timeline(
    db: Annotated[Database, Depends(database)], rules: Given,
    bbox: Annotated[str | None, bbox_query()] = None,
) -> Response:  # fmt: skip
    """Every work and protected zone of a box (or of the city: the first 500 works to start)
    over time, for a timeline."""
    body = await db.scalar(timeline.of_place(parse_bbox(bbox), None, rules.values()))
    return Response(str(body), media_type="application/json")


@router.get("/api/projects/{code}/timeline", responses=REFUSALS)
async def street_timeline(
    code: ProjectCode, db: Annotated[Database, Depends(database)], rules: Given
) -> Response:
    """Every work and protected zone of a project's street (within the buffer of its place)
    over time, for a timeline."""
    body = await db.scalar(timeline.of_place(None, code, rules.values()))
    if body is None:
        raise Problem(404, f"There is no published project {code!r}.", param="code")
    return Response(str(body), media_type="application/json")
