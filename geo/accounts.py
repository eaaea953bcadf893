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
