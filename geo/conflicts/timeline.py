"""A place's timeline: every work and protected zone of a box, or of a project's street (the
works within the buffer of it), with their periods, as JSON assembled by PostGIS."""

from __future__ import annotations

from geo.conflicts.find import DEGREE_M
from geo.filters import BBox
from geo.sql import Query

MOST = 500  # items of each kind; a timeline of more is no longer read
TIMELINE = f"""
    WITH r AS ({{rules}}),
    place AS (
        SELECT geom, d FROM (
            SELECT coalesce(ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326),
                            (SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) FROM districts))
                   AS geom, 0::float8 AS d
            WHERE %(project)s::text IS NULL
            UNION ALL
            SELECT p.geom, r.buffer_m FROM projects p, r
            WHERE p.code = %(project)s AND p.published AND p.geom IS NOT NULL) x
    ),
    works AS (
        SELECT p.*, coalesce(p.actual_start, p.planned_start) AS s,
               greatest(coalesce(p.actual_start, p.planned_start),
                        coalesce(p.actual_end, p.planned_end)) AS e
        FROM projects p, place a
        WHERE p.published AND p.withdrawn_at IS NULL AND p.geom IS NOT NULL
          AND p.geom && ST_Expand(a.geom, a.d / {DEGREE_M})
          AND (a.d = 0 AND ST_Intersects(p.geom, a.geom)
               OR a.d > 0 AND ST_DWithin(p.geom::geography, a.geom::geography, a.d))
        ORDER BY s, p.code LIMIT {MOST + 1}
    ),
    zones AS (
        SELECT 'work' AS source, w.code AS project, NULL::bigint AS id, NULL AS reason,
               w.e + 1 AS s, (w.e + make_interval(months => r.moratorium_months))::date AS e
        FROM works w, r
        WHERE w.category = ANY(r.protected) AND w.status IN ('completion', 'maintenance')
          AND r.moratorium_months > 0
        UNION ALL
        SELECT 'drawn', NULL, m.id, m.reason, m.starts, m.ends FROM moratoria m, place a
        WHERE m.geom && ST_Expand(a.geom, a.d / {DEGREE_M})
          AND (a.d = 0 AND ST_Intersects(m.geom, a.geom)
               OR a.d > 0 AND ST_DWithin(m.geom::geography, a.geom::geography, a.d))
    )
    SELECT json_build_object(
        'works', (SELECT coalesce(json_agg(json_build_object(
            'code', w.code, 'title', w.title, 'category', w.category, 'status', w.status,
            'agency', w.agency_code, 'start', w.s, 'end', w.e,
            'planned_start', w.planned_start, 'planned_end', w.planned_end) ORDER BY w.s, w.code),
            '[]') FROM (SELECT * FROM works ORDER BY s, code LIMIT {MOST}) w),
        'truncated', (SELECT count(*) > {MOST} FROM works),
        'zones', (SELECT coalesce(json_agg(json_build_object(
            'source', z.source, 'project', z.project, 'id', z.id, 'reason', z.reason,
            'start', z.s, 'end', z.e) ORDER BY z.s), '[]') FROM zones z)
    )::text
    FROM place"""  # noqa: S608 - this module's constants


def of_place(bbox: BBox | None, project: str | None, rules: Query) -> Query:
    """The timeline of ``project``'s street, else of ``bbox``, else of the whole city (text); no
    row when the project is not a published one with a place."""
    west, south, east, north = bbox or (None, None, None, None)
    return Query.compose(
        TIMELINE,
        {"w": west, "s": south, "e": east, "n": north, "project": project},
        rules=rules,
    )
