"""``disclosed.account_of`` keeps its plan: PL/pgSQL instead of SQL.

A SQL function that sets its own ``search_path`` is never inlined, and PostgreSQL plans its
query again at every call (0.4 ms, more than the lookup itself, on every signed-in request);
PL/pgSQL keeps the plan for the session. Same arguments, result and rights as in 0008.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SIGNATURE = """
    CREATE OR REPLACE FUNCTION disclosed.account_of(token_digest bytea)
    RETURNS TABLE (user_id bigint, email text, name text, role text, agency text,
                   contractor text, token_id bigint)
"""
LOOKUP = """
    SELECT u.id, u.email, u.name, u.role::text, u.agency_code::text, u.contractor, t.id
    FROM public.tokens t JOIN public.users u ON u.id = t.user_id
    WHERE t.digest = token_digest AND t.revoked_at IS NULL AND t.expires_at > now()
      AND u.active
"""


def upgrade() -> None:
    op.execute(
        f"""{SIGNATURE}
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            RETURN QUERY {LOOKUP};
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        f"""{SIGNATURE}
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            {LOOKUP}
        $$
        """
    )
