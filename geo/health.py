"""What the portal's database runs and holds, as the health check and the command ask it."""

from __future__ import annotations

from sqlalchemy import Connection

from geo.sql import Query

PROJECT_COUNT = Query("SELECT count(*) FROM projects")  # published or not
# The PostGIS library version, and the project count
HEALTH = Query.compose("SELECT postgis_lib_version(), ({count})", count=PROJECT_COUNT)


def project_count(conn: Connection) -> int:
    """How many projects the database holds (0: a new portal)."""
    return int(conn.exec_driver_sql(PROJECT_COUNT.sql, PROJECT_COUNT.params).scalar_one())
