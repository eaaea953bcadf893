"""Accounts: who may change the public record, with what role, and how they prove it.

Passwords are hashed with Argon2 (pwdlib); tokens are random (``secrets``) and only their
SHA-256 digests are stored, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from geo.errors import AllimiError

# official: one agency's projects; contractor: reports on the projects naming its company;
# planner: reads every agency's drafts; admin: manages agencies and accounts.
ROLES = ("official", "contractor", "planner", "admin")
MIN_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return hasher.hash(password)


def password_matches(password: str, stored: str) -> bool:
    return bool(hasher.verify(password, stored))


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    role: str
    password: str
    agency: str | None = None
    contractor: str | None = None

    def problems(self) -> list[tuple[str, str]]:
        """(field, reason) for each value that cannot make an account."""
        found = []
        if not EMAIL.match(self.email):
            found.append(("email", f"{self.email!r} is not an e-mail address"))
        if not self.name.strip():
            found.append(("name", "a name is needed"))
        if self.role not in ROLES:
            found.append(("role", f"{self.role!r} is not a role; roles: {', '.join(ROLES)}"))
        if len(self.password) < MIN_PASSWORD:
            found.append(("password", f"a password has at least {MIN_PASSWORD} characters"))
        if (self.role == "official") != bool(self.agency):
            found.append(("agency", "an official, and only an official, belongs to an agency"))
        if (self.role == "contractor") != bool(self.contractor):
            found.append(("contractor", "a contractor, and only a contractor, names its company"))
        return found


def add_user(conn: Connection, user: NewUser) -> int:
    """Create an account; AllimiError naming the first problem. Returns its id."""
    problems = user.problems()
    if problems:
        field, reason = problems[0]
        raise AllimiError(f"{field}: {reason}.")
    if (
        user.agency
        and not conn.execute(
            text("SELECT EXISTS (SELECT FROM agencies WHERE code = :c)"), {"c": user.agency}
        ).scalar_one()
    ):
        raise AllimiError(f"agency: there is no agency {user.agency!r}.")
    try:
        with conn.begin_nested():
            return int(
                conn.execute(
                    text(
                        """
                        INSERT INTO users (email, name, role, agency_code, contractor,
                                           password_hash)
                        VALUES (:email, :name, :role, :agency, :contractor, :hash)
                        RETURNING id
                        """
                    ),
                    {
                        "email": user.email.strip(),
                        "name": user.name.strip(),
                        "role": user.role,
                        "agency": user.agency,
                        "contractor": user.contractor,
                        "hash": hash_password(user.password),
                    },
                ).scalar_one()
            )
    except IntegrityError:
        raise AllimiError(f"email: an account for {user.email!r} exists already.") from None


# Sign-in guessing is slowed per account and per address: so many failures within the window
# (settings) and further attempts wait until the oldest failure leaves it.
FAILURE_WINDOW_S = 15 * 60


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: an account's role and what it speaks for."""

    user_id: int
    email: str
    name: str
    role: str
    agency: str | None
    contractor: str | None
    token_id: int


class SignInRefused(Exception):
    def __init__(self, reason: str, retry_after_s: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def _wait_s(conn: Connection, subject: str, allowed: int) -> int | None:
    """Seconds until ``subject`` may try again, when it has used up its failures."""
    wait = conn.execute(
        text(
            """
            SELECT ceil(extract(epoch FROM min(failed_at) + make_interval(secs => :window)
                                           - now()))::int
            FROM (SELECT failed_at FROM login_failures
                  WHERE subject = :subject
                    AND failed_at > now() - make_interval(secs => :window)
                  ORDER BY failed_at DESC LIMIT :allowed) recent
            HAVING count(*) >= :allowed
            """
        ),
        {"subject": subject, "window": FAILURE_WINDOW_S, "allowed": allowed},
    ).scalar()
    return max(int(wait), 1) if wait is not None else None


@dataclass(frozen=True)
class SignInRules:
    hours: float  # a session's lifetime
    per_account: int  # failures allowed in the window
    per_address: int


def sign_in(
    conn: Connection, email: str, password: str, address: str, rules: SignInRules
) -> tuple[str, int]:
    """A new session token for ``email`` and its lifetime in seconds; SignInRefused when the
    password is wrong, the account is unknown or disabled, or guessing must wait. A failure is
    recorded in the caller's transaction, which must commit it."""
    if "\x00" in email + password + address:  # no account has one; PostgreSQL text cannot
        raise SignInRefused("The e-mail address or the password is wrong.")
    subjects = {
        f"user:{email.strip().lower()}": rules.per_account,
        f"ip:{address}": rules.per_address,
    }
    waits = [w for s, n in subjects.items() if (w := _wait_s(conn, s, n)) is not None]
    if waits:
        raise SignInRefused("Too many failed sign-ins; wait before trying again.", max(waits))
    found = conn.execute(
        text("SELECT id, password_hash, active FROM users WHERE lower(email) = lower(:e)"),
        {"e": email.strip()},
    ).first()
    # an unknown account costs a hash too, so timing does not tell which accounts exist
    stored = found[1] if found else DUMMY_HASH
    if not password_matches(password, stored) or not found or not found[2]:
        conn.execute(
            text("INSERT INTO login_failures (subject) SELECT unnest(CAST(:s AS text[]))"),
            {"s": list(subjects)},
        )
        raise SignInRefused("The e-mail address or the password is wrong.")
    conn.execute(
        text("DELETE FROM login_failures WHERE subject = :s"),
        {"s": f"user:{email.strip().lower()}"},
    )
    seconds = rules.hours * 3600
    token, _ = issue_token(conn, int(found[0]), "session", None, seconds)
    return token, int(seconds)


DUMMY_HASH = hash_password("not a password anyone has")


def issue_token(
    conn: Connection, user_id: int, kind: str, label: str | None, seconds: float
) -> tuple[str, int]:
    """A new token (shown once, stored as its digest) and its id."""
    token = new_token()
    number = conn.execute(
        text(
            """
            INSERT INTO tokens (user_id, digest, kind, label, expires_at)
            VALUES (:user, :digest, :kind, :label, now() + make_interval(secs => :seconds))
            RETURNING id
            """
        ),
        {
            "user": user_id,
            "digest": token_digest(token),
            "kind": kind,
            "label": label,
            "seconds": seconds,
        },
    ).scalar_one()
    return token, int(number)


def principal(conn: Connection, token: str) -> Principal | None:
    """The account a token signs in, while the token is neither expired nor revoked."""
    row = conn.execute(
        text(
            """
            SELECT u.id, u.email, u.name, u.role, u.agency_code, u.contractor, t.id
            FROM tokens t JOIN users u ON u.id = t.user_id
            WHERE t.digest = :digest AND t.revoked_at IS NULL AND t.expires_at > now()
              AND u.active
            """
        ),
        {"digest": token_digest(token)},
    ).first()
    return Principal(*row) if row else None


def revoke(conn: Connection, user_id: int, token_id: int) -> bool:
    """Revoke one of the account's own tokens; False when it has no such live token."""
    done = conn.execute(
        text(
            "UPDATE tokens SET revoked_at = now() "
            "WHERE id = :id AND user_id = :user AND revoked_at IS NULL"
        ),
        {"id": token_id, "user": user_id},
    )
    return bool(done.rowcount)


def tokens_of(conn: Connection, user_id: int) -> list[dict[str, object]]:
    rows = conn.execute(
        text(
            "SELECT id, kind, label, created_at, expires_at, revoked_at FROM tokens "
            "WHERE user_id = :user ORDER BY id"
        ),
        {"user": user_id},
    ).mappings()
    return [dict(r) for r in rows]
