"""Progress reports carry their photos and documents: files stored by content hash.

- ``documents`` gains what a stored file needs: its SHA-256 (the name it is stored and served
  by), size, the progress report it came with, and for a photo the date and position it was
  taken (from its EXIF), its thumbnail, and ``flag``, the sentence the disclosure shows when
  the photo was taken far from the works or outside the project's period.
- ``disclosed.documents``: a document of a report is public once its report is approved (a
  pending or rejected report's files never are); documents of no report stay as they were.

The API's writing login already inserts and updates ``documents`` and ``progress_reports``
(0005's grants cover the new columns); the read role gets the recreated view.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
VIEW = """
    CREATE VIEW disclosed.documents WITH (security_barrier) AS
    SELECT c.* FROM public.documents c WHERE {condition} EXISTS (
        SELECT FROM public.projects p WHERE p.id = c.project_id AND p.published);
    GRANT SELECT ON disclosed.documents TO {role};
"""
OF_APPROVED = """(c.report_id IS NULL OR EXISTS (
        SELECT FROM public.progress_reports r WHERE r.id = c.report_id AND r.state = 'approved'))
    AND"""


def upgrade() -> None:
    op.execute(
        """
        DROP VIEW disclosed.documents;
        ALTER TABLE documents
            ADD COLUMN report_id bigint CONSTRAINT fk_documents_report_id_progress_reports
                REFERENCES progress_reports (id) ON DELETE CASCADE,
            ADD COLUMN sha256 varchar(64),
            ADD COLUMN size bigint,
            ADD COLUMN thumbnail_path text,
            ADD COLUMN taken_at timestamp,
            ADD COLUMN taken_position geometry(POINT, 4326),
            ADD COLUMN flag text,
            ADD CONSTRAINT ck_documents_stored CHECK (
                (sha256 IS NULL) = (size IS NULL) AND (sha256 IS NULL OR (
                    sha256 ~ '^[0-9a-f]{64}$' AND size >= 0 AND file_path IS NOT NULL))
            );
        CREATE INDEX ix_documents_report_id ON documents (report_id);
        CREATE INDEX ix_documents_sha256 ON documents (sha256);
        """
    )
    op.execute(VIEW.format(condition=OF_APPROVED, role=READ_ROLE))


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW disclosed.documents;
        DROP INDEX ix_documents_report_id, ix_documents_sha256;
        ALTER TABLE documents DROP CONSTRAINT ck_documents_stored, DROP COLUMN report_id,
            DROP COLUMN sha256, DROP COLUMN size, DROP COLUMN thumbnail_path,
            DROP COLUMN taken_at, DROP COLUMN taken_position, DROP COLUMN flag;
        """
    )
    op.execute(VIEW.format(condition="", role=READ_ROLE))
