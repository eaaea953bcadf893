"""Keeping the ``conflicts`` table current: a full scan, and the re-check of what a write
touched, both merging what the rules find into what is stored.

A merge never loses a planner's work: a conflict found again keeps its status and note (its
kind, distance and days follow the works); one no longer found is deleted while still open,
and otherwise kept with ``holds`` false.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from geo.conflicts import find
from geo.conflicts import scan as city_scan
from geo.conflicts.rules import STORED, Rules
from geo.sql import Query

COLUMNS = "kind, a_id, b_id, zone_id, distance_m, overlap_days, at"
# A conflict's identity: its two sides, and whether it is a moratorium's (a pair of works may
# be both a clash and a violation of the zone one of them made)
SAME = (
    "(f.a_id, coalesce(f.b_id, -f.zone_id), f.kind = 'moratorium') = "
    "(c.a_id, coalesce(c.b_id, -c.zone_id), c.kind = 'moratorium')"
)
# PostGIS declares its functions costly, so the planner would compile every merge to machine
# code first (JIT, a second and more for a one-work re-check): not worth it for these.
NO_JIT = "SET LOCAL jit = off;"
MERGE = f"""
    WITH found AS MATERIALIZED ({{found}}),
    gone AS (
        DELETE FROM conflicts c WHERE {{scope}} AND c.status = 'open'
          AND NOT EXISTS (SELECT FROM found f WHERE {SAME})
        RETURNING 1),
    stale AS (
        UPDATE conflicts c SET holds = false, updated_at = now()
        WHERE {{scope}} AND c.status <> 'open' AND c.holds
          AND NOT EXISTS (SELECT FROM found f WHERE {SAME})
        RETURNING 1),
    kept AS (
        INSERT INTO conflicts AS c ({COLUMNS}) SELECT {COLUMNS} FROM found
        ON CONFLICT (a_id, b_id, zone_id, (kind = 'moratorium')) DO UPDATE
        SET kind = excluded.kind, distance_m = excluded.distance_m,
            overlap_days = excluded.overlap_days, at = excluded.at, holds = true,
            updated_at = now()
        WHERE (c.kind, c.distance_m, c.overlap_days, c.holds)
              IS DISTINCT FROM (excluded.kind, excluded.distance_m, excluded.overlap_days, true)
        RETURNING 1)
    SELECT (SELECT count(*) FROM found) AS found, (SELECT count(*) FROM kept) AS kept,
           (SELECT count(*) FROM gone) AS gone, (SELECT count(*) FROM stale) AS stale"""  # noqa: S608


@dataclass(frozen=True)
class Merged:
    found: int  # conflicts the rules find
    kept: int  # of them, new or changed
    gone: int  # open ones deleted: no longer found
    stale: int  # worked-on ones no longer found, kept with holds false


def recheck(projects: list[int], zones: list[int] | None = None) -> Query:
    """The re-check of the works ``projects`` and of the zones ``zones``, by the stored rules,
    as one statement for the write's transaction (its answer is not needed)."""
    return recheck_of(find.ids(projects, "touched"), find.ids(zones or [], "zones"))


def recheck_of(projects: Query, zones: Query) -> Query:
    """``recheck`` of the ids in SQL arrays (``find.ids``, or a subquery's)."""
    scope = Query.compose(
        "(c.a_id = ANY({p}) OR c.b_id = ANY({p}) OR c.zone_id = ANY({z}))", p=projects, z=zones
    )
    return Query(NO_JIT) + Query.compose(
        MERGE, found=find.touching(STORED, projects, zones), scope=scope
    )


# Writes wait for the scan, taking their locks in the order every write does: the data version
# first (a write's first change bumps it), then the conflicts. The other way round, a write
# holding the data version would wait for the table while the scan waited for the version.
SCAN_LOCK = Query(
    "SELECT FROM data_version FOR UPDATE; LOCK TABLE conflicts IN SHARE ROW EXCLUSIVE MODE"
)
SET_RULES = """
    UPDATE conflict_rules SET buffer_m = %(buffer_m)s, gap_days = %(gap_days)s,
        moratorium_months = %(moratorium_months)s, excavating = %(excavating)s,
        protected = %(protected)s, scanned_at = now()"""


def scan(conn: Connection, rules: Rules) -> Merged:
    """Find every conflict of the city by ``rules``, merge them into the table and keep the
    rules as the ones it follows, in ``conn``'s transaction. Writes wait for it (their
    re-checks would otherwise follow the old rules) from their first change on."""
    conn.exec_driver_sql(NO_JIT + SCAN_LOCK.sql)
    conn.exec_driver_sql(
        SET_RULES,
        {
            "buffer_m": rules.buffer_m,
            "gap_days": rules.gap_days,
            "moratorium_months": rules.moratorium_months,
            "excavating": list(rules.excavating),
            "protected": list(rules.protected),
        },
    )
    return Merged(*city_scan.run(conn, SAME))
