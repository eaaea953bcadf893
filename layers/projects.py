"""The projects layer: every published project, coloured by category, drawn by status."""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.flags import any_flag
from geo.sql import Query
from geo.vocab import PROJECT_TYPES, STATUSES
from layers.base import Attribute, Layer, Style
from layers.prepared import Cells, Prepared

# How the client draws each status: planned works dashed, stopped ones grey, finished faded.
STATUS_SYMBOLS = {
    "identification": "dashed",
    "preparation": "dashed",
    "implementation": "solid",
    "suspended": "grey",
    "completion": "faded",
    "maintenance": "faded",
    "cancelled": "faded",
}


# A tile reads only the columns of ``properties``; OGC API Features the rest too.
SOURCE = """
        SELECT p.id, p.geom, p.code, p.category, p.status, {flagged} AS flagged,
               p.title, p.project_type, p.agency_code, p.district_code, p.address,
               p.contractor, p.currency, p.budget, p.spent, p.progress_actual,
               p.progress_planned, p.planned_start, p.planned_end, p.actual_start, p.actual_end,
               coalesce(p.actual_start, p.planned_start) AS starts,
               coalesce(p.actual_end, p.planned_end) AS ends, p.is_sample, p.updated_at
        FROM projects p WHERE {where}"""


def source(where: ProjectFilter) -> Query:
    return Query.compose(SOURCE, flagged=any_flag(), where=where.where(spatial=False))


ATTRIBUTES = {
    "code": Attribute("string", "The project's code, as /api/projects/{code} names it"),
    "title": Attribute("string", "Name of the works"),
    "category": Attribute("string", "Category code (the city's, listed by /api/config)"),
    "project_type": Attribute("string", "OC4IDS project type", values=tuple(PROJECT_TYPES)),
    "status": Attribute("string", "Status code", values=tuple(STATUSES)),
    "agency_code": Attribute("string", "Code of the agency responsible"),
    "district_code": Attribute("string", "Code of the district holding the works"),
    "address": Attribute("string", "Street address"),
    "contractor": Attribute("string", "Company carrying out the works"),
    "currency": Attribute("string", "ISO 4217 currency of the amounts"),
    "budget": Attribute("number", "Budget"),
    "spent": Attribute("number", "Paid so far"),
    "progress_actual": Attribute("number", "Physical progress, percent"),
    "progress_planned": Attribute("number", "Progress planned by now, percent"),
    "planned_start": Attribute("date", "Planned first day"),
    "planned_end": Attribute("date", "Planned last day"),
    "actual_start": Attribute("date", "Actual first day, once started"),
    "actual_end": Attribute("date", "Actual last day, once finished"),
    "flagged": Attribute("boolean", "Raises a warning flag (over budget, behind, stale...)"),
    "is_sample": Attribute("boolean", "Synthetic sample data, not a real project"),
    "updated_at": Attribute("timestamp", "Last change"),
}


PROJECTS = Layer(
    id="projects",
    title="layer.projects",
    geometry="mixed",
    source=source,
    properties={"code": "String", "category": "String", "status": "String", "flagged": "Boolean"},
    style=Style(property="category", by_category=True, symbols=STATUS_SYMBOLS),
    minzoom=5,
    maxzoom=22,
    cluster_above=1500,
    description="Every published public construction project: its place, money and progress. "
    "A feature's id is the project's number in this portal; its code is a property.",
    attributes=ATTRIBUTES,
    period=("starts", "ends"),
    prepared=Prepared(
        rows="map_features",
        properties={
            "code": "f.code",
            "category": "f.category",
            "status": "f.status",
            "flagged": "f.flagged_on <= current_date",
        },
        held=("category", "status", "flagged_on"),
    ),
    cells=Cells("map_cells", "projects"),
)
