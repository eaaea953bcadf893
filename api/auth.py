"""Signing in and who may do what: ``/api/auth/*``, and ``requires(...)``, the dependency each
write route declares (authorisation is attached to routes, never re-checked in handlers).

OAuth2's password flow: ``POST /api/auth/token`` with ``username`` (the e-mail address) and
``password`` answers a bearer token for ``ALLIMI_SESSION_HOURS``; scripts get long-lived API
tokens of their own. Tokens are stored as digests (``geo.accounts``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from api.database import Database, database
from api.problems import Problem, documented
from api.writer import Writer, writer
from geo import accounts
from geo.accounts import Principal, SignInRefused
from geo.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["accounts"])
scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
CHALLENGE = {"WWW-Authenticate": "Bearer"}
MAX_TOKEN_DAYS = 366


async def signed_in(
    token: Annotated[str | None, Depends(scheme)],
    store: Annotated[Writer, Depends(writer)],
    db: Annotated[Database, Depends(database)],
) -> Principal:
    """The account of the request's bearer token; 401 without a live one.

    It is looked up on the reading connection (no worker thread); a read replica that has not
    yet seen a token just issued leaves it to the primary, and may accept a revoked token for
    as long as it lags."""
    if not token:
        raise Problem(401, "Sign in first: this needs a bearer token.", param="Authorization",
                      headers=CHALLENGE)  # fmt: skip
    row = await db.first(accounts.account_of(token))
    found = Principal(*row) if row else None
    if found is None:
        found = await store.transaction(lambda conn: accounts.principal(conn, token))
    if found is None:
        raise Problem(401, "The token is unknown, expired or revoked; sign in again.",
                      param="Authorization", headers=CHALLENGE)  # fmt: skip
    return found


def requires(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting signed-in accounts of ``roles`` only (403 for others)."""
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def allowed(who: Annotated[Principal, Depends(signed_in)]) -> Principal:
        if who.role not in roles:
            raise Problem(403, f"A {who.role} may not do this; it takes: {', '.join(roles)}.",
                          param="Authorization")  # fmt: skip
        return who

    allowed.roles = roles  # type: ignore[attr-defined]  # read by the route-table tests
    return allowed


AnyAccount = requires(*accounts.ROLES)


class Granted(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class Me(BaseModel):
    email: str
    name: str
    role: str
    agency: str | None
    contractor: str | None


class TokenRequest(BaseModel):
    label: str = Field(
        min_length=1, max_length=100, pattern=r"^[^\x00]*$", description="What the token is for"
    )
    days: int = Field(default=90, ge=1, le=MAX_TOKEN_DAYS)


class IssuedToken(BaseModel):
    id: int
    token: str = Field(description="Shown this once; only its digest is kept")
    label: str
    days: int


class TokenInfo(BaseModel):
    id: int
    kind: str
    label: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@router.post(
    "/token",
    response_model=Granted,
    responses={
        401: documented("The e-mail address or the password is wrong."),
        429: documented("Too many failed sign-ins; wait Retry-After seconds."),
        503: documented("The portal is read-only."),
    },
)
async def token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    store: Annotated[Writer, Depends(writer)],
) -> Granted:
    """Sign in (OAuth2 password flow): a bearer token for this session."""
    settings: Settings = request.app.state.settings
    address = request.client.host if request.client else "unknown"
    rules = accounts.SignInRules(
        settings.session_hours,
        settings.signin_failures_per_account,
        settings.signin_failures_per_address,
    )

    def attempt(conn: Connection) -> tuple[str, int] | SignInRefused:
        try:
            return accounts.sign_in(conn, form.username, form.password, address, rules)
        except SignInRefused as refused:
            return refused  # the failure it recorded commits

    outcome = await store.transaction(attempt)
    if isinstance(outcome, SignInRefused):
        if outcome.retry_after_s:
            raise Problem(429, outcome.reason, param="username",
                          headers={"Retry-After": str(outcome.retry_after_s)})  # fmt: skip
        raise Problem(401, outcome.reason, param="password", headers=CHALLENGE)
    access, seconds = outcome
    return Granted(access_token=access, expires_in=seconds)


@router.post("/logout", status_code=204, responses={401: documented("Not signed in.")})
async def logout(
    who: Annotated[Principal, Depends(AnyAccount)], store: Annotated[Writer, Depends(writer)]
) -> Response:
    """Revoke the token this request carries."""
    await store.transaction(lambda conn: accounts.revoke(conn, who.user_id, who.token_id))
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses={401: documented("Not signed in.")})
async def me(who: Annotated[Principal, Depends(AnyAccount)]) -> Me:
    """The signed-in account."""
    return Me(email=who.email, name=who.name, role=who.role, agency=who.agency,
              contractor=who.contractor)  # fmt: skip


@router.get(
    "/tokens", response_model=list[TokenInfo], responses={401: documented("Not signed in.")}
)
async def list_tokens(
    who: Annotated[Principal, Depends(AnyAccount)], store: Annotated[Writer, Depends(writer)]
) -> list[TokenInfo]:
    """The account's tokens (never the tokens themselves)."""
    rows = await store.transaction(lambda conn: accounts.tokens_of(conn, who.user_id))
    return [TokenInfo.model_validate(r) for r in rows]


@router.post("/tokens", response_model=IssuedToken, status_code=201,
             responses={401: documented("Not signed in.")})  # fmt: skip
async def issue(
    body: TokenRequest,
    who: Annotated[Principal, Depends(AnyAccount)],
    store: Annotated[Writer, Depends(writer)],
) -> IssuedToken:
    """A long-lived API token for scripts, revocable by its owner."""
    secret, number = await store.transaction(
        lambda conn: accounts.issue_token(conn, who.user_id, "api", body.label, body.days * 86400)
    )
    return IssuedToken(id=number, token=secret, label=body.label, days=body.days)


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    responses={401: documented("Not signed in."), 404: documented("No such token.")},
)
async def revoke(
    token_id: Annotated[int, Path(ge=1, lt=2**63)],
    who: Annotated[Principal, Depends(AnyAccount)],
    store: Annotated[Writer, Depends(writer)],
) -> Response:
    """Revoke one of the account's own tokens."""
    if not await store.transaction(lambda conn: accounts.revoke(conn, who.user_id, token_id)):
        raise Problem(404, f"You have no live token {token_id}.", param="token_id")
    return Response(status_code=204)
