"""A contractor's projects are found by the name projects give as their contractor.

The reporting view of a contractor lists the projects it is named on; the index keeps that a
lookup on a city of a million projects.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_projects_contractor", "projects", ["contractor"])


def downgrade() -> None:
    op.drop_index("ix_projects_contractor", table_name="projects")
