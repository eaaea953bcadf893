"""Bulk imports: a project's key in the file it came from, and the import's own log entry.

- ``projects.source_key``: the stable id of the row a project was imported from (a mapped
  column, else a hash of the row), unique within its agency, so that importing a file again
  updates the projects it made instead of adding twins.
- ``changes``: an ``import`` entry records an import itself (file name, SHA-256, counts); it
  names no project, and names an agency only when the import was for one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BEFORE = "'create', 'edit', 'publish', 'withdraw', 'report'"
AFTER = BEFORE + ", 'import'"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE projects ADD COLUMN source_key text;
        CREATE UNIQUE INDEX uq_projects_agency_code_source_key ON projects (agency_code,
            source_key) WHERE source_key IS NOT NULL;
        ALTER TABLE changes ALTER COLUMN project_code DROP NOT NULL,
            ALTER COLUMN agency_code DROP NOT NULL,
            DROP CONSTRAINT ck_changes_action,
            ADD CONSTRAINT ck_changes_action CHECK (action IN ({AFTER})),
            ADD CONSTRAINT ck_changes_project CHECK ((action = 'import') = (project_code IS NULL)),
            ADD CONSTRAINT ck_changes_agency CHECK (action = 'import' OR agency_code IS NOT NULL);
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE changes DROP CONSTRAINT ck_changes_agency, DROP CONSTRAINT ck_changes_project,
            DROP CONSTRAINT ck_changes_action,
            ADD CONSTRAINT ck_changes_action CHECK (action IN ({BEFORE})) NOT VALID,
            ALTER COLUMN agency_code SET NOT NULL, ALTER COLUMN project_code SET NOT NULL;
        DROP INDEX uq_projects_agency_code_source_key;
        ALTER TABLE projects DROP COLUMN source_key;
        """
    )
