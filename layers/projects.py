"""The projects layer: every published project, coloured by category, drawn by status."""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.flags import any_flag
from geo.sql import Query
from layers.base import Layer, Style

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


SOURCE = """
        SELECT p.id, p.geom, p.code, p.category, p.status, {flagged} AS flagged
        FROM projects p WHERE {where}"""


def source(where: ProjectFilter) -> Query:
    return Query.compose(SOURCE, flagged=any_flag(), where=where.where(spatial=False))


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
)
