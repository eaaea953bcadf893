"""Accounts: who may change the public record, with what role, and how they prove it.

Passwords are hashed with Argon2 (pwdlib); tokens are random (``secrets``) and only their
SHA-256 digests are stored, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from pwdlib import PasswordHash
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from geo.errors import AllimiError
from geo.sql import Query

# official: one agency's projects; contractor: reports on the projects naming its company;
# planner: reads every agency's drafts; admin: manages agencies and accounts.
ROLES = ("official", "contractor", "planner", "admin")
MIN_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # no text of an account or agency holds these


def control_problems(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """(field, reason) for each text holding a control character (PostgreSQL stores no NUL)."""
    return [
        (field, "it holds a control character")
        for field, value in values.items()
        if isinstance(value, str) and CONTROL.search(value)
    ]


def given(value: object) -> object:
    """A text as stored: trimmed, and None when nothing is left."""
    return (value.strip() or None) if isinstance(value, str) else value


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


class Refused(AllimiError):
    """A change of accounts or agencies refused, nothing of it stored: the HTTP status it
    means (422 these values, 404 no such record, 409 a clash with what is stored) and every
    (field, reason) found."""

    def __init__(self, status: int, errors: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(f"{field}: {reason}." for field, reason in errors))
        self.status = status
        self.errors = errors


def _standing_problems(
    name: object, role: object, agency: object, contractor: object
) -> list[tuple[str, str]]:
    """What is wrong with an account's name, role and what it speaks for, together."""
    found = control_problems({"name": name, "agency": agency, "contractor": contractor})
    if not isinstance(name, str) or not name.strip():
        found.append(("name", "a name is needed"))
    if role not in ROLES:
        found.append(("role", f"{role!r} is not a role; roles: {', '.join(ROLES)}"))
    if (role == "official") != bool(given(agency)):
        found.append(("agency", "an official, and only an official, belongs to an agency"))
    if (role == "contractor") != bool(given(contractor)):
        found.append(("contractor", "a contractor, and only a contractor, names its company"))
    return found


def _password_problems(password: object) -> list[tuple[str, str]]:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return [("password", f"a password has at least {MIN_PASSWORD} characters")]
    return []


def _agency_problems(conn: Connection, agency: object) -> list[tuple[str, str]]:
    if (
        agency
        and not conn.execute(
            text("SELECT EXISTS (SELECT FROM agencies WHERE code = :c)"), {"c": agency}
        ).scalar_one()
    ):
        return [("agency", f"there is no agency {agency!r}")]
    return []


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
        found += _standing_problems(self.name, self.role, self.agency, self.contractor)
        return found + _password_problems(self.password)


def add_user(conn: Connection, user: NewUser) -> int:
    """Create an account; Refused naming every problem (409 when the e-mail address has an
    account already). Returns its id."""
    problems = user.problems() or _agency_problems(conn, given(user.agency))
    if problems:
        raise Refused(422, problems)
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
                        "agency": given(user.agency),
                        "contractor": given(user.contractor),
                        "hash": hash_password(user.password),
                    },
                ).scalar_one()
            )
    except IntegrityError:
        raise Refused(409, [("email", f"an account for {user.email!r} exists already")]) from None


@dataclass(frozen=True)
class Account:
    """An account as admins see it (never its password hash)."""

    id: int
    email: str
    name: str
    role: str
    agency: str | None
    contractor: str | None
    active: bool
    created_at: datetime


ACCOUNTS = "SELECT id, email, name, role, agency_code, contractor, active, created_at FROM users"
# What an admin may change of an account (its e-mail address stays: it is how it signs in)
CHANGEABLE = ("name", "role", "agency", "contractor", "active", "password")


def accounts_list(conn: Connection) -> list[Account]:
    return [Account(*row) for row in conn.execute(text(f"{ACCOUNTS} ORDER BY id"))]


def account(conn: Connection, user_id: int) -> Account:
    return Account(*conn.execute(text(f"{ACCOUNTS} WHERE id = :id"), {"id": user_id}).one())


def _revoke_all(conn: Connection, user_id: int) -> None:
    conn.execute(
        text("UPDATE tokens SET revoked_at = now() WHERE user_id = :u AND revoked_at IS NULL"),
        {"u": user_id},
    )


def update_user(conn: Connection, user_id: int, changes: Mapping[str, object]) -> Account:
    """Change some of an account's ``CHANGEABLE`` fields; Refused naming every problem.
    Disabling an account or giving it a new password revokes its tokens at once (a reset is
    often because the old one leaked); the portal always keeps one active admin."""
    unknown = [(f, "it is not a field an admin may change") for f in changes if f not in CHANGEABLE]
    if unknown:
        raise Refused(422, unknown)
    # the admins' rows first, always in one order, so two admins demoting each other at once
    # wait for each other instead of both succeeding
    conn.execute(
        text("SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE")
    )
    row = conn.execute(text(f"{ACCOUNTS} WHERE id = :id FOR UPDATE"), {"id": user_id}).first()
    if row is None:
        raise Refused(404, [("id", f"there is no account {user_id}")])
    was = Account(*row)
    now = {
        "name": was.name, "role": was.role, "agency": was.agency,
        "contractor": was.contractor, "active": was.active, **changes,
    }  # fmt: skip
    problems = _standing_problems(now["name"], now["role"], now["agency"], now["contractor"])
    if not isinstance(now["active"], bool):
        problems.append(("active", "true or false"))
    if "password" in changes:
        problems += _password_problems(changes["password"])
    agency = given(now["agency"])
    problems = problems or _agency_problems(conn, agency)
    if problems:
        raise Refused(422, problems)
    with conn.begin_nested():  # refused below: nothing of it stays
        conn.execute(
            text(
                """
                UPDATE users SET name = :name, role = :role, agency_code = :agency,
                    contractor = :contractor, active = :active,
                    password_hash = coalesce(:hash, password_hash)
                WHERE id = :id
                """
            ),
            {
                "id": user_id,
                "name": str(now["name"]).strip(),
                "role": now["role"],
                "agency": agency,
                "contractor": given(now["contractor"]),
                "active": now["active"],
                "hash": hash_password(str(changes["password"])) if "password" in changes else None,
            },
        )
        if not conn.execute(
            text("SELECT EXISTS (SELECT FROM users WHERE role = 'admin' AND active)")
        ).scalar_one():
            field = "active" if "active" in changes else "role"
            raise Refused(409, [(field, "the portal keeps at least one active admin")])
    if not now["active"] or "password" in changes:
        _revoke_all(conn, user_id)
    return account(conn, user_id)


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
    stored = found[1] if found else _dummy_hash()
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


@cache
def _dummy_hash() -> str:
    """A hash no password matches, made on the first unknown sign-in (not at import: Argon2
    is slow on purpose, and every command imports this module)."""
    return hash_password("not a password anyone has")


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


def account_of(token: str) -> Query:
    """The account a token signs in (a row of ``Principal``'s fields, none unless the token is
    live), as the read login asks for it: ``disclosed.account_of`` answers for the digest."""
    return Query("SELECT * FROM disclosed.account_of(%(digest)s)", {"digest": token_digest(token)})


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
