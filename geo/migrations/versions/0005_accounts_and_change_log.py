"""Officials' side: accounts and tokens, the public hash-chained change log, withdrawn
projects and progress reports that wait for approval.

- ``users``: officials (of one agency), contractors (speaking for the company a project names
  as its contractor), planners and admins; passwords as Argon2 hashes only.
- ``tokens``: sign-in sessions and long-lived API tokens, stored as SHA-256 digests only.
- ``login_failures``: recent failed sign-ins, by account and by address, to slow guessing.
- ``changes`` and ``change_head`` (``geo.changelog``): append-only; a trigger refuses UPDATE
  and DELETE of entries, so rewriting history needs the owner to disable it, and the chain then
  shows where.
- ``projects.withdrawn_at`` / ``withdrawn_reason``: a withdrawn project is kept and shown so.
- ``progress_reports.state``: a contractor's report is ``pending`` until an official of the
  agency approves it; the public sees approved reports only.

The group role ``allimi_write`` (cluster-wide, kept on downgrade like ``allimi_read``) is what
the API's writing login is a member of: it reads every table and changes only what the write
side changes; it cannot alter the schema, erase a project or rewrite the log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"
WRITE_ROLE = "allimi_write"
# What the API's writing login may do, table by table: no DDL, no DELETE of the record
WRITES = {
    "projects": "SELECT, INSERT, UPDATE",
    "progress_reports": "SELECT, INSERT, UPDATE",
    "documents": "SELECT, INSERT, UPDATE",
    "agencies": "SELECT, INSERT, UPDATE",
    "users": "SELECT, INSERT, UPDATE",
    "tokens": "SELECT, INSERT, UPDATE, DELETE",
    "login_failures": "SELECT, INSERT, DELETE",
    "changes": "SELECT, INSERT",
    "change_head": "SELECT, UPDATE",
    "data_version": "SELECT, UPDATE",
    "districts": "SELECT",
    "jurisdiction": "SELECT",
    "categories": "SELECT",
    "terms": "SELECT",
}
SEQUENCES = ("projects_id_seq", "progress_reports_id_seq", "documents_id_seq", "users_id_seq",
             "tokens_id_seq", "login_failures_id_seq")  # fmt: skip
CHILD_VIEW = """
    CREATE VIEW disclosed.{name} WITH (security_barrier) AS
    SELECT c.* FROM public.{name} c WHERE {condition} EXISTS (
        SELECT FROM public.projects p WHERE p.id = c.project_id AND p.published)
"""


def _views(reports_condition: str) -> None:
    op.execute("CREATE VIEW disclosed.projects AS SELECT * FROM public.projects WHERE published")
    op.execute(CHILD_VIEW.format(name="progress_reports", condition=reports_condition))
    op.execute(CHILD_VIEW.format(name="documents", condition=""))
    op.execute(
        f"GRANT SELECT ON disclosed.projects, disclosed.progress_reports, disclosed.documents "
        f"TO {READ_ROLE}"
    )


def upgrade() -> None:
    op.execute(
        """
        DROP VIEW disclosed.progress_reports, disclosed.documents, disclosed.projects;

        CREATE TABLE users (
            id bigserial CONSTRAINT pk_users PRIMARY KEY,
            email text NOT NULL,
            name text NOT NULL,
            role varchar(20) NOT NULL CONSTRAINT ck_users_role
                CHECK (role IN ('official', 'contractor', 'planner', 'admin')),
            agency_code varchar(40)
                CONSTRAINT fk_users_agency_code_agencies REFERENCES agencies (code),
            contractor text,
            password_hash text NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_users_agency CHECK ((role = 'official') = (agency_code IS NOT NULL)),
            CONSTRAINT ck_users_contractor
                CHECK ((role = 'contractor') = (contractor IS NOT NULL))
        );
        CREATE UNIQUE INDEX uq_users_email ON users (lower(email));

        CREATE TABLE tokens (
            id bigserial CONSTRAINT pk_tokens PRIMARY KEY,
            user_id bigint NOT NULL
                CONSTRAINT fk_tokens_user_id_users REFERENCES users (id) ON DELETE CASCADE,
            digest bytea NOT NULL CONSTRAINT uq_tokens_digest UNIQUE,
            kind varchar(10) NOT NULL CONSTRAINT ck_tokens_kind CHECK (kind IN ('session', 'api')),
            label text,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz
        );
        CREATE INDEX ix_tokens_user_id ON tokens (user_id);

        CREATE TABLE login_failures (
            id bigserial CONSTRAINT pk_login_failures PRIMARY KEY,
            subject text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX ix_login_failures_subject_failed_at ON login_failures (subject, failed_at);

        CREATE TABLE change_head (
            singleton boolean CONSTRAINT pk_change_head PRIMARY KEY DEFAULT true
                CONSTRAINT ck_change_head_singleton CHECK (singleton),
            seq bigint NOT NULL DEFAULT 0,
            hash bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
        );
        INSERT INTO change_head DEFAULT VALUES;

        CREATE TABLE changes (
            seq bigint CONSTRAINT pk_changes PRIMARY KEY,
            at timestamptz NOT NULL,
            project_code varchar(40) NOT NULL,
            agency_code varchar(40) NOT NULL,
            role varchar(20) NOT NULL,
            action varchar(20) NOT NULL CONSTRAINT ck_changes_action
                CHECK (action IN ('create', 'edit', 'publish', 'withdraw', 'report')),
            content text NOT NULL,
            prev_hash bytea NOT NULL,
            hash bytea NOT NULL CONSTRAINT uq_changes_hash UNIQUE
        );
        CREATE INDEX ix_changes_project_code ON changes (project_code);
        CREATE INDEX ix_changes_agency_code ON changes (agency_code);
        CREATE INDEX ix_changes_at ON changes (at);

        CREATE FUNCTION changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the change log is append-only';
        END $$;
        CREATE TRIGGER changes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON changes
            FOR EACH STATEMENT EXECUTE FUNCTION changes_append_only();
        CREATE TRIGGER changes_bump_data_version AFTER INSERT ON changes
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();

        ALTER TABLE projects ADD COLUMN withdrawn_at timestamptz,
            ADD COLUMN withdrawn_reason text,
            ADD CONSTRAINT ck_projects_withdrawn
                CHECK ((withdrawn_at IS NULL) = (withdrawn_reason IS NULL));

        ALTER TABLE progress_reports
            ADD COLUMN state varchar(10) NOT NULL DEFAULT 'approved',
            ADD COLUMN submitted_by bigint
                CONSTRAINT fk_progress_reports_submitted_by_users REFERENCES users (id),
            ADD COLUMN decided_by bigint
                CONSTRAINT fk_progress_reports_decided_by_users REFERENCES users (id),
            ADD COLUMN decided_at timestamptz,
            ADD CONSTRAINT ck_progress_reports_state
                CHECK (state IN ('pending', 'approved', 'rejected'));

        CREATE VIEW disclosed.changes AS SELECT * FROM public.changes;
        CREATE VIEW disclosed.change_head AS SELECT * FROM public.change_head;
        """
    )
    _views("c.state = 'approved' AND")
    op.execute(f"GRANT SELECT ON disclosed.changes, disclosed.change_head TO {READ_ROLE}")
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{WRITE_ROLE}') THEN
                CREATE ROLE {WRITE_ROLE} NOLOGIN;
            END IF;
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {WRITE_ROLE} TO %I', current_user);
            END IF;
        END $$;
        GRANT USAGE ON SCHEMA public TO {WRITE_ROLE};
        GRANT USAGE ON SEQUENCE {", ".join(SEQUENCES)} TO {WRITE_ROLE};
        """  # noqa: S608 - role and sequence names are this module's constants
    )
    for table, privileges in WRITES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {WRITE_ROLE}")


def downgrade() -> None:
    for table in WRITES:
        op.execute(f"REVOKE ALL ON {table} FROM {WRITE_ROLE}")
    op.execute(
        f"""
        REVOKE USAGE ON SEQUENCE {", ".join(SEQUENCES[:3])} FROM {WRITE_ROLE};
        REVOKE USAGE ON SCHEMA public FROM {WRITE_ROLE};
        """
    )
    op.execute(
        """
        DROP VIEW disclosed.changes, disclosed.change_head, disclosed.progress_reports,
            disclosed.documents, disclosed.projects;
        ALTER TABLE progress_reports DROP COLUMN state, DROP COLUMN submitted_by,
            DROP COLUMN decided_by, DROP COLUMN decided_at;
        ALTER TABLE projects DROP COLUMN withdrawn_at, DROP COLUMN withdrawn_reason;
        DROP TABLE changes, change_head, login_failures, tokens, users;
        DROP FUNCTION changes_append_only();
        """
    )
    _views("")
