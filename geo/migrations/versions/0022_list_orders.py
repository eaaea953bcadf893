"""The projects' lists in every order the list view offers, read from an index.

The list view opens sorted by budget, largest first, and sorts by title, progress or end; a
search lists the latest changed first. Over a whole city each page was a sort of every project
(1.2 to 1.9 s for a million). Each index holds one order with the id that breaks ties
(``geo.disclosure.search`` sorts both the same way, so one index serves either direction).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE INDEX ix_projects_budget_id ON projects (budget, id);
        CREATE INDEX ix_projects_title_id ON projects (title, id);
        CREATE INDEX ix_projects_progress_id ON projects (progress_actual, id);
        CREATE INDEX ix_projects_end_id ON projects (planned_end, id);
        CREATE INDEX ix_projects_updated_id ON projects (updated_at, id);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP INDEX ix_projects_budget_id, ix_projects_title_id, ix_projects_progress_id, "
        "ix_projects_end_id, ix_projects_updated_id"
    )
