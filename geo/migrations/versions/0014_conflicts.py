"""The planners' conflict engine (``geo.conflicts``): conflicts, moratoria and their rules.

- ``moratoria``: protected zones drawn by planners (a line or polygon, a period, a reason). The
  zones that completed road works make are not stored: they follow from those projects.
- ``conflicts``: each pair of works (or work and zone) a rule finds, kept current by every
  write, with its workflow (open, acknowledged, coordinated, dismissed), internal note and
  what coordination saved. ``overlap_days`` is the days both periods share; zero or less is a
  gap of that many days (negated). A pair whose rule no longer holds is deleted while it is
  still open, and otherwise kept with ``holds`` false: what coordination earned stays on record.
- ``conflict_rules``: the rules the stored conflicts follow (the last full scan's).
- ``changes``: a workflow step (``conflict``) and a zone drawn by hand (``moratorium``) are
  logged; a zone names no project.

The public sees conflicts between published works, never the internal note, and never
dismissed ones (``disclosed.conflicts``), and the zones (``disclosed.moratoria``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
WRITE_ROLE = "allimi_write"
BEFORE = "'create', 'edit', 'publish', 'withdraw', 'report', 'import'"
AFTER = BEFORE + ", 'conflict', 'moratorium'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE moratoria (
            id bigserial PRIMARY KEY,
            geom geometry(Geometry, 4326) NOT NULL,
            starts date NOT NULL,
            ends date NOT NULL,
            reason text NOT NULL,
            district_code varchar(40) REFERENCES districts (code),
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by bigint REFERENCES users (id),
            CONSTRAINT ck_moratoria_period CHECK (ends >= starts),
            CONSTRAINT ck_moratoria_geom_type
                CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING', 'POLYGON',
                                              'MULTIPOLYGON')),
            CONSTRAINT ck_moratoria_geom_valid CHECK (ST_IsValid(geom))
        );
        CREATE INDEX ix_moratoria_geom ON moratoria USING gist (geom);

        CREATE TABLE conflicts (
            id bigserial PRIMARY KEY,
            kind varchar(10) NOT NULL,
            a_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
            b_id bigint REFERENCES projects (id) ON DELETE CASCADE,
            zone_id bigint REFERENCES moratoria (id) ON DELETE CASCADE,
            distance_m real NOT NULL,
            overlap_days integer NOT NULL,
            at geometry(Point, 4326) NOT NULL,
            holds boolean NOT NULL DEFAULT true,
            status varchar(12) NOT NULL DEFAULT 'open',
            note text,
            days_saved integer,
            money_saved numeric(18, 2),
            found_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_conflicts_kind CHECK (kind IN ('clash', 'dig_once', 'moratorium')),
            CONSTRAINT ck_conflicts_other CHECK ((b_id IS NULL) <> (zone_id IS NULL)),
            CONSTRAINT ck_conflicts_pair
                CHECK (kind = 'moratorium' OR (zone_id IS NULL AND a_id < b_id)),
            CONSTRAINT ck_conflicts_status
                CHECK (status IN ('open', 'acknowledged', 'coordinated', 'dismissed')),
            CONSTRAINT ck_conflicts_saved CHECK (coalesce(days_saved, 0) >= 0
                AND coalesce(money_saved, 0) >= 0)
        );
        CREATE UNIQUE INDEX uq_conflicts_pair ON conflicts
            (a_id, b_id, zone_id, (kind = 'moratorium')) NULLS NOT DISTINCT;
        CREATE INDEX ix_conflicts_b_id ON conflicts (b_id);
        CREATE INDEX ix_conflicts_zone_id ON conflicts (zone_id);
        CREATE INDEX ix_conflicts_at ON conflicts USING gist (at);

        CREATE TABLE conflict_rules (
            singleton boolean PRIMARY KEY DEFAULT true,
            buffer_m real NOT NULL DEFAULT 20,
            gap_days integer NOT NULL DEFAULT 180,
            moratorium_months integer NOT NULL DEFAULT 36,
            excavating text[] NOT NULL DEFAULT '{{water,sewer,power,telecom,gas}}',
            protected text[] NOT NULL DEFAULT '{{road}}',
            scanned_at timestamptz,
            CONSTRAINT ck_conflict_rules_singleton CHECK (singleton)
        );
        INSERT INTO conflict_rules DEFAULT VALUES;

        ALTER TABLE changes
            DROP CONSTRAINT ck_changes_action,
            ADD CONSTRAINT ck_changes_action CHECK (action IN ({AFTER})),
            DROP CONSTRAINT ck_changes_project,
            ADD CONSTRAINT ck_changes_project
                CHECK ((action IN ('import', 'moratorium')) = (project_code IS NULL)),
            DROP CONSTRAINT ck_changes_agency,
            ADD CONSTRAINT ck_changes_agency
                CHECK (action IN ('import', 'moratorium') OR agency_code IS NOT NULL);

        CREATE TRIGGER conflicts_bump_data_version AFTER INSERT OR UPDATE OR DELETE
            ON conflicts FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
        CREATE TRIGGER moratoria_bump_data_version AFTER INSERT OR UPDATE OR DELETE
            ON moratoria FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();

        GRANT SELECT, INSERT, UPDATE, DELETE ON conflicts TO {WRITE_ROLE};
        GRANT SELECT, INSERT ON moratoria TO {WRITE_ROLE};
        GRANT SELECT ON conflict_rules TO {WRITE_ROLE};
        GRANT USAGE ON SEQUENCE conflicts_id_seq, moratoria_id_seq TO {WRITE_ROLE};

        CREATE VIEW disclosed.conflicts AS
            SELECT id, kind, a_id, b_id, zone_id, distance_m, overlap_days, at, holds, status,
                   days_saved, money_saved, found_at, updated_at
            FROM public.conflicts WHERE status <> 'dismissed';
        CREATE VIEW disclosed.moratoria AS
            SELECT id, geom, starts, ends, reason, district_code, created_at
            FROM public.moratoria;
        CREATE VIEW disclosed.conflict_rules AS SELECT * FROM public.conflict_rules;
        GRANT SELECT ON disclosed.conflicts, disclosed.moratoria, disclosed.conflict_rules
            TO {READ_ROLE};
        """  # noqa: S608 - role names and action lists are this module's constants
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP VIEW disclosed.conflicts, disclosed.moratoria, disclosed.conflict_rules;
        DROP TABLE conflicts, moratoria, conflict_rules;
        ALTER TABLE changes
            DROP CONSTRAINT ck_changes_agency,
            ADD CONSTRAINT ck_changes_agency CHECK (action = 'import' OR agency_code IS NOT NULL)
                NOT VALID,
            DROP CONSTRAINT ck_changes_project,
            ADD CONSTRAINT ck_changes_project CHECK ((action = 'import') = (project_code IS NULL))
                NOT VALID,
            DROP CONSTRAINT ck_changes_action,
            ADD CONSTRAINT ck_changes_action CHECK (action IN ({BEFORE})) NOT VALID;
        """
    )
