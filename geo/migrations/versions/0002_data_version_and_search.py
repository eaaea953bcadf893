"""A data version that every write bumps (for ETags and caches), and a text-search index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

WATCHED = ("projects", "progress_reports", "documents", "districts", "agencies")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE data_version (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            version bigint NOT NULL DEFAULT 1,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO data_version DEFAULT VALUES;

        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE data_version SET version = version + 1, changed_at = now();
            RETURN NULL;
        END $$;
        """
    )
    for table in WATCHED:
        op.execute(
            f"""
            CREATE TRIGGER {table}_bump_data_version
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()
            """
        )
    op.execute(
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        ALTER TABLE projects ADD COLUMN search_text text GENERATED ALWAYS AS (
            lower(code || ' ' || title || ' ' || coalesce(contractor, '') || ' '
                  || coalesce(address, ''))
        ) STORED;
        CREATE INDEX ix_projects_search_text ON projects USING gin (search_text gin_trgm_ops);
        CREATE INDEX ix_projects_planned_dates ON projects (planned_start, planned_end);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_projects_planned_dates;
        ALTER TABLE projects DROP COLUMN search_text;
        """
    )
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_bump_data_version ON {table}")
    op.execute("DROP FUNCTION bump_data_version(); DROP TABLE data_version;")
