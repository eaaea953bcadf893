"""A draft may have no place yet: imported rows without geometry, to be drawn before publishing.

A published project keeps its geometry (``ck_projects_placed``); the geometry's type check lets
a missing one pass.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TYPES = "'POINT', 'LINESTRING', 'POLYGON', 'MULTIPOINT', 'MULTILINESTRING', 'MULTIPOLYGON'"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE projects ALTER COLUMN geom DROP NOT NULL,
            DROP CONSTRAINT ck_projects_geom_type,
            ADD CONSTRAINT ck_projects_geom_type CHECK (
                geom IS NULL OR array_position(ARRAY[{TYPES}], GeometryType(geom)) IS NOT NULL),
            ADD CONSTRAINT ck_projects_placed CHECK (geom IS NOT NULL OR NOT published)
        """
    )


def downgrade() -> None:
    # fails while a draft has no place: draw or withdraw it first (nothing is erased)
    op.execute(
        f"""
        ALTER TABLE projects DROP CONSTRAINT ck_projects_placed,
            DROP CONSTRAINT ck_projects_geom_type,
            ADD CONSTRAINT ck_projects_geom_type CHECK (
                array_position(ARRAY[{TYPES}], GeometryType(geom)) IS NOT NULL),
            ALTER COLUMN geom SET NOT NULL
        """
    )
