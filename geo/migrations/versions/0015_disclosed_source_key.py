"""``disclosed.projects`` shows ``source_key``, the stable id of the row a project was imported
from: a project imported from an OC4IDS package is exported under the OC4IDS id it came with
(``geo.oc4ids``), and the API reads only the disclosed views.

The view was made (0005) before the column existed (0010), so ``SELECT *`` did not name it;
made again, it appends it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
BEFORE = (
    "id, code, title, description, category, project_type, status, agency_code, contractor, "
    "supervisor, officer_name, officer_phone, currency, budget, contract_value, spent, "
    "progress_actual, progress_planned, planned_start, planned_end, actual_start, actual_end, "
    "district_code, address, published, is_sample, created_at, updated_at, geom, search_text, "
    "withdrawn_at, withdrawn_reason"
)


def upgrade() -> None:
    op.execute(
        "CREATE OR REPLACE VIEW disclosed.projects AS SELECT * FROM public.projects WHERE published"
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP VIEW disclosed.projects;
        CREATE VIEW disclosed.projects AS SELECT {BEFORE} FROM public.projects WHERE published;
        GRANT SELECT ON disclosed.projects TO {READ_ROLE};
        """  # noqa: S608 - this migration's own column names
    )
