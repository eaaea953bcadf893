"""The projects layer: every published project, coloured by category, drawn by status."""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.flags import ANY_FLAG
from geo.sql import Query
from geo.vocab import CATEGORIES, STATUSES
from layers.base import Layer, LegendEntry, Style

CATEGORY_COLORS = {
    "road": "#e6550d",
    "water": "#4292c6",
    "sewer": "#756bb1",
    "gas": "#c49a00",
    "power": "#de2d26",
    "telecom": "#17a2b8",
    "rail": "#525252",
    "transit": "#1b9e77",
    "building": "#8c510a",
    "school": "#e7298a",
    "park": "#31a354",
    "river": "#08519c",
    "housing": "#a6761d",
}

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
    title_ko="공공공사",
    title_en="Public works",
    geometry="mixed",
    source=source,
    properties={"code": "String", "category": "String", "status": "String", "flagged": "Boolean"},
    style=Style(
        property="category",
        legend=tuple(
            LegendEntry(code, term.ko, term.en, CATEGORY_COLORS[code])
            for code, term in CATEGORIES.items()
        ),
        extra={
            "status_symbols": STATUS_SYMBOLS,
            "statuses": {code: {"ko": t.ko, "en": t.en} for code, t in STATUSES.items()},
        },
    ),
    minzoom=5,
    maxzoom=22,
    cluster_above=1500,
)
