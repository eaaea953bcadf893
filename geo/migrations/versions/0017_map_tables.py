"""The published map, kept ready to draw, and the areas each change touched.

Derived from ``projects`` (and ``conflicts``) by statement triggers, in the transaction of each
write, import or load, so they are never a second source of truth:

- ``map_features``: each published project's map row: its geometry in Web Mercator (a tile
  transforms nothing), its representative point (``ST_PointOnSurface``, Web Mercator
  centimetres), the properties tiles carry, the first day it raises a flag
  (``geo.flags.flagged_on``) and the numbers district totals add up.
- ``map_cells``: for each tile zoom of ``CELL_ZOOMS``, the grid of 64 x 64 cells of each tile,
  with the number of projects of each category whose point lies in the cell and the sums of
  their points: a tile or view too dense to draw project by project shows these clusters
  without reading a project.
- ``district_sums``: projects, budget and paid per district, category, status and first
  flagged day: the district totals of the map without reading a project.
- ``area_versions``: the data version at which the map inside tile zoom/x/y last changed
  (``area_tiles``: the zoom-16 tiles of the box of an old or new geometry, or coarser ones for
  a large box). The API keys tiles and views of an area, and their ETags, to it; the
  (0, 0, 0) row, the baseline under every tile, moves when the map is rebuilt.

An area version is the ``data_version`` of its transaction, whose row the transaction locked
(migration 0002's trigger fires first, by name): versions come in commit order, so a reader
that saw data version V saw every area row of a version up to V.

The functions run as the owner (``SECURITY DEFINER``): the write role changes projects, and
these tables only through them. Readers see them as ``disclosed.*`` (all rows are published).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op

from geo.flags import flagged_on
from geo.map_tables import AREA_ZOOM, CELL_GRID, CELL_ZOOMS, HALF_WORLD_M, column_sql, row_sql
from geo.map_tables import CELL_SHIFT as SHIFT

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
# Shown with every project of a place, not kept in its map row (migrations 0002 and 0004
# bump the data version on each of them first)
SHOWN_EVERYWHERE = ("districts", "agencies", "categories", "terms", "jurisdiction")
MAP_ROW = f"""
    SELECT p.id, p.code, p.category, p.status, p.district_code, p.budget, p.spent,
           {flagged_on("p")} AS flagged_on,
           round(ST_X(r.point) * 100)::bigint AS x, round(ST_Y(r.point) * 100)::bigint AS y,
           m.geom
    FROM projects p
    CROSS JOIN LATERAL (SELECT ST_Transform(p.geom, 3857) AS geom) m
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(m.geom) AS point) r
    WHERE p.published AND p.geom IS NOT NULL"""  # noqa: S608 - geo.flags' rule; no value written in


def upgrade() -> None:
    low, high = CELL_ZOOMS
    everywhere = "\n".join(
        f"CREATE TRIGGER {table}_map_everywhere AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION map_everywhere_changed();"
        for table in SHOWN_EVERYWHERE
    )
    op.execute(
        f"""
        CREATE TABLE map_features (
            id bigint PRIMARY KEY,
            code varchar(40) NOT NULL,
            category varchar(20) NOT NULL,
            status varchar(20) NOT NULL,
            district_code varchar(40),
            budget numeric(18, 2) NOT NULL,
            spent numeric(18, 2) NOT NULL,
            flagged_on date NOT NULL,
            x bigint NOT NULL,
            y bigint NOT NULL,
            geom geometry(Geometry, 3857) NOT NULL
        ) WITH (fillfactor = 90);
        CREATE TABLE map_cells (
            zoom smallint NOT NULL,
            x integer NOT NULL,
            y integer NOT NULL,
            cell smallint NOT NULL,
            category varchar(20) NOT NULL,
            projects integer NOT NULL,
            sum_x bigint NOT NULL,
            sum_y bigint NOT NULL,
            PRIMARY KEY (zoom, x, y, cell, category) INCLUDE (projects, sum_x, sum_y)
        );
        CREATE TABLE district_sums (
            district_code varchar(40) NOT NULL,
            category varchar(20) NOT NULL,
            status varchar(20) NOT NULL,
            flagged_on date NOT NULL,
            projects integer NOT NULL,
            budget numeric NOT NULL,
            spent numeric NOT NULL,
            PRIMARY KEY (district_code, category, status, flagged_on)
        );
        CREATE TABLE area_versions (
            zoom smallint NOT NULL,
            x integer NOT NULL,
            y integer NOT NULL,
            version bigint NOT NULL,
            PRIMARY KEY (zoom, x, y)
        );

        -- The cell of each tile zoom of CELL_ZOOMS holding the point (x, y) (centimetres):
        -- the tile (x, y as in ST_TileEnvelope) and the cell in it, column + 64 * row.
        CREATE FUNCTION map_cells_of(x bigint, y bigint)
            RETURNS TABLE (zoom smallint, tx integer, ty integer, cell smallint)
            LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS {high - low + 1} AS $$
            SELECT z::smallint, (i >> {SHIFT})::integer, (j >> {SHIFT})::integer,
                   ((i & {CELL_GRID - 1}) + {CELL_GRID} * (j & {CELL_GRID - 1}))::smallint
            FROM generate_series({low}, {high}) z
            CROSS JOIN LATERAL (SELECT 2::float8 ^ (z + {SHIFT}) AS n) s
            CROSS JOIN LATERAL (SELECT {column_sql("x", "s.n")} AS i, {row_sql("y", "s.n")} AS j) c
        $$;

        -- The tiles at zoom {AREA_ZOOM} covering the box of ``g`` (Web Mercator), or those of
        -- the largest coarser zoom at which the box spans fewer than 8 tiles each way.
        CREATE FUNCTION area_tiles(g geometry)
            RETURNS TABLE (zoom smallint, x integer, y integer)
            LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 4 AS $$
            WITH b AS (
                SELECT least(greatest(floor((v.w + v.h) / (2 * v.h) * v.n), 0), v.n - 1)::int AS x0,
                       least(greatest(floor((v.e + v.h) / (2 * v.h) * v.n), 0), v.n - 1)::int AS x1,
                       least(greatest(floor((v.h - v.t) / (2 * v.h) * v.n), 0), v.n - 1)::int AS y0,
                       least(greatest(floor((v.h - v.b) / (2 * v.h) * v.n), 0), v.n - 1)::int AS y1
                FROM (SELECT ST_XMin(g) AS w, ST_XMax(g) AS e, ST_YMin(g) AS b, ST_YMax(g) AS t,
                             {HALF_WORLD_M!r}::float8 AS h, 2::float8 ^ {AREA_ZOOM} AS n) v
            ), k AS (
                SELECT b.*, (SELECT min(k) FROM generate_series(0, {AREA_ZOOM}) k
                             WHERE (b.x1 >> k) - (b.x0 >> k) < 8
                               AND (b.y1 >> k) - (b.y0 >> k) < 8) AS k
                FROM b
            )
            SELECT ({AREA_ZOOM} - k.k)::smallint, gx, gy FROM k,
                   generate_series(k.x0 >> k.k, k.x1 >> k.k) gx,
                   generate_series(k.y0 >> k.k, k.y1 >> k.k) gy
        $$;

        -- Bring the map rows of projects ``ids`` up to date with the table, and everything
        -- derived from them; the areas of their old and new geometry get this version. No
        -- JIT: compiling the statement costs a single write a quarter of a second.
        CREATE FUNCTION map_refresh(ids bigint[]) RETURNS void
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off
            AS $$
        DECLARE
            current bigint := (SELECT version FROM data_version);
        BEGIN
            WITH old AS (SELECT f.* FROM map_features f WHERE f.id = ANY(ids)),
            new AS ({MAP_ROW} AND p.id = ANY(ids)),
            kept AS (
                INSERT INTO map_features AS f SELECT * FROM new ORDER BY geom
                ON CONFLICT (id) DO UPDATE SET
                    code = excluded.code, category = excluded.category,
                    status = excluded.status, district_code = excluded.district_code,
                    budget = excluded.budget, spent = excluded.spent,
                    flagged_on = excluded.flagged_on, x = excluded.x, y = excluded.y,
                    geom = excluded.geom
            ),
            gone AS (
                DELETE FROM map_features f USING old o
                WHERE f.id = o.id AND NOT EXISTS (SELECT FROM new w WHERE w.id = o.id)
            ),
            sides AS (
                SELECT -1 AS n, o.* FROM old o UNION ALL SELECT 1, w.* FROM new w
            ),
            cells AS (
                INSERT INTO map_cells AS m
                SELECT c.zoom, c.tx, c.ty, c.cell, s.category,
                       sum(s.n), sum(s.n * s.x), sum(s.n * s.y)
                FROM sides s CROSS JOIN LATERAL map_cells_of(s.x, s.y) c
                GROUP BY 1, 2, 3, 4, 5
                HAVING sum(s.n) <> 0 OR sum(s.n * s.x) <> 0 OR sum(s.n * s.y) <> 0
                ON CONFLICT (zoom, x, y, cell, category) DO UPDATE SET
                    projects = m.projects + excluded.projects,
                    sum_x = m.sum_x + excluded.sum_x, sum_y = m.sum_y + excluded.sum_y
            ),
            sums AS (
                INSERT INTO district_sums AS d
                SELECT district_code, category, status, flagged_on,
                       sum(n), sum(n * budget), sum(n * spent)
                FROM sides WHERE district_code IS NOT NULL
                GROUP BY 1, 2, 3, 4
                HAVING sum(n) <> 0 OR sum(n * budget) <> 0 OR sum(n * spent) <> 0
                ON CONFLICT (district_code, category, status, flagged_on) DO UPDATE SET
                    projects = d.projects + excluded.projects,
                    budget = d.budget + excluded.budget, spent = d.spent + excluded.spent
            )
            INSERT INTO area_versions AS a
            SELECT DISTINCT t.zoom, t.x, t.y, current
            FROM sides s CROSS JOIN LATERAL area_tiles(s.geom) t
            ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            DELETE FROM map_cells WHERE projects = 0;
            DELETE FROM district_sums WHERE projects = 0;
        END $$;

        CREATE FUNCTION projects_map_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                TRUNCATE map_features, map_cells, district_sums;
                INSERT INTO area_versions SELECT 0, 0, 0, version FROM data_version
                ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM map_refresh(ARRAY(SELECT id FROM old_rows));
            ELSE
                PERFORM map_refresh(ARRAY(SELECT id FROM new_rows));
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER projects_map_inserted AFTER INSERT ON projects
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION projects_map_changed();
        CREATE TRIGGER projects_map_updated AFTER UPDATE ON projects
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION projects_map_changed();
        CREATE TRIGGER projects_map_deleted AFTER DELETE ON projects
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION projects_map_changed();
        CREATE TRIGGER projects_map_truncated AFTER TRUNCATE ON projects
            FOR EACH STATEMENT EXECUTE FUNCTION projects_map_changed();

        -- What every place shows changed (a district's or agency's name, a category, a term): the
        -- baseline under every tile moves.
        CREATE FUNCTION map_everywhere_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            INSERT INTO area_versions SELECT 0, 0, 0, version FROM data_version
            ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            RETURN NULL;
        END $$;
        {everywhere}

        -- A conflict's point moves, appears or goes: its area has changed.
        CREATE FUNCTION conflicts_map_changed() RETURNS trigger
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            current bigint := (SELECT version FROM data_version);
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO area_versions AS a
                SELECT DISTINCT t.zoom, t.x, t.y, current
                FROM old_rows o CROSS JOIN LATERAL area_tiles(ST_Transform(o.at, 3857)) t
                ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                INSERT INTO area_versions AS a
                SELECT DISTINCT t.zoom, t.x, t.y, current
                FROM new_rows o CROSS JOIN LATERAL area_tiles(ST_Transform(o.at, 3857)) t
                ON CONFLICT (zoom, x, y) DO UPDATE SET version = excluded.version;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER conflicts_map_inserted AFTER INSERT ON conflicts
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION conflicts_map_changed();
        CREATE TRIGGER conflicts_map_updated AFTER UPDATE ON conflicts
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION conflicts_map_changed();
        CREATE TRIGGER conflicts_map_deleted AFTER DELETE ON conflicts
            REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION conflicts_map_changed();

        -- Built for the projects already there, indexes after the rows; the rows of one tile
        -- kept together on disk (CLUSTER), so that a tile reads a few pages, not one a row.
        INSERT INTO map_features {MAP_ROW};
        INSERT INTO map_cells
        SELECT c.zoom, c.tx, c.ty, c.cell, f.category, count(*), sum(f.x), sum(f.y)
        FROM map_features f CROSS JOIN LATERAL map_cells_of(f.x, f.y) c
        GROUP BY 1, 2, 3, 4, 5;
        INSERT INTO district_sums
        SELECT district_code, category, status, flagged_on, count(*), sum(budget), sum(spent)
        FROM map_features WHERE district_code IS NOT NULL GROUP BY 1, 2, 3, 4;
        INSERT INTO area_versions SELECT 0, 0, 0, version FROM data_version;
        CREATE INDEX ix_map_features_geom ON map_features USING gist (geom);
        CLUSTER map_features USING ix_map_features_geom;
        CREATE INDEX ix_map_cells_empty ON map_cells (zoom) WHERE projects = 0;
        CREATE INDEX ix_district_sums_empty ON district_sums (district_code)
            WHERE projects = 0;
        CREATE INDEX ix_area_versions_version ON area_versions (version);
        ANALYZE map_features, map_cells, district_sums, area_versions;

        CREATE VIEW disclosed.map_features AS SELECT * FROM public.map_features;
        CREATE VIEW disclosed.map_cells AS SELECT * FROM public.map_cells;
        CREATE VIEW disclosed.district_sums AS SELECT * FROM public.district_sums;
        CREATE VIEW disclosed.area_versions AS SELECT * FROM public.area_versions;
        GRANT SELECT ON disclosed.map_features, disclosed.map_cells, disclosed.district_sums,
            disclosed.area_versions TO {READ_ROLE};
        """  # noqa: S608 - statements of this module's constants; DDL takes no parameters
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW disclosed.map_features, disclosed.map_cells, disclosed.district_sums,
            disclosed.area_versions;
        DROP TRIGGER projects_map_inserted ON projects;
        DROP TRIGGER projects_map_updated ON projects;
        DROP TRIGGER projects_map_deleted ON projects;
        DROP TRIGGER projects_map_truncated ON projects;
        DROP TRIGGER conflicts_map_inserted ON conflicts;
        DROP TRIGGER conflicts_map_updated ON conflicts;
        DROP TRIGGER conflicts_map_deleted ON conflicts;
        DROP FUNCTION projects_map_changed(), conflicts_map_changed(), map_refresh(bigint[]),
            area_tiles(geometry), map_cells_of(bigint, bigint), map_everywhere_changed() CASCADE;
        DROP TABLE map_features, map_cells, district_sums, area_versions;
        """
    )
