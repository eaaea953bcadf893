"""The statements that find conflicts: each yields rows of (kind, a_id, b_id, zone_id,
distance_m, overlap_days, at), a pair's ids in order (``a_id < b_id``), a violation's
excavating work as ``a``.

A work is a published project, not withdrawn or cancelled, with a place; its period runs from
its actual start (else planned) to its actual end (else planned). Distances are true metres on
the spheroid (``geography``); the GiST index on the geometry finds the candidates first, within
a box in degrees that is never smaller than the buffer at the work's latitude.
"""

from __future__ import annotations

from datetime import date

from geo.sql import Query

WORKS = """
    SELECT p.id, p.geom, p.category, p.status, p.agency_code,
           coalesce(p.actual_start, p.planned_start) AS s,
           greatest(coalesce(p.actual_start, p.planned_start),
                    coalesce(p.actual_end, p.planned_end)) AS e
    FROM projects p
    WHERE p.published AND p.withdrawn_at IS NULL AND p.status <> 'cancelled'
      AND p.geom IS NOT NULL"""
# Degrees of latitude or longitude are never shorter than this many metres near ``{g}`` (half a
# degree nearer the pole than its farthest point, 110 km for a degree of latitude)
DEGREE_M_NEAR = (
    "(110000 * cos(radians(least(89, greatest(abs(ST_YMin({g})), abs(ST_YMax({g}))) + 0.5))))"
)
DEGREE_M = DEGREE_M_NEAR.format(g="a.geom")
# The box test twice, in degrees at either side's latitude, so that the index serves whichever
# side the planner starts from; then the true distance
NEAR = (
    f"ST_DWithin({{other}}.geom, a.geom, r.buffer_m / {DEGREE_M}) "
    "AND ST_DWithin(a.geom, {other}.geom, r.buffer_m / "
    + DEGREE_M_NEAR.format(g="{other}.geom")
    + ") AND ST_DWithin(a.geom::geography, {other}.geom::geography, r.buffer_m)"
)
AT = "ST_LineInterpolatePoint(ST_ShortestLine(a.geom, {other}.geom), 0.5)"
DISTANCE = "ST_Distance(a.geom::geography, {other}.geom::geography)::real"
OVERLAP = "least(a.e, {other}.e) - greatest(a.s, {other}.s) + 1"

# A pair is measured from its first work (the lower id): found from either side, it is the same
# row (a distance or meeting point measured the other way round may differ in the last bits).
FIRST = "(CASE WHEN b.id < a.id THEN b.geom ELSE a.geom END)"
SECOND = "(CASE WHEN b.id < a.id THEN a.geom ELSE b.geom END)"
PAIRS = f"""
    SELECT CASE WHEN {OVERLAP.format(other="b")} >= 1 THEN 'clash' ELSE 'dig_once' END AS kind,
           least(a.id, b.id) AS a_id, greatest(a.id, b.id) AS b_id, NULL::bigint AS zone_id,
           ST_Distance({FIRST}::geography, {SECOND}::geography)::real AS distance_m,
           {OVERLAP.format(other="b")} AS overlap_days,
           ST_LineInterpolatePoint(ST_ShortestLine({FIRST}, {SECOND}), 0.5) AS at
    FROM r, ({{a}}) a, w b
    WHERE {{scope}} AND b.id IS DISTINCT FROM a.id
      AND b.s <= a.e + r.gap_days AND b.e >= a.s - r.gap_days
      AND {NEAR.format(other="b")}"""  # noqa: S608 - this module's own fragments
# A protected zone: a completed work of a protected category, from the day after its end for
# the moratorium's months, or a zone a planner drew (``moratoria``)
BY_WORK = {
    "zones": "w",
    "b_id": "z.id",
    "zone_id": "NULL::bigint",
    "zs": "z.e + 1",
    "ze": "(z.e + make_interval(months => r.moratorium_months))::date",
    "protects": "z.category = ANY(r.protected) AND z.status IN ('completion', 'maintenance') "
    "AND z.id IS DISTINCT FROM a.id",
}
BY_ZONE = {
    "zones": "moratoria",
    "b_id": "NULL::bigint",
    "zone_id": "z.id",
    "zs": "z.starts",
    "ze": "z.ends",
    "protects": "TRUE",
}
VIOLATIONS = f"""
    SELECT 'moratorium' AS kind, a.id AS a_id, {{b_id}} AS b_id, {{zone_id}} AS zone_id,
           {DISTANCE.format(other="z")} AS distance_m,
           least(a.e, {{ze}}) - greatest(a.s, {{zs}}) + 1 AS overlap_days,
           {AT.format(other="z")} AS at
    FROM r, ({{a}}) a, {{zones}} z
    WHERE {{scope}} AND a.category = ANY(r.excavating) AND {{protects}}
      AND {{zs}} <= a.e AND {{ze}} >= a.s AND {NEAR.format(other="z")}"""  # noqa: S608 - fragments
FOUND = """
    WITH r AS ({rules}), w AS NOT MATERIALIZED ({works})
    {body}"""


def _found(rules: Query, body: Query) -> Query:
    return Query.compose(FOUND, rules=rules, works=WORKS, body=body)


def _pairs(a: str | Query, scope: str | Query) -> Query:
    return Query.compose(PAIRS, a=a, scope=scope)


def _violations(a: str | Query, works: str | Query, zones: str | Query) -> Query:
    """Violations by the works ``a`` of the zones of completed works within ``works`` and of
    the zones drawn within ``zones`` (conditions on ``a`` and ``z``)."""
    return Query.compose(
        "{by_work} UNION ALL {by_zone}",
        by_work=Query.compose(VIOLATIONS, a=a, scope=works, **BY_WORK),
        by_zone=Query.compose(VIOLATIONS, a=a, scope=zones, **BY_ZONE),
    )


def every(rules: Query) -> Query:
    """Every conflict of the city (the full scan), each pair once."""
    return _found(
        rules,
        Query.compose(
            "{pairs} UNION ALL {violations}",
            pairs=_pairs("SELECT * FROM w", "a.id < b.id"),
            violations=_violations("SELECT * FROM w", "TRUE", "TRUE"),
        ),
    )


def touching(rules: Query, projects: Query, zones: Query) -> Query:
    """The conflicts of the works ``projects`` and of the zones: those drawn by hand
    (``zones``) and those the protected works among ``projects`` make. Both are SQL arrays of
    ids (``ids``, or a subquery's)."""
    by_a = Query.compose("a.id = ANY({ids})", ids=projects)
    return _found(
        rules,
        Query.compose(
            "{pairs} UNION {violations} UNION {protecting}",
            pairs=_pairs("SELECT * FROM w", by_a),
            violations=_violations("SELECT * FROM w", by_a, by_a),
            protecting=_violations(
                "SELECT * FROM w",
                Query.compose("z.id = ANY({ids})", ids=projects),
                Query.compose("z.id = ANY({ids})", ids=zones),
            ),
        ),
    )


def ids(values: list[int], name: str) -> Query:
    """``values`` as an SQL array of ids, the parameter ``name``."""
    return Query(f"%({name})s::bigint[]", {name: values})


UNSAVED = """
    SELECT (SELECT id FROM projects WHERE code = %(u_code)s) AS id,
           ST_GeomFromEWKB(decode(%(u_geom)s, 'hex')) AS geom,
           %(u_category)s::text AS category, 'preparation'::text AS status,
           %(u_agency)s::text AS agency_code, %(u_start)s::date AS s, %(u_end)s::date AS e"""


def unsaved(
    rules: Query,
    ewkb: str,
    category: str,
    start: date,
    end: date,
    *,
    agency: str | None = None,
    code: str | None = None,
) -> Query:
    """The conflicts a work not yet saved would have (its geometry as EWKB hex), or a saved
    one (``code``) as it would be: every row's ``a_id`` is NULL, the other work is ``b_id``."""
    given = Query(
        UNSAVED,
        {"u_geom": ewkb, "u_category": category, "u_agency": agency, "u_start": start,
         "u_end": end, "u_code": code},
    )  # fmt: skip
    return _found(
        rules,
        Query.compose(
            "SELECT kind, NULL::bigint AS a_id, b_id, zone_id, distance_m, overlap_days, at "
            "FROM ({pairs}) q UNION ALL {violations}",
            pairs=_pairs(given, "TRUE"),
            violations=_violations(given, "TRUE", "TRUE"),
        ),
    )


def within(rules: Query, scope: Query) -> Query:
    """The conflicts of the works within ``scope`` (a condition on ``a``), each pair once."""
    works = Query.compose("SELECT * FROM w a WHERE {scope}", scope=scope)
    return _found(
        rules,
        Query.compose(
            "{pairs} UNION {violations}",
            pairs=_pairs(works, "TRUE"),
            violations=_violations(works, "TRUE", "TRUE"),
        ),
    )
