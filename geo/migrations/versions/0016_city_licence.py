"""``jurisdiction.licence``: the licence the city publishes its data under (``geo.jurisdiction``),
a JSONB of its name (language → text) and the URL of its terms.

A city set up before this revision could name none: it gets the portal's default, CC BY 4.0,
under that name in each of its languages. ``disclosed.jurisdiction`` is made again, so that its
``SELECT *`` names the new column.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE jurisdiction ADD COLUMN licence jsonb NOT NULL DEFAULT
            '{"name": {"en": "CC BY 4.0"}, "url": "https://creativecommons.org/licenses/by/4.0/"}';
        UPDATE jurisdiction SET licence = jsonb_build_object(
            'name', (SELECT jsonb_object_agg(lang, 'CC BY 4.0') FROM unnest(languages) lang),
            'url', 'https://creativecommons.org/licenses/by/4.0/');
        CREATE OR REPLACE VIEW disclosed.jurisdiction AS SELECT * FROM public.jurisdiction;
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP VIEW disclosed.jurisdiction;
        ALTER TABLE jurisdiction DROP COLUMN licence;
        CREATE VIEW disclosed.jurisdiction AS SELECT * FROM public.jurisdiction;
        GRANT SELECT ON disclosed.jurisdiction TO {READ_ROLE};
        """  # noqa: S608 - this migration's own role name
    )
