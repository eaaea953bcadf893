"""The projects layer: every published project, coloured by category, drawn by status."""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.flags import ANY_FLAG
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


def source(where: ProjectFilter) -> Query:
    clause, params = where.where(spatial=False)
    sql = f"""
        SELECT p.id, p.geom, p.code, p.category, p.status, {ANY_FLAG} AS flagged
        FROM projects p WHERE {clause}"""
    return Query(sql, params)


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
