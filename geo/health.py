"""What the portal's database runs and holds, as the health check and the command ask it."""

from __future__ import annotations

from sqlalchemy import Connection

from geo.sql import COUNT_UP_TO, Query

PROJECT_COUNT = Query("SELECT count(*) FROM projects")  # published or not
# The PostGIS library version and the projects the reader sees: counted while there are at most
# COUNT_UP_TO, else the statistics' count of live map rows (one per published project), so that
# a probe every few seconds costs a big city nothing and never outlasts its deadline
HEALTH = Query(
    """
    SELECT postgis_lib_version(),
           CASE WHEN c.n <= %(exact_up_to)s THEN c.n
                ELSE greatest((SELECT n_live_tup FROM pg_stat_user_tables
                               WHERE relid = 'public.map_features'::regclass),
                              %(exact_up_to)s + 1) END,
           c.n > %(exact_up_to)s
    FROM (SELECT count(*) AS n FROM (SELECT FROM projects LIMIT %(exact_up_to)s + 1) p) c""",
    {"exact_up_to": COUNT_UP_TO},
)


def project_count(conn: Connection) -> int:
    """How many projects the database holds (0: a new portal)."""
    return int(conn.exec_driver_sql(PROJECT_COUNT.sql, PROJECT_COUNT.params).scalar_one())
