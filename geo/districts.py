"""Per-district totals of the projects a filter selects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from geo.filters import ProjectFilter
from geo.flags import ACTIVE, ANY_FLAG


def totals_source(where: ProjectFilter) -> tuple[str, dict[str, Any]]:
    """SQL yielding each district with its totals: code, names, geom, projects, active,
    budget, spent, flagged. The filter's bbox is ignored: a district's totals are its own."""
    clause, params = where.where(spatial=False)
    sql = f"""
        SELECT d.code, d.name_ko, d.name_en, d.geom,
               coalesce(t.projects, 0) AS projects, coalesce(t.active, 0) AS active,
               coalesce(t.budget, 0)::float8 AS budget, coalesce(t.spent, 0)::float8 AS spent,
               coalesce(t.flagged, 0) AS flagged
        FROM districts d LEFT JOIN (
            SELECT p.district_code, count(*) AS projects,
                   count(*) FILTER (WHERE {ACTIVE}) AS active,
                   sum(p.budget) AS budget, sum(p.spent) AS spent,
                   count(*) FILTER (WHERE {ANY_FLAG}) AS flagged
            FROM projects p WHERE {clause} GROUP BY p.district_code
        ) t ON t.district_code = d.code"""
    return sql, params


def district_totals(conn: Connection, where: ProjectFilter) -> str:
    """The totals of every district as a JSON array, largest budget first."""
    source, params = totals_source(where)
    return conn.execute(
        text(
            f"""
            SELECT coalesce(json_agg(json_build_object(
                'code', s.code, 'name_ko', s.name_ko, 'name_en', s.name_en,
                'projects', s.projects, 'active', s.active, 'budget', s.budget,
                'spent', s.spent, 'flagged', s.flagged,
                'bbox', json_build_array(ST_XMin(s.geom), ST_YMin(s.geom),
                                         ST_XMax(s.geom), ST_YMax(s.geom))
            ) ORDER BY s.budget DESC, s.code), '[]'::json)::text
            FROM ({source}) s
            """
        ),
        params,
    ).scalar_one()
