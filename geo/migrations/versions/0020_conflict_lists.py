"""Lists of conflicts that stay quick when a city has tens of millions.

- ``ix_conflicts_worked_on``: the conflicts whose status is no longer ``open`` (few: those
  planners acted on), so that a list of acknowledged, coordinated or dismissed ones reads them
  instead of every conflict of the city.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX ix_conflicts_worked_on ON conflicts (id) WHERE status <> 'open'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_conflicts_worked_on")
