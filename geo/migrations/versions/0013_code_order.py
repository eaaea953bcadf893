"""Project codes in byte order: the next code of a year is one step back along this index.

The unique index on ``code`` follows the database's collation, which may order punctuation
apart from bytes; ``LIKE 'SEOUL-2027-%'`` could then not use it, and finding the last code of a
year read every project (a second on a million).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute('CREATE INDEX ix_projects_code_bytes ON projects ((code COLLATE "C"))')


def downgrade() -> None:
    op.execute("DROP INDEX ix_projects_code_bytes")
