"""Import jobs: an upload's import, its progress and report, readable by any API process.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WRITE_ROLE = "allimi_write"
STATES = "'running', 'done', 'refused', 'failed'"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE imports (
            id bigserial PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            user_id bigint NOT NULL REFERENCES users (id),
            agency_code varchar(40) REFERENCES agencies (code),
            file_name text NOT NULL,
            sha256 char(64) NOT NULL,
            mapping jsonb NOT NULL,
            options jsonb NOT NULL,
            dry_run boolean NOT NULL,
            state varchar(20) NOT NULL DEFAULT 'running',
            rows_read integer NOT NULL DEFAULT 0,
            report jsonb,
            problem jsonb,
            CONSTRAINT ck_imports_state CHECK (state IN ({STATES}))
        );
        CREATE INDEX ix_imports_agency_code ON imports (agency_code);
        GRANT SELECT, INSERT, UPDATE ON imports TO {WRITE_ROLE};
        GRANT USAGE ON SEQUENCE imports_id_seq TO {WRITE_ROLE};
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE imports")
