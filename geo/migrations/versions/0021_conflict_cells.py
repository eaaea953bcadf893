"""The conflicts layer kept ready to draw at every zoom, as the projects' is (migration 0017).

- ``map_conflict_cells``: for each tile zoom of ``CELL_ZOOMS``, the grid of 64 x 64 cells of
  each tile, with the number of conflicts of each kind the public layer shows (holding, or
  coordinated, and not dismissed) whose meeting point lies in the cell, and the sums of their
  points (Web Mercator centimetres). A tile or view too dense to draw conflict by conflict (a
  city of a million works has tens of millions) shows these clusters without reading one.
- ``conflicts_map_changed`` keeps them (``conflicts_map_truncated`` empties them), in the
  statement that changed the conflicts (a full scan's tens of millions too): the changed
  points are counted once, in the cells of the finest zoom; each coarser zoom adds up the
  finer one's, whose cells nest four in one. The zoom-16 tile each point's area version moves
  is found by arithmetic, not ``area_tiles`` (a point is in one tile): writing 2,000,000
  conflicts costs 30 s with their cells, where their area versions alone cost 38 s before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from alembic import op

from geo.map_tables import AREA_ZOOM, CELL_GRID, CELL_ZOOMS, HALF_WORLD_M, column_sql, row_sql
from geo.map_tables import CELL_SHIFT as SHIFT

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
LOW, HIGH = CELL_ZOOMS
ACROSS = str(2 ** (HIGH + SHIFT))  # cells across the world at the finest zoom
# The conflicts the layer shows among a statement's old rows (counted -1) and new ones (+1)
SHOWN_ROWS = """
    SELECT {n} AS n, r.kind, r.at FROM {rows} r
    WHERE (r.holds OR r.status = 'coordinated') AND r.status <> 'dismissed'"""
SIDES = {
    "DELETE": SHOWN_ROWS.format(n=-1, rows="old_rows"),
    "INSERT": SHOWN_ROWS.format(n=1, rows="new_rows"),
}
SIDES["UPDATE"] = " UNION ALL ".join((SIDES["DELETE"], SIDES["INSERT"]))
# A change's sums at one zoom, kept only where they move something
MOVED = "HAVING sum(n) <> 0 OR sum(sx) <> 0 OR sum(sy) <> 0"
# Each zoom's cells from the finer zoom's: a cell's column (row) in the world is i >> 1 there
COARSER = """
    l{z} AS (SELECT i >> 1 AS i, j >> 1 AS j, kind, sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy
             FROM l{finer} GROUP BY 1, 2, 3 {moved})"""
LEVEL = f"""
    SELECT {{z}}, i >> {SHIFT}, j >> {SHIFT},
           (i & {CELL_GRID - 1}) + {CELL_GRID} * (j & {CELL_GRID - 1}), kind, n, sx, sy
    FROM l{{z}}"""  # noqa: S608 - this module's constants
FINEST = f"""
    WITH s AS (
        SELECT d.n, d.kind, round(ST_X(p) * 100)::bigint AS x, round(ST_Y(p) * 100)::bigint AS y
        FROM ({{sides}}) d CROSS JOIN LATERAL ST_Transform(d.at, 3857) p),
    l{HIGH} AS (
        SELECT c.i, c.j, s.kind, sum(s.n) AS n, sum(s.n * s.x) AS sx, sum(s.n * s.y) AS sy
        FROM s CROSS JOIN LATERAL (SELECT {column_sql("s.x", ACROSS)} AS i,
                                          {row_sql("s.y", ACROSS)} AS j) c
        GROUP BY 1, 2, 3 HAVING sum(s.n) <> 0 OR sum(s.n * s.x) <> 0 OR sum(s.n * s.y) <> 0)"""  # noqa: S608
UPSERT = """
    INSERT INTO map_conflict_cells AS m {levels}
    ON CONFLICT (zoom, x, y, cell, kind) DO UPDATE SET
        conflicts = m.conflicts + excluded.conflicts,
        sum_x = m.sum_x + excluded.sum_x, sum_y = m.sum_y + excluded.sum_y"""
# The cells of every zoom that ``sides`` change: each point's cell at the finest zoom (i, j: its
# column and row in the world), then each coarser zoom's from the finer one's. An edit that
# moves nothing adds nothing.
CELLS = ",".join(
    [FINEST] + [COARSER.format(z=z, finer=z + 1, moved=MOVED) for z in range(HIGH - 1, LOW - 1, -1)]
) + UPSERT.format(levels=" UNION ALL".join(LEVEL.format(z=z) for z in range(HIGH, LOW - 1, -1)))
# The zoom-AREA_ZOOM tile of each point, as ``area_tiles`` finds it for a point, by arithmetic
H, N = f"{HALF_WORLD_M!r}::float8", f"{2**AREA_ZOOM}::float8"
TILE_INDEX = f"least(greatest(floor({{of}} / (2 * {H}) * {N}), 0), {N} - 1)::int"
AREAS = f"""
    INSERT INTO area_versions AS a
    SELECT DISTINCT {AREA_ZOOM}::smallint, {TILE_INDEX.format(of=f"(ST_X(p) + {H})")},
           {TILE_INDEX.format(of=f"({H} - ST_Y(p))")}, current
    FROM {{rows}} o CROSS JOIN LATERAL ST_Transform(o.at, 3857) p
    ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version"""  # noqa: S608
# What migration 0017 wrote: the tiles of each point found by ``area_tiles``
AREA_TILES = """
    INSERT INTO area_versions AS a
    SELECT DISTINCT t.zoom, t.x, t.y, current
    FROM {rows} o CROSS JOIN LATERAL area_tiles(ST_Transform(o.at, 3857)) t
    ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version"""
CHANGED = """
    CREATE OR REPLACE FUNCTION conflicts_map_changed() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
    DECLARE
        current bigint := (SELECT version FROM data_version);
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {old_areas};
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            {new_areas};
        END IF;
        IF TG_OP = 'DELETE' THEN
            {deleted};
        ELSIF TG_OP = 'INSERT' THEN
            {inserted};
        ELSE
            {updated};
        END IF;
        DELETE FROM map_conflict_cells WHERE conflicts = 0;
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    changed = CHANGED.format(
        old_areas=AREAS.format(rows="old_rows"),
        new_areas=AREAS.format(rows="new_rows"),
        deleted=CELLS.format(sides=SIDES["DELETE"]),
        inserted=CELLS.format(sides=SIDES["INSERT"]),
        updated=CELLS.format(sides=SIDES["UPDATE"]),
    )
    op.execute(
        f"""
        CREATE TABLE map_conflict_cells (
            zoom smallint NOT NULL,
            x integer NOT NULL,
            y integer NOT NULL,
            cell smallint NOT NULL,
            kind varchar(10) NOT NULL,
            conflicts integer NOT NULL,
            sum_x bigint NOT NULL,
            sum_y bigint NOT NULL,
            PRIMARY KEY (zoom, x, y, cell, kind) INCLUDE (conflicts, sum_x, sum_y)
        );
        CREATE INDEX ix_map_conflict_cells_empty ON map_conflict_cells (zoom)
            WHERE conflicts = 0;
        {changed};
        -- Every conflict gone at once: no cells, and every tile's version moves
        CREATE FUNCTION conflicts_map_truncated() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            TRUNCATE map_conflict_cells;
            INSERT INTO area_versions SELECT 0, 0, 0, version FROM data_version
            ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            RETURN NULL;
        END $$;
        CREATE TRIGGER conflicts_map_truncated AFTER TRUNCATE ON conflicts
            FOR EACH STATEMENT EXECUTE FUNCTION conflicts_map_truncated();
        {CELLS.format(sides=SHOWN_ROWS.format(n=1, rows="conflicts"))};
        ANALYZE map_conflict_cells;
        CREATE VIEW disclosed.map_conflict_cells AS SELECT * FROM public.map_conflict_cells;
        GRANT SELECT ON disclosed.map_conflict_cells TO {READ_ROLE};
        """  # noqa: S608 - this module's constants; DDL takes no parameters
    )


def downgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION conflicts_map_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off
            AS $$
        DECLARE
            current bigint := (SELECT version FROM data_version);
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                {AREA_TILES.format(rows="old_rows")};
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                {AREA_TILES.format(rows="new_rows")};
            END IF;
            RETURN NULL;
        END $$;
        DROP TRIGGER conflicts_map_truncated ON conflicts;
        DROP FUNCTION conflicts_map_truncated();
        DROP VIEW disclosed.map_conflict_cells;
        DROP TABLE map_conflict_cells;
        """  # noqa: S608 - this module's constants; DDL takes no parameters
    )
