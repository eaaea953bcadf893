"""Changes of many projects at once (an import) at the cost of few.

- ``refresh_project_statistics()``: the planner's statistics of ``projects`` brought up to
  date inside a transaction that changed much of it. Without them the planner takes a table an
  import has just grown tenfold for the size it was, and joins the imported works to others
  row by row. ``ANALYZE`` is the owner's; the function lets the write role run it, nothing else.
- ``area_tiles``: the same tiles, found without a search per use. The zoom whose tiles a box
  spans fewer than 8 of each way is the finest (0 coarser steps) for nearly every work, found
  at once; the search over coarser zooms runs once, for a large box only; the tiles come from
  one series. It was a twentieth of a millisecond a geometry, seconds for an import.
- ``map_refresh`` is no longer anyone's to call: only the triggers run it (as its owner).
- ``conflicts_map_changed`` runs without JIT, as ``map_refresh`` does: compiling its statement
  cost more than running it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op

from geo.map_tables import AREA_ZOOM, HALF_WORLD_M

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

WRITE_ROLE = "allimi_write"
SPAN = 8  # tiles a box may span each way at the zoom chosen


def _index(of: str) -> str:
    """The zoom-AREA_ZOOM tile column (row) of the Web Mercator coordinate ``of``, clamped."""
    return f"least(greatest(floor({of} / (2 * v.h) * v.n), 0), v.n - 1)::int"


AREA_TILES = f"""
    CREATE OR REPLACE FUNCTION area_tiles(g geometry)
        RETURNS TABLE (zoom smallint, x integer, y integer)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 4 AS $$
        WITH b AS (
            SELECT {_index("(v.w + v.h)")} AS x0, {_index("(v.e + v.h)")} AS x1,
                   {_index("(v.h - v.t)")} AS y0, {_index("(v.h - v.b)")} AS y1
            FROM (SELECT ST_XMin(g) AS w, ST_XMax(g) AS e, ST_YMin(g) AS b, ST_YMax(g) AS t,
                         {HALF_WORLD_M!r}::float8 AS h, 2::float8 ^ {AREA_ZOOM} AS n) v
        ), k AS (
            SELECT b.*, CASE WHEN b.x1 - b.x0 < {SPAN} AND b.y1 - b.y0 < {SPAN} THEN 0 ELSE
                (SELECT min(k) FROM generate_series(1, {AREA_ZOOM}) k
                 WHERE (b.x1 >> k) - (b.x0 >> k) < {SPAN} AND (b.y1 >> k) - (b.y0 >> k) < {SPAN})
                END AS k
            FROM b
        ), t AS (
            SELECT k.k, k.x0 >> k.k AS x0, k.y0 >> k.k AS y0,
                   (k.x1 >> k.k) - (k.x0 >> k.k) + 1 AS nx, (k.y1 >> k.k) - (k.y0 >> k.k) + 1 AS ny
            FROM k
        )
        SELECT ({AREA_ZOOM} - t.k)::smallint, t.x0 + i % t.nx, t.y0 + i / t.nx
        FROM t, generate_series(0, t.nx * t.ny - 1) i
    $$"""  # noqa: S608 - this module's constants; DDL takes no parameters


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION refresh_project_statistics() RETURNS void
            LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
            AS 'ANALYZE projects';
        REVOKE EXECUTE ON FUNCTION refresh_project_statistics() FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION refresh_project_statistics() TO {WRITE_ROLE};
        {AREA_TILES};
        REVOKE EXECUTE ON FUNCTION map_refresh(bigint[]) FROM PUBLIC;
        ALTER FUNCTION conflicts_map_changed() SET jit = off;
        """
    )


def downgrade() -> None:
    # area_tiles keeps this statement: it answers exactly as the one it replaced
    op.execute(
        """
        DROP FUNCTION refresh_project_statistics();
        GRANT EXECUTE ON FUNCTION map_refresh(bigint[]) TO PUBLIC;
        ALTER FUNCTION conflicts_map_changed() RESET jit;
        """
    )
