"""The data version: a counter every write to the disclosed tables bumps (a statement trigger,
migration 0002), so whatever was made from the data stays valid while it holds.

Area versions refine it (migration 0017): a row (zoom, x, y, version) says that the public map
inside XYZ tile zoom/x/y last changed at data version ``version``, so a tile or a view far from
a write stays valid across it.
"""

from __future__ import annotations

from geo.sql import Query

DATA_VERSION = Query("SELECT version FROM data_version")

AREA_VERSIONS = """
    SELECT d.version, a.zoom, a.x, a.y, a.version
    FROM data_version d LEFT JOIN area_versions a ON a.version > %(seen)s"""


def area_versions(seen: int) -> Query:
    """The data version and every area row newer than ``seen`` (all of them for ``-1``), as
    rows (data version, zoom, x, y, version), the area columns NULL when none is newer. One
    statement, one snapshot: the writer of data version V holds the data_version row until it
    commits, so every area row at or below the version read comes with it."""
    return Query(AREA_VERSIONS, {"seen": seen})
