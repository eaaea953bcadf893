"""The districts layer: boundaries with the totals of their projects, for shading."""

from __future__ import annotations

from geo.districts import totals_source
from geo.filters import ProjectFilter
from geo.sql import Query
from layers.base import Layer, LegendEntry, Style

MEASURES = {
    "projects": {"ko": "사업 수", "en": "Projects"},
    "budget": {"ko": "총 예산", "en": "Total budget"},
    "flagged": {"ko": "주의 사업", "en": "Flagged projects"},
}


def source(where: ProjectFilter) -> Query:
    totals = totals_source(where)
    return Query(f"SELECT s.code::int AS id, s.* FROM ({totals.sql}) s", totals.params)


DISTRICTS = Layer(
    id="districts",
    title_ko="자치구",
    title_en="Districts",
    geometry="polygon",
    source=source,
    properties={
        "code": "String",
        "name_ko": "String",
        "name_en": "String",
        "projects": "Number",
        "active": "Number",
        "budget": "Number",
        "spent": "Number",
        "flagged": "Number",
    },
    style=Style(
        property="projects",
        legend=(
            LegendEntry("low", "적음", "Fewer", "#eff3ff"),
            LegendEntry("high", "많음", "More", "#08519c"),
        ),
        extra={"measures": MEASURES},
    ),
    minzoom=0,
    maxzoom=22,
)
