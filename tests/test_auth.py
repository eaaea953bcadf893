"""Signing in, tokens, and who may call what: the authorisation matrix is generated from the
route table, so a new route cannot be forgotten."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, text

from api.app import create_app
from geo.accounts import ROLES, NewUser, add_user, issue_token, token_digest
from geo.settings import Settings
from geo.store.database import read_url
from tests.conftest import Server, serve
from tests.routes import ROUTES, roles_of

PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
OPEN_WRITES = {("POST", "/api/auth/token")}  # signing in is how a token is had


@dataclass(frozen=True)
class Account:
    email: str
    role: str
    token: str


def _add(engine: Engine, role: str, tag: str) -> str:
    email = f"{role}-{tag}@allimi.test"
    agency = "TEST-ROADS" if role == "official" else None
    contractor = "(주)시험건설" if role == "contractor" else None
    with engine.begin() as conn:
        add_user(conn, NewUser(email, f"{role} {tag}", role, PASSWORD, agency, contractor))
    return email


def sign_in(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/api/auth/token", data={"username": email, "password": password})


@pytest.fixture(scope="module")
def accounts(engine: Engine, server: Server) -> dict[str, Account]:
    """One signed-in account of each role."""
    found = {}
    for role in ROLES:
        email = _add(engine, role, "matrix")
        granted = sign_in(server.http, email)
        assert granted.status_code == 200, granted.text
        found[role] = Account(email, role, granted.json()["access_token"])
    return found


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: httpx.Response, status: int, param: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["errors"][0]["parameter"] == param
    return str(body["detail"])


def test_signing_in_gives_a_token_for_the_account(server: Server, accounts) -> None:
    official = accounts["official"]
    me = server.http.get("/api/auth/me", headers=_bearer(official.token))
    assert me.status_code == 200
    assert me.json() == {
        "email": official.email,
        "name": "official matrix",
        "role": "official",
        "agency": "TEST-ROADS",
        "contractor": None,
    }


def test_tokens_and_passwords_are_kept_only_as_digests_and_hashes(engine, accounts) -> None:
    official = accounts["official"]
    with engine.connect() as conn:
        digests = [bytes(d) for (d,) in conn.execute(text("SELECT digest FROM tokens"))]
        stored = conn.execute(
            text("SELECT password_hash FROM users WHERE email = :e"), {"e": official.email}
        ).scalar_one()
        dumped = conn.execute(text("SELECT t::text FROM tokens t")).scalars().all()
    assert token_digest(official.token) in digests
    assert not [row for row in dumped if official.token in row]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize("who", ["wrong password", "unknown account"])
def test_a_wrong_sign_in_is_one_answer_whoever_it_is(engine, server: Server, who: str) -> None:
    email = _add(engine, "planner", "wrong") if who == "wrong password" else "nobody@allimi.test"
    refused = sign_in(server.http, email, "not the password at all")
    detail = _problem(refused, 401, "password")
    assert detail == "The e-mail address or the password is wrong."
    assert refused.headers["www-authenticate"] == "Bearer"


def test_guessing_is_slowed_down_for_the_account(engine, server: Server) -> None:
    email = _add(engine, "planner", "guessed")
    for _ in range(5):
        assert sign_in(server.http, email, "a guess that is wrong").status_code == 401
    waiting = sign_in(server.http, email)  # even the right password must wait now
    assert "Too many failed sign-ins" in _problem(waiting, 429, "username")
    assert 1 <= int(waiting.headers["retry-after"]) <= 15 * 60
    with engine.connect() as conn:
        recorded = conn.execute(
            text("SELECT count(*) FROM login_failures WHERE subject = :s"),
            {"s": f"user:{email}"},
        ).scalar_one()
    assert recorded == 5


def test_logout_revokes_the_token(engine, server: Server) -> None:
    email = _add(engine, "admin", "leaving")
    token = sign_in(server.http, email).json()["access_token"]
    assert server.http.post("/api/auth/logout", headers=_bearer(token)).status_code == 204
    after = server.http.get("/api/auth/me", headers=_bearer(token))
    assert "unknown, expired or revoked" in _problem(after, 401, "Authorization")


def test_api_tokens_are_issued_listed_and_revoked_by_their_owner(server: Server, accounts):
    owner, other = accounts["planner"], accounts["admin"]
    made = server.http.post(
        "/api/auth/tokens",
        json={"label": "nightly export", "days": 30},
        headers=_bearer(owner.token),
    )
    assert made.status_code == 201
    issued = made.json()
    script = _bearer(issued["token"])
    assert server.http.get("/api/auth/me", headers=script).json()["email"] == owner.email
    listed = server.http.get("/api/auth/tokens", headers=_bearer(owner.token)).json()
    assert [t["label"] for t in listed if t["id"] == issued["id"]] == ["nightly export"]
    assert all("token" not in t for t in listed)
    not_theirs = server.http.delete(
        f"/api/auth/tokens/{issued['id']}", headers=_bearer(other.token)
    )
    _problem(not_theirs, 404, "token_id")
    gone = server.http.delete(f"/api/auth/tokens/{issued['id']}", headers=_bearer(owner.token))
    assert gone.status_code == 204
    _problem(server.http.get("/api/auth/me", headers=script), 401, "Authorization")
    nul = server.http.post(
        "/api/auth/tokens", json={"label": "a\x00b"}, headers=_bearer(owner.token)
    )
    _problem(nul, 422, "label")  # text PostgreSQL cannot hold is refused, not a server error


def test_an_expired_token_signs_nobody_in(engine, server: Server) -> None:
    email = _add(engine, "planner", "expired")
    with engine.begin() as conn:
        user = conn.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar()
        token, _ = issue_token(conn, int(user), "session", None, -1)
    _problem(server.http.get("/api/auth/me", headers=_bearer(token)), 401, "Authorization")


@pytest.fixture(scope="module")
def read_only(db_url: str) -> Iterator[Server]:
    """The portal started without a writing login."""
    settings = Settings(database_url=db_url)
    yield from serve(settings, create_app(settings, read_url(settings)))


def test_a_read_only_portal_refuses_sign_ins(read_only: Server) -> None:
    response = sign_in(read_only.http, "anyone@allimi.test")
    assert response.status_code == 503
    assert "read-only" in response.json()["detail"]


# ---- the matrix, from the route table ----------------------------------------------------


GUARDED = [(r, m) for r in ROUTES for m in sorted(r.methods) if roles_of(r)]


def test_every_write_route_declares_who_may_call_it() -> None:
    unguarded = [
        (method, r.path)
        for r in ROUTES
        for method in r.methods & WRITES
        if not roles_of(r) and (method, r.path) not in OPEN_WRITES
    ]
    assert unguarded == []
    assert len(GUARDED) >= 5


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("route", "method"), GUARDED, ids=[f"{m} {r.path}" for r, m in GUARDED])
def test_the_authorisation_matrix(
    engine: Engine, server: Server, accounts, route: APIRoute, method: str
) -> None:
    allowed = roles_of(route) or ()
    anonymous = server.http.request(method, _url(route.path))
    _problem(anonymous, 401, "Authorization")
    for role, account in accounts.items():
        # a token of its own: the route may revoke it
        with engine.begin() as conn:
            user = conn.execute(
                text("SELECT id FROM users WHERE email = :e"), {"e": account.email}
            ).scalar_one()
            token, _ = issue_token(conn, int(user), "session", None, 600)
        answer = server.http.request(method, _url(route.path), headers=_bearer(token))
        if role in allowed:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert f"A {role} may not do this" in _problem(answer, 403, "Authorization")


def test_guessing_is_slowed_down_for_the_address(engine, db_url: str) -> None:
    settings = Settings(database_url=db_url, signin_failures_per_address=3)
    emails = [_add(engine, "planner", f"address{n}") for n in range(4)]
    for running in serve(settings):
        with engine.begin() as conn:  # this address's earlier failures are not this test's
            conn.execute(text("DELETE FROM login_failures WHERE subject LIKE 'ip:%'"))
        for email in emails[:3]:  # one wrong guess on each of three accounts
            assert sign_in(running.http, email, "a guess that is wrong").status_code == 401
        waiting = sign_in(running.http, emails[3])
        assert "Too many failed sign-ins" in _problem(waiting, 429, "username")


def test_a_sign_in_with_a_nul_character_is_only_wrong(server: Server) -> None:
    refused = sign_in(server.http, "some\x00one@allimi.test", "pass\x00word")
    assert "password is wrong" in _problem(refused, 401, "password")
