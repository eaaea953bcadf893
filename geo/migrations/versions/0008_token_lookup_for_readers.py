"""The account of a token, for the API's read login: ``disclosed.account_of(digest)``.

Every signed-in request first finds the account its bearer token stands for. The read login
(``allimi_read``) cannot read ``users`` or ``tokens``; this function, which runs as the schema's
owner, answers only for a token's SHA-256 digest, which only the holder of the token can make,
and only while the token is live (neither expired nor revoked) and its account active. The API
then finds the account on its reading connection, on the event loop, instead of a writing
connection in a worker thread.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

READ_ROLE = "allimi_read"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION disclosed.account_of(token_digest bytea)
        RETURNS TABLE (user_id bigint, email text, name text, role text, agency text,
                       contractor text, token_id bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
            SELECT u.id, u.email, u.name, u.role::text, u.agency_code::text, u.contractor, t.id
            FROM public.tokens t JOIN public.users u ON u.id = t.user_id
            WHERE t.digest = token_digest AND t.revoked_at IS NULL AND t.expires_at > now()
              AND u.active
        $$;
        REVOKE ALL ON FUNCTION disclosed.account_of(bytea) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION disclosed.account_of(bytea) TO {READ_ROLE};
        """  # noqa: S608 - the role's name is a constant
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION disclosed.account_of(bytea)")
