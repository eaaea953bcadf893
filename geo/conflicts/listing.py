"""Conflicts as planners read them: filtered, paged, each with both sides' summaries and the
place where they meet, as GeoJSON assembled by PostGIS.

With the rules the stored conflicts follow, the list is read from the table; a request that
overrides a rule's number gets the conflicts those rules find in its box, computed on the spot,
each with the workflow of the stored conflict of the same works where there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from geo.conflicts import find
from geo.conflicts.store import SAME
from geo.disclosure import COORDINATE_DECIMALS
from geo.filters import BBox, envelope_sql
from geo.sql import COUNT_UP_TO, Query

STORED_ROWS = "SELECT c.* FROM conflicts c"
LIVE_ROWS = """
    SELECT c.id, f.kind, f.a_id, f.b_id, f.zone_id, f.distance_m, f.overlap_days, f.at,
           true AS holds, coalesce(c.status, 'open') AS status, c.note, c.days_saved,
           c.money_saved, c.found_at, c.updated_at
    FROM ({found}) f LEFT JOIN conflicts c ON {same}"""
# A work's period, and a zone's (a completed work's protects from the day after its end)
PERIOD = (
    "coalesce({p}.actual_start, {p}.planned_start)",
    "greatest(coalesce({p}.actual_start, {p}.planned_start), "
    "coalesce({p}.actual_end, {p}.planned_end))",
)
WORK = """json_build_object('code', {p}.code, 'title', {p}.title, 'category', {p}.category,
    'status', {p}.status, 'agency', {p}.agency_code, 'district', {p}.district_code,
    'start', {start}, 'end', {end})"""
ZONE = """CASE WHEN m.id IS NOT NULL THEN json_build_object('id', m.id, 'reason', m.reason,
    'start', m.starts, 'end', m.ends)
    WHEN k.kind = 'moratorium' THEN json_build_object('project', b.code, 'start', {b_end} + 1,
    'end', ({b_end} + make_interval(months => r.moratorium_months))::date) END"""
# Where two works meet: their intersection, else the parts of each within the buffer of the
# other (a stretch of two parallel trenches, not just their nearest points)
MEET = """
    CASE WHEN ST_Intersects(a.geom, o.geom) THEN ST_Intersection(a.geom, o.geom)
    ELSE ST_Collect(ST_Intersection(a.geom, ST_Buffer(o.geom::geography, r.buffer_m)::geometry),
                    ST_Intersection(o.geom, ST_Buffer(a.geom::geography, r.buffer_m)::geometry))
    END"""
# The page is read by the order's index where a box holds many; ``numberMatched`` is counted up
# to ``COUNT_UP_TO`` and left out past it (a city's tens of millions would take minutes).
LIST = """
    WITH r AS ({rules}),
    k AS ({rows}),
    hit AS NOT MATERIALIZED (
        SELECT k.*, a.geom AS a_geom, coalesce(b.geom, m.geom) AS o_geom
        FROM k JOIN projects a ON a.id = k.a_id
        LEFT JOIN projects b ON b.id = k.b_id LEFT JOIN moratoria m ON m.id = k.zone_id
        WHERE {where}
    ),
    page AS (SELECT * FROM hit k ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s),
    matched AS (
        SELECT count(*) AS n FROM (SELECT FROM hit k ORDER BY {order} LIMIT %(count_up_to)s + 1) h),
    found AS (
        SELECT count(*) AS returned, coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', k.id,
            'geometry', ST_AsGeoJSON(CASE WHEN ST_IsEmpty(g.meet) THEN k.at ELSE g.meet END,
                                     {decimals})::json,
            'properties', json_build_object(
                'id', k.id, 'kind', k.kind, 'status', k.status, 'holds', k.holds,
                'distance_m', round(k.distance_m::numeric, 1),
                'overlap_days', greatest(k.overlap_days, 0),
                'gap_days', greatest(-k.overlap_days, 0),
                'a', {a}, 'b', CASE WHEN b.id IS NOT NULL THEN {b} END, 'zone', {zone},
                'days_saved', k.days_saved, 'money_saved', k.money_saved,
                'found_at', k.found_at, 'updated_at', k.updated_at{internal}
            )) ORDER BY {order}), '[]'::json) AS features
        FROM r, page k JOIN projects a ON a.id = k.a_id
        LEFT JOIN projects b ON b.id = k.b_id LEFT JOIN moratoria m ON m.id = k.zone_id
        CROSS JOIN LATERAL (SELECT {meet} AS meet
            FROM (SELECT k.a_geom AS geom) a, (SELECT k.o_geom AS geom) o) g)
    SELECT (CASE WHEN m.n <= %(count_up_to)s
                 THEN json_build_object('type', 'FeatureCollection', 'numberMatched', m.n,
                                        'numberReturned', f.returned, 'features', f.features)
                 ELSE json_build_object('type', 'FeatureCollection',
                                        'numberReturned', f.returned, 'features', f.features)
            END)::text
    FROM matched m, found f"""
# Newest first: ids grow as conflicts are found. Found on the spot, those not stored come first.
ORDER = "k.id DESC"
LIVE_ORDER = "k.id DESC, k.a_id, coalesce(k.b_id, -k.zone_id), k.kind"


@dataclass(frozen=True)
class ConflictFilter:
    bbox: BBox | None = None
    start: date | None = None  # conflicts whose works are active on or after this day
    end: date | None = None  # ... and on or before this one
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    agency: str | None = None  # either side's
    district: str | None = None  # either side's
    project: str | None = None  # a conflict of this project (its code)
    conflict: int | None = None  # this one conflict (its id)

    def where(self) -> Query:
        """The clause over a conflict ``k`` with its work ``a`` and its other side ``b``
        (a work) or ``m`` (a zone drawn)."""
        clauses = [Query("TRUE")]
        if self.bbox:
            boxes, params = envelope_sql(self.bbox, "cbox")
            clauses.append(Query("(" + " OR ".join(f"k.at && {b}" for b in boxes) + ")", params))
        a_start, a_end = (part.format(p="a") for part in PERIOD)
        o_start = f"coalesce({PERIOD[0].format(p='b')}, m.starts)"
        o_end = f"coalesce({PERIOD[1].format(p='b')}, m.ends)"
        if self.start:
            clauses.append(
                Query(f"greatest({a_end}, {o_end}) >= %(c_from)s", {"c_from": self.start})
            )
        if self.end:
            clauses.append(Query(f"least({a_start}, {o_start}) <= %(c_to)s", {"c_to": self.end}))
        if self.kinds:
            clauses.append(Query("k.kind = ANY(%(c_kinds)s)", {"c_kinds": list(self.kinds)}))
        if self.statuses:
            clauses.append(
                Query("k.status = ANY(%(c_statuses)s)", {"c_statuses": list(self.statuses)})
            )
        if self.agency:
            clauses.append(
                Query(
                    "(a.agency_code = %(c_agency)s OR b.agency_code = %(c_agency)s)",
                    {"c_agency": self.agency},
                )
            )
        if self.district:
            clauses.append(
                Query(
                    "(a.district_code = %(c_district)s OR b.district_code = %(c_district)s "
                    "OR m.district_code = %(c_district)s)",
                    {"c_district": self.district},
                )
            )
        if self.conflict is not None:
            clauses.append(Query("k.id = %(c_id)s", {"c_id": self.conflict}))
        if self.project:
            clauses.append(
                Query(
                    "(k.a_id = (SELECT id FROM projects WHERE code = %(c_project)s) "
                    "OR k.b_id = (SELECT id FROM projects WHERE code = %(c_project)s))",
                    {"c_project": self.project},
                )
            )
        return Query(" AND ").join(clauses)


def published(code: str) -> Query:
    """A row when ``code`` names a published project (whose conflicts may be listed)."""
    return Query("SELECT 1 FROM projects WHERE code = %(code)s AND published", {"code": code})


def _live(rules: Query, where: ConflictFilter) -> Query:
    """The conflicts ``rules`` find for the works in the filter's box (or all of the city's),
    each with the stored workflow of the same works."""
    if where.bbox:
        boxes, params = envelope_sql(where.bbox, "lbox")
        scope = Query("(" + " OR ".join(f"a.geom && {b}" for b in boxes) + ")", params)
    else:
        scope = Query("TRUE")
    found = find.within(rules, scope)
    return Query.compose(LIVE_ROWS, found=found, same=SAME)


def conflicts(
    where: ConflictFilter,
    rules: Query,
    *,
    live: bool,
    internal: bool,
    limit: int,
    offset: int = 0,
) -> Query:
    """A page of conflicts as a GeoJSON FeatureCollection (text) with ``numberMatched``: read
    from the table, or found ``live`` by ``rules``; ``internal`` adds the planners' notes."""
    rows = _live(rules, where) if live else Query(STORED_ROWS)
    b_end = PERIOD[1].format(p="b")
    return Query.compose(
        LIST,
        {"limit": limit, "offset": offset, "count_up_to": COUNT_UP_TO},
        rules=rules,
        rows=rows,
        where=where.where(),
        order=LIVE_ORDER if live else ORDER,
        decimals=str(COORDINATE_DECIMALS),
        a=WORK.format(p="a", start=PERIOD[0].format(p="a"), end=PERIOD[1].format(p="a")),
        b=WORK.format(p="b", start=PERIOD[0].format(p="b"), end=b_end),
        zone=ZONE.format(b_end=b_end),
        internal=", 'note', k.note" if internal else "",
        meet=MEET,
    )
