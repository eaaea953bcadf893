"""``body_cache``: response bodies every API process may serve (``geo.body_cache``).

Unlogged: not written to the WAL and emptied after a crash, as a cache may be. It lives on the
primary, beside the writes (an unlogged table cannot be read on a replica), and only the write
role reads and changes it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WRITE_ROLE = "allimi_write"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE UNLOGGED TABLE body_cache (
            key text PRIMARY KEY,
            body bytea NOT NULL,
            kept_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_body_cache_kept_at ON body_cache (kept_at);
        GRANT SELECT, INSERT, DELETE ON body_cache TO {WRITE_ROLE};
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE body_cache")
