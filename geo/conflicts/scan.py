"""The full scan done fast: every conflict of the city found in a narrow copy of the works, in
metres, and merged into ``conflicts`` as ``store.MERGE`` would.

``find.every`` pairs the works in the wide ``projects`` table and measures every candidate on
the spheroid; on a dense city (a million works, tens of millions of pairs) its time goes to
reading wide rows and to geodesic arithmetic. The scan finds the same rows, cheaper:

1. **The works, narrow and in metres** (``conflict_scan_works``): id, category, status, period,
   the geometry as stored and the same geometry in the UTM zone of the works' centre, densified
   first along the spheroid's edges (``ST_Segmentize`` on geography, ``STEP_M``) so that its
   straight edges in the plane follow them. Rows are written in place order (geohash), so that
   neighbours share pages, then indexed (GiST) and analysed; the zones planners drew are copied
   the same way (``conflict_scan_zones``). Unlogged tables, not temporary ones: parallel workers
   can read them.
2. **Pairs in the plane, exact on the spheroid**: within a UTM zone the plane's distances are
   true distances within ``SCALE_ERROR`` (the projection's scale) plus ``EDGE_ERROR_M`` (chords
   against arcs). A pair whose planar distance is below the buffer by more than that is within
   it; one above it by more is not; only pairs in the band between are measured on the spheroid,
   by the very test ``find`` uses (``ST_DWithin`` on geography). So the pairs are ``find``'s.
   Each pair's distance is measured on the spheroid as ``find`` measures it, except that works
   that meet in the plane are 0 m apart without asking (the spheroid agrees: there is no gap).
3. **In parallel**: the pairs go into ``conflict_scan_found`` by one CREATE TABLE AS, which
   PostgreSQL runs in parallel workers (an INSERT ... SELECT runs in one process). Bitmap scans
   are off: ANDing the GiST index's bitmap with the primary key's for ``a.id < b.id`` costs far
   more than it saves.
4. **The merge** (``store.MERGE``'s rules): into an empty table, one ordered INSERT; otherwise
   one full join of what was found with what is stored classifies every difference (new,
   changed, gone while open, stale once worked on) into ``conflict_scan_diff``, and four
   statements apply them, touching only the rows that differ. A merge that changed rows ends
   with ANALYZE, so that the writes' re-checks are planned for the table as it now is.

Works spread wider than a zone (``ZONE_REACH``), or near a pole, are found by ``find.every``
instead, and merged the same way. The scan's tables live only inside its transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from geo.conflicts import find
from geo.conflicts.rules import STORED, Rules
from geo.sql import Query

log = logging.getLogger(__name__)

WORKS = "conflict_scan_works"
ZONES = "conflict_scan_zones"
FOUND = "conflict_scan_found"
DIFF = "conflict_scan_diff"
# The densifying step: a chord of 200 m departs from its arc by well under a millimetre
STEP_M = 200
# Within 6 degrees of a UTM zone's meridian its scale is 0.9996 to 1.0052: 1 % is ample. The
# absolute margin covers what the chords and the rounding of coordinates leave.
ZONE_REACH = 6
POLE_REACH = 80
SCALE_ERROR = 0.01
EDGE_ERROR_M = 0.01

# The tuning that holds for the rest of the caller's transaction, and what undoes it
SETTINGS = (
    "SET LOCAL jit = off; SET LOCAL enable_bitmapscan = off; SET LOCAL work_mem = '256MB'; "
    "SET LOCAL maintenance_work_mem = '512MB';"
)
RESET = (
    "SET LOCAL enable_bitmapscan TO DEFAULT; SET LOCAL work_mem TO DEFAULT; "
    "SET LOCAL maintenance_work_mem TO DEFAULT;"
)

# The UTM zone of the centre of the works and drawn zones, and whether all of them fit in it
PLACE = f"""
    WITH x AS (
        SELECT ST_Extent(geom) AS box
        FROM (SELECT w.geom FROM ({{works}}) w UNION ALL SELECT geom FROM moratoria) g),
    z AS (
        SELECT box, least(60, greatest(1,
                   floor(((ST_XMin(box) + ST_XMax(box)) / 2 + 180) / 6)::int + 1)) AS zone,
               (ST_YMin(box) + ST_YMax(box)) / 2 AS lat
        FROM x)
    SELECT CASE WHEN lat >= 0 THEN 32600 ELSE 32700 END + zone AS srid,
           coalesce(greatest(abs(ST_XMin(box) - (zone * 6 - 183)),
                             abs(ST_XMax(box) - (zone * 6 - 183))) <= {ZONE_REACH}
                    AND greatest(abs(ST_YMin(box)), abs(ST_YMax(box))) <= {POLE_REACH},
                    false) AS fits
    FROM z"""  # noqa: S608 - this module's own fragments
PLANAR = f"ST_Transform(ST_Segmentize({{geom}}::geography, {STEP_M})::geometry, %(srid)s)"
COPY = f"""
    CREATE UNLOGGED TABLE {WORKS} AS
    SELECT w.id, w.category::text AS category, w.status::text AS status, w.s, w.e, w.geom,
           {PLANAR.format(geom="w.geom")} AS g
    FROM ({{works}}) w
    ORDER BY ST_GeoHash(ST_Centroid(w.geom), 10)"""  # noqa: S608 - this module's own fragments
# The zones planners drew, in metres too (few: no index)
COPY_ZONES = f"""
    CREATE UNLOGGED TABLE {ZONES} AS
    SELECT m.id, m.starts, m.ends, m.geom, {PLANAR.format(geom="m.geom")} AS g FROM moratoria m;
    ANALYZE {ZONES}"""  # noqa: S608 - this module's own fragments
INDEX = f"CREATE INDEX ON {WORKS} USING gist (g); ANALYZE {WORKS}"

# The rules with the band of planar distances that only the spheroid can decide
RULES = f"""
    SELECT r.*, r.buffer_m * (1 + {SCALE_ERROR}) + {EDGE_ERROR_M} AS far,
           r.buffer_m * (1 - {SCALE_ERROR}) - {EDGE_ERROR_M} AS near
    FROM ({{rules}}) r"""  # noqa: S608 - this module's own fragments
WITHIN = (
    "ST_DWithin(a.g, {z}.g, r.far) "
    "AND ((r.near > 0 AND ST_DWithin(a.g, {z}.g, greatest(r.near, 0))) "
    "OR ST_DWithin(a.geom::geography, {z}.geom::geography, r.buffer_m))"
)
DISTANCE = (
    "(CASE WHEN ST_Intersects(a.g, {z}.g) THEN 0 "
    "ELSE ST_Distance(a.geom::geography, {z}.geom::geography) END)::real"
)
OVERLAP = find.OVERLAP.format(other="b")
PAIRS = f"""
    SELECT CASE WHEN {OVERLAP} >= 1 THEN 'clash' ELSE 'dig_once' END AS kind,
           a.id AS a_id, b.id AS b_id, NULL::bigint AS zone_id,
           {DISTANCE.format(z="b")} AS distance_m, {OVERLAP} AS overlap_days,
           {find.AT.format(other="b")} AS at
    FROM r, {WORKS} a, {WORKS} b
    WHERE a.id < b.id AND b.s <= a.e + r.gap_days AND b.e >= a.s - r.gap_days
      AND {WITHIN.format(z="b")}"""  # noqa: S608 - this module's own fragments
VIOLATIONS = f"""
    SELECT 'moratorium' AS kind, a.id AS a_id, {{b_id}} AS b_id, {{zone_id}} AS zone_id,
           {DISTANCE.format(z="z")} AS distance_m,
           least(a.e, {{ze}}) - greatest(a.s, {{zs}}) + 1 AS overlap_days,
           {find.AT.format(other="z")} AS at
    FROM r, {WORKS} a, {{zones}} z
    WHERE a.category = ANY(r.excavating) AND {{protects}}
      AND {{zs}} <= a.e AND {{ze}} >= a.s AND {WITHIN.format(z="z")}"""  # noqa: S608 - fragments
FIND = f"""
    CREATE UNLOGGED TABLE {FOUND} AS
    WITH r AS NOT MATERIALIZED ({{rules}})
    {{pairs}} UNION ALL {{by_work}} UNION ALL {{by_zone}}"""
# Elsewhere than in one UTM zone: the general statement
FIND_ANYWHERE = f"CREATE UNLOGGED TABLE {FOUND} AS {{every}}"

COLUMNS = "kind, a_id, b_id, zone_id, distance_m, overlap_days, at"
ORDER = "ORDER BY a_id, b_id, zone_id"
INSERT_ALL = f"INSERT INTO conflicts ({COLUMNS}) SELECT {COLUMNS} FROM {FOUND} {ORDER}"  # noqa: S608
# Every difference between what was found (f) and what is stored (c), ``same`` their identity
DIFFER = f"""
    CREATE UNLOGGED TABLE {DIFF} AS
    SELECT c.id, f.kind, f.a_id, f.b_id, f.zone_id, f.distance_m, f.overlap_days, f.at,
           CASE WHEN c.id IS NULL THEN 'new' WHEN f.a_id IS NULL AND c.status = 'open' THEN 'gone'
                WHEN f.a_id IS NULL THEN 'stale' ELSE 'changed' END AS change
    FROM {FOUND} f FULL JOIN conflicts c ON {{same}}
    WHERE c.id IS NULL
       OR (f.a_id IS NULL AND (c.status = 'open' OR c.holds))
       OR (f.a_id IS NOT NULL
           AND (c.kind, c.distance_m, c.overlap_days, c.holds)
               IS DISTINCT FROM (f.kind, f.distance_m, f.overlap_days, true))"""  # noqa: S608
APPLY = f"""
    DELETE FROM conflicts c USING {DIFF} d WHERE c.id = d.id AND d.change = 'gone';
    UPDATE conflicts c SET holds = false, updated_at = now()
    FROM {DIFF} d WHERE c.id = d.id AND d.change = 'stale';
    UPDATE conflicts c SET kind = d.kind, distance_m = d.distance_m,
        overlap_days = d.overlap_days, at = d.at, holds = true, updated_at = now()
    FROM {DIFF} d WHERE c.id = d.id AND d.change = 'changed';
    INSERT INTO conflicts ({COLUMNS}) SELECT {COLUMNS} FROM {DIFF} WHERE change = 'new' {ORDER}
"""  # noqa: S608 - this module's own names
COUNT_CHANGES = f"""
    SELECT count(*) FILTER (WHERE change IN ('new', 'changed')),
           count(*) FILTER (WHERE change = 'gone'), count(*) FILTER (WHERE change = 'stale')
    FROM {DIFF}"""  # noqa: S608 - this module's own names
# The planner's counts for the writes' re-checks that follow (autovacuum would come later)
ANALYZE = "ANALYZE conflicts"
DROP = f"DROP TABLE IF EXISTS {WORKS}, {ZONES}, {FOUND}, {DIFF}"


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Log how long the block took, as ``conflict scan NAME: S s`` (arguments: name, seconds)."""
    began = time.perf_counter()
    yield
    log.info("conflict scan %s: %.1f s", name, time.perf_counter() - began)


def _run(conn: Connection, query: Query | str) -> Any:
    statement = query if isinstance(query, Query) else Query(query)
    return conn.exec_driver_sql(statement.sql, statement.params or None)


def stored_rules(conn: Connection) -> Rules:
    """The rules as stored: ``buffer_m`` rounded as the table keeps it, as re-checks read it."""
    return Rules.stored(_run(conn, STORED).mappings().one())


def place(conn: Connection, works: str) -> tuple[int, bool]:
    """The SRID of the UTM zone of the centre of ``works``, and whether every work fits it."""
    srid, fits = _run(conn, Query.compose(PLACE, works=works)).one()
    return int(srid or 0), bool(fits)


def copy_works(conn: Connection, works: str, srid: int) -> None:
    """``works``, narrow, in place order, in metres too, indexed and analysed."""
    _run(conn, Query.compose(COPY, {"srid": srid}, works=works))
    _run(conn, INDEX)
    _run(conn, Query(COPY_ZONES, {"srid": srid}))


def found_in_zone(rules: Rules, srid: int) -> Query:
    """The statement writing every conflict into ``FOUND``, pairing in the plane (zone ``srid``)."""
    return Query.compose(
        FIND,
        {"srid": srid},
        rules=Query.compose(RULES, rules=rules.values()),
        pairs=PAIRS,
        by_work=Query.compose(VIOLATIONS, **{**find.BY_WORK, "zones": WORKS}),
        by_zone=Query.compose(VIOLATIONS, **{**find.BY_ZONE, "zones": ZONES}),
    )


def find_all(conn: Connection, works: str = find.WORKS) -> int:
    """Every conflict by the stored rules into ``FOUND``; how many. ``works`` is ``find.WORKS``
    but where a benchmark takes a part of the city (the general statement ignores it)."""
    rules = stored_rules(conn)
    srid, fits = place(conn, works)
    if not fits:
        with phase("found (find.every)"):
            return int(_run(conn, Query.compose(FIND_ANYWHERE, every=find.every(STORED))).rowcount)
    with phase("works copied"):
        copy_works(conn, works, srid)
    with phase("found"):
        return int(_run(conn, found_in_zone(rules, srid)).rowcount)


def merge(conn: Connection, found: int, same: str) -> tuple[int, int, int]:
    """``FOUND`` merged into ``conflicts`` (``same``: a found row ``f`` and a stored ``c`` are one
    conflict): how many were new or changed, deleted, and kept no longer holding."""
    if _run(conn, "SELECT NOT EXISTS (SELECT FROM conflicts)").scalar():
        _run(conn, INSERT_ALL)
        kept, gone, stale = found, 0, 0
    else:
        _run(conn, Query.compose(DIFFER, same=same))
        _run(conn, APPLY)
        kept, gone, stale = (int(n) for n in _run(conn, COUNT_CHANGES).one())
    if kept + gone + stale:
        _run(conn, ANALYZE)
    return kept, gone, stale


def run(conn: Connection, same: str, works: str = find.WORKS) -> tuple[int, int, int, int]:
    """Find every conflict by the stored rules and merge them into the table, in ``conn``'s
    transaction: (found, kept, gone, stale) as ``store.Merged`` counts them."""
    _run(conn, SETTINGS)
    found = find_all(conn, works)
    with phase("merged"):
        kept, gone, stale = merge(conn, found, same)
    _run(conn, DROP)
    _run(conn, RESET)
    return found, kept, gone, stale
