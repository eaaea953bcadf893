"""Rows whose key is this portal's own OC4IDS project id, ``<prefix>-<code>``: a package this
portal (or the one it replaces) exported. A project such a row makes keeps that code, so that it
is exported under the same id again and no project made later can take it; the numbers the
import gives other new projects come after it.

A row naming a code that another project holds is refused: importing a portal's own export
would otherwise copy each of its projects, and two projects would share one id."""

from __future__ import annotations

from sqlalchemy import Connection

from geo.imports.report import Report
from geo.sql import Query

CODE = r"^[A-Za-z0-9_.-]{1,40}$"  # a code as the API takes one (api.projects.ProjectCode)
KEPT = """
    UPDATE import_rows SET code = substr(key, length(%(own)s) + 1)
    WHERE starts_with(key, %(own)s) AND substr(key, length(%(own)s) + 1) ~ %(code)s
"""
# A kept code another project holds, or an earlier row keeps
TAKEN = """
    SELECT s.row, p.code, NULL AS first FROM import_rows s JOIN projects p ON p.code = s.code
    WHERE (p.agency_code, p.source_key) IS DISTINCT FROM (s.agency, s.key)
    UNION ALL
    SELECT row, code, first FROM (
        SELECT row, code, min(row) OVER (PARTITION BY code) AS first FROM import_rows
        WHERE code IS NOT NULL) t
    WHERE row <> first
    ORDER BY 1
"""
OWN_PROJECT = (
    "it is this portal's own project {code}, exported: its changes are made in the portal, "
    "not imported"
)


def keep(conn: Connection, report: Report, prefix: str) -> None:
    """The code each row of an id of ``prefix`` keeps (``import_rows.code``); refused where it
    is taken."""
    conn.exec_driver_sql(KEPT, {"own": f"{prefix}-", "code": CODE})
    for number, code, first in conn.exec_driver_sql(TAKEN):
        reason = OWN_PROJECT.format(code=code) if first is None else f"the same id as row {first}"
        report.rejected.append((number, "id", reason))


def last_kept(prefix: str, year: int) -> Query:
    """The last number of ``year``'s codes the new rows keep (0 for none)."""
    return Query(
        r"""
        SELECT coalesce(max(substring(s.code from '\d{6}$')::int), 0) FROM import_rows s
        JOIN import_matches m USING (row) WHERE m.id IS NULL AND s.code ~ %(pattern)s
        """,
        {"pattern": rf"^{prefix}-{year}-\d{{6}}$"},
    )
