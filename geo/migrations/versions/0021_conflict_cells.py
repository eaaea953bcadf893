"""The conflicts layer kept ready to draw at every zoom, as the projects' is (migration 0017).

- ``map_conflict_cells``: for each tile zoom of ``CELL_ZOOMS``, the grid of 64 x 64 cells of
  each tile, with the number of conflicts of each kind the public layer shows (holding, or
  coordinated, and not dismissed) whose meeting point lies in the cell, and the sums of their
  points (Web Mercator centimetres). A tile or view too dense to draw conflict by conflict (a
  city of a million works has tens of millions) shows these clusters without reading one.
- ``conflicts_map_changed`` keeps them, in the statement that changed the conflicts (a full
  scan's tens of millions too): the changed points are counted once, in the cells of the
  finest zoom; each coarser zoom adds up the finer one's, whose cells nest four in one.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from alembic import op

from geo.map_tables import CELL_GRID, CELL_ZOOMS, column_sql, row_sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
SHIFT = CELL_GRID.bit_length() - 1  # a cell's column >> SHIFT is its tile's
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
# The cells of every zoom that ``sides`` change: each point's finest cell (i, j: its column
# and row in the world), then k zooms coarser i >> k. An edit that moves nothing adds nothing.
CELLS = f"""
    INSERT INTO map_conflict_cells AS m
    SELECT {HIGH} - k, (f.i >> k) >> {SHIFT}, (f.j >> k) >> {SHIFT},
           ((f.i >> k) & {CELL_GRID - 1}) + {CELL_GRID} * ((f.j >> k) & {CELL_GRID - 1}),
           f.kind, sum(f.n), sum(f.sx), sum(f.sy)
    FROM (
        SELECT c.i, c.j, s.kind, sum(s.n) AS n, sum(s.n * s.x) AS sx, sum(s.n * s.y) AS sy
        FROM (SELECT d.n, d.kind, round(ST_X(p) * 100)::bigint AS x,
                     round(ST_Y(p) * 100)::bigint AS y
              FROM ({{sides}}) d CROSS JOIN LATERAL ST_Transform(d.at, 3857) p) s
        CROSS JOIN LATERAL (SELECT {column_sql("s.x", ACROSS)} AS i,
                                   {row_sql("s.y", ACROSS)} AS j) c
        GROUP BY 1, 2, 3
        HAVING sum(s.n) <> 0 OR sum(s.n * s.x) <> 0 OR sum(s.n * s.y) <> 0) f
    CROSS JOIN generate_series(0, {HIGH - LOW}) k
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (zoom, x, y, cell, kind) DO UPDATE SET
        conflicts = m.conflicts + excluded.conflicts,
        sum_x = m.sum_x + excluded.sum_x, sum_y = m.sum_y + excluded.sum_y"""  # noqa: S608
AREAS = """
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
                {AREAS.format(rows="old_rows")};
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                {AREAS.format(rows="new_rows")};
            END IF;
            RETURN NULL;
        END $$;
        DROP VIEW disclosed.map_conflict_cells;
        DROP TABLE map_conflict_cells;
        """  # noqa: S608 - this module's constants; DDL takes no parameters
    )
