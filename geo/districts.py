"""Per-district totals of the projects a filter selects."""

from __future__ import annotations

from geo.filters import ProjectFilter
from geo.flags import active, any_flag
from geo.sql import Query

TOTALS = """
        SELECT d.id, d.code, d.name, d.geom,
               coalesce(t.projects, 0) AS projects, coalesce(t.active, 0) AS active,
               coalesce(t.budget, 0)::float8 AS budget, coalesce(t.spent, 0)::float8 AS spent,
               coalesce(t.flagged, 0) AS flagged
        FROM districts d LEFT JOIN ({totals}) t ON t.district_code = d.code
        WHERE d.level = 1"""
COUNTED = """
            SELECT p.district_code, count(*) AS projects,
                   count(*) FILTER (WHERE {active}) AS active,
                   sum(p.budget) AS budget, sum(p.spent) AS spent,
                   count(*) FILTER (WHERE {flagged}) AS flagged
            FROM projects p WHERE {where} GROUP BY p.district_code"""
# The same from the sums a trigger keeps per district, category, status and first flagged day
# (migration 0017), when the filter asks nothing they do not hold.
SUMMED = """
            SELECT s.district_code, sum(s.projects) AS projects,
                   sum(s.projects) FILTER (WHERE {active}) AS active,
                   sum(s.budget) AS budget, sum(s.spent) AS spent,
                   sum(s.projects) FILTER (WHERE s.flagged_on <= current_date) AS flagged
            FROM district_sums s WHERE {where} GROUP BY s.district_code"""

TOTALS_JSON = """
            SELECT coalesce(json_agg(json_build_object(
                'code', s.code, 'name', s.name,
                'projects', s.projects, 'active', s.active, 'budget', s.budget,
                'spent', s.spent, 'flagged', s.flagged,
                'bbox', json_build_array(ST_XMin(s.geom), ST_YMin(s.geom),
                                         ST_XMax(s.geom), ST_YMax(s.geom))
            ) ORDER BY s.budget DESC, s.code), '[]'::json)::text
            FROM ({source}) s
            """


def totals_source(where: ProjectFilter) -> Query:
    """SQL yielding each district (level 1) with its totals: id, code, name (JSONB of language
    → name), geom, projects, active, budget, spent, flagged. The filter's bbox is ignored: a
    district's totals are its own."""
    summed = where.map_where("s", ("category", "status", "flagged_on"))
    if summed is not None:
        totals = Query.compose(SUMMED, active=active("s"), where=summed)
    else:
        totals = Query.compose(
            COUNTED, active=active(), flagged=any_flag(), where=where.where(spatial=False)
        )
    return Query.compose(TOTALS, totals=totals)


def district_totals(where: ProjectFilter) -> Query:
    """The totals of every district as a JSON array (text), largest budget first."""
    return Query.compose(TOTALS_JSON, source=totals_source(where))


def outline(code: str) -> Query:
    """One district's level (1, 2) and its outline simplified for a small map, as GeoJSON
    text; no row for an unknown code."""
    return Query(
        "SELECT level, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, 0.00005), 6) "
        "FROM districts WHERE code = %(code)s",
        {"code": code},
    )
