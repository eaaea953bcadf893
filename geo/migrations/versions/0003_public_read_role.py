"""The published data as views in schema ``disclosed``, readable by the group role allimi_read.

The API reads with ``search_path=disclosed,public`` as a member of allimi_read, so its SQL,
unchanged, reads ``projects`` as ``disclosed.projects``: published projects only, even where a
statement forgot ``published``. The role can read these views and nothing else of the portal
(not the tables, not alembic_version); PostGIS and pg_trgm functions stay reachable in public.

``disclosed.projects`` is a plain view, neither ``security_barrier`` nor row-level security:
PostGIS operators such as ``&&`` are not LEAKPROOF, and the planner does not use a qual that is
not leakproof as an index condition under a security barrier, so every map tile would scan the
whole table instead of the GiST index. The view's only qual, the bare column ``published``,
costs nothing, so the planner checks it before any other condition of that scan that is not
an index condition (tests/test_roles.py tries one that fails on an unpublished row).
Reports and documents are different: their ``published`` lives in another table (a join), and
a plain view would let a reader's qual on, say, a document title run on the documents of an
unpublished project (an error message can carry the value). Those two views are security
barriers; what the API filters them by, ``project_id =``, is leakproof and still uses indexes.

``SELECT *`` is expanded when a view is made: a later migration that adds a column to a table
must create its view again.

allimi_read is cluster-wide (shared by every database of the server) and so is not dropped on
downgrade; nor is CREATE on schema public given back to PUBLIC, which PostgreSQL 15 no longer
gives either.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
VIEWS = {
    "projects": "SELECT * FROM public.projects WHERE published",
    "districts": "SELECT * FROM public.districts",
    "agencies": "SELECT * FROM public.agencies",
    "data_version": "SELECT * FROM public.data_version",
}
CHILDREN = ("progress_reports", "documents")  # rows of a project: seen when it is published


def upgrade() -> None:
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READ_ROLE}') THEN
                CREATE ROLE {READ_ROLE} NOLOGIN;
            END IF;
            -- a login that is not a superuser may then act as the role (-c role=...)
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {READ_ROLE} TO %I', current_user);
            END IF;
        END $$;
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        CREATE SCHEMA disclosed;
        GRANT USAGE ON SCHEMA disclosed TO {READ_ROLE};
        """  # noqa: S608 - role name is this module's constant; DDL takes no parameters
    )
    for name, query in VIEWS.items():
        op.execute(f"CREATE VIEW disclosed.{name} AS {query}")
    for name in CHILDREN:
        op.execute(
            f"""
            CREATE VIEW disclosed.{name} WITH (security_barrier) AS
            SELECT c.* FROM public.{name} c WHERE EXISTS (
                SELECT FROM public.projects p WHERE p.id = c.project_id AND p.published)
            """  # noqa: S608 - view names are this migration's own literals (CHILDREN)
        )
    views = ", ".join(f"disclosed.{name}" for name in [*VIEWS, *CHILDREN])
    op.execute(f"GRANT SELECT ON {views} TO {READ_ROLE}")


def downgrade() -> None:
    op.execute("DROP SCHEMA disclosed CASCADE")
